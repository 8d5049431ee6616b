from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.supply.calendar import Calendar
from mercato.supply.errors import SupplyInputError
from mercato.supply.model import Downtime, Line, Rate
from mercato.supply.parse import parse_twin
from mercato.supply.schedule import Job, capacity_on, late_jobs, schedule, schedule_line
from tests.supply.twin_data import twin_doc

MON = date(2026, 11, 23)
LINE = Line("L", "f", 100, Calendar(), (Rate("a", 10, 20), Rate("b", 25, 0)))


def test_edd_order_and_capacity_spill_over_days() -> None:
    jobs = [Job("late", "a", 5, "L", MON + timedelta(days=4), MON), Job("soon", "b", 6, "L", MON, MON)]
    slots = schedule_line(LINE, jobs, MON)
    assert [s.job.id for s in slots] == ["soon", "late"]
    soon, late = slots
    assert soon.usage == ((MON, 100), (MON + timedelta(days=1), 50))  # 6 × 25 = 150
    assert late.start == MON + timedelta(days=1) and late.usage[0] == (MON + timedelta(days=1), 50)
    assert late.finish == MON + timedelta(days=2)  # 20 + 5 × 10 = 70: 50 + 20
    assert soon.late_days == 1 and late.late_days == 0
    assert late_jobs(slots) == (soon,)
    assert soon.ready == MON + timedelta(days=2)


def test_weekend_holiday_and_downtime_give_no_capacity() -> None:
    fri = MON + timedelta(days=4)
    line = Line("L", "f", 100, Calendar(holidays=frozenset({MON})), (Rate("a", 100),))
    down = [Downtime("L", MON + timedelta(days=1), MON + timedelta(days=2), "repair")]
    assert capacity_on(line, MON, down) == 0  # holiday
    assert capacity_on(line, MON + timedelta(days=1), down) == 0  # down
    assert capacity_on(line, MON + timedelta(days=3), down) == 100
    assert capacity_on(line, fri + timedelta(days=1), down) == 0  # Saturday
    assert capacity_on(line, MON + timedelta(days=1), [Downtime("other", MON, fri)]) == 100
    slots = schedule_line(line, [Job("j", "a", 3, "L", fri, MON)], MON, down)
    assert slots[0].start == MON + timedelta(days=3) and slots[0].finish == fri + timedelta(days=3)
    assert slots[0].late_days == 3


def test_release_dates_are_respected() -> None:
    slots = schedule_line(
        LINE, [Job("j", "a", 1, "L", MON + timedelta(days=9), MON + timedelta(days=2))], MON
    )
    assert slots[0].start == MON + timedelta(days=2)


def test_bad_jobs() -> None:
    with pytest.raises(SupplyInputError, match="does not make 'z'"):
        schedule_line(LINE, [Job("j", "z", 1, "L", MON, MON)], MON)
    with pytest.raises(SupplyInputError, match="quantity must be at least 1"):
        schedule_line(LINE, [Job("j", "a", 0, "L", MON, MON)], MON)
    with pytest.raises(SupplyInputError, match="not 'L'"):
        schedule_line(LINE, [Job("j", "a", 1, "M", MON, MON)], MON)
    twin = parse_twin(twin_doc())
    with pytest.raises(SupplyInputError, match="unknown line 'M'"):
        schedule(twin, [Job("j", "chair", 1, "M", MON, MON)], MON)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b"]), st.integers(1, 12), st.integers(0, 15), st.integers(0, 5)),
        min_size=1,
        max_size=8,
    )
)
def test_schedule_uses_exactly_the_work_within_daily_capacity(specs: list[tuple[str, int, int, int]]) -> None:
    jobs = [
        Job(f"j{i}", item, q, "L", MON + timedelta(days=due), MON + timedelta(days=rel))
        for i, (item, q, due, rel) in enumerate(specs)
    ]
    slots = schedule_line(LINE, jobs, MON)
    assert sorted(s.job.id for s in slots) == sorted(j.id for j in jobs)
    per_day: dict[date, int] = {}
    for s in slots:
        assert sum(u for _, u in s.usage) == s.job.work(LINE)
        assert s.start >= s.job.release and s.start == s.usage[0][0] and s.finish == s.usage[-1][0]
        for d, u in s.usage:
            assert LINE.calendar.is_working(d)
            per_day[d] = per_day.get(d, 0) + u
    assert all(u <= LINE.capacity_per_day for u in per_day.values())
    # no preemption: the runs do not interleave
    for a, b in zip(slots, slots[1:], strict=False):
        assert a.finish <= b.start


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 12), st.integers(0, 15)), min_size=1, max_size=8))
def test_edd_minimises_the_largest_lateness(specs: list[tuple[int, int]]) -> None:
    """Without release dates, EDD is optimal for the largest lateness (Jackson's rule): no order of the
    jobs does better; checked against every permutation of a small set."""
    import itertools

    jobs = [Job(f"j{i}", "a", q, "L", MON + timedelta(days=d), MON) for i, (q, d) in enumerate(specs[:5])]
    edd = max(s.late_days for s in schedule_line(LINE, jobs, MON))
    for perm in itertools.permutations(jobs):
        # force the order through due dates that follow the permutation, then measure true lateness
        forced = [
            Job(j.id, j.item, j.quantity, "L", MON + timedelta(days=k), MON) for k, j in enumerate(perm)
        ]
        due = {j.id: j.due for j in jobs}
        worst = max(max(0, (s.finish - due[s.job.id]).days) for s in schedule_line(LINE, forced, MON))
        assert edd <= worst
