"""Supply in the console: the twin's outline, production orders (start, complete), the earliest-due-date
schedule, late-risk production orders and promises, and a form to record a line going down (every
promise is re-checked and the buyers of late orders are told, as through the admin API)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mercato.seller.domain import DomainError
from mercato.seller.handlers.supply import late_notifier
from mercato.seller.store import replenishment as store_replenishment
from mercato.seller.store import supply as store_supply
from mercato.seller.store import supply_late
from mercato.supply.errors import SupplyInputError

from . import forms, replenishment
from .core import Console, fields


def now() -> datetime:
    return datetime.now(UTC)


def late_promises(console: Console, limit: int = 50) -> list[dict[str, Any]]:
    """Orders whose supply promise was moved later (the buyer has been told the new date)."""
    row = store_supply.SupplyPromiseRow
    with console.host.store.read() as s:
        rows = s.scalars(select(row).where(row.late.is_(True)).order_by(row.deliver_on).limit(limit))
        return [{"order_id": r.order_id, "promised_on": r.promised_on, "deliver_on": r.deliver_on,
                 "city": r.city} for r in rows]  # fmt: skip


def supply_view(console: Console) -> dict[str, Any]:
    store = console.host.store
    twin = store_supply.twin_of(store)
    suggested = replenishment.suggestions(store)
    for s in suggested:  # one reference per offered order: a form sent twice orders once
        s["ref"] = "RP-" + uuid.uuid4().hex[:12]
    if twin is None:
        return {"twin": None, "suggestions": suggested}
    try:
        slots = store_supply.schedule(store, now())
    except (SupplyInputError, DomainError, ValueError):
        slots = []
    return {
        "twin": {
            "items": len(twin.items),
            "locations": len(twin.locations),
            "lines": [ln.id for ln in twin.lines],
        },
        "line_options": [(ln.id, ln.id) for ln in twin.lines],
        "production": store_supply.production_orders(store),
        "schedule": slots,
        "late_promises": late_promises(console),
        "suggestions": suggested,
    }


def add_supply_routes(r: APIRouter, console: Console) -> None:
    async def page(
        request: Request, ctx: Any, extra: dict[str, Any] | None = None, status: int = 200
    ) -> Response:
        view = await run_in_threadpool(supply_view, console)
        context = {"title": "Supply", "values": {}, "errors": {}, **view, **(extra or {})}
        return console.page(request, ctx, "supply.html", context, current="supply", status=status)

    def error(text: str) -> dict[str, Any]:
        return {"messages": [{"kind": "error", "text": text}]}

    @r.get("/supply")
    async def supply_page(request: Request) -> Response:
        ctx = console.session_of(request)
        return await page(request, ctx)

    @r.post("/supply/production-orders/{po_id}/{step}")
    async def po_step(request: Request, po_id: str, step: str) -> Response:
        ctx = console.session_of(request)
        console.check_csrf(ctx, await request.form())
        if step not in ("start", "complete"):
            return await page(request, ctx, error(f"Unknown step {step[:20]!r}."), 404)
        try:
            if step == "start":
                await run_in_threadpool(store_supply.start_production, console.host.store, po_id, now())
            else:
                await run_in_threadpool(
                    store_supply.complete_production, console.host.store, po_id, now(), None
                )
                console.host.wake()
        except SupplyInputError as exc:
            return await page(request, ctx, error("; ".join(exc.problems)), 422)
        except DomainError as exc:
            return await page(request, ctx, error(exc.message), exc.http_status)
        verb = "started" if step == "start" else "completed: its goods are in stock"
        return console.redirect(ctx, "/console/supply", [("ok", f"Production order {po_id} {verb}.")])

    @r.post("/supply/replenish")
    async def replenish(request: Request) -> Response:
        ctx = console.session_of(request)
        form = await request.form()
        console.check_csrf(ctx, form)
        values = fields(form)
        errors: forms.Errors = {}
        ref = forms.text(values, "ref", errors, max_len=64)
        item = forms.text(values, "item_id", errors, max_len=100)
        loc = forms.text(values, "location_id", errors, max_len=100)
        quantity = forms.integer(values, "quantity", errors, minimum=1, maximum=10_000_000)
        lead = forms.integer(values, "lead_days", errors, minimum=0, maximum=365)
        if errors or quantity is None or lead is None:
            msg = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in errors.items())
            return await page(request, ctx, error(f"Not ordered: {msg}."), 400)
        try:
            done = await run_in_threadpool(
                store_replenishment.accept, console.host.store, ref, item, loc, quantity, lead, now()
            )
        except DomainError as exc:
            return await page(request, ctx, error(f"Not ordered: {exc.message}"), exc.http_status)
        what = "Production order" if done.kind == "production" else "Purchase order"
        text = f"{what} {done.ref}: {done.quantity} × {done.item_id} for {done.location_id}, due {done.due}."
        return console.redirect(ctx, "/console/supply", [("ok", text)])

    @r.post("/supply/downtime")
    async def downtime(request: Request) -> Response:
        ctx = console.session_of(request)
        form = await request.form()
        console.check_csrf(ctx, form)
        values = fields(form)
        errors: forms.Errors = {}
        line = forms.text(values, "line", errors, max_len=100)
        days: list[date] = []
        for name in ("start", "end"):
            raw = forms.text(values, name, errors, max_len=10)
            if raw and name not in errors:
                try:
                    days.append(date.fromisoformat(raw))
                except ValueError:
                    errors[name] = "a date like 2026-03-02"
        reason = forms.text(values, "reason", errors, required=False, max_len=200)
        if not errors and days[1] < days[0]:
            errors["end"] = "must not be before the start"
        if errors:
            return await page(request, ctx, {"values": values, "errors": errors, "form_errors": errors}, 400)
        host = console.host
        try:
            risks = await run_in_threadpool(
                supply_late.add_downtime,
                host.store,
                line,
                days[0],
                days[1],
                reason,
                now(),
                late_notifier(host.env),
            )
        except SupplyInputError as exc:
            errors = {"line": "; ".join(exc.problems)}
            return await page(request, ctx, {"values": values, "errors": errors, "form_errors": errors}, 422)
        host.wake()
        told = sum(1 for x in risks if x.new_delivery)
        text = f"Line {line} down {days[0]} to {days[1]}: {len(risks)} production orders late"
        text += f", {told} buyers told of a new delivery date."
        return console.redirect(ctx, "/console/supply", [("ok" if not risks else "warn", text)])
