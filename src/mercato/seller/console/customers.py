"""Customers and retention: the retention report's charts and the churn-risk list (with a CSV export),
over this node's own orders. The report is built once per state of the orders table (count and the
newest order) and kept in memory, since fitting the customer-base model takes a moment."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import polars as pl
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mercato.retention.errors import InputError
from mercato.retention.report import Report, build_report
from mercato.seller.admin.export import orders_frame
from mercato.seller.store import Store

from .core import Console
from .data import orders_version

CHART_TITLES = {
    "retention_curves.png": "Retention by cohort",
    "cohort_heatmap.png": "Cohort heatmap: share of each month's new customers who came back",
    "cumulative_revenue.png": "Cumulative revenue by cohort",
    "rfm_segments.png": "RFM segments",
    "p_alive.png": "Probability that a customer is still active",
    "frequency_recency.png": "Expected purchases by frequency and recency",
    "calibration_holdout.png": "Model check: calibration vs holdout",
    "tracking.png": "Model check: repeat purchases over time",
    "repeat_histogram.png": "Model check: repeat purchases per customer",
}
CHURN_ROWS = 50


@dataclass
class Retention:
    report: Report | None
    problem: str | None
    orders: int


class RetentionCache:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._key: str | None = None
        self._value: Retention | None = None

    def get(self) -> Retention:
        with self._lock:  # one build at a time; the others wait for its result
            key = orders_version(self.store)
            if self._value is not None and key == self._key:
                return self._value
            frame = orders_frame(self.store)
            if frame.height == 0:
                value = Retention(None, "No orders yet: the report appears with the first orders.", 0)
            else:
                try:
                    value = Retention(build_report(frame), None, frame.height)
                except (InputError, ValueError) as exc:
                    value = Retention(None, f"Not enough history for the report yet: {exc}", frame.height)
            self._key, self._value = key, value
            return value


def finite(v: Any) -> float | None:
    """A model figure fit to show, or None (the page shows a dash) when the model could not give one."""
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


def churn_rows(report: Report, limit: int = CHURN_ROWS) -> list[dict[str, Any]]:
    table = report.tables.get("churn_risk")
    if table is None:
        return []
    return [
        {
            "customer_id": r["customer_id"],
            "purchases": r["purchases"],
            "last_purchase": r["last_purchase"],
            "p_alive": finite(r["p_alive"]),
            "value_at_risk": finite(r["value_at_risk"]),
            "segment": r.get("segment") or "",
        }
        for r in table.head(limit).iter_rows(named=True)
    ]


def churn_csv(report: Report) -> bytes:
    table = report.tables.get("churn_risk")
    if table is None:
        return b""
    return table.with_columns(pl.col(pl.Float64).round(4)).write_csv().encode()


def add_customer_routes(r: APIRouter, console: Console) -> None:
    cache = RetentionCache(console.host.store)

    @r.get("/customers")
    async def customers(request: Request) -> Response:
        ctx = console.session_of(request)
        ret = await run_in_threadpool(cache.get)
        charts = []
        churn: list[dict[str, Any]] = []
        kpis: dict[str, Any] = {}
        if ret.report is not None:
            charts = [(n, CHART_TITLES.get(n, n)) for n in CHART_TITLES if n in ret.report.images]
            churn = churn_rows(ret.report)
            fig = ret.report.figures
            kpis = {k: fig[k] for k in ("total_clv", "total_value_at_risk") if finite(fig.get(k)) is not None}
        context = {
            "title": "Customers",
            "problem": ret.problem,
            "orders": ret.orders,
            "charts": charts,
            "churn": churn,
            "kpis": kpis,
            "notes": ret.report.notes if ret.report else [],
            "has_churn": bool(ret.report and "churn_risk" in ret.report.tables),
        }
        return console.page(request, ctx, "customers.html", context, current="customers")

    @r.get("/customers/charts/{name}")
    async def chart(request: Request, name: str) -> Response:
        console.session_of(request)
        ret = await run_in_threadpool(cache.get)
        png = ret.report.images.get(name) if ret.report else None
        if png is None or name not in CHART_TITLES:
            return Response("no such chart", status_code=404, media_type="text/plain")
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})

    @r.get("/customers/churn.csv")
    async def churn_export(request: Request) -> Response:
        console.session_of(request)
        ret = await run_in_threadpool(cache.get)
        if ret.report is None or "churn_risk" not in ret.report.tables:
            return Response(ret.problem or "no churn-risk list yet", status_code=404, media_type="text/plain")
        return Response(
            churn_csv(ret.report),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="churn_risk.csv"'},
        )
