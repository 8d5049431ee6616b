"""Plot of forecasts against a holdout (matplotlib, Agg backend, PNG bytes)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

ACTUAL = "#1f4e79"
AUTO = "#d1495b"
NAIVE = "#999999"


def holdout_png(
    train: NDArray[np.float64],
    actual: NDArray[np.float64],
    forecasts: dict[str, NDArray[np.float64]],
    titles: Sequence[str],
    history_days: int = 42,
) -> bytes:
    """One panel per series: the last ``history_days`` of history, the holdout, each forecast."""
    n = len(titles)
    fig = Figure(figsize=(8.0, 2.2 * n), dpi=100, layout="constrained")
    colours = [AUTO, NAIVE, "#2e8b57", "#8e6c8a"]
    for k in range(n):
        ax = fig.add_subplot(n, 1, k + 1)
        ax.spines[["top", "right"]].set_visible(False)
        hist = train[k, -history_days:]
        t_hist = np.arange(-len(hist), 0)
        t_fut = np.arange(actual.shape[1])
        ax.plot(t_hist, hist, color=ACTUAL, lw=1.0, label="history")
        ax.plot(t_fut, actual[k], color=ACTUAL, lw=1.0, ls=":", marker=".", label="holdout")
        for (name, f), c in zip(forecasts.items(), colours, strict=False):
            ax.plot(t_fut, f[k], color=c, lw=1.6, label=name)
        ax.axvline(-0.5, color="#cccccc", lw=0.8)
        ax.set_title(titles[k], fontsize=10, loc="left")
        if k == 0:
            ax.legend(frameon=False, fontsize=8, ncol=4, loc="upper left")
    fig.supxlabel("day (0 = first forecast day)", fontsize=9)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
