"""Plots for the retention report (matplotlib, Agg backend, PNG bytes)."""

from __future__ import annotations

from mercato.retention.plots.descriptive import (
    cohort_heatmap,
    cumulative_revenue,
    retention_curves,
    rfm_segments,
)
from mercato.retention.plots.models import (
    calibration_holdout,
    frequency_recency_matrix,
    p_alive_matrix,
    repeat_histogram,
    tracking,
)

__all__ = [
    "calibration_holdout",
    "cohort_heatmap",
    "cumulative_revenue",
    "frequency_recency_matrix",
    "p_alive_matrix",
    "repeat_histogram",
    "retention_curves",
    "rfm_segments",
    "tracking",
]
