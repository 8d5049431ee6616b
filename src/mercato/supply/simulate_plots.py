"""Plots of a simulation run (matplotlib, Agg backend, PNG files; no timestamps in the metadata)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from .simulate import SimResult  # noqa: E402

STOCK = "#1f4e79"
SHORT = "#d1495b"
LINE = "#2e8b57"
SPAN = "#f2c14e"


def _figure(height: float = 3.2) -> tuple[Figure, Any]:
    fig = Figure(figsize=(8.0, height), dpi=100, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


Span = tuple[int, int, str]  # first day (1-based, as plotted), days, label


def _shade(ax: Any, events: Sequence[Span]) -> None:
    for k, (start, days, label) in enumerate(events):
        ax.axvspan(start - 0.5, start + days - 0.5, color=SPAN, alpha=0.25, lw=0)
        ax.annotate(label, (start, 1.0), xycoords=("data", "axes fraction"), fontsize=8, va="top",
                    xytext=(2, -2 - 10 * (k % 2)), textcoords="offset points", color="#555555")  # fmt: skip


def inventory_png(
    result: SimResult, title: str = "Inventory and backorders", events: Sequence[Span] = ()
) -> bytes:
    fig, ax = _figure()
    _shade(ax, events)
    days = range(1, len(result.series["on_hand"]) + 1)
    ax.plot(days, result.series["on_hand"], color=STOCK, lw=1.2, label="on hand")
    ax.plot(days, result.series["backorders"], color=SHORT, lw=1.2, label="backordered")
    ax.set_xlabel("day")
    ax.set_ylabel("units")
    ax.set_title(title)
    ax.legend(frameon=False)
    return _png(fig)


def service_png(
    result: SimResult, title: str = "Daily fill rate and line use", events: Sequence[Span] = ()
) -> bytes:
    fig, ax = _figure()
    _shade(ax, events)
    days = range(1, len(result.series["fill_rate"]) + 1)
    ax.plot(days, result.series["fill_rate"], color=STOCK, lw=1.0, label="fill rate")
    use = np.asarray(result.series["line_use"], dtype=np.float64)
    if use.any():
        week = np.array([use[max(0, i - 6) : i + 1].mean() for i in range(len(use))])
        ax.plot(days, week, color=LINE, lw=1.0, label="line use (7-day mean)")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("day")
    ax.set_title(title)
    ax.legend(frameon=False, loc="lower left")
    return _png(fig)


def write_plots(
    result: SimResult, folder: str | Path, prefix: str = "supply-", events: Sequence[Span] = ()
) -> list[Path]:
    """Write the run's plots as PNG files into ``folder`` (created if missing); return their paths.

    ``events`` are shaded: (first day, 1-based as plotted, days, label)."""
    if not result.series.get("on_hand"):
        raise ValueError("the run kept no daily series (simulate with keep_series=True)")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in (
        ("inventory", inventory_png(result, events=events)),
        ("service", service_png(result, events=events)),
    ):
        p = out / f"{prefix}{name}.png"
        p.write_bytes(data)
        paths.append(p)
    return paths
