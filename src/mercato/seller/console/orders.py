"""Dashboard and orders board: the order moves go through the same store functions, notifier and
outbox wake-up as the admin API, so the buyer app hears of each one (unsolicited on_status,
on_cancel, on_update) exactly as it does for an API call."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mercato.seller.admin.api import ACTION_ALIASES, ORDER_ACTIONS
from mercato.seller.domain import Action, DomainError, FulfillmentType, IllegalTransition, Order
from mercato.seller.domain.cancellation import Party, reasons_for
from mercato.seller.handlers.orders import notifier
from mercato.seller.store import aftersales as store_aftersales
from mercato.seller.store import orders as store_orders
from mercato.seller.store import supply_late
from mercato.seller.store.tables import ReturnRow

from . import data, forms
from .core import Console, fields
from .supply_pages import late_promises


def now() -> datetime:
    return datetime.now(UTC)


def console_actions(order: Order) -> list[tuple[str, str]]:
    """The buttons the order's status allows (console names: ``ship`` is the domain's pick-up)."""
    return data.actions_for(order.state.value, order.fulfillment_state.value, order.fulfillment_type.value)


def move(console: Console, order_id: str, action: str) -> Order:
    """One order move, exactly as ``POST /admin/orders/{id}/{action}`` makes it."""
    if action not in ORDER_ACTIONS:
        raise ValueError(f"unknown order action {action!r}")
    host = console.host
    current = store_orders.get(host.store, order_id)
    a = ACTION_ALIASES.get(action) or Action(action)
    if a is Action.DELIVER and current.fulfillment_type is FulfillmentType.PICKUP:
        a = Action.COLLECT
    order = store_orders.act(
        host.store, order_id, a, now(), by="seller", notify=notifier(host.env, order_id, "on_status")
    )
    host.wake()
    return order


def cancel(console: Console, order_id: str, code: str) -> Order:
    host = console.host
    notify = notifier(host.env, order_id, "on_cancel")
    store_orders.cancel(host.store, order_id, code, Party.SELLER, now(), notify=notify)
    host.wake()
    return store_orders.get(host.store, order_id)


def refund(console: Console, order_id: str, amount: int, reason: str) -> Order:
    host = console.host
    notify = notifier(host.env, order_id, "on_update")
    order = store_aftersales.refund(host.store, order_id, amount, reason, now(), notify)
    host.wake()
    return order


RETURN_STEPS = {  # state -> the merchant's next steps (console name, label)
    "Requested": (("approve", "Approve"), ("reject", "Reject")),
    "Approved": (("pick", "Picked up from the buyer"), ("receive", "Received back")),
    "Picked": (("receive", "Received back"),),
    "Received": (("refund", "Refund it"),),
}


def returns_of(console: Console, order_id: str) -> list[dict[str, Any]]:
    with console.host.store.read() as s:
        rows = s.scalars(
            select(ReturnRow).where(ReturnRow.order_id == order_id).order_by(ReturnRow.requested_at)
        )
        return [
            {"id": r.id, "item_id": r.item_id, "quantity": r.quantity, "reason": r.reason, "state": r.state,
             "refund": r.refund, "restocked": r.restocked, "steps": RETURN_STEPS.get(r.state, ())}
            for r in rows
        ]  # fmt: skip


def move_return(console: Console, return_id: str, step: str, restock: bool) -> tuple[str, str]:
    """One return step, as ``POST /admin/returns/{id}/{step}`` makes it (the buyer app is told)."""
    host = console.host
    ret = store_aftersales.get_return(host.store, return_id)
    notify = notifier(host.env, ret.order_id, "on_update")
    moved = store_aftersales.move_return(host.store, return_id, step, now(), restock=restock, notify=notify)
    host.wake()
    return ret.order_id, moved.state.value


def order_view(console: Console, order_id: str) -> dict[str, Any]:
    store = console.host.store
    order = store_orders.get(store, order_id)
    details = store_orders.details_of(store, order_id)
    names = {r["id"]: r["name"] for r in data.catalog_rows(store)}
    quote_lines = {ln.item_id: ln for ln in order.quote.lines}
    lines = []
    for ln in order.lines:
        q = quote_lines.get(ln.item_id)
        lines.append(
            {
                "item_id": ln.item_id,
                "name": names.get(ln.item_id, ln.item_id),
                "quantity": ln.quantity,
                "cancelled": ln.cancelled,
                "unit_price": q.unit_price.amount if q else None,
                "amount": q.amount.amount if q else None,
            }
        )
    return {
        "order": order,
        "details": details,
        "lines": lines,
        "actions": console_actions(order),
        "reasons": [(r.code, f"{r.code} · {r.reason}") for r in reasons_for(Party.SELLER, order)],
        "refundable": order.paid.amount - order.refunded.amount,
        "history": list(reversed(order.history)),
        "column": data.column_of(order.state.value, order.fulfillment_state.value),
        "promise": supply_late.promise_of(store, order_id),
        "returns": returns_of(console, order_id),
    }


RETURN_STEP_NAMES = ("approve", "reject", "pick", "receive", "refund")


def error(text: str) -> dict[str, Any]:
    return {"messages": [{"kind": "error", "text": text}]}


def add_order_routes(r: APIRouter, console: Console) -> None:
    @r.get("/")
    async def dashboard(request: Request) -> Response:
        ctx = console.session_of(request)
        dash = await run_in_threadpool(data.dashboard, console.host.store)
        promises = await run_in_threadpool(late_promises, console, 10)
        return console.page(
            request,
            ctx,
            "dashboard.html",
            {"title": "Dashboard", "d": dash, "late_promises": promises},
            current="dashboard",
        )

    @r.get("/orders")
    async def board(request: Request) -> Response:
        ctx = console.session_of(request)
        columns = await run_in_threadpool(data.board, console.host.store)
        version = await run_in_threadpool(data.orders_version, console.host.store)
        context = {"title": "Orders", "columns": columns, "version": version}
        return console.page(request, ctx, "orders.html", context, current="orders")

    @r.get("/orders/version.json")
    async def board_version(request: Request) -> Response:
        console.session_of(request)
        version = await run_in_threadpool(data.orders_version, console.host.store)
        return JSONResponse({"version": version}, headers={"Cache-Control": "no-store"})

    async def show(
        request: Request, ctx: Any, order_id: str, extra: dict[str, Any], status: int = 200
    ) -> Response:
        try:
            view = await run_in_threadpool(order_view, console, order_id)
        except DomainError:
            return console.page(
                request, ctx, "not_found.html", {"title": "No such order", "what": f"order {order_id}"},
                current="orders", status=404,
            )  # fmt: skip
        view.update(extra)
        return console.page(
            request,
            ctx,
            "order.html",
            {"title": f"Order {order_id[:8]}", **view},
            current="orders",
            status=status,
        )

    @r.get("/orders/{order_id}")
    async def order_page(request: Request, order_id: str) -> Response:
        ctx = console.session_of(request)
        return await show(request, ctx, order_id, {})

    @r.post("/orders/{order_id}/act")
    async def act(request: Request, order_id: str) -> Response:
        ctx = console.session_of(request)
        form = await request.form()
        console.check_csrf(ctx, form)
        action = fields(form).get("action", "")
        back = f"/console/orders/{order_id}"
        if action not in ORDER_ACTIONS:
            return await show(request, ctx, order_id, error(f"Unknown action {action[:40]!r}."), 400)
        try:
            order = await run_in_threadpool(move, console, order_id, action)
        except IllegalTransition as exc:
            msg = f"Cannot {action} now: {exc.message}"
            return await show(request, ctx, order_id, error(msg), 409)
        except DomainError as exc:
            return await show(request, ctx, order_id, error(exc.message), 409)
        text = f"Order {order_id[:8]}: {order.fulfillment_state.value}; the buyer app is told."
        target = back if fields(form).get("back") != "board" else "/console/orders"
        return console.redirect(ctx, target, [("ok", text)])

    @r.post("/returns/{return_id}/{step}")
    async def return_step(request: Request, return_id: str, step: str) -> Response:
        ctx = console.session_of(request)
        form = await request.form()
        console.check_csrf(ctx, form)
        values = fields(form)
        back = values.get("order_id", "")
        if step not in RETURN_STEP_NAMES:
            return await show(request, ctx, back, error(f"Unknown return step {step[:20]!r}."), 404)
        try:
            order_id, state = await run_in_threadpool(
                move_return, console, return_id, step, values.get("restock") == "on"
            )
        except DomainError as exc:
            return await show(
                request, ctx, back, error(f"Return {return_id[:8]}: {exc.message}"), exc.http_status
            )
        done = [("ok", f"Return {return_id[:8]}: {state}; the buyer app is told.")]
        return console.redirect(ctx, f"/console/orders/{order_id}", done)

    @r.post("/orders/{order_id}/cancel")
    async def cancel_order(request: Request, order_id: str) -> Response:
        ctx = console.session_of(request)
        form = await request.form()
        console.check_csrf(ctx, form)
        values = fields(form)
        errors: forms.Errors = {}
        code = forms.text(values, "code", errors, max_len=3)
        if errors:
            return await show(request, ctx, order_id, {"cancel_errors": errors, "values": values}, 400)
        try:
            await run_in_threadpool(cancel, console, order_id, code)
        except DomainError as exc:
            extra = {"cancel_errors": {"code": exc.message}, "values": values}
            return await show(request, ctx, order_id, extra, 409)
        done = [("ok", "Order cancelled; the buyer app is told.")]
        return console.redirect(ctx, f"/console/orders/{order_id}", done)

    @r.post("/orders/{order_id}/refund")
    async def refund_order(request: Request, order_id: str) -> Response:
        ctx = console.session_of(request)
        form = await request.form()
        console.check_csrf(ctx, form)
        values = fields(form)
        try:
            currency = (await run_in_threadpool(store_orders.get, console.host.store, order_id)).currency
        except DomainError:
            return await show(request, ctx, order_id, {})
        errors: forms.Errors = {}
        amount = forms.money(values, "amount", currency, errors, allow_zero=False)
        reason = forms.text(values, "reason", errors, max_len=200)
        if errors or amount is None:
            return await show(request, ctx, order_id, {"refund_errors": errors, "values": values}, 400)
        try:
            await run_in_threadpool(refund, console, order_id, amount, reason)
        except DomainError as exc:
            extra = {"refund_errors": {"amount": exc.message}, "values": values}
            return await show(request, ctx, order_id, extra, 409)
        done = [("ok", "Refund recorded; the buyer app is told.")]
        return console.redirect(ctx, f"/console/orders/{order_id}", done)
