from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mercato.supply.errors import PromiseUnavailable, SupplyInputError
from mercato.supply.execute import execute
from mercato.supply.model import Downtime
from mercato.supply.parse import parse_twin
from mercato.supply.promise import Plan, Promise, Source, route_days
from mercato.supply.schedule import late_jobs
from tests.supply.twin_data import twin_doc

WED = date(2026, 11, 25)
CITY = "std:022"


def _plan(doc: dict[str, Any] | None = None) -> Plan:
    return Plan(parse_twin(doc or twin_doc()), WED)


def test_stock_on_hand_ships_today() -> None:
    p = _plan().promise([("chair", 3)], CITY)
    (ln,) = p.lines
    assert (ln.source, ln.location, ln.ship_date) == (Source.STOCK, "wh", WED)
    assert ln.delivery_date == WED + timedelta(days=1) == p.delivery_date


def test_short_stock_is_made_and_routed_through_the_warehouse() -> None:
    plan = _plan()
    plan.commit(plan.promise([("chair", 3)], CITY))
    p = plan.promise([("chair", 2)], CITY, ref="o2")
    (ln,) = p.lines
    assert ln.source is Source.PRODUCTION and ln.location == "fac"
    # legs: 8 × 5 = 40 on Wed; chairs: 30 + 2 × 10 = 50 released Thu (legs ready), done Thu, ship Fri
    assert [j.item for j in ln.jobs] == ["leg", "chair"]
    assert ln.ship_date == WED + timedelta(days=2)
    assert ln.delivery_date == ln.ship_date + timedelta(days=3)  # fac → wh 2 days, wh → city 1
    assert any(r.item == "wood" and r.quantity == 4 for r in ln.reservations)


def test_receipt_wins_when_it_is_earlier_than_production() -> None:
    doc = twin_doc()
    doc["stock"][0]["quantity"] = 0
    doc["receipts"][0]["date"] = "2026-11-26"
    p = _plan(doc).promise([("chair", 4)], CITY)
    assert p.lines[0].source is Source.RECEIPT and p.lines[0].ship_date == date(2026, 11, 26)


def test_atp_never_takes_units_promised_from_a_receipt() -> None:
    doc = twin_doc()
    doc["lines"] = []
    doc["bom"] = []
    plan = _plan(doc)
    first = plan.promise([("chair", 6)], CITY)  # 3 now + 5 on Dec 3 → from Dec 3
    assert first.lines[0].ship_date == date(2026, 12, 3)
    plan.commit(first)
    assert plan.available_now("chair", "wh") == 2
    plan.commit(plan.promise([("chair", 2)], CITY))
    with pytest.raises(PromiseUnavailable, match="chair"):
        plan.promise([("chair", 1)], CITY)


def test_components_short_and_no_line_for_them() -> None:
    doc = twin_doc()
    doc["stock"] = [{"item": "wood", "location": "fac", "quantity": 3}]
    doc["receipts"] = []
    plan = _plan(doc)
    with pytest.raises(PromiseUnavailable, match="chair"):
        plan.promise([("chair", 2)], CITY)  # needs 4 wood


def test_city_without_a_route_and_bad_requests() -> None:
    plan = _plan()
    with pytest.raises(PromiseUnavailable):
        plan.promise([("chair", 1)], "std:999")
    assert plan.promise([("chair", 1)], "std:080").lines[0].delivery_date > WED  # made at the factory
    for lines, needle in [
        ([("table", 1)], "unknown item"),
        ([("chair", 0)], "quantity must be"),
        ([("chair", 1), ("chair", 2)], "twice"),
        ([], "at least one line"),
    ]:
        with pytest.raises(SupplyInputError, match=needle):
            plan.promise(lines, CITY)


def test_route_days_takes_the_shortest_path() -> None:
    doc = twin_doc()
    doc["lanes"].append({"from": "fac", "city": CITY, "days": 5})
    twin = parse_twin(doc)
    assert route_days(twin, "fac", CITY) == 3
    assert route_days(twin, "wh", "std:011") == 0
    assert route_days(twin, "wh", "std:080") is None


def test_a_promise_changes_nothing_until_committed() -> None:
    plan = _plan()
    a = plan.promise([("chair", 3)], CITY)
    assert plan.promise([("chair", 3)], CITY) == a and not plan.reservations and not plan.jobs


