"""A small day-stepping executor: carry out a plan day by day and record when goods really arrive.

Pure. It is the check behind the promise rules (with no disruption, every promised date is met):
receipts arrive on their day; each line works its calendar's capacity (less downtime), running the
released jobs whose components are on hand, earliest due first, without preemption; finished goods
are on hand the next day; a promised line ships on its ship day, or as soon after as its goods are
on hand, and arrives after the shortest route's transit days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .model import Twin
from .promise import Promise, route_days
from .schedule import Job, capacity_on

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Delivery:
    promise: int  # index in the promises given
    item: str
    promised: date
    shipped: date | None
    arrived: date | None

    @property
    def on_time(self) -> bool:
        return self.arrived is not None and self.arrived <= self.promised


@dataclass(frozen=True, slots=True)
class Execution:
    deliveries: tuple[Delivery, ...]
    finished: dict[str, date]  # job id → the day it finished
    on_hand: dict[tuple[str, str], int]  # at the end

    @property
    def on_time_rate(self) -> float:
        return sum(d.on_time for d in self.deliveries) / len(self.deliveries) if self.deliveries else 1.0


def execute(twin: Twin, today: date, promises: Sequence[Promise], jobs: Sequence[Job] = (),
            days: int | None = None) -> Execution:  # fmt: skip
    """Run the plan: the promises' own jobs plus ``jobs`` (other work on the lines) for ``days`` days
    (default: until the last promised delivery plus a week)."""
    all_jobs = list(jobs) + [j for p in promises for ln in p.lines for j in ln.jobs]
    pending_ship = [(pi, ln) for pi, p in enumerate(promises) for ln in p.lines]
    last = max((ln.delivery_date for _, ln in pending_ship), default=today)
    end = today + timedelta(days=days) if days is not None else last + 7 * DAY
    on_hand: dict[tuple[str, str], int] = {}
    for s in twin.stock:
        on_hand[(s.item, s.location)] = on_hand.get((s.item, s.location), 0) + s.quantity
    arrivals: dict[date, list[tuple[str, str, int]]] = {}
    for r in twin.receipts:
        arrivals.setdefault(max(r.date, today), []).append((r.item, r.location, r.quantity))
    running: dict[str, tuple[Job, int]] = {}  # line → (job, capacity still needed)
    waiting = sorted(all_jobs, key=lambda j: (j.due, j.id))
    finished: dict[str, date] = {}
    shipped: dict[int, tuple[date, date]] = {}
    day = today
    while day <= end:
        for item, loc, qty in arrivals.pop(day, []):
            on_hand[(item, loc)] = on_hand.get((item, loc), 0) + qty
        # shipments due by today, in promised order
        for k, (_pi, ln) in enumerate(pending_ship):
            if k in shipped or ln.ship_date > day:
                continue
            key = (ln.item, ln.location)
            if on_hand.get(key, 0) >= ln.quantity:
                on_hand[key] -= ln.quantity
                route = route_days(twin, ln.location, promises[_pi].city)
                shipped[k] = (day, day + (route if route is not None else 10**4) * DAY)
        # production
        for line in sorted(twin.lines, key=lambda x: x.id):
            free = capacity_on(line, day, twin.downtimes)
            while free > 0:
                if line.id not in running:
                    job = next((j for j in waiting if j.line == line.id and j.release <= day
                                and _has_components(twin, on_hand, j, line.location)), None)  # fmt: skip
                    if job is None:
                        break
                    waiting.remove(job)
                    for b in twin.components(job.item):
                        on_hand[(b.component, line.location)] -= b.quantity * job.quantity
                    running[line.id] = (job, job.work(line))
                job, need = running[line.id]
                take = min(free, need)
                free -= take
                if take == need:
                    del running[line.id]
                    finished[job.id] = day
                    arrivals.setdefault(day + DAY, []).append((job.item, line.location, job.quantity))
                else:
                    running[line.id] = (job, need - take)
        day += DAY
    deliveries = []
    for k, (pi, ln) in enumerate(pending_ship):
        ship, arrive = shipped.get(k, (None, None))
        deliveries.append(Delivery(pi, ln.item, ln.delivery_date, ship, arrive))
    return Execution(tuple(deliveries), finished, on_hand)


def _has_components(twin: Twin, on_hand: dict[tuple[str, str], int], job: Job, location: str) -> bool:
    return all(
        on_hand.get((b.component, location), 0) >= b.quantity * job.quantity
        for b in twin.components(job.item)
    )
