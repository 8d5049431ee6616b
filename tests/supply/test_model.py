from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato.supply.calendar import Calendar
from mercato.supply.errors import SupplyInputError
from mercato.supply.loader import load_twin
from mercato.supply.model import BomLine, LocationKind
from mercato.supply.parse import bom_cycle, parse_twin
from tests.supply.twin_data import twin_doc


def _problems(doc: Any) -> list[str]:
    with pytest.raises(SupplyInputError) as info:
        parse_twin(doc)
    problems: list[str] = info.value.problems
    return problems


def test_good_document_parses_and_answers_lookups() -> None:
    t = parse_twin(twin_doc())
    assert t.location("fac").kind is LocationKind.FACTORY
    assert t.transit_days("fac", "wh") == 2 and t.transit_days("wh", "fac") is None
    assert t.city_transit_days("wh", "std:022") == 1
    assert t.city_transit_days("wh", "std:011") == 0  # its own city
    assert t.city_transit_days("fac", "std:022") is None
    assert t.stock_at("chair", "wh") == 3 and t.stock_at("chair", "fac") == 0
    assert [b.component for b in t.components("chair")] == ["wood", "leg"]
    assert [ln.id for ln in t.lines_making("leg")] == ["L1"]
    assert t.calendar.holidays == frozenset({date(2026, 12, 25)})


def test_round_trip() -> None:
    t = parse_twin(twin_doc())
    assert parse_twin(json.loads(json.dumps(t.to_dict()))) == t


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d["calendars"][0].update(weekdays=[]), "calendar 'default' has no working days"),
        (lambda d: d["calendars"][0].update(weekdays=["funday"]), "'funday' is not a weekday"),
        (lambda d: d["calendars"][0].update(holidays=["25/12/2026"]), "is not a date"),
        (lambda d: d["lines"][0].update(capacity_per_day=0), "a line needs capacity > 0"),
        (lambda d: d["lines"][0].update(calendar="night"), "unknown calendar 'night'"),
        (lambda d: d["lines"][0].update(location="wh"), "not a factory"),
        (lambda d: d["lines"][0].update(rates=[]), "makes no item"),
        (lambda d: d["lines"][0]["rates"][0].update(per_unit=0), "at least 1 capacity unit"),
        (lambda d: d["lines"][0]["rates"][0].update(setup=-5), "setup time must not be negative"),
        (lambda d: d["lines"][0]["rates"][0].update(item="table"), "unknown item 'table'"),
        (lambda d: d["lanes"][0].update(days=-1), "a transit time must not be negative"),
        (lambda d: d["lanes"][0].update(to="moon"), "unknown location 'moon'"),
        (lambda d: d["lanes"][0].update(city="std:080"), "exactly one of 'to'"),
        (lambda d: d["lanes"].append({"from": "wh", "to": "wh", "days": 0}), "to itself"),
        (lambda d: d["items"][0].update(lead_time_days=-2), "a lead time must not be negative"),
        (lambda d: d["items"].append({"id": "chair"}), "item 'chair' is defined twice"),
        (lambda d: d["locations"][0].update(kind="shop"), "'kind' must be one of"),
        (lambda d: d["stock"][0].update(quantity=-1), "stock must not be negative"),
        (lambda d: d["stock"][0].update(location="nowhere"), "unknown location 'nowhere'"),
        (lambda d: d["bom"].append({"item": "leg", "component": "chair", "quantity": 1}), "has a cycle"),
        (lambda d: d["bom"][0].update(quantity=0), "component quantity must be at least 1"),
        (lambda d: d["receipts"][0].update(date="soon"), "is not a date"),
        (lambda d: d["receipts"][0].update(quantity=0), "at least 1 unit"),
        (lambda d: d.update(downtime=[{"line": "L9", "start": "2026-12-01"}]), "unknown line 'L9'"),
        (lambda d: d.update(downtime=[{"line": "L1", "start": "2026-12-02", "end": "2026-12-01"}]),
         "before it starts"),
        (lambda d: d.update(warehouses=[]), "unknown section 'warehouses'"),
        (lambda d: d.update(items="chair"), "items: expected a list"),
        (lambda d: d["items"].append("table"), "expected a table"),
        (lambda d: d["lines"][0].update(capacity_per_day="lots"), "must be an integer"),
    ],
)  # fmt: skip
def test_bad_input_names_the_problem(mutate: Any, needle: str) -> None:
    doc = twin_doc()
    mutate(doc)
    problems = _problems(doc)
    assert any(needle in p for p in problems), problems


