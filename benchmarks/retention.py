"""Retention benchmark: BG/NBD + Gamma-Gamma fit and CLV for N simulated customers; cohorts + RFM over
M simulated transactions; and, when the optional `lifetimes` package is installed, its BG/NBD fit on
the same customers.

    mercato bench retention [--json] [--customers N] [--transactions M] [--no-lifetimes]
                            [--transactions-only]

Customers are simulated from BG/NBD's exact continuous-time process with the CDNOW estimates, then
recorded as a shop would see them: purchase times rounded to whole days, T in weeks from whole days.
Transactions are simulated in a child process and written to Parquet; the benchmark process loads
them as a shop's export would be, so ``peak_rss_mb`` is the analytics' own peak (load included).
Figures are printed (progress on stderr), never asserted."""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl

from mercato.retention.clv import customer_value
from mercato.retention.cohorts import cohort_table
from mercato.retention.days import days
from mercato.retention.io import load_parquet
from mercato.retention.models import BGNBD, GammaGamma
from mercato.retention.models.simulate import simulate_betageo, simulate_gammagamma
from mercato.retention.rfm import rfm_table, segment_summary

BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def simulate_customers(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t_days = rng.integers(1, 365, n).astype(np.float64)
    T = t_days / 7.0
    x, t_x = simulate_betageo(BG, T, rng)
    t_x = np.minimum(np.floor(t_x * 7.0), t_days) / 7.0
    z = simulate_gammagamma(GG, x, rng)
    return x, t_x, T, np.round(z, 2)


def simulate_transactions(n_tx: int, seed: int = 11) -> pl.DataFrame:
    """About n_tx transactions: customers acquired over two years, repeat orders after acquisition."""
    rng = np.random.default_rng(seed)
    n_cust = max(n_tx // 4, 1)
    extra = rng.geometric(0.3, n_cust) - 1
    scale = (n_tx - n_cust) / max(extra.sum(), 1)
    counts = 1 + np.floor(extra * scale + rng.random(n_cust)).astype(np.int64)
    del extra
    span = 730 * 86400
    acq = rng.integers(0, span, n_cust, dtype=np.int64)
    cust = np.repeat(np.arange(n_cust, dtype=np.int32), counts)
    first = np.zeros(len(cust), dtype=bool)
    first[np.concatenate([[0], np.cumsum(counts)[:-1]])] = True
    start = acq[cust]
    secs = start + np.where(first, 0, (rng.random(len(cust)) * (span - start)).astype(np.int64))
    del start, acq
    secs += 1_640_995_200  # from 2022-01-01
    amount = np.round(rng.gamma(2.0, 2500.0, len(cust))).astype(np.int64)
    amount[(rng.random(len(cust)) < 0.01) & ~first] *= -1  # 1% refunds
    del first
    frame = pl.DataFrame(
        {
            "customer_id": pl.Series(cust).cast(pl.Utf8),
            "timestamp": pl.Series(secs * 1_000_000).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
            "amount": amount,
        }
    )
    return frame


def run(n_customers: int, n_transactions: int, use_lifetimes: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"customers": n_customers, "transactions": n_transactions}
    _log(f"simulating {n_customers:,} customers")
    x, t_x, T, z = simulate_customers(n_customers)
    t0 = time.perf_counter()
    bg = BGNBD.fit(x, t_x, T)
    out["bgnbd_fit_s"] = time.perf_counter() - t0
    assert bg.result is not None
    out["bgnbd_params"] = bg.params
    out["bgnbd_distinct_rows"] = bg.result.n_distinct
    out["bgnbd_iterations"] = bg.result.iterations
    _log(f"BG/NBD fit {out['bgnbd_fit_s']:.2f} s")
    t0 = time.perf_counter()
    gg = GammaGamma.fit(x, z)
    out["gg_fit_s"] = time.perf_counter() - t0
    out["gg_params"] = gg.params
    t0 = time.perf_counter()
    value = customer_value(bg, gg, x, t_x, T, z, horizon=52.0, unit_days=7.0, annual_discount=0.10)
    out["clv_s"] = time.perf_counter() - t0
    out["clv_total"] = float(value.clv.sum())
    _log(f"Gamma-Gamma fit {out['gg_fit_s']:.2f} s, CLV {out['clv_s']:.2f} s")

    _log(f"simulating {n_transactions:,} transactions (in a child process, into Parquet)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "transactions.parquet"
        subprocess.run(
            [sys.executable, __file__, "--write-parquet", str(path), str(n_transactions)], check=True
        )
        t0 = time.perf_counter()
        tx = load_parquet(path).frame
        out["load_parquet_s"] = time.perf_counter() - t0
    out["transactions"] = tx.height
    t0, c0 = time.perf_counter(), time.process_time()
    cdays = days(tx)  # one pass over the transactions, shared by cohorts and RFM
    del tx
    ct = cohort_table(cdays, period="month")
    rt = rfm_table(cdays)
    segment_summary(rt)
    out["cohorts_rfm_s"] = time.perf_counter() - t0
    # CPU seconds of all threads: on a shared machine this moves far less with the load than wall time.
    out["cohorts_rfm_cpu_s"] = time.process_time() - c0
    out["cohort_rows"] = ct.height
    out["rfm_customers"] = rt.height
    _log(f"cohorts + RFM {out['cohorts_rfm_s']:.2f} s ({out['cohorts_rfm_cpu_s']:.2f} s CPU)")
    del cdays, ct, rt
    out["peak_rss_mb"] = _rss_mb()

    if use_lifetimes:
        try:
            import warnings

            import pandas as pd
            from lifetimes import BetaGeoFitter
        except ImportError:
            _log("lifetimes is not installed: skipped (pip install '.[bench]')")
        else:
            _log("lifetimes BG/NBD fit on the same customers")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                BetaGeoFitter().fit(pd.Series(x), pd.Series(t_x), pd.Series(T))
                out["lifetimes_bgnbd_fit_s"] = time.perf_counter() - t0
            out["lifetimes_ratio"] = out["lifetimes_bgnbd_fit_s"] / out["bgnbd_fit_s"]
            out["peak_rss_with_lifetimes_mb"] = _rss_mb()
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="mercato bench retention")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--transactions", type=int, default=10_000_000)
    ap.add_argument("--no-lifetimes", action="store_true")
    ap.add_argument(
        "--transactions-only", action="store_true", help="skip the customer-base models (1,000 customers)"
    )
    args = ap.parse_args(argv)
    customers = 1_000 if args.transactions_only else args.customers
    out = run(customers, args.transactions, not (args.no_lifetimes or args.transactions_only))
    if args.json:
        sys.stdout.write(orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY).decode() + "\n")
        return 0
    print(
        f"customers {out['customers']:,}: BG/NBD fit {out['bgnbd_fit_s']:.2f} s "
        f"({out['bgnbd_distinct_rows']:,} distinct rows), "
        f"Gamma-Gamma fit {out['gg_fit_s']:.2f} s, CLV {out['clv_s']:.2f} s"
    )
    print(
        f"transactions {out['transactions']:,}: cohorts + RFM {out['cohorts_rfm_s']:.2f} s "
        f"({out['cohorts_rfm_cpu_s']:.2f} s CPU)"
    )
    print(f"peak RSS {out['peak_rss_mb']:.0f} MB")
    if "lifetimes_bgnbd_fit_s" in out:
        print(
            f"lifetimes BG/NBD fit {out['lifetimes_bgnbd_fit_s']:.2f} s: {out['lifetimes_ratio']:.1f}x slower"
        )
    return 0


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--write-parquet":
    # Child process: simulate the transactions and write them, so that the simulator's own memory does
    # not count in the analytics' peak RSS (a shop's transactions come from its database or exports).
    simulate_transactions(int(sys.argv[3])).write_parquet(sys.argv[2])
