"""Reading a supply twin: :func:`parse_twin` turns a JSON/TOML-like mapping into a validated
:class:`~mercato.supply.model.Twin`, or raises :class:`~mercato.supply.errors.SupplyInputError` listing
every problem at once (a calendar with no working days, a line with capacity 0, a cycle in the bill of
materials, a negative lead time, an unknown item or location, ...). The format is in docs/supply.md."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from .calendar import Calendar, parse_date, parse_weekdays
from .errors import SupplyInputError
from .model import (
    BomLine,
    Downtime,
    Item,
    Lane,
    Line,
    Location,
    LocationKind,
    Rate,
    Receipt,
    StockPosition,
    Twin,
)


def _rows(data: Mapping[str, Any], key: str, problems: list[str]) -> list[tuple[str, Mapping[str, Any]]]:
    value = data.get(key, [])
    if not isinstance(value, list):
        problems.append(f"{key}: expected a list of tables")
        return []
    out = []
    for i, row in enumerate(value):
        if not isinstance(row, Mapping):
            problems.append(f"{key}[{i}]: expected a table")
            continue
        out.append((f"{key}[{i}]", row))
    return out


def _str(
    row: Mapping[str, Any], key: str, where: str, problems: list[str], default: str | None = None
) -> str:
    value = row.get(key, default)
    if not isinstance(value, str) or (default is None and not value):
        problems.append(f"{where}: {key!r} must be a non-empty string")
        return ""
    return value


def _int(
    row: Mapping[str, Any], key: str, where: str, problems: list[str], low: int, what: str,
    default: int | None = None,
) -> int:  # fmt: skip
    value = row.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"{where}: {key!r} must be an integer")
        return low
    if value < low:
        problems.append(f"{where}: {key!r} is {value}; {what}")
        return low
    return value


def _unique(ids: Sequence[str], what: str, problems: list[str]) -> None:
    seen: set[str] = set()
    for i in ids:
        if i and i in seen:
            problems.append(f"{what} {i!r} is defined twice")
        seen.add(i)


def bom_cycle(bom: Iterable[BomLine]) -> list[str] | None:
    """A cycle in the bill of materials as a path ``[a, b, ..., a]``, or None."""
    graph: dict[str, list[str]] = {}
    for b in bom:
        graph.setdefault(b.item, []).append(b.component)
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for root in sorted(graph):
        if state.get(root):
            continue
        stack: list[tuple[str, Iterable[str]]] = [(root, iter(sorted(graph.get(root, []))))]
        path = [root]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(iter(children), None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            if state.get(child) == 1:
                return path[path.index(child) :] + [child]
            if not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph.get(child, [])))))
    return None


def parse_twin(data: Mapping[str, Any], source: str | None = None) -> Twin:
    """Validate a twin description; raise :class:`SupplyInputError` listing every problem."""
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise SupplyInputError(["expected a table at the top level"], source)
    known = {"calendars", "locations", "lanes", "items", "stock", "lines", "bom", "receipts", "downtime"}
    for key in sorted(set(data) - known):
        problems.append(f"unknown section {key!r} (expected one of {', '.join(sorted(known))})")

    calendars: dict[str, Calendar] = {}
    for where, row in _rows(data, "calendars", problems):
        cid = _str(row, "id", where, problems, "default") or "default"
        wd_raw = row.get("weekdays", ["mon", "tue", "wed", "thu", "fri"])
        if not isinstance(wd_raw, list):
            problems.append(f"{where}: 'weekdays' must be a list")
            wd_raw = []
        weekdays = parse_weekdays(wd_raw, where, problems)
        hol_raw = row.get("holidays", [])
        if not isinstance(hol_raw, list):
            problems.append(f"{where}: 'holidays' must be a list")
            hol_raw = []
        holidays = {
            d for i, h in enumerate(hol_raw) if (d := parse_date(h, f"{where}.holidays[{i}]", problems))
        }
        if not weekdays:
            problems.append(f"calendar {cid!r} has no working days")
            continue
        if cid in calendars:
            problems.append(f"calendar {cid!r} is defined twice")
        calendars[cid] = Calendar(cid, weekdays, frozenset(holidays))
    if "default" not in calendars and not any(w.startswith("calendars") for w in problems):
        calendars.setdefault("default", Calendar())

    locations: list[Location] = []
    for where, row in _rows(data, "locations", problems):
        kind = row.get("kind")
        if kind not in {k.value for k in LocationKind}:
            problems.append(f"{where}: 'kind' must be one of factory, warehouse, store (got {kind!r})")
            kind = "warehouse"
        locations.append(Location(_str(row, "id", where, problems), LocationKind(kind),
                                  _str(row, "city", where, problems, "")))  # fmt: skip
    _unique([x.id for x in locations], "location", problems)
    loc_ids = {x.id for x in locations}

    items: list[Item] = []
    for where, row in _rows(data, "items", problems):
        items.append(Item(_str(row, "id", where, problems), _str(row, "name", where, problems, ""),
                          _int(row, "lead_time_days", where, problems, 0, "a lead time must not be negative",
                               0)))  # fmt: skip
    _unique([x.id for x in items], "item", problems)
    item_ids = {x.id for x in items}

    def known_item(value: str, where: str) -> None:
        if value and value not in item_ids:
            problems.append(f"{where}: unknown item {value!r}")

    def known_loc(value: str, where: str) -> None:
        if value and value not in loc_ids:
            problems.append(f"{where}: unknown location {value!r}")

    lanes: list[Lane] = []
    for where, row in _rows(data, "lanes", problems):
        origin = _str(row, "from", where, problems)
        known_loc(origin, where)
        days = _int(row, "days", where, problems, 0, "a transit time must not be negative")
        if ("to" in row) == ("city" in row):
            problems.append(f"{where}: give exactly one of 'to' (a location) or 'city' (a buyer city code)")
            continue
        if "to" in row:
            dest = _str(row, "to", where, problems)
            known_loc(dest, where)
            if dest and dest == origin:
                problems.append(f"{where}: a lane from {origin!r} to itself")
            lanes.append(Lane(origin, dest, days))
        else:
            lanes.append(Lane(origin, _str(row, "city", where, problems), days, True))

    stock: list[StockPosition] = []
    for where, row in _rows(data, "stock", problems):
        s = StockPosition(
            _str(row, "item", where, problems),
            _str(row, "location", where, problems),
            _int(row, "quantity", where, problems, 0, "stock must not be negative"),
        )
        known_item(s.item, where)
        known_loc(s.location, where)
        stock.append(s)

    lines: list[Line] = []
    for where, row in _rows(data, "lines", problems):
        lid = _str(row, "id", where, problems)
        loc = _str(row, "location", where, problems)
        known_loc(loc, where)
        if loc in loc_ids and next(x for x in locations if x.id == loc).kind is not LocationKind.FACTORY:
            problems.append(f"{where}: line {lid!r} stands in {loc!r}, which is not a factory")
        cap = _int(row, "capacity_per_day", where, problems, 1, "a line needs capacity > 0")
        cal_id = _str(row, "calendar", where, problems, "default") or "default"
        cal = calendars.get(cal_id)
        if cal is None:
            if not any(f"calendar {cal_id!r}" in p for p in problems):
                problems.append(f"{where}: unknown calendar {cal_id!r}")
            cal = Calendar()
        rates: list[Rate] = []
        for rwhere, r in _rows(row, "rates", problems):
            rwhere = f"{where}.{rwhere}"
            rate = Rate(
                _str(r, "item", rwhere, problems),
                _int(r, "per_unit", rwhere, problems, 1, "a unit must take at least 1 capacity unit"),
                _int(r, "setup", rwhere, problems, 0, "a setup time must not be negative", 0),
            )
            known_item(rate.item, rwhere)
            rates.append(rate)
        if not rates:
            problems.append(f"{where}: line {lid!r} makes no item (give 'rates')")
        _unique([r.item for r in rates], f"{where}: rate for item", problems)
        lines.append(Line(lid, loc, cap, cal, tuple(rates)))
    _unique([x.id for x in lines], "line", problems)
    line_ids = {x.id for x in lines}

    bom: list[BomLine] = []
    for where, row in _rows(data, "bom", problems):
        b = BomLine(
            _str(row, "item", where, problems),
            _str(row, "component", where, problems),
            _int(row, "quantity", where, problems, 1, "a component quantity must be at least 1"),
        )
        known_item(b.item, where)
        known_item(b.component, where)
        bom.append(b)
    _unique([f"{b.item}->{b.component}" for b in bom], "bill of materials line", problems)
    cycle = bom_cycle(bom)
    if cycle:
        problems.append("the bill of materials has a cycle: " + " -> ".join(cycle))

    receipts: list[Receipt] = []
    for where, row in _rows(data, "receipts", problems):
        rc_date = parse_date(row.get("date"), f"{where}.date", problems)
        rc = Receipt(_str(row, "item", where, problems), _str(row, "location", where, problems),
                     _int(row, "quantity", where, problems, 1, "a receipt must bring at least 1 unit"),
                     rc_date or date.min, _str(row, "ref", where, problems, ""))  # fmt: skip
        known_item(rc.item, where)
        known_loc(rc.location, where)
        receipts.append(rc)

    downtimes: list[Downtime] = []
    for where, row in _rows(data, "downtime", problems):
        line_id = _str(row, "line", where, problems)
        if line_id and line_id not in line_ids:
            problems.append(f"{where}: unknown line {line_id!r}")
        start = parse_date(row.get("start"), f"{where}.start", problems)
        end = parse_date(row.get("end", row.get("start")), f"{where}.end", problems)
        if start and end and end < start:
            problems.append(f"{where}: ends ({end}) before it starts ({start})")
        downtimes.append(Downtime(line_id, start or date.min, end or date.min,
                                  _str(row, "reason", where, problems, "")))  # fmt: skip

    if problems:
        raise SupplyInputError(problems, source)
    return Twin(
        calendars=tuple(calendars.values()),
        locations=tuple(locations),
        lanes=tuple(lanes),
        items=tuple(items),
        stock=tuple(stock),
        lines=tuple(lines),
        bom=tuple(bom),
        receipts=tuple(sorted(receipts, key=lambda r: (r.date, r.item, r.location, r.ref))),
        downtimes=tuple(downtimes),
    )