def test_every_problem_is_listed_at_once() -> None:
    doc = twin_doc()
    doc["lines"][0]["capacity_per_day"] = 0
    doc["lanes"][0]["days"] = -3
    doc["bom"].append({"item": "wood", "component": "chair", "quantity": 1})
    problems = _problems(doc)
    assert len(problems) == 3
    assert "chair -> wood -> chair" in problems[2]


def test_calendar_rules() -> None:
    with pytest.raises(SupplyInputError, match="no working days"):
        Calendar("x", frozenset())
    cal = Calendar("c", frozenset({0, 1, 2, 3, 4}), frozenset({date(2026, 11, 27)}))
    assert cal.next_working(date(2026, 11, 27)) == date(2026, 11, 30)  # Fri holiday, weekend
    assert cal.add_working_days(date(2026, 11, 25), 2) == date(2026, 11, 30)
    assert cal.count_working(date(2026, 11, 23), date(2026, 11, 30)) == 4
    only_holidays = Calendar("h", frozenset({0}), frozenset())
    assert only_holidays.next_working(date(2026, 11, 25)) == date(2026, 11, 30)


@given(
    st.frozensets(st.integers(0, 6), min_size=1),
    st.dates(date(2026, 1, 1), date(2027, 12, 31)),
    st.integers(0, 30),
)
def test_add_working_days_counts_working_days(days: frozenset[int], start: date, n: int) -> None:
    cal = Calendar("c", days)
    end = cal.add_working_days(start, n)
    assert cal.is_working(end)
    assert cal.count_working(start, end) == n


@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.sampled_from("abcdef")), max_size=10))
def test_bom_cycle_found_iff_graph_is_cyclic(edges: list[tuple[str, str]]) -> None:
    bom = [BomLine(a, b, 1) for a, b in edges]
    cycle = bom_cycle(bom)
    # reference: repeatedly strip nodes without outgoing edges
    left = set(edges)
    while True:
        sinks = {b for _, b in left} - {a for a, _ in left}
        keep = {(a, b) for a, b in left if b not in sinks}
        if keep == left:
            break
        left = keep
    assert (cycle is not None) == bool(left)
    if cycle is not None:
        assert cycle[0] == cycle[-1]
        assert all((a, b) in set(edges) for a, b in zip(cycle, cycle[1:], strict=False))


def test_load_json_and_toml(tmp_path: Path) -> None:
    j = tmp_path / "twin.json"
    j.write_text(json.dumps(twin_doc()))
    t = tmp_path / "twin.toml"
    t.write_text(
        '[[locations]]\nid = "fac"\nkind = "factory"\n\n[[items]]\nid = "x"\n\n'
        '[[lines]]\nid = "L"\nlocation = "fac"\ncapacity_per_day = 8\n'
        '[[lines.rates]]\nitem = "x"\nper_unit = 2\n\n'
        '[[receipts]]\nitem = "x"\nlocation = "fac"\nquantity = 1\ndate = 2026-12-01\n'
    )
    assert load_twin(j) == parse_twin(twin_doc())
    twin = load_twin(t)
    assert twin.line("L").capacity_per_day == 8 and twin.receipts[0].date == date(2026, 12, 1)


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"items": [\n{"id": }]}')
    with pytest.raises(SupplyInputError, match=r"bad.json: not valid JSON \(line 2\)"):
        load_twin(bad)
    badt = tmp_path / "bad.toml"
    badt.write_text("[[items]\n")
    with pytest.raises(SupplyInputError, match="bad.toml: not valid TOML"):
        load_twin(badt)
    with pytest.raises(SupplyInputError, match="cannot read"):
        load_twin(tmp_path / "missing.json")
    arr = tmp_path / "arr.json"
    arr.write_text("[]")
    with pytest.raises(SupplyInputError, match="top level"):
        load_twin(arr)
    doc = copy.deepcopy(twin_doc())
    doc["lines"][0]["capacity_per_day"] = 0
    sem = tmp_path / "sem.json"
    sem.write_text(json.dumps(doc))
    with pytest.raises(SupplyInputError, match="sem.json: lines\\[0\\]"):
        load_twin(sem)
