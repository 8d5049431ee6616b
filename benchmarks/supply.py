"""Supply benchmark: forecasting at scale, the network simulation, the serial optimisation.

    mercato bench supply [--json] [--series N] [--days D] [--autoets-sample K]
                         [--items I] [--locations L] [--sim-days S] [--seed X]

(a) ``forecast_s``: forecast N (10,000) seeded synthetic daily series of D (365) days 14 days
    ahead with ``mercato.supply.forecast`` (method ``auto``): fit on the first D-14 days, score the
    last 14 (holdout MASE, all N). Imports and first calls (20 series) are timed apart
    (``forecast_warmup_s``). AutoETS (statsforecast, season 7) takes ~0.2 s a series, so it
    runs on a sample of K (200) series only; ``forecast_mase_vs_autoets`` is our MASE over AutoETS's
    on that same sample (≤ 1.02 is the goal). The series generator is
    ``mercato.supply.forecast_synthetic`` (smooth / slow / intermittent mix, documented there).
(b) ``simulate_s``: one year of I × L (1,000 items × 20 locations) with
    ``mercato.supply.scenario_synthetic.network_scenario``: wall time of ``simulate`` (and CPU
    time, ``simulate_cpu_s``: the machine is shared), scenario validation apart.
(c) ``serial_opt_s``: Snyder & Shen Example 6.1 optimised with ``mercato.supply.serial`` (best of 5).

Figures are printed (progress on stderr), never asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from typing import Any

import numpy as np
import orjson

from mercato.supply.forecast import forecast_matrix, mase
from mercato.supply.forecast_synthetic import synthetic_demand
from mercato.supply.scenario import parse_scenario
from mercato.supply.scenario_synthetic import network_scenario
from mercato.supply.serial import SerialStage, optimize_serial
from mercato.supply.simulate import simulate

HORIZON = 14


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def bench_forecast(n: int, days: int, sample: int, seed: int) -> dict[str, Any]:
    y, kinds = synthetic_demand(n, days, seed=seed)
    train, test = y[:, :-HORIZON], y[:, -HORIZON:]
    tw = time.perf_counter()
    forecast_matrix(train[:20], HORIZON, "auto")  # imports and first calls, timed apart
    warmup_s = time.perf_counter() - tw
    _log(f"forecast: {n} series x {days} days, {HORIZON} ahead (method auto)")
    t0, c0 = time.perf_counter(), time.process_time()
    pred, _ = forecast_matrix(train, HORIZON, "auto")
    forecast_s, forecast_cpu = time.perf_counter() - t0, time.process_time() - c0
    m_all = mase(train, test, pred)
    naive, _ = forecast_matrix(train, HORIZON, "seasonal_naive")
    m_naive = mase(train, test, naive)
    rng = np.random.default_rng(seed + 1)
    idx = np.sort(rng.choice(n, size=min(sample, n), replace=False))
    _log(f"forecast: AutoETS on a sample of {len(idx)} series (about 0.2 s each)")
    t1 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ets, _ = forecast_matrix(train[idx], HORIZON, "autoets")
    ets_s = time.perf_counter() - t1
    m_ets = mase(train[idx], test[idx], ets)
    m_ours = m_all[idx]
    ok = np.isfinite(m_ets) & np.isfinite(m_ours)
    per_kind = {
        str(k): round(float(np.nanmean(m_all[kinds == k])), 4) for k in ("smooth", "slow", "intermittent")
    }
    return {
        "forecast_series": n,
        "forecast_days": days,
        "forecast_s": round(forecast_s, 3),
        "forecast_cpu_s": round(forecast_cpu, 3),
        "forecast_warmup_s": round(warmup_s, 3),
        "forecast_ms_per_series": round(1000 * forecast_s / n, 4),
        "forecast_mase": round(float(np.nanmean(m_all)), 4),
        "forecast_mase_by_kind": per_kind,
        "seasonal_naive_mase": round(float(np.nanmean(m_naive)), 4),
        "autoets_sample": int(len(idx)),
        "autoets_s_per_series": round(ets_s / len(idx), 4),
        "autoets_mase_sample": round(float(np.mean(m_ets[ok])), 4),
        "forecast_mase_sample": round(float(np.mean(m_ours[ok])), 4),
        "forecast_mase_vs_autoets": round(float(np.mean(m_ours[ok]) / np.mean(m_ets[ok])), 4),
        "autoets_all_s_estimate": round(ets_s / len(idx) * n, 1),
    }


def bench_simulate(items: int, locations: int, days: int, seed: int) -> dict[str, Any]:
    _log(f"simulate: {items} items x {locations} locations, {days} days")
    t0 = time.perf_counter()
    sc = parse_scenario(network_scenario(items, locations, seed=seed, days=days))
    parse_s = time.perf_counter() - t0
    t1, c1 = time.perf_counter(), time.process_time()
    r = simulate(sc, days, keep_series=False)
    return {
        "simulate_items": items,
        "simulate_locations": locations,
        "simulate_days": days,
        "simulate_s": round(time.perf_counter() - t1, 3),
        "simulate_cpu_s": round(time.process_time() - c1, 3),
        "simulate_parse_s": round(parse_s, 3),
        "simulate_fill_rate": round(r.fill_rate, 4),
        "simulate_capacity_use": round(float(np.mean(list(r.capacity_use.values()))), 4),
    }


def bench_serial() -> dict[str, Any]:
    stages = [SerialStage(3, 1), SerialStage(2, 1), SerialStage(2, 2)]
    best = float("inf")
    sol = None
    for _ in range(5):
        t0 = time.perf_counter()
        sol = optimize_serial(stages, 37.12, 5, 1)
        best = min(best, time.perf_counter() - t0)
    assert sol is not None
    return {
        "serial_opt_s": round(best, 5),
        "serial_base_stock": [round(x, 2) for x in sol.base_stock],
        "serial_cost": round(sol.cost, 3),
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="mercato bench supply")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--autoets-sample", type=int, default=200)
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--locations", type=int, default=20)
    ap.add_argument("--sim-days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    out: dict[str, Any] = {"load_avg_1m": round(os.getloadavg()[0], 2), "cores": os.cpu_count()}
    out.update(bench_serial())
    out.update(bench_simulate(args.items, args.locations, args.sim_days, args.seed))
    out.update(bench_forecast(args.series, args.days, args.autoets_sample, args.seed))
    out["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    if args.json:
        print(orjson.dumps(out, option=orjson.OPT_SORT_KEYS).decode())
    else:
        for k, v in out.items():
            print(f"{k:<28} {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
