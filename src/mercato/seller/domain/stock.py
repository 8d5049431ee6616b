"""Stock per item per location, with an append-only ledger of every change and its reason.

``on_hand`` is what is physically at the location; ``reserved`` is what confirmed orders hold there
and have not shipped yet; ``available = on_hand - reserved``. Every operation checks before it
changes anything and refuses to take a number below zero (or on hand below reserved, unless the
item/location accepts backorders), so stock can never be oversold. Replaying the ledger from empty
gives back exactly the current levels (:meth:`StockBook.replay`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .errors import InsufficientStock, InvalidInput, NegativeStock
from .money import check_int

StockKey = tuple[str, str]  # (item_id, location_id)


class Movement(StrEnum):
    RECEIVE = "receive"  # goods arrive (purchase, production)
    ADJUST = "adjust"  # count correction, damage, shrinkage (+ or -)
    RESERVE = "reserve"  # a confirmed order holds units
    RELEASE = "release"  # a cancelled order lets them go
    COMMIT = "commit"  # reserved units leave the location (shipped / handed over)
    RETURN = "return"  # units come back (return received, RTO delivered)
    BACKORDER = "backorder"  # the backorder flag changed


@dataclass(frozen=True)
class LedgerEntry:
    seq: int
    at: datetime
    item_id: str
    location_id: str
    movement: Movement
    on_hand_delta: int
    reserved_delta: int
    reason: str
    ref: str | None = None  # order id, return id, purchase order...
    backorder: bool | None = None  # the new flag, for BACKORDER entries


@dataclass(frozen=True)
class StockLevel:
    on_hand: int = 0
    reserved: int = 0
    backorder: bool = False

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.reserved)


@dataclass(frozen=True)
class Allocation:
    location_id: str
    quantity: int


def _positive(qty: int, what: str = "quantity") -> int:
    if check_int(qty, what) <= 0:
        raise InvalidInput(f"{what} must be positive, got {qty}")
    return qty


@dataclass
class StockBook:
    """All stock levels of a node and the ledger that produced them."""

    levels: dict[StockKey, StockLevel] = field(default_factory=dict)
    ledger: list[LedgerEntry] = field(default_factory=list)

    # -- reading ---------------------------------------------------------------------------------
    def level(self, item_id: str, location_id: str) -> StockLevel:
        return self.levels.get((item_id, location_id), StockLevel())

    def available(self, item_id: str, location_ids: Iterable[str]) -> int:
        return sum(self.level(item_id, loc).available for loc in location_ids)

    def backorder_at(self, item_id: str, location_ids: Iterable[str]) -> str | None:
        """The first (sorted) location that takes backorders for the item, if any."""
        for loc in sorted(location_ids):
            if self.level(item_id, loc).backorder:
                return loc
        return None

    # -- the one place that writes ----------------------------------------------------------------
    def _apply(
        self,
        item_id: str,
        location_id: str,
        movement: Movement,
        on_hand_delta: int,
        reserved_delta: int,
        reason: str,
        ref: str | None,
        at: datetime,
        backorder: bool | None = None,
    ) -> LedgerEntry:
        if not reason.strip():
            raise InvalidInput("every stock change needs a reason")
        lvl = self.level(item_id, location_id)
        new = _next(lvl, on_hand_delta, reserved_delta, backorder)
        problem = _violation(new, lvl)
        if problem:
            raise NegativeStock(f"{movement} of {item_id} at {location_id} refused: {problem}")
        entry = LedgerEntry(
            len(self.ledger) + 1, at, item_id, location_id, movement, on_hand_delta, reserved_delta,
            reason, ref, backorder,
        )  # fmt: skip
        self.levels[(item_id, location_id)] = new
        self.ledger.append(entry)
        return entry

    # -- operations ------------------------------------------------------------------------------
    def receive(self, item_id: str, location_id: str, qty: int, at: datetime, reason: str = "received",
                ref: str | None = None) -> LedgerEntry:  # fmt: skip
        return self._apply(item_id, location_id, Movement.RECEIVE, _positive(qty), 0, reason, ref, at)

    def adjust(self, item_id: str, location_id: str, delta: int, at: datetime, reason: str,
               ref: str | None = None) -> LedgerEntry:  # fmt: skip
        """Correct on hand by ``delta`` (count, damage). Refused below zero, or below reserved units
        when the location does not take backorders: cancel those orders first."""
        if check_int(delta, "delta") == 0:
            raise InvalidInput("an adjustment must change the quantity")
        return self._apply(item_id, location_id, Movement.ADJUST, delta, 0, reason, ref, at)

    def set_backorder(self, item_id: str, location_id: str, allowed: bool, at: datetime,
                      reason: str = "backorder policy") -> LedgerEntry:  # fmt: skip
        return self._apply(
            item_id, location_id, Movement.BACKORDER, 0, 0, reason, None, at, backorder=allowed
        )

    def reserve(self, item_id: str, location_id: str, qty: int, at: datetime, ref: str | None = None,
                reason: str = "order confirmed") -> LedgerEntry:  # fmt: skip
        return self._apply(item_id, location_id, Movement.RESERVE, 0, _positive(qty), reason, ref, at)

    def release(self, item_id: str, location_id: str, qty: int, at: datetime, ref: str | None = None,
                reason: str = "order cancelled") -> LedgerEntry:  # fmt: skip
        return self._apply(item_id, location_id, Movement.RELEASE, 0, -_positive(qty), reason, ref, at)

    def commit(self, item_id: str, location_id: str, qty: int, at: datetime, ref: str | None = None,
               reason: str = "shipped") -> LedgerEntry:  # fmt: skip
        q = _positive(qty)
        return self._apply(item_id, location_id, Movement.COMMIT, -q, -q, reason, ref, at)

    def return_(self, item_id: str, location_id: str, qty: int, at: datetime, ref: str | None = None,
                reason: str = "returned to stock") -> LedgerEntry:  # fmt: skip
        return self._apply(item_id, location_id, Movement.RETURN, _positive(qty), 0, reason, ref, at)

    # -- allocation ------------------------------------------------------------------------------
    def allocate(self, item_id: str, qty: int, location_ids: Sequence[str]) -> tuple[Allocation, ...]:
        """Split ``qty`` of an item over ``location_ids`` deterministically, without changing anything.

        Rule: one location that can ship it all (the one with most available, ties by id) is preferred;
        otherwise take from locations in order of most available (ties by id); a shortfall goes to the
        first backorder location (by id); if none, raise :class:`InsufficientStock` with what is left.
        """
        _positive(qty)
        locs = sorted(set(location_ids), key=lambda loc: (-self.level(item_id, loc).available, loc))
        if locs and self.level(item_id, locs[0]).available >= qty:
            return (Allocation(locs[0], qty),)
        parts: dict[str, int] = {}
        left = qty
        for loc in locs:
            take = min(left, self.level(item_id, loc).available)
            if take > 0:
                parts[loc] = take
                left -= take
        if left > 0:
            back = self.backorder_at(item_id, locs)
            if back is None:
                raise InsufficientStock({item_id: (qty, qty - left)})
            parts[back] = parts.get(back, 0) + left
        return tuple(Allocation(loc, n) for loc, n in sorted(parts.items()))

    def reserve_lines(
        self, lines: Sequence[tuple[str, int, Sequence[str]]], at: datetime, ref: str | None = None
    ) -> tuple[dict[str, tuple[Allocation, ...]], list[LedgerEntry]]:
        """Reserve every line (item_id, quantity, candidate locations) or none of them.

        Lines for the same item are merged. Raises :class:`InsufficientStock` naming every short item
        and the quantity left, before any change."""
        wanted: dict[str, int] = {}
        where: dict[str, list[str]] = {}
        for item_id, qty, locs in lines:
            wanted[item_id] = wanted.get(item_id, 0) + _positive(qty)
            where.setdefault(item_id, [])
            where[item_id].extend(x for x in locs if x not in where[item_id])
        plan: dict[str, tuple[Allocation, ...]] = {}
        short: dict[str, tuple[int, int]] = {}
        for item_id in sorted(wanted):
            try:
                plan[item_id] = self.allocate(item_id, wanted[item_id], where[item_id])
            except InsufficientStock as e:
                short.update(e.shortages)
        if short:
            raise InsufficientStock(short)
        entries = [
            self.reserve(item_id, a.location_id, a.quantity, at, ref)
            for item_id in sorted(plan)
            for a in plan[item_id]
        ]
        return plan, entries

    # -- replay ----------------------------------------------------------------------------------
    @classmethod
    def replay(cls, entries: Iterable[LedgerEntry]) -> StockBook:
        """Rebuild levels from a ledger, checking each step obeys the same rules."""
        book = cls()
        for e in entries:
            if e.seq != len(book.ledger) + 1:
                raise InvalidInput(f"ledger gap: expected entry {len(book.ledger) + 1}, got {e.seq}")
            book._apply(e.item_id, e.location_id, e.movement, e.on_hand_delta, e.reserved_delta,
                        e.reason, e.ref, e.at, e.backorder)  # fmt: skip
        return book

    def snapshot(self) -> Mapping[StockKey, StockLevel]:
        return {k: v for k, v in self.levels.items() if v != StockLevel()}


def _next(lvl: StockLevel, dh: int, dr: int, backorder: bool | None) -> StockLevel:
    return StockLevel(lvl.on_hand + dh, lvl.reserved + dr, lvl.backorder if backorder is None else backorder)


def _violation(new: StockLevel, old: StockLevel) -> str | None:
    if new.on_hand < 0:
        return f"on hand would be {new.on_hand}"
    if new.reserved < 0:
        return f"reserved would be {new.reserved}"
    # Without backorders, reserved units must be physically there; a change that does not make things
    # worse (e.g. receiving into an already short backorder position) is always allowed.
    if not new.backorder and new.on_hand < new.reserved:
        if new.on_hand - new.reserved < old.on_hand - old.reserved or old.backorder:
            return f"on hand {new.on_hand} would be below reserved {new.reserved}"
    return None
