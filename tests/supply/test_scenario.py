"""Scenario files: the format, JSON and TOML alike, and a clear error for every kind of bad input."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mercato.supply.errors import SupplyInputError
from mercato.supply.scenario import load_scenario, parse_scenario

FIXTURES = Path(__file__).parent.parent / "fixtures" / "supply"


def base() -> dict[str, Any]:
    return {
        "start": "2026-01-05",
        "days": 30,
        "seed": 1,
        "twin": {
            "locations": [
                {"id": "F", "kind": "factory"},
                {"id": "W", "kind": "warehouse"},
                {"id": "S", "kind": "store"},
            ],
            "lanes": [{"from": "F", "to": "W", "days": 2}, {"from": "W", "to": "S", "days": 1}],
            "items": [{"id": "tee", "lead_time_days": 3}, {"id": "cap"}],
            "lines": [
                {
                    "id": "L1",
                    "location": "F",
                    "capacity_per_day": 50,
                    "rates": [{"item": "tee", "per_unit": 1}],
                }
            ],
        },
        "demand": [{"item": "tee", "location": "S", "mean": 5.0}],
        "policy": [
            {"item": "tee", "location": "S", "source": "W", "level": 20},
            {"item": "tee", "location": "W", "source": "F"},
            {"item": "tee", "location": "F", "source": "production"},
        ],
        "event": [{"type": "line_down", "line": "L1", "start": "2026-01-10", "days": 3}],
    }


def test_valid_scenario() -> None:
    sc = parse_scenario(base())
    assert sc.days == 30 and sc.seed == 1 and str(sc.start) == "2026-01-05"
    assert sc.demand[0].sd == pytest.approx(5**0.5)
    assert sc.policies[0].level == 20 and sc.policies[1].level is None
    assert sc.events[0].start == 5 and sc.events[0].days == 3


def test_weekly_profile_is_normalised() -> None:
    data = base()
    data["demand"][0]["weekly"] = [1, 1, 1, 1, 1, 2, 2]
    w = parse_scenario(data).demand[0].weekly
    assert sum(w) == pytest.approx(7) and w[5] == pytest.approx(2 * w[0])


def _mutate(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(base())
    target: Any = data
    keys = path.split(".")
    for k in keys[:-1]:
        target = target[int(k)] if k.isdigit() else target[k]
    last = keys[-1]
    if value is KeyError:
        del target[last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("demand.0.item", "shoe", "demand[0]: unknown item 'shoe'"),
        ("demand.0.location", "mars", "demand[0]: unknown location 'mars'"),
        ("demand.0.mean", -1, "demand[0]: 'mean' is -1"),
        ("demand.0.distribution", "gamma", "'distribution' must be one of"),
        ("demand.0.weekly", [1, 2], "'weekly' must be 7 numbers"),
        ("demand.0.colour", "red", "demand[0]: unknown key 'colour'"),
        ("twin.lanes.0.days", -2, "twin: lanes[0]: 'days' is -2"),
        ("twin.items.0.lead_time_days", -1, "twin: items[0]: 'lead_time_days' is -1"),
        ("twin.lines.0.capacity_per_day", 0, "a line needs capacity > 0"),
        ("policy.0.type", "kanban", "'type' must be one of"),
        ("policy.0.source", "nowhere", "unknown source location 'nowhere'"),
        ("policy.0.source", "F", "no lane from 'F' to 'S'"),
        ("policy.0.service_level", 1.5, "'service_level' must be between 0 and 1"),
        ("policy.0.quantity", 0, "'quantity' is 0"),
        ("policy.0.level", "high", "'level' must be a number"),
        ("event.0.line", "L9", "event[0]: unknown line 'L9'"),
        ("event.0.type", "flood", "'type' must be one of"),
        ("event.0.start", "2025-12-01", "starts 35 days before the scenario"),
        ("event.0.days", 0, "'days' is 0"),
        ("days", 0, "'days' is 0"),
        ("start", "soon", "not a date"),
        ("colour", "red", "scenario: unknown key 'colour'"),
        ("twin", KeyError, "'twin'"),
        ("demand", {"item": "tee"}, "demand: expected a list"),
    ],
)
def test_bad_input_names_the_problem(path: str, value: Any, message: str) -> None:
    with pytest.raises(SupplyInputError) as info:
        parse_scenario(_mutate(path, value), "scn.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("scn.toml: ")


def test_policy_problems() -> None:
    data = base()
    data["policy"].append({"item": "tee", "location": "S", "source": "W"})
    data["policy"].append({"item": "cap", "location": "F", "source": "production"})
    data["policy"].append({"item": "cap", "location": "W", "type": "s_S", "reorder_point": 5})
    data["policy"].append(
        {"item": "cap", "location": "S", "type": "s_S", "reorder_point": 5, "order_up_to": 5}
    )
    with pytest.raises(SupplyInputError) as info:
        parse_scenario(data)
    text = str(info.value)
    assert "a policy for 'tee' at 'S' is given twice" in text
    assert "no line at 'F' makes 'cap'" in text
    assert "needs both 'reorder_point' and 'order_up_to'" in text
    assert "'order_up_to' must be above 'reorder_point'" in text


def test_source_cycle() -> None:
    data = base()
    data["twin"]["lanes"].append({"from": "S", "to": "W", "days": 1})
    data["policy"][1] = {"item": "tee", "location": "W", "source": "S"}
    with pytest.raises(SupplyInputError, match="the sources form a cycle"):
        parse_scenario(data)


def test_event_problems() -> None:
    data = base()
    data["event"] = [
        {"type": "demand_spike", "item": "tee", "start": 2, "days": 3},
        {"type": "late_supplier", "item": "shoe", "start": 2},
    ]
    with pytest.raises(SupplyInputError) as info:
        parse_scenario(data)
    text = str(info.value)
    assert "a demand_spike needs 'factor'" in text
    assert "a late_supplier needs 'delay_days' >= 1" in text
    assert "event[1]: unknown item 'shoe'" in text


def test_every_problem_is_listed() -> None:
    data = base()
    data["demand"][0]["item"] = "shoe"
    data["policy"][0]["source"] = "nowhere"
    with pytest.raises(SupplyInputError) as info:
        parse_scenario(data)
    assert len(info.value.problems) >= 2


def test_not_a_table() -> None:
    with pytest.raises(SupplyInputError, match="top level"):
        parse_scenario([1, 2])  # type: ignore[arg-type]


def test_files(tmp_path: Path) -> None:
    j = tmp_path / "s.json"
    j.write_text(json.dumps(base()))
    assert load_scenario(j).days == 30
    ex = load_scenario(FIXTURES / "ex61.toml")
    assert [p.level for p in ex.policies] == [6.48, 5.55, 10.69]
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "days": 3,\n  oops\n}')
    with pytest.raises(SupplyInputError, match=r"bad.json: not valid JSON \(line 3\)"):
        load_scenario(bad)
    badt = tmp_path / "bad.toml"
    badt.write_text("days = = 3")
    with pytest.raises(SupplyInputError, match="not valid TOML"):
        load_scenario(badt)
    with pytest.raises(SupplyInputError, match="cannot read the file"):
        load_scenario(tmp_path / "missing.toml")


def test_demand_from_a_forecast() -> None:
    from datetime import date

    from mercato.supply.forecast import Forecast, ItemForecast
    from mercato.supply.scenario import with_forecast_demand

    sc = parse_scenario(base())
    fc = Forecast(
        date(2026, 1, 5), 7, "auto", {"tee": ItemForecast("tee", "ses", (4, 4, 4, 4, 4, 8, 8), 1.5)}
    )
    out = with_forecast_demand(sc, fc, "S")
    (d,) = out.demand
    assert d.mean == pytest.approx(36 / 7) and d.sd == 1.5 and d.distribution == "normal"
    assert d.weekly[5] == pytest.approx(2 * d.weekly[0])  # 2026-01-05 is a Monday
    bad = Forecast(date(2026, 1, 5), 1, "auto", {"ghost": ItemForecast("ghost", "ses", (1,), 0.0)})
    with pytest.raises(SupplyInputError, match="unknown item"):
        with_forecast_demand(sc, bad, "S")
    with pytest.raises(SupplyInputError, match="unknown location 'moon'"):
        with_forecast_demand(sc, fc, "moon")


def test_the_documented_example_is_valid() -> None:
    import tomllib

    doc = (Path(__file__).resolve().parents[2] / "docs" / "supply-planning.md").read_text(encoding="utf-8")
    start = doc.index('```toml\nstart = "2026-01-05"') + len("```toml\n")
    sc = parse_scenario(tomllib.loads(doc[start : doc.index("```", start)]))
    assert [p.source for p in sc.policies] == ["wh-1", "factory", "production"]
    assert {e.type for e in sc.events} == {"line_down", "demand_spike"}
