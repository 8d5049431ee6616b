"""`mercato supply simulate|forecast|policy` through Typer's runner."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mercato.cli import app
from mercato.supply.scenario_synthetic import network_scenario

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "supply"
runner = CliRunner()


def test_simulate_text_json_and_plots(tmp_path: Path) -> None:
    scn = tmp_path / "net.json"
    scn.write_text(json.dumps(network_scenario(5, 5, seed=1, days=30)))
    r = runner.invoke(app, ["supply", "simulate", "--scenario", str(scn)])
    assert r.exit_code == 0, r.output
    assert "30 days" in r.output and "fill rate" in r.output and "line line-00" in r.output
    r = runner.invoke(
        app,
        [
            "supply",
            "simulate",
            "--scenario",
            str(scn),
            "--days",
            "20",
            "--json",
            "--plots",
            str(tmp_path / "p"),
        ],
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["days"] == 20 and 0 <= out["fill_rate"] <= 1
    assert sorted(Path(p).name for p in out["plots"]) == ["supply-inventory.png", "supply-service.png"]
    assert (tmp_path / "p" / "supply-service.png").read_bytes()[:4] == b"\x89PNG"


def test_simulate_example_6_1_cost() -> None:
    r = runner.invoke(
        app, ["supply", "simulate", "--scenario", str(FIXTURES / "ex61.toml"), "--days", "4000", "--json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["cost_per_day"] == pytest.approx(47.67, rel=0.03)


def test_simulate_bad_scenario(tmp_path: Path) -> None:
    data = network_scenario(2, 3, seed=1, days=5)
    data["demand"][0]["item"] = "ghost"
    data["twin"]["lanes"][0]["days"] = -1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    r = runner.invoke(app, ["supply", "simulate", "--scenario", str(bad)])
    assert r.exit_code == 2
    assert "bad.json" in r.output and "'days' is -1" in r.output
    r = runner.invoke(app, ["supply", "simulate", "--scenario", str(tmp_path / "none.toml")])
    assert r.exit_code == 2 and "cannot read the file" in r.output


def _orders_csv(path: Path) -> Path:
    rows = ["item,day,quantity"]
    start = date(2026, 1, 5)
    for d in range(84):
        day = (start + timedelta(days=d)).isoformat()
        rows.append(f"tee,{day},{10 + (5 if d % 7 >= 5 else 0) + d % 3}")
        if d % 5 == 0:
            rows.append(f"mug,{day},2")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_forecast(tmp_path: Path) -> None:
    csv = _orders_csv(tmp_path / "orders.csv")
    r = runner.invoke(app, ["supply", "forecast", "--orders", str(csv), "--horizon", "7", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out["items"]) == {"tee", "mug"} and out["first_day"] == "2026-03-30"
    assert len(out["items"]["tee"]["daily"]) == 7
    assert [a["method"] for a in out["accuracy"]] == ["auto", "seasonal_naive"]
    r = runner.invoke(app, ["supply", "forecast", "--orders", str(csv), "--holdout", "0"])
    assert r.exit_code == 0 and "tee" in r.output and "MASE" not in r.output


def test_forecast_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("item,day,quantity\ntee,2026-01-01,-3\n")
    r = runner.invoke(app, ["supply", "forecast", "--orders", str(bad)])
    assert r.exit_code == 2 and "row 1: quantity must be" in r.output
    r = runner.invoke(app, ["supply", "forecast", "--orders", str(tmp_path / "missing.csv")])
    assert r.exit_code == 2 and "cannot read the CSV" in r.output
    csv = _orders_csv(tmp_path / "orders.csv")
    r = runner.invoke(app, ["supply", "forecast", "--orders", str(csv), "--method", "oracle"])
    assert r.exit_code == 2 and "unknown method" in r.output


POLICY_CASES = [
    ("base_stock --mean 120 --sd 10 --holding 2 --stockout 18", "level", 132.82),
    ("base_stock --mean 10 --sd 2 --service-level 0.5", "level", 10.0),
    ("s_S --mean 6 --holding 1 --stockout 4 --fixed-cost 5 --poisson", "order_up_to", 10),
    ("s_S --mean 50 --sd 8 --holding 0.18 --stockout 0.7 --fixed-cost 2.5", "reorder_point", 40.19),
    (f"r_Q --mean 1300 --sd 150 --holding 0.225 --stockout 7.5 --fixed-cost 8 --lead-time {1 / 12}",
     "reorder_point", 190.34),
    ("serial --stages 3:1,2:1,2:2 --stockout 37.12 --mean 5 --sd 1", "cost", 47.67),
]  # fmt: skip


@pytest.mark.parametrize(("args", "key", "value"), POLICY_CASES)
def test_policy(args: str, key: str, value: float) -> None:
    r = runner.invoke(app, ["supply", "policy", *args.split(), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)[key] == pytest.approx(value, abs=0.02)


def test_policy_bad_input() -> None:
    r = runner.invoke(app, ["supply", "policy", "kanban", "--mean", "3"])
    assert r.exit_code == 2 and "unknown policy kind" in r.output
    r = runner.invoke(app, ["supply", "policy", "base_stock", "--mean", "3", "--holding", "-1"])
    assert r.exit_code == 2 and "holding_cost must be > 0" in r.output
    r = runner.invoke(app, ["supply", "policy", "serial", "--mean", "3", "--stages", "3:x"])
    assert r.exit_code == 2 and "--stages" in r.output


def test_simulate_with_forecast_demand(tmp_path: Path) -> None:
    csv = _orders_csv(tmp_path / "orders.csv")
    data = network_scenario(2, 3, seed=1, days=20)
    data["twin"]["items"] += [{"id": "tee", "lead_time_days": 2}, {"id": "mug", "lead_time_days": 2}]
    data["policy"] += [{"item": "tee", "location": "store-000", "source": "supplier"}]
    scn = tmp_path / "s.json"
    scn.write_text(json.dumps(data))
    args = ["supply", "simulate", "--scenario", str(scn), "--orders", str(csv), "--json"]
    r = runner.invoke(app, [*args, "--location", "store-000"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["demand"] > 20 * 10  # tee sells 10-17 a day
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "--location" in r.output
    r = runner.invoke(app, [*args, "--location", "nowhere"])
    assert r.exit_code == 2 and "unknown location 'nowhere'" in r.output
