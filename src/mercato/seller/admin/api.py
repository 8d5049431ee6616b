"""The merchant admin API: catalog, stock, orders, CSV export and retention report, under ``/admin``.

Every route needs ``Authorization: Bearer <admin token>`` from the node's config (401 otherwise; the
token is compared in constant time and never logged). Domain refusals keep their meaning over HTTP:
an illegal order move answers 409 with the moves allowed from where the order is. Each order action
also tells the buyer app (an unsolicited ``on_status`` / ``on_cancel`` / ``on_update``), committed in
the same transaction as the change.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any, Protocol

from fastapi import APIRouter, Depends, HTTPException, Response
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from mercato.seller.config import SellerConfig
from mercato.seller.domain import TRANSITIONS, Action, DomainError, FulfillmentType, IllegalTransition, Order
from mercato.seller.domain.cancellation import Party
from mercato.seller.handlers import Env
from mercato.seller.handlers.orders import notifier
from mercato.seller.store import Store
from mercato.seller.store import aftersales as store_aftersales
from mercato.seller.store import catalog as store_catalog
from mercato.seller.store import orders as store_orders
from mercato.seller.store import stock as store_stock
from mercato.seller.store.tables import ReturnRow

from .export import orders_csv, orders_frame
from .pools import pool_admin_router
from .schemas import CancelIn, CategoryIn, ItemIn, LocationIn, OrderOut, ProviderIn, RefundIn, StockChange
from .supply import supply_router


class AdminHost(Protocol):
    """What the admin API needs from the node."""

    config: SellerConfig
    store: Store
    env: Env

    def wake(self) -> None: ...

    def catalog_changed(self) -> None: ...


ACTION_ALIASES = {"ship": Action.PICK_UP}
RETURN_STEPS = ("approve", "reject", "pick", "receive", "refund")
ORDER_ACTIONS = (
    "accept",
    "pack",
    "ship",
    "deliver",
    "assign-agent",
    "out-for-delivery",
    "collect",
    "rto-deliver",
    "rto-dispose",
)


def now() -> datetime:
    return datetime.now(UTC)


def allowed(order: Order) -> list[str]:
    moves = TRANSITIONS.get(order.status, {})
    return sorted(a.value for a, t in moves.items() if t.only_for in (None, order.fulfillment_type))


def order_out(order: Order) -> OrderOut:
    return OrderOut(
        id=order.id,
        provider_id=order.provider_id,
        state=order.state.value,
        fulfillment_state=order.fulfillment_state.value,
        payment_type=order.payment_type.value,
        currency=order.currency,
        total=order.quote.total.amount,
        paid=order.paid.amount,
        refunded=order.refunded.amount,
        created_at=order.created_at.isoformat(),
        lines=[
            {"item_id": ln.item_id, "quantity": ln.quantity, "cancelled": ln.cancelled} for ln in order.lines
        ],
        allowed_actions=allowed(order),
    )


def domain_http(exc: DomainError) -> HTTPException:
    detail: dict[str, Any] = {"code": exc.code.value, "message": exc.message}
    if isinstance(exc, IllegalTransition):
        detail["allowed"] = list(exc.allowed)
    return HTTPException(exc.http_status, detail)


def admin_router(host: AdminHost) -> APIRouter:
    bearer = HTTPBearer(auto_error=False, description="the admin token from seller.toml")

    def auth(creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:  # noqa: B008
        token = host.config.admin_token.encode()
        given = creds.credentials.encode() if creds is not None and creds.scheme.lower() == "bearer" else b""
        if not hmac.compare_digest(given, token):
            raise HTTPException(401, "a valid admin bearer token is required", {"WWW-Authenticate": "Bearer"})

    r = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(auth)])

    def run(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            raise domain_http(exc) from None

    # -- catalog ---------------------------------------------------------------------------------
    @r.get("/catalog", summary="The whole catalog (active items)")
    def get_catalog() -> dict[str, Any]:
        cat = store_catalog.load_all(host.store)
        return {
            "providers": [
                {"id": p.id, "name": p.descriptor.name, "currency": p.currency}
                for p in cat.providers.values()
            ],
            "locations": [
                {"id": loc.id, "provider_id": loc.provider_id, "city": loc.address.city}
                for loc in cat.locations.values()
            ],
            "categories": [
                {"id": c.id, "name": c.name, "parent_id": c.parent_id} for c in cat.categories.values()
            ],
            "items": [
                {
                    "id": i.id,
                    "provider_id": i.provider_id,
                    "name": i.descriptor.name,
                    "price": i.price.amount,
                    "currency": i.price.currency,
                    "category_id": i.category_id,
                }
                for i in cat.items.values()
            ],
        }

    @r.put("/items/{item_id}", summary="Create or replace an item")
    def put_item(item_id: str, body: ItemIn) -> dict[str, str]:
        run(lambda: store_catalog.put_item(host.store, body.to_item(item_id), now()))
        host.catalog_changed()
        return {"id": item_id}

    @r.get("/items/{item_id}", summary="One item")
    def get_item(item_id: str) -> dict[str, Any]:
        cat = store_catalog.load_all(host.store, active_only=False)
        i = cat.items.get(item_id)
        if i is None:
            raise HTTPException(404, f"unknown item {item_id!r}")
        from mercato.seller.store.codec import item_values

        return {"id": i.id, **item_values(i), "name": i.descriptor.name}

    @r.delete("/items/{item_id}", summary="Deactivate an item (orders keep referring to it)")
    def delete_item(item_id: str) -> dict[str, str]:
        run(store_catalog.deactivate_item, host.store, item_id, now())
        host.catalog_changed()
        return {"id": item_id, "status": "inactive"}

    @r.put("/providers/{provider_id}", summary="Create or replace a provider (shop) and its delivery charge")
    def put_provider(provider_id: str, body: ProviderIn) -> dict[str, str]:
        def save() -> None:
            provider, policy = body.to_provider(provider_id)
            store_catalog.put_provider(host.store, provider, now(), policy)

        run(save)
        host.catalog_changed()
        return {"id": provider_id}

    @r.put("/locations/{location_id}", summary="Create or replace a store or warehouse")
    def put_location(location_id: str, body: LocationIn) -> dict[str, str]:
        run(lambda: store_catalog.put_location(host.store, body.to_location(location_id), now()))
        host.catalog_changed()
        return {"id": location_id}

    @r.put("/categories/{category_id}", summary="Create or replace a category")
    def put_category(category_id: str, body: CategoryIn) -> dict[str, str]:
        run(lambda: store_catalog.put_category(host.store, body.to_category(category_id)))
        host.catalog_changed()
        return {"id": category_id}

    # -- stock -----------------------------------------------------------------------------------
    @r.get("/stock", summary="Stock levels per item and location")
    def get_stock() -> list[dict[str, Any]]:
        levels = store_stock.levels(host.store)
        return [
            {
                "item_id": i,
                "location_id": loc,
                "on_hand": lv.on_hand,
                "reserved": lv.reserved,
                "available": lv.on_hand - lv.reserved,
                "backorder": lv.backorder,
            }
            for (i, loc), lv in sorted(levels.items())
        ]

    @r.post(
        "/stock/{item_id}/{location_id}", summary="Adjust on hand with a reason (received, count, damage)"
    )
    def adjust_stock(item_id: str, location_id: str, body: StockChange) -> dict[str, Any]:
        if body.delta > 0 and body.reason == "received":
            lv = run(
                store_stock.receive,
                host.store,
                item_id,
                location_id,
                body.delta,
                now(),
                body.reason,
                body.ref,
            )
        else:
            lv = run(
                store_stock.adjust, host.store, item_id, location_id, body.delta, now(), body.reason, body.ref
            )
        return {
            "item_id": item_id,
            "location_id": location_id,
            "on_hand": lv.on_hand,
            "reserved": lv.reserved,
        }

    @r.get("/stock/{item_id}/ledger", summary="The stock ledger of an item")
    def get_ledger(item_id: str) -> list[dict[str, Any]]:
        return [
            {
                "at": e.at.isoformat(),
                "location_id": e.location_id,
                "movement": e.movement.value,
                "on_hand_delta": e.on_hand_delta,
                "reserved_delta": e.reserved_delta,
                "reason": e.reason,
                "ref": e.ref,
            }
            for e in store_stock.ledger(host.store, item_id)
        ]

    # -- orders ----------------------------------------------------------------------------------
    @r.get("/orders", summary="Orders, newest first")
    def list_orders(limit: int = 100, offset: int = 0) -> list[OrderOut]:
        ids = store_orders.list_ids(host.store, limit=min(max(limit, 1), 1000), offset=max(offset, 0))
        return [order_out(store_orders.get(host.store, i)) for i in ids]

    @r.get("/orders.csv", summary="Every order as CSV", response_class=Response)
    def export_csv() -> Response:
        return Response(
            orders_csv(host.store),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="orders.csv"'},
        )

    @r.get("/orders/{order_id}", summary="One order")
    def get_order(order_id: str) -> OrderOut:
        return order_out(run(store_orders.get, host.store, order_id))

    @r.post("/orders/{order_id}/cancel", summary="Cancel the order (or some units) with a reason code")
    def cancel_order(order_id: str, body: CancelIn) -> OrderOut:
        notify = run(notifier, host.env, order_id, "on_cancel")
        run(
            store_orders.cancel,
            host.store,
            order_id,
            body.code,
            Party.SELLER,
            now(),
            quantities=body.quantities,
            notify=notify,
        )
        host.wake()
        return order_out(store_orders.get(host.store, order_id))

    @r.post("/orders/{order_id}/refund", summary="Refund part of what was paid")
    def refund_order(order_id: str, body: RefundIn) -> OrderOut:
        notify = run(notifier, host.env, order_id, "on_update")
        order = run(store_aftersales.refund, host.store, order_id, body.amount, body.reason, now(), notify)
        host.wake()
        return order_out(order)

    @r.get("/orders/{order_id}/returns", summary="Returns requested for an order")
    def list_returns(order_id: str) -> list[dict[str, Any]]:
        run(store_orders.get, host.store, order_id)
        with host.store.read() as s:
            rows = s.scalars(
                select(ReturnRow).where(ReturnRow.order_id == order_id).order_by(ReturnRow.requested_at)
            )
            return [
                {
                    "id": r.id,
                    "item_id": r.item_id,
                    "quantity": r.quantity,
                    "reason": r.reason,
                    "state": r.state,
                    "refund": r.refund,
                    "restocked": r.restocked,
                }
                for r in rows
            ]

    @r.post("/returns/{return_id}/{step}", summary="Move a return: approve, reject, pick, receive, refund")
    def move_return(return_id: str, step: str, restock: bool = True) -> dict[str, Any]:
        if step not in RETURN_STEPS:
            raise HTTPException(404, f"unknown return step {step!r}; use one of {', '.join(RETURN_STEPS)}")
        ret = run(store_aftersales.get_return, host.store, return_id)
        notify = notifier(host.env, ret.order_id, "on_update")
        moved = run(
            store_aftersales.move_return, host.store, return_id, step, now(), restock=restock, notify=notify
        )
        host.wake()
        return {
            "id": moved.id,
            "state": moved.state.value,
            "refund": moved.refund.amount,
            "restocked": moved.restocked,
        }

    @r.post("/orders/{order_id}/{action}", summary="Move the order: accept, pack, ship, deliver, ...")
    def act(order_id: str, action: str) -> OrderOut:
        if action not in ORDER_ACTIONS:
            raise HTTPException(
                404, f"unknown order action {action!r}; use one of {', '.join(ORDER_ACTIONS)}"
            )
        current = run(store_orders.get, host.store, order_id)
        a = ACTION_ALIASES.get(action) or Action(action)
        if a is Action.DELIVER and current.fulfillment_type is FulfillmentType.PICKUP:
            a = Action.COLLECT
        notify = notifier(host.env, order_id, "on_status")
        order = run(store_orders.act, host.store, order_id, a, now(), by="seller", notify=notify)
        host.wake()
        return order_out(order)

    # -- retention -------------------------------------------------------------------------------
    @r.get("/retention", summary="Retention report of this node's own customers", response_class=HTMLResponse)
    def retention() -> HTMLResponse:
        from mercato.retention.errors import InputError
        from mercato.retention.report import render_report_html

        frame = orders_frame(host.store)
        if frame.height == 0:
            raise HTTPException(404, "no orders yet: nothing to report")
        try:
            return HTMLResponse(render_report_html(frame))
        except (InputError, ValueError) as exc:
            raise HTTPException(422, f"cannot build the report yet: {exc}") from None

    r.include_router(pool_admin_router(host))  # type: ignore[arg-type]  # the node is a PoolHost too
    r.include_router(supply_router(host))  # the supply twin: /admin/supply/...
    return r