def test_line_down_makes_a_promise_late() -> None:
    plan = _plan()
    plan.commit(plan.promise([("chair", 3)], CITY))
    made = plan.promise([("chair", 2)], CITY, ref="o2")
    plan.commit(made)
    assert not late_jobs(plan.slots().values())
    plan.twin = plan.twin.with_downtimes([Downtime("L1", WED, WED + timedelta(days=6), "broken")])
    late = late_jobs(plan.slots().values())
    assert sorted(s.job.item for s in late) == ["chair", "leg"]
    result = execute(plan.twin, WED, [made])
    assert not result.deliveries[0].on_time


# -- the property: with no disruption, every promised date is met ---------------------------------


def _day(k: int) -> str:
    return str(WED + timedelta(days=k))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, Any], list[list[tuple[str, int]]]]:
    ints = st.integers
    weekdays = draw(st.lists(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
                             min_size=1, max_size=7, unique=True))  # fmt: skip
    holidays = [_day(k) for k in draw(st.sets(ints(0, 20), max_size=4))]
    stock = [{"item": i, "location": loc, "quantity": draw(ints(0, 8))} for i in "xy" for loc in ("w1", "w2")]
    stock.append({"item": "part", "location": "fac", "quantity": draw(ints(0, 40))})
    receipts = [
        {"item": draw(st.sampled_from(["x", "y", "part"])),
         "location": draw(st.sampled_from(["w1", "w2", "fac"])), "quantity": draw(ints(1, 10)),
         "date": _day(draw(ints(-1, 15)))}
        for _ in range(draw(ints(0, 4)))
    ]  # fmt: skip
    downtime = (
        [{"line": "L2", "start": _day(2), "end": _day(draw(ints(2, 6)))}] if draw(st.booleans()) else []
    )
    doc: dict[str, Any] = {
        "calendars": [{"id": "default", "weekdays": weekdays, "holidays": holidays}],
        "locations": [{"id": "fac", "kind": "factory", "city": "c1"}, {"id": "w1", "kind": "warehouse"},
                      {"id": "w2", "kind": "warehouse", "city": "c2"}],
        "lanes": [{"from": "fac", "to": "w1", "days": draw(ints(0, 3))},
                  {"from": "w1", "city": "c3", "days": draw(ints(0, 3))},
                  {"from": "w2", "city": "c3", "days": draw(ints(0, 5))}],
        "items": [{"id": "x"}, {"id": "y"}, {"id": "part"}, {"id": "sub"}],
        "stock": stock,
        "receipts": receipts,
        "lines": [{"id": "L1", "location": "fac", "capacity_per_day": draw(ints(20, 200)), "rates": [
            {"item": "x", "per_unit": draw(ints(1, 30)), "setup": draw(ints(0, 40))},
            {"item": "sub", "per_unit": draw(ints(1, 10))}]},
            {"id": "L2", "location": "fac", "capacity_per_day": draw(ints(1, 60)),
             "rates": [{"item": "y", "per_unit": draw(ints(1, 20))}]}],
        "bom": [{"item": "x", "component": "part", "quantity": draw(ints(1, 3))},
                {"item": "x", "component": "sub", "quantity": draw(ints(1, 2))}],
        "downtime": downtime,
    }  # fmt: skip
    basket = st.lists(st.tuples(st.sampled_from(["x", "y"]), ints(1, 9)), min_size=1, max_size=2,
                      unique_by=lambda t: t[0])  # fmt: skip
    return doc, draw(st.lists(basket, min_size=1, max_size=6))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.sampled_from(["c1", "c2", "c3"]))
def test_every_promise_is_met_when_the_plan_is_executed(
    scenario: tuple[dict[str, Any], list[list[tuple[str, int]]]], city: str
) -> None:
    doc, orders = scenario
    twin = parse_twin(doc)
    plan = Plan(twin, WED)
    promises: list[Promise] = []
    for k, basket in enumerate(orders):
        try:
            p = plan.promise(basket, city, ref=f"o{k}")
        except PromiseUnavailable:
            continue
        assert p.delivery_date >= WED
        plan.commit(p)
        promises.append(p)
    assert not late_jobs(plan.slots().values())
    result = execute(twin, WED, promises)
    late = [d for d in result.deliveries if not d.on_time]
    assert not late, late
