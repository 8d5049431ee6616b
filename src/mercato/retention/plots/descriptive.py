"""Cohort and RFM plots."""

from __future__ import annotations

import numpy as np
import polars as pl

from mercato.retention.cohorts import retention_curve, retention_matrix
from mercato.retention.plots.common import ACTUAL, empty, figure, png


def _label(d: object, period: str) -> str:
    s = str(d)
    return s[:7] if period == "month" else s


def cohort_heatmap(table: pl.DataFrame, *, period: str = "month", max_cohorts: int = 36) -> bytes:
    """Share of each acquisition cohort buying again, period by period."""
    if table.height == 0:
        return empty("No cohorts: no purchases in the data")
    wide = retention_matrix(table).tail(max_cohorts)
    cols = [c for c in wide.columns if c not in ("cohort", "customers")]
    z = wide.select(cols).to_numpy().astype(float)
    n_rows, n_cols = z.shape
    fig, ax = figure(min(4 + 0.45 * n_cols, 14), min(2 + 0.35 * n_rows, 12))
    masked = np.ma.masked_invalid(z)
    vmax = float(np.nanmax(z[:, 1:])) if n_cols > 1 and np.isfinite(z[:, 1:]).any() else 1.0
    im = ax.imshow(masked, aspect="auto", cmap="Blues", vmin=0, vmax=max(vmax, 1e-9))
    if n_rows * n_cols <= 600:
        for i in range(n_rows):
            for j in range(n_cols):
                if np.isfinite(z[i, j]):
                    v = z[i, j]
                    ax.text(
                        j,
                        i,
                        f"{100 * v:.0f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if v > vmax * 0.6 else "black",
                    )
    labels = [f"{_label(c, period)} ({n})" for c, n in zip(wide["cohort"], wide["customers"], strict=True)]
    ax.set_yticks(range(n_rows), labels, fontsize=8)
    ax.set_xticks(range(n_cols), cols, fontsize=8)
    ax.set_xlabel(f"{period}s since first purchase")
    ax.set_ylabel("acquisition cohort (customers)")
    ax.set_title("Share of each cohort buying in each period (%)")
    fig.colorbar(im, ax=ax, label="share active", shrink=0.8)
    return png(fig)


def retention_curves(table: pl.DataFrame, *, period: str = "month", max_lines: int = 12) -> bytes:
    """Share active by period since acquisition: one line per recent cohort, and all cohorts together."""
    if table.height == 0:
        return empty("No cohorts: no purchases in the data")
    fig, ax = figure()
    cohorts = table["cohort"].unique().sort().tail(max_lines).to_list()
    cmap = __import__("matplotlib").colormaps["viridis"]
    for i, c in enumerate(cohorts):
        sub = table.filter((pl.col("cohort") == c) & (pl.col("period") > 0))
        ax.plot(
            sub["period"],
            sub["share_active"],
            color=cmap(i / max(len(cohorts) - 1, 1)),
            lw=1,
            alpha=0.8,
            label=_label(c, period),
        )
    curve = retention_curve(table).filter(pl.col("period") > 0)
    ax.plot(curve["period"], curve["share_active"], color="black", lw=2.5, label="all cohorts")
    ax.set_xlabel(f"{period}s since first purchase")
    ax.set_ylabel("share of cohort buying")
    ax.set_title("Retention curves")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, ncol=2, frameon=False)
    return png(fig)


def cumulative_revenue(
    table: pl.DataFrame, *, period: str = "month", max_lines: int = 12, currency: str = ""
) -> bytes:
    """Cumulative revenue per acquired customer, by cohort."""
    if table.height == 0:
        return empty("No cohorts: no purchases in the data")
    fig, ax = figure()
    cohorts = table["cohort"].unique().sort().tail(max_lines).to_list()
    cmap = __import__("matplotlib").colormaps["viridis"]
    for i, c in enumerate(cohorts):
        sub = table.filter(pl.col("cohort") == c)
        ax.plot(
            sub["period"],
            sub["cumulative_revenue_per_customer"],
            color=cmap(i / max(len(cohorts) - 1, 1)),
            lw=1.5,
            label=_label(c, period),
        )
    ax.set_xlabel(f"{period}s since first purchase")
    ax.set_ylabel(f"cumulative revenue per customer {currency}".strip())
    ax.set_title("Cumulative revenue per acquired customer, by cohort")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, ncol=2, frameon=False)
    return png(fig)


def rfm_segments(summary: pl.DataFrame) -> bytes:
    """Customers and revenue per RFM segment (share of the total)."""
    if summary.height == 0 or summary["customers"].sum() == 0:
        return empty("No RFM segments: no customers")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 0.45 * summary.height + 1.6), dpi=100, layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    y = np.arange(summary.height)
    names = summary["segment"].to_list()
    for ax, col, title in (
        (ax1, "share_customers", "share of customers"),
        (ax2, "share_revenue", "share of revenue"),
    ):
        vals = summary[col].to_numpy() * 100
        ax.barh(y, vals, color=ACTUAL)
        for yi, v in zip(y, vals, strict=True):
            ax.text(v, yi, f" {v:.1f}%", va="center", fontsize=8)
        ax.set_title(title)
        ax.set_xlim(0, max(float(vals.max()) * 1.25, 1))
        ax.spines[["top", "right"]].set_visible(False)
    counts = summary["customers"].to_list()
    ax1.set_yticks(y, [f"{n} ({c})" for n, c in zip(names, counts, strict=True)])
    ax1.invert_yaxis()
    fig.suptitle("RFM segments")
    from mercato.retention.plots.common import png as to_png

    return to_png(fig)
