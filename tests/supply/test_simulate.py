"""The simulation engine: Example 6.1 under its optimal policy, what-if events, determinism, plots."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mercato.supply.scenario import load_scenario, parse_scenario
from mercato.supply.scenario_synthetic import network_scenario
from mercato.supply.serial import SerialStage, optimize_serial
from mercato.supply.simulate import simulate
from mercato.supply.simulate_plots import write_plots

FIXTURES = Path(__file__).parent.parent / "fixtures" / "supply"
EX61_COST = 47.67  # Snyder & Shen, Example 6.1


def test_example_6_1_simulated_cost_is_near_the_optimum() -> None:
    sc = load_scenario(FIXTURES / "ex61.toml")
    r = simulate(sc, days=10_000, keep_series=False)
    assert r.cost_per_day == pytest.approx(EX61_COST, rel=0.02)
    assert 0.9 < r.fill_rate < 1.0


def test_example_6_1_levels_from_the_optimiser_simulate_alike() -> None:
    sol = optimize_serial([SerialStage(3, 1), SerialStage(2, 1), SerialStage(2, 2)], 37.12, 5, 1)
    sc = load_scenario(FIXTURES / "ex61.toml")
    policies = tuple(
        type(p)(**{**p.__dict__, "level": lvl})
        for p, lvl in zip(sc.policies, sol.local_base_stock(), strict=True)
    )
    worse = tuple(type(p)(**{**p.__dict__, "level": p.level * 0.7}) for p in sc.policies)  # type: ignore[operator]
    best = simulate(type(sc)(**{**sc.__dict__, "policies": policies}), days=6000, keep_series=False)
    under = simulate(type(sc)(**{**sc.__dict__, "policies": worse}), days=6000, keep_series=False)
    assert best.cost_per_day == pytest.approx(sol.cost, rel=0.02)
    assert under.cost_per_day > best.cost_per_day


def small() -> dict[str, Any]:
    return {
        "start": "2026-01-05",
        "days": 60,
        "seed": 3,
        "twin": {
            "calendars": [{"id": "always", "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}],
            "locations": [{"id": "F", "kind": "factory"}, {"id": "S", "kind": "store"}],
            "lanes": [{"from": "F", "to": "S", "days": 2}],
            "items": [{"id": "tee", "lead_time_days": 2}, {"id": "cap", "lead_time_days": 2}],
            "lines": [
                {
                    "id": "L1",
                    "location": "F",
                    "capacity_per_day": 10,
                    "calendar": "always",
                    "rates": [{"item": "tee", "per_unit": 1}],
                },
            ],  # fmt: skip
        },
        "demand": [
            {"item": "tee", "location": "S", "mean": 20.0},
            {"item": "cap", "location": "S", "mean": 4.0},
        ],
        "policy": [
            {"item": "tee", "location": "S", "source": "F"},
            {"item": "tee", "location": "F", "source": "production"},
            {"item": "cap", "location": "S", "source": "supplier", "level": 30},
        ],
    }


def test_same_seed_same_run() -> None:
    a = simulate(parse_scenario(small())).to_dict(series=True)
    b = simulate(parse_scenario(small())).to_dict(series=True)
    other = small()
    other["seed"] = 4
    c = simulate(parse_scenario(other)).to_dict()
    assert a == b
    assert c["demand"] != a["demand"]


def test_overloaded_line_runs_flat_out_and_stops_when_down() -> None:
    data = small()
    data["event"] = [{"type": "line_down", "line": "L1", "start": 10, "days": 4}]
    r = simulate(parse_scenario(data))
    use = r.series["line_use"]
    assert use[10:14] == [0.0] * 4
    assert all(u == 1.0 for u in use[2:10] + use[14:])  # demand (20/day) is twice the capacity
    assert r.capacity_use["L1"] == pytest.approx(1.0)
    assert r.fill_rate < 0.7
    assert r.backorders_end > 0


def test_demand_spike_raises_demand() -> None:
    calm = simulate(parse_scenario(small()))
    data = small()
    data["event"] = [{"type": "demand_spike", "item": "cap", "start": 0, "days": 60, "factor": 3.0}]
    spiked = simulate(parse_scenario(data))
    # cap demand 4 -> 12 a day over 60 days (tee unchanged): +480 units expected
    assert spiked.demand - calm.demand == pytest.approx(480, rel=0.2)


def test_overlapping_demand_spikes_stack_and_end_each_on_its_day() -> None:
    calm = simulate(parse_scenario(small()))
    data = small()
    data["event"] = [
        {"type": "demand_spike", "start": 0, "days": 60, "factor": 2.0},  # every item
        {"type": "demand_spike", "item": "cap", "start": 0, "days": 30, "factor": 2.0},
    ]
    spiked = simulate(parse_scenario(data))
    # cap 4 a day: x4 for 30 days, x2 for 30 more (+360 +120); tee's extra comes from the first spike only
    assert spiked.demand > calm.demand + 480 * 0.8


def test_late_supplier_hurts_service() -> None:
    data = small()
    data["demand"] = [{"item": "cap", "location": "S", "mean": 4.0}]
    data["policy"] = [{"item": "cap", "location": "S", "source": "supplier", "level": 16}]
    data["days"] = 200
    base = simulate(parse_scenario(data))
    data["event"] = [{"type": "late_supplier", "item": "cap", "start": 20, "days": 100, "delay_days": 6}]
    late = simulate(parse_scenario(data))
    assert late.fill_rate < base.fill_rate
    assert late.stockouts > base.stockouts


def test_no_stock_no_policy_serves_nothing() -> None:
    data = small()
    data["policy"] = []
    r = simulate(parse_scenario(data))
    assert r.fill_rate == 0.0 and r.on_time_rate == 0.0
    assert r.stockouts == sum(1 for _ in range(60)) * 2 - sum(1 for x in r.series["fill_rate"] if x == 1.0)
    assert r.average_inventory == 0.0
    assert r.backorders_end == pytest.approx(r.demand)


def test_no_demand_keeps_stock() -> None:
    data = small()
    data["demand"] = []
    data["twin"]["stock"] = [{"item": "tee", "location": "S", "quantity": 7}]
    r = simulate(parse_scenario(data))
    assert r.series["on_hand"][-1] >= 7
    assert r.fill_rate == 1.0 and r.stockouts == 0


@pytest.mark.parametrize(
    "policy",
    [
        {"type": "s_S", "reorder_point": 10, "order_up_to": 40},
        {"type": "r_Q", "reorder_point": 10, "quantity": 25},
        {"type": "s_S"},
        {"type": "r_Q"},
        {"type": "base_stock", "service_level": 0.99},
    ],
)
def test_policies_serve_most_demand(policy: dict[str, Any]) -> None:
    data = small()
    data["demand"] = [{"item": "cap", "location": "S", "mean": 4.0, "distribution": "normal", "sd": 1.0}]
    data["policy"] = [{"item": "cap", "location": "S", "source": "supplier", **policy}]
    data["days"] = 300
    r = simulate(parse_scenario(data))
    assert r.fill_rate > 0.9
    assert 0 < r.average_inventory < 60
    assert r.orders > 0


def test_network_scenario_runs_and_reports() -> None:
    sc = parse_scenario(network_scenario(12, 6, seed=2, days=40))
    ticks: list[int] = []
    r = simulate(sc, progress=lambda done, total: ticks.append(done))
    assert ticks == list(range(1, 41))
    assert 0.5 < r.fill_rate <= 1.0 and 0.0 <= r.on_time_rate <= 1.0
    assert set(r.capacity_use) == {"line-00"}
    assert 0 < r.capacity_use["line-00"] <= 1.0
    d = r.to_dict()
    assert {"fill_rate", "on_time_rate", "average_inventory", "stockouts", "capacity_use"} <= set(d)


def test_warmup_and_bad_days(tmp_path: Path) -> None:
    data = small()
    data["warmup_days"] = 10
    r = simulate(parse_scenario(data))
    assert r.days == 50 and len(r.series["on_hand"]) == 50
    with pytest.raises(ValueError, match="days must be >= 1"):
        simulate(parse_scenario(small()), days=0)
    paths = write_plots(r, tmp_path / "plots")
    assert [p.name for p in paths] == ["supply-inventory.png", "supply-service.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)
    quiet = simulate(parse_scenario(small()), keep_series=False)
    with pytest.raises(ValueError, match="no daily series"):
        write_plots(quiet, tmp_path)


def test_receipts_arrive() -> None:
    data = copy.deepcopy(small())
    data["demand"] = []
    data["policy"] = []
    data["twin"]["receipts"] = [{"item": "cap", "location": "S", "quantity": 9, "date": "2026-01-15"}]
    r = simulate(parse_scenario(data))
    assert r.series["on_hand"][9] == 0 and r.series["on_hand"][10] == 9


@st.composite
def random_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    items = [f"i{k}" for k in range(draw(st.integers(1, 3)))]
    stores = ["S1", "S2"]
    dist = draw(st.sampled_from(["poisson", "normal", "continuous"]))
    data: dict[str, Any] = {
        "start": "2026-01-05",
        "days": draw(st.integers(5, 40)),
        "seed": draw(st.integers(0, 1000)),
        "warmup_days": draw(st.integers(0, 4)),
        "twin": {
            "locations": [{"id": "F", "kind": "factory"}, {"id": "W", "kind": "warehouse"}]
            + [{"id": s, "kind": "store"} for s in stores],
            "lanes": [{"from": "F", "to": "W", "days": draw(st.integers(0, 3))}]
            + [{"from": "W", "to": s, "days": draw(st.integers(0, 2))} for s in stores],
            "items": [{"id": i, "lead_time_days": draw(st.integers(0, 4))} for i in items],
            "stock": [
                {"item": i, "location": loc, "quantity": draw(st.integers(0, 30))}
                for i in items
                for loc in ("F", "W", *stores)
            ],
            "lines": [
                {
                    "id": "L1",
                    "location": "F",
                    "capacity_per_day": draw(st.integers(1, 60)),
                    "rates": [
                        {"item": i, "per_unit": draw(st.integers(1, 3)), "setup": draw(st.integers(0, 5))}
                        for i in items
                    ],
                }
            ],
        },
        "demand": [
            {"item": i, "location": s, "mean": draw(st.floats(0, 12)), "sd": 2.0, "distribution": dist}
            for i in items
            for s in stores
        ],
        "policy": [],
        "event": [],
    }
    for i in items:
        for loc, src in (
            ("S1", "W"),
            ("S2", "W"),
            ("W", draw(st.sampled_from(["F", "supplier"]))),
            ("F", "production"),
        ):
            kind = draw(st.sampled_from(["base_stock", "s_S", "r_Q", "none"]))
            if kind != "none":
                data["policy"].append({"item": i, "location": loc, "source": src, "type": kind})
    for ev in draw(st.lists(st.sampled_from(["line_down", "demand_spike", "late_supplier"]), max_size=3)):
        start, days = draw(st.integers(0, 30)), draw(st.integers(1, 10))
        if ev == "line_down":
            data["event"].append({"type": ev, "line": "L1", "start": start, "days": days})
        elif ev == "demand_spike":
            data["event"].append({"type": ev, "start": start, "days": days, "factor": draw(st.floats(0, 4))})
        else:
            data["event"].append(
                {"type": ev, "start": start, "days": days, "delay_days": draw(st.integers(1, 5))}
            )
    return data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=random_scenarios())
def test_units_are_conserved_and_figures_stay_in_range(data: dict[str, Any]) -> None:
    r = simulate(parse_scenario(data))
    b = r.balance
    came_in = b["start"] + b["receipts"] + b["supplied"] + b["produced"]
    still_here = b["served"] + b["on_hand"] + b["in_transit"]
    assert came_in == pytest.approx(still_here, rel=1e-9, abs=1e-6)
    assert 0.0 <= r.fill_rate <= 1.0 and 0.0 <= r.on_time_rate <= 1.0
    assert all(0.0 <= u <= 1.0 + 1e-12 for u in r.capacity_use.values())
    assert min(r.series["on_hand"]) >= -1e-9 and min(r.series["backorders"]) >= -1e-9
    assert r.stockouts <= r.days * 2 * len(data["twin"]["items"])
    assert r.days == data["days"] - min(data["warmup_days"], data["days"] - 1)
