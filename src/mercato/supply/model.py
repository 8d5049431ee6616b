"""The supply twin's data model: where goods are, how they move, and what can be made when.

Pure and deterministic. :func:`mercato.supply.parse.parse_twin` turns a JSON/TOML-like mapping into
a validated :class:`Twin` or raises :class:`~mercato.supply.errors.SupplyInputError` listing every problem
(a calendar with no working days, a line with capacity 0, a cycle in the bill of materials, a
negative lead time, an unknown item or location, ...). Everything that computes on a twin takes a
``Twin``, so it never sees invalid data. The file format is documented in ``docs/supply.md``.

Units: quantities are integer units; transit and lead times are whole calendar days; a line's
capacity is integer *capacity units* per working day (think minutes); making one unit of an item
takes ``per_unit`` capacity units and each production run of it ``setup`` units first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any

from .calendar import Calendar


class LocationKind(StrEnum):
    FACTORY = "factory"
    WAREHOUSE = "warehouse"
    STORE = "store"


@dataclass(frozen=True, slots=True)
class Location:
    id: str
    kind: LocationKind
    city: str = ""  # the city code it stands in (e.g. ``std:080``); a lane to it is implicit (0 days)


@dataclass(frozen=True, slots=True)
class Lane:
    """Goods move from ``origin`` to ``destination`` in ``transit_days`` calendar days.

    ``to_city`` lanes end at a buyer city code (``std:080``) instead of a location."""

    origin: str
    destination: str
    transit_days: int
    to_city: bool = False


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    name: str = ""
    lead_time_days: int = 0  # purchase lead time (for replenishment of bought-in items)


@dataclass(frozen=True, slots=True)
class StockPosition:
    item: str
    location: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Rate:
    """On its line, one unit of ``item`` takes ``per_unit`` capacity units; a run first ``setup``."""

    item: str
    per_unit: int
    setup: int = 0


@dataclass(frozen=True, slots=True)
class Line:
    id: str
    location: str  # the factory it stands in; finished units appear there
    capacity_per_day: int
    calendar: Calendar
    rates: tuple[Rate, ...]

    def rate(self, item_id: str) -> Rate | None:
        for r in self.rates:
            if r.item == item_id:
                return r
        return None


@dataclass(frozen=True, slots=True)
class BomLine:
    """Making one unit of ``item`` consumes ``quantity`` units of ``component`` (at the line's location)."""

    item: str
    component: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Receipt:
    """``quantity`` units of ``item`` arrive at ``location`` on ``date`` (usable that day)."""

    item: str
    location: str
    quantity: int
    date: date
    ref: str = ""


@dataclass(frozen=True, slots=True)
class Downtime:
    """A disruption: ``line`` produces nothing from ``start`` to ``end`` (inclusive)."""

    line: str
    start: date
    end: date
    reason: str = ""

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class Twin:
    calendars: tuple[Calendar, ...] = ()
    locations: tuple[Location, ...] = ()
    lanes: tuple[Lane, ...] = ()
    items: tuple[Item, ...] = ()
    stock: tuple[StockPosition, ...] = ()
    lines: tuple[Line, ...] = ()
    bom: tuple[BomLine, ...] = ()
    receipts: tuple[Receipt, ...] = ()
    downtimes: tuple[Downtime, ...] = ()
    _index: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    # -- lookups (cached on first use; a Twin is immutable) --------------------------------------

    def _idx(self) -> dict[str, Any]:
        if not self._index:
            ix = self._index
            ix["loc"] = {loc.id: loc for loc in self.locations}
            ix["item"] = {it.id: it for it in self.items}
            ix["line"] = {ln.id: ln for ln in self.lines}
            ix["cal"] = {c.id: c for c in self.calendars}
            stock: dict[tuple[str, str], int] = {}
            for s in self.stock:
                stock[(s.item, s.location)] = stock.get((s.item, s.location), 0) + s.quantity
            ix["stock"] = stock
            bom: dict[str, list[BomLine]] = {}
            for b in self.bom:
                bom.setdefault(b.item, []).append(b)
            ix["bom"] = {k: tuple(v) for k, v in bom.items()}
            makers: dict[str, list[Line]] = {}
            for ln in sorted(self.lines, key=lambda x: x.id):
                for r in ln.rates:
                    makers.setdefault(r.item, []).append(ln)
            ix["makers"] = {k: tuple(v) for k, v in makers.items()}
        return self._index

    def location(self, location_id: str) -> Location:
        return self._idx()["loc"][location_id]  # type: ignore[no-any-return]

    def item(self, item_id: str) -> Item:
        return self._idx()["item"][item_id]  # type: ignore[no-any-return]

    def line(self, line_id: str) -> Line:
        return self._idx()["line"][line_id]  # type: ignore[no-any-return]

    def has_item(self, item_id: str) -> bool:
        return item_id in self._idx()["item"]

    def has_location(self, location_id: str) -> bool:
        return location_id in self._idx()["loc"]

    @property
    def calendar(self) -> Calendar:
        """The default calendar (id ``default``, else the first one, else Monday–Friday)."""
        cals = self._idx()["cal"]
        if "default" in cals:
            return cals["default"]  # type: ignore[no-any-return]
        return self.calendars[0] if self.calendars else Calendar()

    def stock_at(self, item_id: str, location_id: str) -> int:
        return self._idx()["stock"].get((item_id, location_id), 0)  # type: ignore[no-any-return]

    def components(self, item_id: str) -> tuple[BomLine, ...]:
        return self._idx()["bom"].get(item_id, ())  # type: ignore[no-any-return]

    def lines_making(self, item_id: str) -> tuple[Line, ...]:
        return self._idx()["makers"].get(item_id, ())  # type: ignore[no-any-return]

    def transit_days(self, origin: str, destination: str) -> int | None:
        """Days from location ``origin`` to location ``destination`` (0 to itself; None: no lane)."""
        if origin == destination:
            return 0
        best: int | None = None
        for lane in self.lanes:
            if not lane.to_city and lane.origin == origin and lane.destination == destination:
                best = lane.transit_days if best is None else min(best, lane.transit_days)
        return best

    def city_transit_days(self, origin: str, city: str) -> int | None:
        """Days from location ``origin`` to a buyer in ``city`` (None: the location does not serve it)."""
        best: int | None = None
        for lane in self.lanes:
            if lane.to_city and lane.origin == origin and lane.destination == city:
                best = lane.transit_days if best is None else min(best, lane.transit_days)
        loc = self._idx()["loc"].get(origin)
        if best is None and loc is not None and loc.city and loc.city == city:
            best = 0
        return best

    def with_stock(self, levels: Mapping[tuple[str, str], int]) -> Twin:
        """The same twin with stock replaced by ``levels`` ((item, location) → units, negative: owed)."""
        ix = self._idx()
        stock = tuple(
            StockPosition(i, loc, q)
            for (i, loc), q in sorted(levels.items())
            if i in ix["item"] and loc in ix["loc"] and q != 0
        )
        return replace(self, stock=stock, _index={})

    def with_downtimes(self, downtimes: Iterable[Downtime]) -> Twin:
        return replace(self, downtimes=tuple(self.downtimes) + tuple(downtimes), _index={})

    def with_receipts(self, receipts: Iterable[Receipt]) -> Twin:
        return replace(self, receipts=tuple(receipts), _index={})

    def to_dict(self) -> dict[str, Any]:
        """The file form (``parse_twin(twin.to_dict()) == twin``)."""
        return {
            "calendars": [c.to_dict() for c in self.calendars],
            "locations": [{"id": x.id, "kind": x.kind.value, "city": x.city} for x in self.locations],
            "lanes": [
                {"from": x.origin, ("city" if x.to_city else "to"): x.destination, "days": x.transit_days}
                for x in self.lanes
            ],
            "items": [{"id": x.id, "name": x.name, "lead_time_days": x.lead_time_days} for x in self.items],
            "stock": [{"item": x.item, "location": x.location, "quantity": x.quantity} for x in self.stock],
            "lines": [
                {
                    "id": x.id,
                    "location": x.location,
                    "capacity_per_day": x.capacity_per_day,
                    "calendar": x.calendar.id,
                    "rates": [{"item": r.item, "per_unit": r.per_unit, "setup": r.setup} for r in x.rates],
                }
                for x in self.lines
            ],
            "bom": [{"item": x.item, "component": x.component, "quantity": x.quantity} for x in self.bom],
            "receipts": [
                {
                    "item": x.item,
                    "location": x.location,
                    "quantity": x.quantity,
                    "date": x.date.isoformat(),
                    "ref": x.ref,
                }
                for x in self.receipts
            ],  # fmt: skip
            "downtime": [
                {"line": x.line, "start": x.start.isoformat(), "end": x.end.isoformat(), "reason": x.reason}
                for x in self.downtimes
            ],
        }
