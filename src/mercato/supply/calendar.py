"""Working calendars: which weekdays a production line works and which dates are holidays.

Pure. Dates are calendar dates (UTC days); weekday numbers follow :meth:`datetime.date.weekday`
(0 = Monday … 6 = Sunday); files use the three-letter names ``mon`` … ``sun``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from .errors import SupplyInputError

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: How far ahead a search for a working day may look before giving up (a calendar whose holidays
#: cover every working day for years is as good as one with no working days).
HORIZON_DAYS = 3 * 366


@dataclass(frozen=True, slots=True)
class Calendar:
    id: str = "default"
    weekdays: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        bad = sorted(d for d in self.weekdays if not (isinstance(d, int) and 0 <= d <= 6))
        if bad:
            raise SupplyInputError([f"calendar {self.id!r}: weekday numbers must be 0..6, got {bad}"])
        if not self.weekdays:
            raise SupplyInputError([f"calendar {self.id!r} has no working days"])

    def is_working(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def next_working(self, day: date) -> date:
        """``day`` itself if it is a working day, else the first working day after it."""
        for _ in range(HORIZON_DAYS):
            if self.is_working(day):
                return day
            day += timedelta(days=1)
        raise SupplyInputError([f"calendar {self.id!r} has no working day within {HORIZON_DAYS} days"])

    def working_days(self, start: date) -> Iterator[date]:
        """Working days from ``start`` (inclusive) on, without end."""
        day = self.next_working(start)
        while True:
            yield day
            day = self.next_working(day + timedelta(days=1))

    def add_working_days(self, day: date, n: int) -> date:
        """The ``n``-th working day after ``day`` (``n = 0``: the next working day from ``day``)."""
        if n < 0:
            raise SupplyInputError([f"cannot add {n} working days"])
        it = self.working_days(day)
        out = next(it)
        for _ in range(n):
            out = next(it)
        return out

    def count_working(self, start: date, end: date) -> int:
        """Working days in ``[start, end)``."""
        n = 0
        day = start
        while day < end:
            n += self.is_working(day)
            day += timedelta(days=1)
        return n

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "weekdays": [WEEKDAY_NAMES[d] for d in sorted(self.weekdays)],
            "holidays": [d.isoformat() for d in sorted(self.holidays)],
        }


def parse_weekdays(values: Iterable[object], where: str, problems: list[str]) -> frozenset[int]:
    out: set[int] = set()
    for v in values:
        if isinstance(v, str) and v.lower()[:3] in WEEKDAY_NAMES:
            out.add(WEEKDAY_NAMES.index(v.lower()[:3]))
        elif isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 6:
            out.add(v)
        else:
            problems.append(f"{where}: {v!r} is not a weekday (mon..sun or 0..6)")
    return frozenset(out)


def parse_date(value: object, where: str, problems: list[str]) -> date | None:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        problems.append(f"{where}: expected a date YYYY-MM-DD")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(f"{where}: {value!r} is not a date YYYY-MM-DD")
        return None
