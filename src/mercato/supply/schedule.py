"""Production scheduling: earliest due date first, within a line's capacity and working calendar.

Pure and deterministic. A :class:`Job` (a production order's work) makes ``quantity`` units of one
item on one line; it needs ``setup + quantity × per_unit`` capacity units, may not start before its
``release`` date (components arrive), and should be complete by the end of its ``due`` date (its
goods can ship the day after). :func:`schedule_line` dispatches the released jobs of one line in
earliest-due-date order (ties by id), without preemption, filling each working day's capacity and
skipping days the calendar or a :class:`~mercato.supply.model.Downtime` takes away. A job that
finishes after its due date is *late*: its promise cannot be kept and :func:`late_jobs` says by how much.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .calendar import HORIZON_DAYS
from .errors import SupplyInputError
from .model import Downtime, Line, Twin


class BeyondHorizon(SupplyInputError):
    """The jobs do not fit on the line within the planning horizon."""


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    item: str
    quantity: int
    line: str
    due: date  # complete by the end of this day
    release: date  # not before this day

    def work(self, line: Line) -> int:
        rate = line.rate(self.item)
        if rate is None:
            raise SupplyInputError([f"job {self.id!r}: line {line.id!r} does not make {self.item!r}"])
        if self.quantity < 1:
            raise SupplyInputError([f"job {self.id!r}: quantity must be at least 1"])
        return rate.setup + self.quantity * rate.per_unit


@dataclass(frozen=True, slots=True)
class Slot:
    """What one job got: ``start`` and ``finish`` days and the capacity used per day."""

    job: Job
    start: date
    finish: date
    usage: tuple[tuple[date, int], ...]

    @property
    def late_days(self) -> int:
        return max(0, (self.finish - self.job.due).days)

    @property
    def ready(self) -> date:
        """The first day its goods can ship."""
        return self.finish + timedelta(days=1)


def capacity_on(line: Line, day: date, downtimes: Iterable[Downtime]) -> int:
    if not line.calendar.is_working(day):
        return 0
    if any(d.line == line.id and d.covers(day) for d in downtimes):
        return 0
    return line.capacity_per_day


def schedule_line(
    line: Line, jobs: Sequence[Job], start: date, downtimes: Sequence[Downtime] = ()
) -> tuple[Slot, ...]:
    """Earliest-due-date dispatch of ``jobs`` (all on ``line``) from ``start`` on, in dispatch order."""
    mine = [d for d in downtimes if d.line == line.id]
    for j in jobs:
        if j.line != line.id:
            raise SupplyInputError([f"job {j.id!r} is for line {j.line!r}, not {line.id!r}"])
    by_release = sorted(jobs, key=lambda j: (j.release, j.due, j.id))
    limit = start + timedelta(
        days=HORIZON_DAYS + max((j.release - start).days for j in by_release) if by_release else 0
    )
    day, free = start, capacity_on(line, start, mine)
    out: list[Slot] = []
    ready: list[tuple[date, str, int]] = []  # (due, id, index): earliest due first
    nxt = 0
    while nxt < len(by_release) or ready:
        while nxt < len(by_release) and by_release[nxt].release <= day:
            heapq.heappush(ready, (by_release[nxt].due, by_release[nxt].id, nxt))
            nxt += 1
        if not ready:
            day = max(day + timedelta(days=1), by_release[nxt].release)
            free = capacity_on(line, day, mine)
            continue
        job = by_release[heapq.heappop(ready)[2]]
        need = job.work(line)
        usage: list[tuple[date, int]] = []
        first: date | None = None
        while need > 0:
            if free == 0:
                day += timedelta(days=1)
                if day > limit:
                    raise BeyondHorizon([f"line {line.id!r} has no capacity left within the horizon"])
                free = capacity_on(line, day, mine)
                continue
            take = min(free, need)
            first = first or day
            usage.append((day, take))
            free -= take
            need -= take
        assert first is not None
        out.append(Slot(job, first, day, tuple(usage)))
    return tuple(out)


def schedule(
    twin: Twin, jobs: Sequence[Job], start: date, downtimes: Sequence[Downtime] | None = None
) -> dict[str, Slot]:
    """Schedule every line of ``twin`` (its downtimes, unless given) → job id → slot."""
    down = twin.downtimes if downtimes is None else tuple(downtimes)
    by_line: dict[str, list[Job]] = {}
    for j in jobs:
        by_line.setdefault(j.line, []).append(j)
    out: dict[str, Slot] = {}
    for line_id in sorted(by_line):
        if not any(ln.id == line_id for ln in twin.lines):
            raise SupplyInputError([f"unknown line {line_id!r}"])
        for slot in schedule_line(twin.line(line_id), by_line[line_id], start, down):
            out[slot.job.id] = slot
    return out


def late_jobs(slots: Iterable[Slot]) -> tuple[Slot, ...]:
    """The slots that finish after their due date (sorted by job id)."""
    return tuple(sorted((s for s in slots if s.late_days), key=lambda s: s.job.id))
