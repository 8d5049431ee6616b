"""Acquisition cohorts: customers grouped by the month or week of their first purchase, followed period
by period: share still buying, orders, revenue and cumulative revenue per acquired customer.

Periods after the end of the data are absent (not zero), so young cohorts are not shown as churned."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from mercato.retention.days import Days, days, run_starts

PERIODS = ("month", "week")
_EPOCH_MONDAY = dt.date(1970, 1, 5)


def _period_key(col: pl.Expr, period: str) -> pl.Expr:
    if period == "month":
        return col.dt.year().cast(pl.Int64) * 12 + col.dt.month().cast(pl.Int64) - 1
    if period == "week":
        return (col - pl.lit(_EPOCH_MONDAY)).dt.total_days().floordiv(7)
    raise ValueError(f"cohort period must be one of {PERIODS}, not {period!r}")


def _period_start(key: pl.Expr, period: str) -> pl.Expr:
    if period == "month":
        return pl.date(key.floordiv(12).cast(pl.Int32), (key % 12 + 1).cast(pl.Int8), 1)
    return pl.lit(_EPOCH_MONDAY) + pl.duration(days=key * 7)


def cohort_table(
    frame: pl.DataFrame | pl.LazyFrame | Days, *, period: str = "month", minor_per_major: int = 100
) -> pl.DataFrame:
    """Long table: one row per (cohort, period since acquisition) up to the end of the data.

    Columns: ``cohort`` (start date of the acquisition period), ``period`` (0 = acquisition period),
    ``customers`` (cohort size), ``active`` (customers with a purchase in the period), ``share_active``,
    ``orders``, ``revenue`` (net, major units) and ``cumulative_revenue_per_customer``."""
    _period_key(pl.lit(dt.date(2000, 1, 1)), period)  # validate early
    table = days(frame).table  # sorted by (cust, day): each customer, and each customer-period, is a run
    n = table.height
    cust = table["cust"].to_numpy()
    day = table["day"].to_physical().to_numpy()
    first_day = int(day.min()) if n else 0
    # Period keys of every calendar day in the data's range, looked up by day (no per-row date maths).
    span = pl.int_range(first_day, int(day.max()) + 1 if n else 0, eager=True).cast(pl.Int32)
    lut = (
        pl.DataFrame({"d": span.cast(pl.Date)})
        .select(_period_key(pl.col("d"), period))
        .to_series()
        .to_numpy()
    )
    key = lut.astype(np.int32)[day - first_day]
    del day
    purchase = table["purchase"].to_numpy()
    # Acquisition: the period of each customer's first purchase day (the first purchase row of its run).
    starts = run_starts(cust)
    lengths = np.diff(np.append(starts, n))
    bought = np.flatnonzero(purchase)
    acq_rows = bought[run_starts(cust[bought])]
    # Customer (run) index of each acquired customer; customers with only refunds are never acquired.
    acq_runs = np.searchsorted(starts, acq_rows, side="right") - 1
    cohort_of = np.full(len(starts), int(key.max()) + 1 if n else 0, dtype=np.int32)  # "never"
    cohort_of[acq_runs] = key[acq_rows]
    period_of = key - np.repeat(cohort_of, lengths)
    del cohort_of, lengths
    # A customer is active in a period if the period holds one of its purchase days: count the first.
    active = np.zeros(n, dtype=bool)
    active[bought[run_starts(cust[bought], key[bought])]] = True
    del bought
    # One integer per (cohort, period) cell: a single-key group-by is several times faster than two keys.
    # Rows before acquisition (refund-only days) and of never-acquired customers go to cell -1.
    base = int(key.min()) if n else 0
    width = (int(key.max()) if n else 0) - base + 1
    cell = key.astype(np.int64)  # (cohort - base) * width + period, computed in place
    cell -= period_of
    cell -= base
    cell *= width
    cell += period_of
    cell[period_of < 0] = -1
    del period_of
    cells = (
        pl.DataFrame(
            {
                "cell": cell,
                "active": active,
                "orders": table["orders"].to_numpy(),
                "revenue": table["value"].to_numpy(),
            }
        )
        .group_by("cell")
        .agg(pl.col("active").sum().cast(pl.Int64), pl.col("orders", "revenue").sum())
        .filter(pl.col("cell") >= 0)
        .select(
            cohort_key=(pl.col("cell") // width + base).cast(pl.Int64),
            period=pl.col("cell") % width,
            active="active",
            orders="orders",
            revenue="revenue",
        )
    )
    del cell, active
    acq = pl.DataFrame({"cohort_key": key[acq_rows].astype(np.int64)})
    sizes_df = acq.group_by("cohort_key").agg(customers=pl.len().cast(pl.Int64))
    last_key = int(key.max()) if len(key) else 0
    if sizes_df.height == 0:
        return pl.DataFrame(
            schema={
                "cohort": pl.Date,
                "period": pl.Int64,
                "customers": pl.Int64,
                "active": pl.Int64,
                "share_active": pl.Float64,
                "orders": pl.Int64,
                "revenue": pl.Float64,
                "cumulative_revenue_per_customer": pl.Float64,
            }
        )
    grid = (
        sizes_df.lazy()
        .with_columns(period=pl.int_ranges(0, pl.lit(last_key) - pl.col("cohort_key") + 1))
        .explode("period")
        .with_columns(pl.col("period").cast(pl.Int64))
    )
    out = (
        grid.join(
            cells.lazy().with_columns(pl.col("period").cast(pl.Int64)),
            on=["cohort_key", "period"],
            how="left",
        )
        .with_columns(
            pl.col("active").fill_null(0),
            pl.col("orders").fill_null(0),
            (pl.col("revenue").fill_null(0) / float(minor_per_major)).alias("revenue"),
        )
        .sort("cohort_key", "period")
        .with_columns(
            share_active=pl.col("active") / pl.col("customers"),
            cumulative_revenue_per_customer=pl.col("revenue").cum_sum().over("cohort_key")
            / pl.col("customers"),
            cohort=_period_start(pl.col("cohort_key"), period),
        )
        .select(
            "cohort",
            "period",
            "customers",
            "active",
            "share_active",
            "orders",
            "revenue",
            "cumulative_revenue_per_customer",
        )
        .collect()
    )
    return out


def retention_matrix(table: pl.DataFrame, value: str = "share_active") -> pl.DataFrame:
    """Cohorts as rows, periods since acquisition as columns (``"0"``, ``"1"``, ...)."""
    wide = table.select("cohort", "customers", pl.col("period").cast(pl.Utf8), value).pivot(
        on="period", index=["cohort", "customers"], values=value, sort_columns=False
    )
    periods = sorted((c for c in wide.columns if c not in ("cohort", "customers")), key=int)
    return wide.select("cohort", "customers", *periods).sort("cohort")


def retention_curve(table: pl.DataFrame) -> pl.DataFrame:
    """Share active by period since acquisition over all cohorts that reached that period."""
    return (
        table.group_by("period")
        .agg(active=pl.col("active").sum(), customers=pl.col("customers").sum(), cohorts=pl.len())
        .with_columns(share_active=pl.col("active") / pl.col("customers"))
        .sort("period")
    )
