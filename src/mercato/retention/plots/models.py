"""Customer-base model plots: matrices, calibration vs holdout, tracking and the histogram."""

from __future__ import annotations

import numpy as np
import polars as pl

from mercato.retention.models.base import CustomerModel
from mercato.retention.plots.common import ACTUAL, MODEL, figure, png


def _matrix(z: np.ndarray, max_x: int, T: float, title: str, label: str, unit: str, cmap: str) -> bytes:
    fig, ax = figure(7, 5.5)
    im = ax.imshow(z, origin="lower", aspect="auto", cmap=cmap, extent=(0, T, -0.5, max_x + 0.5))
    ax.set_xlabel(f"recency: {unit}s from first to last purchase (observed for {T:.0f} {unit}s)")
    ax.set_ylabel("repeat purchases (frequency)")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label=label)
    return png(fig)


def frequency_recency_matrix(
    model: CustomerModel, *, T: float, horizon: float, max_x: int = 20, unit: str = "week"
) -> bytes:
    """Expected purchases in the next ``horizon`` periods for every (frequency, recency) of a customer
    observed for T periods."""
    xs = np.arange(max_x + 1, dtype=np.float64)
    ts = np.linspace(0, T, 60)
    X, TX = np.meshgrid(xs, ts, indexing="ij")
    TX = np.where(X == 0, 0.0, TX)
    z = model.expected_purchases(X.ravel(), TX.ravel(), np.full(X.size, T), horizon).reshape(X.shape)
    return _matrix(
        z,
        max_x,
        T,
        f"Expected purchases in the next {horizon:.0f} {unit}s",
        "expected purchases",
        unit,
        "viridis",
    )


def p_alive_matrix(model: CustomerModel, *, T: float, max_x: int = 20, unit: str = "week") -> bytes:
    """P(still active) for every (frequency, recency) of a customer observed for T periods."""
    xs = np.arange(max_x + 1, dtype=np.float64)
    ts = np.linspace(0, T, 60)
    X, TX = np.meshgrid(xs, ts, indexing="ij")
    TX = np.where(X == 0, 0.0, TX)
    z = model.p_alive(X.ravel(), TX.ravel(), np.full(X.size, T)).reshape(X.shape)
    return _matrix(z, max_x, T, "Probability the customer is still active", "P(alive)", unit, "RdYlGn")


def calibration_holdout(
    by_frequency: pl.DataFrame, *, unit: str = "week", holdout_length: float | None = None
) -> bytes:
    """Mean holdout purchases by calibration frequency: actual and predicted."""
    fig, ax = figure()
    x = by_frequency["calibration_frequency"].to_numpy()
    ax.plot(x, by_frequency["actual"], "o-", color=ACTUAL, label="actual")
    ax.plot(x, by_frequency["predicted"], "s--", color=MODEL, label="model")
    labels = [str(v) for v in x]
    if labels:
        labels[-1] = labels[-1] + "+"
    ax.set_xticks(x, labels)
    ax.set_xlabel("repeat purchases in the calibration period")
    span = f" ({holdout_length:.0f} {unit}s)" if holdout_length else ""
    ax.set_ylabel(f"mean purchases in the holdout period{span}")
    ax.set_title("Calibration vs holdout: conditional expectations")
    ax.legend(frameon=False)
    return png(fig)


def tracking(table: pl.DataFrame, *, calibration_end: object | None = None) -> bytes:
    """Cumulative repeat purchases over time: actual and model."""
    fig, ax = figure()
    ax.plot(table["date"].to_list(), table["actual"], color=ACTUAL, label="actual")
    ax.plot(table["date"].to_list(), table["predicted"], "--", color=MODEL, label="model")
    if calibration_end is not None:
        ax.axvline(calibration_end, color="grey", ls=":", lw=1)
        ax.text(
            calibration_end,
            ax.get_ylim()[1] * 0.95,
            " end of calibration",
            color="grey",
            fontsize=8,
            va="top",
        )
    ax.set_ylabel("cumulative repeat purchases")
    ax.set_title("Tracking: cumulative repeat purchases")
    ax.legend(frameon=False)
    fig.autofmt_xdate()
    return png(fig)


def repeat_histogram(hist: pl.DataFrame) -> bytes:
    """Customers by number of repeat purchases in calibration: actual vs model."""
    fig, ax = figure()
    k = hist["repeat_purchases"].to_numpy()
    w = 0.4
    ax.bar(k - w / 2, hist["actual"], width=w, color=ACTUAL, label="actual")
    ax.bar(k + w / 2, hist["expected"], width=w, color=MODEL, label="model")
    labels = [str(v) for v in k]
    labels[-1] = labels[-1] + "+"
    ax.set_xticks(k, labels)
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel("customers")
    ax.set_title("Repeat purchases: actual vs model")
    ax.legend(frameon=False)
    return png(fig)
