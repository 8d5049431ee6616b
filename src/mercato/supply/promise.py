"""Promise dates: available-to-promise (ATP) from stock and scheduled receipts, capable-to-promise
(CTP) from free production capacity when stock is short, plus transit to the buyer's city.

Pure and deterministic. A :class:`Plan` is the twin at a date with what is already promised:
stock reservations (dated draws on an item's stock at a location) and production :class:`Job` s.
:meth:`Plan.promise` answers a basket without changing the plan; :meth:`Plan.commit` reserves what
the promise was made from. The rules:

- **ATP** at a location: stock now plus receipts as they arrive, minus every reservation. ``q`` units
  can be promised from day ``d`` when the projected balance stays ≥ ``q`` from ``d`` on (a new
  promise never takes units an earlier one counts on). They ship on ``d``.
- **CTP** on a line: components are promised first (ATP at the line's factory, else made themselves),
  which gives the job's release day; the job's due day is the first day from which the
  earliest-due-date schedule of the line (calendar, downtime, setup, rates) keeps *every* job on
  time, including those promised before. Its goods ship the day after the due day.
- **Transit**: the shortest route over the twin's lanes from the shipping location to the buyer's
  city (a location stands in its own city at 0 days).
- Each basket line comes from one source: the option with the earliest delivery wins; ties prefer
  stock on hand, then receipts, then production, then location/line id.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from .calendar import HORIZON_DAYS
from .errors import PromiseUnavailable, SupplyInputError
from .model import Twin
from .schedule import BeyondHorizon, Job, Slot, schedule_line

DAY = timedelta(days=1)


class Source(StrEnum):
    STOCK = "stock"
    RECEIPT = "receipt"
    PRODUCTION = "production"


@dataclass(frozen=True, slots=True)
class StockReservation:
    """``quantity`` units of ``item`` at ``location`` are drawn from the day ``date``."""

    item: str
    location: str
    quantity: int
    date: date
    ref: str = ""


@dataclass(frozen=True, slots=True)
class LinePromise:
    item: str
    quantity: int
    source: Source
    location: str  # where it ships from
    ship_date: date
    delivery_date: date
    reservations: tuple[StockReservation, ...] = ()
    jobs: tuple[Job, ...] = ()


@dataclass(frozen=True, slots=True)
class Promise:
    city: str
    today: date
    lines: tuple[LinePromise, ...]

    @property
    def delivery_date(self) -> date:
        return max(ln.delivery_date for ln in self.lines)

    @property
    def ship_date(self) -> date:
        return max(ln.ship_date for ln in self.lines)

    def line(self, item_id: str) -> LinePromise:
        for ln in self.lines:
            if ln.item == item_id:
                return ln
        raise KeyError(item_id)


def _route_days(twin: Twin, origin: str, city: str | None, to_location: str | None = None) -> int | None:
    """Shortest days from location ``origin`` to a buyer ``city`` (or to ``to_location``) over lanes."""
    dist: dict[str, int] = {origin: 0}
    heap = [(0, origin)]
    best: int | None = None
    while heap:
        d, loc = heapq.heappop(heap)
        if d > dist.get(loc, d):
            continue
        if best is not None and d >= best:
            break
        if to_location is not None and loc == to_location:
            return d
        if city is not None:
            last = twin.city_transit_days(loc, city)
            if last is not None and (best is None or d + last < best):
                best = d + last
        for lane in twin.lanes:
            if lane.to_city or lane.origin != loc:
                continue
            nd = d + lane.transit_days
            if nd < dist.get(lane.destination, nd + 1):
                dist[lane.destination] = nd
                heapq.heappush(heap, (nd, lane.destination))
    return best


def route_days(twin: Twin, origin: str, city: str) -> int | None:
    return _route_days(twin, origin, city)


@dataclass
class Plan:
    twin: Twin
    today: date
    reservations: list[StockReservation] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._routes: dict[tuple[str, str | None, str | None], int | None] = {}

    def clone(self) -> Plan:
        p = Plan(self.twin, self.today, list(self.reservations), list(self.jobs))
        p._routes = self._routes
        return p

    # -- ATP ------------------------------------------------------------------------------------

    def _events(self, item: str, location: str) -> dict[date, int]:
        ev: dict[date, int] = {self.today: self.twin.stock_at(item, location)}
        for r in self.twin.receipts:
            if r.item == item and r.location == location:
                d = max(r.date, self.today)
                ev[d] = ev.get(d, 0) + r.quantity
        for s in self.reservations:
            if s.item == item and s.location == location:
                d = max(s.date, self.today)
                ev[d] = ev.get(d, 0) - s.quantity
        return ev

    def atp(self, item: str, location: str, quantity: int) -> date | None:
        """The first day ``quantity`` units can be drawn at ``location`` for good (None: never)."""
        ev = self._events(item, location)
        days = sorted(ev)
        bal, balances = 0, []
        for d in days:
            bal += ev[d]
            balances.append(bal)
        suffix = balances[:]
        for i in range(len(suffix) - 2, -1, -1):
            suffix[i] = min(suffix[i], suffix[i + 1])
        for d, low in zip(days, suffix, strict=True):
            if low >= quantity:
                return d
        return None

    def available_now(self, item: str, location: str) -> int:
        """Units that could be promised today at ``location`` (the ATP quantity of today)."""
        ev = self._events(item, location)
        bal, low = 0, None
        for d in sorted(ev):
            bal += ev[d]
            low = bal if low is None else min(low, bal)
        return max(0, low or 0)

    # -- routes ---------------------------------------------------------------------------------

    def _route(self, origin: str, city: str | None, to_location: str | None) -> int | None:
        key = (origin, city, to_location)
        if key not in self._routes:
            self._routes[key] = _route_days(self.twin, origin, city, to_location)
        return self._routes[key]

    # -- CTP ------------------------------------------------------------------------------------

    def _produce(self, line_id: str, item: str, quantity: int, ref: str, depth: int) -> date | None:
        if depth > len(self.twin.items):  # cannot happen on an acyclic bill of materials
            return None
        """Add a job for ``quantity`` of ``item`` on ``line_id`` (and its components) to this plan;
        return the first day its goods can ship (None: not within the horizon)."""
        line = self.twin.line(line_id)
        release = self.today
        jid = f"{ref}:{item}@{line_id}" if depth == 0 else f"{ref}:{item}"
        for b in sorted(self.twin.components(item), key=lambda b: b.component):
            need = b.quantity * quantity
            cref = f"{ref}/{b.component}"
            got = self.atp(b.component, line.location, need)
            if got is None:
                # made to order on a line of the same factory; those units go to this job only
                options = []
                for sub in self.twin.lines_making(b.component):
                    if sub.location != line.location:
                        continue
                    trial = self.clone()
                    try:
                        ready = trial._produce(sub.id, b.component, need, cref, depth + 1)
                    except BeyondHorizon:
                        ready = None
                    if ready is not None:
                        options.append((ready, sub.id, trial))
                if not options:
                    return None
                got, _, trial = min(options, key=lambda o: (o[0], o[1]))
                self.reservations, self.jobs = trial.reservations, trial.jobs
            else:
                self.reservations.append(StockReservation(b.component, line.location, need, got, jid))
            release = max(release, got)
        others = [j for j in self.jobs if j.line == line_id]

        def attempt(due: date) -> tuple[bool, date]:
            job = Job(jid, item, quantity, line_id, due, release)
            slots = schedule_line(line, [*others, job], self.today, self.twin.downtimes)
            return not any(s.late_days for s in slots), next(s.finish for s in slots if s.job.id == jid)

        # the earliest it could finish (first in line), then gallop to a due day that keeps every job on
        # time, then the smallest such day between the last that failed and it (each candidate is
        # checked against the whole schedule, so the one kept is always feasible)
        due = max(release, attempt(release)[1])
        limit = self.today + timedelta(days=HORIZON_DAYS)
        failed, step = due - DAY, 1
        while True:
            if due > limit:
                return None
            ok, finish = attempt(due)
            if ok:
                break
            failed = due
            due = max(due + step * DAY, finish)
            step *= 2
        lo, hi = failed + DAY, due
        while lo < hi:
            mid = lo + ((hi - lo).days // 2) * DAY
            if attempt(mid)[0]:
                hi = mid
            else:
                lo = mid + DAY
        self.jobs.append(Job(jid, item, quantity, line_id, hi, release))
        return hi + DAY

    def _options(
        self, item: str, quantity: int, city: str, ref: str
    ) -> list[tuple[tuple[object, ...], LinePromise, Plan]]:
        twin = self.twin
        out: list[tuple[tuple[object, ...], LinePromise, Plan]] = []
        for loc in twin.locations:
            route = self._route(loc.id, city, None)
            if route is None:
                continue
            d = self.atp(item, loc.id, quantity)
            if d is None:
                continue
            src = Source.STOCK if d == self.today else Source.RECEIPT
            res = StockReservation(item, loc.id, quantity, d, ref)
            lp = LinePromise(item, quantity, src, loc.id, d, d + route * DAY, (res,))
            trial = self.clone()
            trial.reservations.append(res)
            out.append(((lp.delivery_date, 0 if src is Source.STOCK else 1, loc.id), lp, trial))
        best = min((o[0] for o in out), default=None)
        for line in twin.lines_making(item):
            route = self._route(line.location, city, None)
            if route is None:
                continue
            # made goods ship the day after their due day at the earliest: skip a line that cannot win
            if best is not None and (self.today + (1 + route) * DAY, 2, line.id) > best:
                continue
            trial = self.clone()
            n_res, n_jobs = len(trial.reservations), len(trial.jobs)
            try:
                ready = trial._produce(line.id, item, quantity, ref, 0)
            except BeyondHorizon:
                ready = None
            if ready is None:
                continue
            lp = LinePromise(item, quantity, Source.PRODUCTION, line.location, ready, ready + route * DAY,
                             tuple(trial.reservations[n_res:]), tuple(trial.jobs[n_jobs:]))  # fmt: skip
            out.append(((lp.delivery_date, 2, line.id), lp, trial))
        return out

    def promise(self, lines: Sequence[tuple[str, int]], city: str, ref: str = "") -> Promise:
        """Promise dates for a basket of (item, quantity) to a buyer in ``city``; changes nothing.

        Raises :class:`SupplyInputError` for an unknown item or a quantity < 1 and
        :class:`PromiseUnavailable` when a line cannot be promised at all."""
        problems = []
        for item, qty in lines:
            if not self.twin.has_item(item):
                problems.append(f"unknown item {item!r}")
            if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
                problems.append(f"{item}: quantity must be an integer ≥ 1, got {qty!r}")
        if len({i for i, _ in lines}) != len(lines):
            problems.append("an item appears twice in the basket")
        if not lines:
            problems.append("a promise needs at least one line")
        if problems:
            raise SupplyInputError(problems)
        trial = self.clone()
        out = []
        for item, qty in lines:
            options = trial._options(item, qty, city, ref)
            if not options:
                raise PromiseUnavailable(item, f"no stock, receipt or capacity can deliver {qty} to {city}")
            _, lp, trial = min(options, key=lambda o: o[0])
            out.append(lp)
        return Promise(city, self.today, tuple(out))

    def commit(self, promise: Promise) -> None:
        """Reserve what ``promise`` was made from (its stock draws and production jobs)."""
        for lp in promise.lines:
            self.reservations.extend(lp.reservations)
            self.jobs.extend(lp.jobs)

    def slots(self) -> dict[str, Slot]:
        """The current earliest-due-date schedule of every line → job id → slot."""
        out: dict[str, Slot] = {}
        for line_id in sorted({j.line for j in self.jobs}):
            for s in schedule_line(self.twin.line(line_id), [j for j in self.jobs if j.line == line_id],
                                   self.today, self.twin.downtimes):  # fmt: skip
                out[s.job.id] = s
        return out


def plan_for(twin: Twin, today: date, reservations: Iterable[StockReservation] = (),
             jobs: Iterable[Job] = ()) -> Plan:  # fmt: skip
    return Plan(twin, today, list(reservations), list(jobs))
