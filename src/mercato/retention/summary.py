"""Per-customer summaries for the customer-base models: frequency (repeat purchases), recency (time of
the last purchase after the first), T (time from the first purchase to the end of calibration) and
monetary value (mean value of the repeat purchases), in any time unit, with an optional holdout period.

Purchases are counted per customer per UTC day (see :mod:`mercato.retention.days`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from mercato.retention.days import Days, days, with_names
from mercato.retention.errors import InputError

UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12.0, "quarter": 365.25 / 4.0, "year": 365.25}


def unit_days(unit: str | float) -> float:
    """Days in a time unit: a name (day, week, month, quarter, year) or a positive number of days."""
    if isinstance(unit, int | float):
        if unit <= 0:
            raise ValueError("a time unit must be a positive number of days")
        return float(unit)
    try:
        return UNIT_DAYS[unit]
    except KeyError:
        try:
            return unit_days(float(unit))
        except ValueError:
            raise ValueError(
                f"unknown time unit {unit!r} (day, week, month, quarter, year or a number of days)"
            ) from None


@dataclass
class Summary:
    """The summary table and how it was made."""

    frame: pl.DataFrame
    time_unit: str
    unit_days: float
    calibration_end: dt.date
    holdout_end: dt.date | None = None

    @property
    def x(self) -> np.ndarray:
        return self.frame["frequency"].to_numpy().astype(np.float64)

    @property
    def t_x(self) -> np.ndarray:
        return self.frame["recency"].to_numpy().astype(np.float64)

    @property
    def T(self) -> np.ndarray:  # noqa: N802 - the papers' name
        return self.frame["T"].to_numpy().astype(np.float64)

    @property
    def monetary(self) -> np.ndarray:
        return self.frame["monetary_value"].fill_null(np.nan).to_numpy().astype(np.float64)

    @property
    def holdout_length(self) -> float:
        if self.holdout_end is None:
            raise ValueError("this summary has no holdout period")
        return (self.holdout_end - self.calibration_end).days / self.unit_days


def to_date(value: str | dt.date | dt.datetime | None, what: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{what} {value!r} is not a date (YYYY-MM-DD)") from None


def summarise(
    frame: pl.DataFrame | Days,
    *,
    calibration_end: str | dt.date | None = None,
    holdout_end: str | dt.date | None = None,
    time_unit: str | float = "week",
    minor_per_major: int = 100,
) -> Summary:
    """Summarise a transactions table (see :mod:`mercato.retention.io`) for the customer-base models.

    Customers are those with a purchase on or before ``calibration_end`` (default: the last day in the
    data); T runs from each one's first purchase day to ``calibration_end``. With ``holdout_end``, the
    purchases in (calibration_end, holdout_end] are counted too (``frequency_holdout``)."""
    days_per = unit_days(time_unit)
    unit_name = time_unit if isinstance(time_unit, str) else f"{time_unit} days"
    dd = days(frame)
    d = dd.table.filter(pl.col("purchase"))
    if d.height == 0:
        raise InputError("no purchases: every transaction is a refund")
    last_day: dt.date = d["day"].max()  # type: ignore[assignment]
    cal = to_date(calibration_end, "calibration end") or last_day
    hold = to_date(holdout_end, "holdout end")
    if hold is not None and hold <= cal:
        raise InputError(f"the holdout end {hold} must be after the calibration end {cal}")
    calib = d.filter(pl.col("day") <= cal)
    if calib.height == 0:
        raise InputError(f"no purchases on or before the calibration end {cal}")
    firsts = calib.group_by("cust").agg(first=pl.col("day").min())
    scale = float(minor_per_major)
    calib = calib.join(firsts, on="cust").with_columns(repeat=pl.col("day") > pl.col("first"))
    summary = calib.group_by("cust").agg(
        frequency=pl.col("repeat").sum().cast(pl.Int64),
        first_purchase=pl.col("first").first(),
        last_purchase=pl.col("day").max(),
        monetary_value=(pl.col("value").filter(pl.col("repeat")).mean() / scale),
        first_value=(pl.col("value").filter(~pl.col("repeat")).sum() / scale),
    )
    summary = summary.with_columns(
        recency=(pl.col("last_purchase") - pl.col("first_purchase")).dt.total_days() / days_per,
        T=(pl.lit(cal) - pl.col("first_purchase")).dt.total_days() / days_per,
    )
    if hold is not None:
        ho = (
            d.filter((pl.col("day") > cal) & (pl.col("day") <= hold))
            .group_by("cust")
            .agg(frequency_holdout=pl.len().cast(pl.Int64), monetary_holdout=pl.col("value").mean() / scale)
        )
        summary = summary.join(ho, on="cust", how="left").with_columns(
            pl.col("frequency_holdout").fill_null(0)
        )
    cols = [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "first_value",
        "first_purchase",
        "last_purchase",
    ]
    if hold is not None:
        cols += ["frequency_holdout", "monetary_holdout"]
    summary = with_names(summary, dd).collect().select(cols).sort("first_purchase", "customer_id")
    return Summary(
        summary, time_unit=str(unit_name), unit_days=days_per, calibration_end=cal, holdout_end=hold
    )
