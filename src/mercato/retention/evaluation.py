"""Calibration versus holdout: does the model fitted on the calibration period predict the holdout?

- by calibration frequency: mean holdout purchases, actual and predicted (Fader, Hardie & Lee 2005, fig. 4);
- per customer: correlation of actual and predicted holdout purchases;
- cumulative tracking: repeat purchases of the calibration customers over calendar time, actual and model;
- repeat-purchase histogram: customers by calibration frequency, actual and model."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from mercato.retention.days import Days
from mercato.retention.days import days as customer_days
from mercato.retention.models.base import CustomerModel
from mercato.retention.models.fitting import Array
from mercato.retention.summary import Summary


@dataclass
class HoldoutResult:
    actual: Array
    predicted: Array
    correlation: float
    by_frequency: pl.DataFrame

    def as_dict(self) -> dict[str, float]:
        return {
            "actual_repeat_transactions": float(self.actual.sum()),
            "predicted_repeat_transactions": float(self.predicted.sum()),
            "correlation": self.correlation,
        }


def holdout(model: CustomerModel, summary: Summary, *, max_frequency: int = 7) -> HoldoutResult:
    """Compare predicted and actual purchases in the holdout period for the calibration customers."""
    if summary.holdout_end is None:
        raise ValueError("the summary has no holdout period")
    predicted = model.expected_purchases(summary.x, summary.t_x, summary.T, summary.holdout_length)
    actual = summary.frame["frequency_holdout"].to_numpy().astype(np.float64)
    corr = (
        float(np.corrcoef(actual, predicted)[0, 1])
        if np.std(actual) > 0 and np.std(predicted) > 0
        else float("nan")
    )
    table = (
        pl.DataFrame(
            {
                "x": np.minimum(summary.x, max_frequency).astype(np.int64),
                "actual": actual,
                "predicted": predicted,
            }
        )
        .group_by("x")
        .agg(customers=pl.len(), actual=pl.col("actual").mean(), predicted=pl.col("predicted").mean())
        .sort("x")
        .rename({"x": "calibration_frequency"})
    )
    return HoldoutResult(actual, predicted, corr, table)


def tracking(
    model: CustomerModel,
    frame: pl.DataFrame | Days,
    summary: Summary,
    *,
    end: dt.date | None = None,
    step_days: int = 7,
) -> pl.DataFrame:
    """Cumulative repeat purchases of the calibration customers by date, actual and predicted."""
    end = end or summary.holdout_end or summary.calibration_end
    s = summary.frame.select("customer_id", "first_purchase")
    start: dt.date = s["first_purchase"].min()  # type: ignore[assignment]
    grid = [start + dt.timedelta(days=d) for d in range(step_days, (end - start).days + step_days, step_days)]
    grid = sorted({min(g, end) for g in grid} | {summary.calibration_end})
    dd = customer_days(frame)
    keyed = s.join(dd.names, on="customer_id", how="inner").select("cust", "first_purchase")
    d = (
        dd.table.lazy()
        .filter(pl.col("purchase"))
        .join(keyed.lazy(), on="cust", how="inner")
        .filter((pl.col("day") > pl.col("first_purchase")) & (pl.col("day") <= end))
        .select("day")
        .collect()
    )
    days = np.sort(d["day"].to_numpy())
    grid_np = np.array(grid, dtype="datetime64[D]")
    actual = np.searchsorted(days, grid_np, side="right").astype(np.float64)
    firsts = s.group_by("first_purchase").agg(n=pl.len())
    f_days = firsts["first_purchase"].to_numpy().astype("datetime64[D]")
    counts = firsts["n"].to_numpy().astype(np.float64)
    lags = (grid_np[:, None] - f_days[None, :]).astype(np.int64)
    lags = np.maximum(lags, 0)
    ulag, inv = np.unique(lags, return_inverse=True)
    ex = np.asarray(model.expected_new(ulag / summary.unit_days))
    predicted = (ex[inv.reshape(lags.shape)] * counts[None, :]).sum(axis=1)
    return pl.DataFrame({"date": grid, "actual": actual, "predicted": predicted})


def repeat_histogram(model: CustomerModel, summary: Summary, *, max_frequency: int = 7) -> pl.DataFrame:
    """Customers by number of repeat purchases in calibration (last bin open: ``max_frequency``+),
    actual and expected by the model given each customer's own T."""
    uT, counts = np.unique(summary.T, return_counts=True)
    expected = []
    for n in range(max_frequency):
        expected.append(float(np.dot(counts, model.prob_n_purchases(uT, n))))
    expected.append(float(len(summary.T) - sum(expected)))
    x = np.minimum(summary.x, max_frequency).astype(np.int64)
    actual = np.bincount(x, minlength=max_frequency + 1).astype(np.float64)
    return pl.DataFrame(
        {"repeat_purchases": list(range(max_frequency + 1)), "actual": actual, "expected": expected}
    )
