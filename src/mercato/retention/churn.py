"""Churn-risk list: customers ranked by value at risk, (1 - P(alive)) x the value they would bring if
still active, for a win-back campaign."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mercato.retention.clv import CLVResult
from mercato.retention.summary import Summary


def churn_list(summary: Summary, value: CLVResult, rfm: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per customer, highest value at risk first."""
    s = summary.frame
    out = pl.DataFrame(
        {
            "customer_id": s["customer_id"],
            "purchases": s["frequency"] + 1,
            "first_purchase": s["first_purchase"],
            "last_purchase": s["last_purchase"],
            "days_since_last_purchase": (
                pl.Series([summary.calibration_end] * s.height) - s["last_purchase"]
            ).dt.total_days(),
            "p_alive": value.p_alive,
            "expected_purchases": value.expected_purchases,
            "expected_spend": value.expected_spend,
            "clv": value.clv,
            "value_if_active": value.clv_if_alive,
            "value_at_risk": value.value_at_risk,
        }
    )
    if rfm is not None and "segment" in rfm.columns:
        out = out.join(rfm.select("customer_id", "segment"), on="customer_id", how="left")
    return out.sort(["value_at_risk", "customer_id"], descending=[True, False])


def write_churn_csv(table: pl.DataFrame, path: str | Path) -> Path:
    path = Path(path)
    table.with_columns(pl.col(pl.Float64).round(4)).write_csv(path)
    return path
