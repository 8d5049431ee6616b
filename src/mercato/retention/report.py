"""The retention report: cohorts, RFM, customer-base model, CLV and churn risk, as one self-contained
HTML page plus PNG and CSV files.

:func:`build_report` takes a transactions table (any Polars frame with customer_id, timestamp, amount
in minor units, e.g. a seller node's orders) and returns everything in memory; :func:`write_report`
puts it in a folder. A web server can serve ``build_report(frame).html`` as it is."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from mercato.retention import cohorts, evaluation, plots, rfm
from mercato.retention.churn import churn_list
from mercato.retention.clv import customer_value
from mercato.retention.days import days
from mercato.retention.errors import NotIdentifiableError
from mercato.retention.io.normalise import Transactions
from mercato.retention.models import BGNBD, GammaGamma
from mercato.retention.report_html import data_uri, render
from mercato.retention.summary import summarise

STEPS = ("cohorts", "rfm", "model", "evaluation", "plots", "html")


@dataclass
class ReportOptions:
    time_unit: str = "week"
    cohort_period: str = "month"
    horizon_days: float = 365.0
    annual_discount: float = 0.10
    calibration_end: dt.date | str | None = None
    segments: list[rfm.Segment] | None = None
    title: str = ""


@dataclass
class Report:
    html: str
    images: dict[str, bytes]
    tables: dict[str, pl.DataFrame]
    notes: list[str]
    figures: dict[str, Any] = field(default_factory=dict)


def _fmt(v: object) -> str:
    if isinstance(v, float):
        if not np.isfinite(v):
            return "–"
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
    return str(v)


def _table(frame: pl.DataFrame, limit: int = 25) -> dict[str, Any]:
    rows = [[_fmt(v) for v in row] for row in frame.head(limit).iter_rows()]
    return {"columns": frame.columns, "rows": rows}


def build_report(
    data: Transactions | pl.DataFrame,
    options: ReportOptions | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Everything the report shows, computed from a transactions table."""
    opt = options or ReportOptions()
    tx = data if isinstance(data, Transactions) else Transactions(data, source="table")
    frame = tx.frame
    scale = tx.minor_per_major
    step = progress or (lambda _name: None)
    notes = list(tx.notes)
    images: dict[str, bytes] = {}
    tables: dict[str, pl.DataFrame] = {}
    figures: dict[str, Any] = {}
    sections: list[dict[str, Any]] = []

    def section(
        sid: str,
        title: str,
        help_: str,
        imgs: list[str],
        tbls: list[pl.DataFrame] | None = None,
        sec_notes: list[str] | None = None,
    ) -> None:
        sections.append(
            {
                "id": sid,
                "title": title,
                "help": help_,
                "images": [{"alt": n, "data": data_uri(images[n])} for n in imgs],
                "tables": [_table(t) for t in (tbls or [])],
                "notes": sec_notes or [],
            }
        )

    frame_days = days(frame)  # one pass over the transactions, shared below
    summary = summarise(frame_days, time_unit=opt.time_unit, minor_per_major=scale)
    first_day: dt.date = summary.frame["first_purchase"].min()  # type: ignore[assignment]
    last_day = summary.calibration_end
    unit = summary.time_unit
    n_customers = summary.frame.height
    repeaters = int((summary.x > 0).sum())
    revenue = float(frame["amount"].sum()) / scale
    figures.update(
        customers=n_customers,
        transactions=frame.height,
        revenue=revenue,
        repeat_customers=repeaters,
        first_day=str(first_day),
        last_day=str(last_day),
    )

    step("cohorts")
    ct = cohorts.cohort_table(frame_days, period=opt.cohort_period, minor_per_major=scale)
    tables["cohorts"] = ct
    images["cohort_heatmap.png"] = plots.cohort_heatmap(ct, period=opt.cohort_period)
    images["retention_curves.png"] = plots.retention_curves(ct, period=opt.cohort_period)
    images["cumulative_revenue.png"] = plots.cumulative_revenue(ct, period=opt.cohort_period)
    p = opt.cohort_period
    section(
        "cohorts",
        "Cohorts",
        (
            f"Customers grouped by the {p} of their first purchase. Each cell: the "
            f"share of the cohort that bought again in that {p}. Read down a column "
            "to compare cohorts at the same age; read along a row to see one cohort"
            " fade."
        ),
        ["cohort_heatmap.png"],
    )
    section(
        "retention",
        "Retention curves",
        f"Share of each cohort buying in each {p} since acquisition; the thick line is all cohorts together.",
        ["retention_curves.png"],
    )
    section(
        "revenue",
        "Cumulative revenue per customer",
        (
            "Revenue from a cohort so far, divided by the customers it started "
            "with: what an acquired customer has been worth by each age."
        ),
        ["cumulative_revenue.png"],
    )

    step("rfm")
    rt = rfm.rfm_table(frame_days, as_of=last_day, segments=opt.segments, minor_per_major=scale)
    seg = rfm.segment_summary(rt, opt.segments)
    tables["rfm"] = rt
    tables["rfm_segments"] = seg
    images["rfm_segments.png"] = plots.rfm_segments(seg)
    section(
        "rfm",
        "RFM segments",
        (
            "Customers scored 1-5 on recency, frequency and money spent (5 = best "
            "fifth), then named by their recency and frequency scores."
        ),
        ["rfm_segments.png"],
        [seg],
    )

    step("model")
    horizon = opt.horizon_days / summary.unit_days
    model = None
    model_notes: list[str] = []
    try:
        model = BGNBD.fit(summary.x, summary.t_x, summary.T)
    except NotIdentifiableError as e:
        model_notes.append(f"Customer-base model not fitted: {e}. Cohorts and RFM above are still valid.")
    if model is not None:
        assert model.result is not None
        spend = None
        try:
            spend = GammaGamma.fit(summary.x, summary.monetary)
        except NotIdentifiableError as e:
            model_notes.append(f"Spend model not fitted ({e}); CLV uses the mean order value.")
        mean_order = float(
            np.nanmean(
                np.concatenate([summary.frame["first_value"].to_numpy(), summary.monetary[summary.x > 0]])
            )
        )
        value = customer_value(
            model,
            spend,
            summary.x,
            summary.t_x,
            summary.T,
            summary.monetary,
            horizon=horizon,
            unit_days=summary.unit_days,
            annual_discount=opt.annual_discount,
            fallback_spend=mean_order,
        )
        churn = churn_list(summary, value, rt)
        tables["churn_risk"] = churn
        figures["bgnbd"] = model.result.as_dict()
        if spend is not None and spend.result is not None:
            figures["gg"] = spend.result.as_dict()
        figures["total_clv"] = float(value.clv.sum())
        figures["total_value_at_risk"] = float(value.value_at_risk.sum())
        params = pl.DataFrame(
            {
                "parameter": list(model.params) + (list(spend.params) if spend else []),
                "estimate": list(model.params.values()) + (list(spend.params.values()) if spend else []),
                "std. error": list(model.result.std_errors.values())
                + (list(spend.result.std_errors.values()) if spend and spend.result else []),
            }
        )
        tables["model_params"] = params
        images["frequency_recency.png"] = plots.frequency_recency_matrix(
            model, T=float(summary.T.max()), horizon=horizon, unit=unit
        )
        images["p_alive.png"] = plots.p_alive_matrix(model, T=float(summary.T.max()), unit=unit)
        section(
            "model",
            "Customer-base model (BG/NBD)",
            (
                f"Fitted on every customer's history up to {last_day} in {unit}s: "
                f"log-likelihood {model.result.log_likelihood:,.1f}. r and alpha "
                "describe how often customers buy; a and b how likely they are to stop "
                "after a purchase. Gamma-Gamma p, q, gamma describe order values."
            ),
            [],
            [params],
            model_notes,
        )
        section(
            "matrices",
            "Who is still active, and what to expect",
            (
                f"Left: expected purchases in the next {horizon:.0f} {unit}s for a "
                "customer with a given number of repeat purchases (up) and time of the "
                "last one (right). A customer who bought often but not recently (top "
                "left) has probably left."
            ),
            ["frequency_recency.png", "p_alive.png"],
        )
        top = churn.select(
            "customer_id",
            "purchases",
            "last_purchase",
            "p_alive",
            "value_if_active",
            "value_at_risk",
            *(["segment"] if "segment" in churn.columns else []),
        )
        section(
            "churn",
            "Churn-risk list",
            (
                "Customers ranked by value at risk: (1 - P(active)) x the discounted "
                f"value ({opt.annual_discount:.0%} a year) they would bring over "
                f"{opt.horizon_days:.0f} days if still active. Full list: "
                "churn_risk.csv."
            ),
            [],
            [top],
        )
    else:
        section("model", "Customer-base model (BG/NBD)", "", [], [], model_notes)
    notes_eval: list[str] = []

    step("evaluation")
    span = (last_day - first_day).days
    cal: dt.date | str = opt.calibration_end or (first_day + dt.timedelta(days=span // 2))
    try:
        cal_summary = summarise(
            frame_days,
            calibration_end=cal,
            holdout_end=last_day,
            time_unit=opt.time_unit,
            minor_per_major=scale,
        )
        cal_model = BGNBD.fit(cal_summary.x, cal_summary.t_x, cal_summary.T)
        ho = evaluation.holdout(cal_model, cal_summary)
        tr = evaluation.tracking(cal_model, frame_days, cal_summary)
        hist = evaluation.repeat_histogram(cal_model, cal_summary)
        tables.update(holdout_by_frequency=ho.by_frequency, tracking=tr, repeat_histogram=hist)
        figures["holdout"] = {"calibration_end": str(cal_summary.calibration_end), **ho.as_dict()}
        images["calibration_holdout.png"] = plots.calibration_holdout(
            ho.by_frequency, unit=unit, holdout_length=cal_summary.holdout_length
        )
        images["tracking.png"] = plots.tracking(tr, calibration_end=cal_summary.calibration_end)
        images["repeat_histogram.png"] = plots.repeat_histogram(hist)
        section(
            "evaluation",
            "Does the model predict? Calibration vs holdout",
            (
                "The model was refitted on purchases up to "
                f"{cal_summary.calibration_end} only, then asked to predict the rest. "
                f"Actual repeat purchases in the holdout: {ho.actual.sum():,.0f}; "
                f"predicted: {ho.predicted.sum():,.1f}; per-customer correlation "
                f"{ho.correlation:.2f}."
            ),
            ["calibration_holdout.png", "tracking.png", "repeat_histogram.png"],
            [ho.by_frequency],
        )
    except (NotIdentifiableError, ValueError) as e:
        notes_eval.append(f"No calibration/holdout check: {e}")
        section("evaluation", "Does the model predict? Calibration vs holdout", "", [], [], notes_eval)

    step("html")
    kpis = [
        ("customers", f"{n_customers:,}"),
        ("repeat customers", f"{repeaters:,} ({repeaters / max(n_customers, 1):.0%})"),
        ("revenue", f"{revenue:,.2f}"),
    ]
    if "total_clv" in figures:
        kpis.append((f"expected value, next {opt.horizon_days:.0f} days", f"{figures['total_clv']:,.0f}"))
        kpis.append(("value at risk", f"{figures['total_value_at_risk']:,.0f}"))
    files = ["report.html", *images, *(f"{n}.csv" for n in tables)]
    html = render(
        {
            "title": opt.title,
            "source": tx.source,
            "first_day": first_day,
            "last_day": last_day,
            "n_transactions": f"{frame.height:,}",
            "kpis": kpis,
            "notes": notes,
            "sections": sections,
            "files": files,
        }
    )
    return Report(
        html=html, images=images, tables=tables, notes=notes + model_notes + notes_eval, figures=figures
    )


def render_report_html(data: Transactions | pl.DataFrame, options: ReportOptions | None = None) -> str:
    """The report page for a transactions table, e.g. a seller node's own orders."""
    return build_report(data, options).html


def write_report(report: Report, out_dir: str | Path) -> list[Path]:
    """Write report.html, the PNGs and the CSVs into ``out_dir`` (created if missing)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.html"]
    written[0].write_text(report.html, encoding="utf-8")
    for name, data in report.images.items():
        (out / name).write_bytes(data)
        written.append(out / name)
    for name, table in report.tables.items():
        path = out / f"{name}.csv"
        table.with_columns(pl.col(pl.Float64).round(6)).write_csv(path)
        written.append(path)
    return written
