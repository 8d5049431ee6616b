"""The storefront's checkout and orders pages (mixed into :class:`mercato.buyer.web.Storefront`).

Checkout runs select → init → confirm with every seller of the cart at once; the form's
idempotency token is claimed in the database first, so a form sent twice (a double click, a
reload) places the orders once and both requests end on the same result page. Order pages read
the buyer's stored orders, which callbacks keep current; ``/orders/{ref}/live`` is the JSON the page
polls. A seller that cannot be reached is reported on the page, never as a crash.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mercato.buyer.errors import BuyerError, Unavailable
from mercato.buyer.node import BuyerNode
from mercato.buyer.ordering import Orders
from mercato.buyer.tables import callbacks
from mercato.buyer.web_forms import (
    BUYER_CANCEL_REASONS,
    PAYMENT_TERMS,
    FormError,
    group_by_seller,
    parse_cancel_reason,
    parse_checkout,
    parse_rating,
)
from mercato.buyer.web_search import CITIES
from mercato.buyer.web_store import WebStore
from mercato.web.render import Renderer, format_datetime

CHECKOUT_DEADLINE_S = 25.0
ACTION_DEADLINE_S = 8.0
FINAL_STATUSES = ("COMPLETED", "CANCELLED")  # Beckn 1.1 order status (ACTIVE until then)
STATUS_CLASS = {"COMPLETED": "status-ok", "CANCELLED": "status-bad"}

Handler = Callable[[Request, str], Awaitable[Response]]
Wrap = Callable[[Handler], Callable[[Request], Awaitable[Response]]]


def _uuid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def promise_of(order: dict[str, Any] | None) -> str | None:
    """The end of the delivery window in a Beckn order (``fulfillments[].stops[end].time.range.end``)."""
    for f in (order or {}).get("fulfillments") or ():
        for stop in f.get("stops") or ():
            end = ((stop.get("time") or {}).get("range") or {}).get("end")
            if isinstance(end, str):
                return end
    return None


def is_final(order: dict[str, Any]) -> bool:
    return str(order.get("status") or "").upper() in FINAL_STATUSES


def seller_state(order: dict[str, Any]) -> str:
    """The seller's own order state (Created, Accepted, In-progress, Completed, Cancelled) when its
    ``mercato.order`` tag says it, else the Beckn status."""
    for group in (order.get("order") or {}).get("tags") or ():
        if (group.get("descriptor") or {}).get("code") == "mercato.order":
            for t in group.get("list") or ():
                if (t.get("descriptor") or {}).get("code") == "state" and t.get("value"):
                    return str(t["value"])
    return str(order.get("status") or "Created").capitalize()


def live_fields(order: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": seller_state(order),
        "fulfillment_state": order.get("fulfillment_state") or "Pending",
        "updated_at": format_datetime(order.get("updated_at")),
    }


def _provider_name(order: dict[str, Any] | None) -> str | None:
    name = (((order or {}).get("provider") or {}).get("descriptor") or {}).get("name")
    return name if isinstance(name, str) and name else None


def _name(item: dict[str, Any]) -> str | None:
    name = (item.get("descriptor") or {}).get("name")
    return name if isinstance(name, str) and name else None


class OrderPages:
    node: BuyerNode
    orders: Orders
    web: WebStore
    renderer: Renderer

    def _ctx(self, sid: str, current: str = "", **context: Any) -> dict[str, Any]:
        raise NotImplementedError

    def order_routes(self, s: Wrap) -> list[BaseRoute]:
        return [
            Route("/checkout", s(self.checkout_page), methods=["GET"]),
            Route("/checkout", s(self.checkout_submit), methods=["POST"]),
            Route("/checkout/{token}", s(self.checkout_result), methods=["GET"]),
            Route("/orders", s(self.orders_page), methods=["GET"]),
            Route("/orders/{ref}", s(self.order_page), methods=["GET"]),
            Route("/orders/{ref}/live", s(self.order_live), methods=["GET"]),
            Route("/orders/{ref}/{action}", s(self.order_action), methods=["POST"]),
        ]

    # --- checkout ---------------------------------------------------------------------------

    def _checkout_ctx(self, sid: str, lines: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return self._ctx(
            sid,
            "cart",
            title="Checkout",
            groups=group_by_seller(lines),
            cities=list(CITIES.items()),
            payments=list(PAYMENT_TERMS.items()),
            **extra,
        )

    async def checkout_page(self, request: Request, sid: str) -> Response:
        lines = await asyncio.to_thread(self.web.cart, sid)
        if not lines:
            return self.renderer.redirect("/cart", [("info", "Your cart is empty: add something first.")])
        ctx = self._checkout_ctx(
            sid, lines, token=str(uuid.uuid4()), values={"city": "std:080", "payment": "ON-ORDER"}
        )
        return self.renderer.page(request, "storefront/checkout.html", ctx)

    async def checkout_submit(self, request: Request, sid: str) -> Response:
        form = await request.form()
        token = _uuid(str(form.get("token", "")))
        lines = await asyncio.to_thread(self.web.cart, sid)
        if token is None:
            return self.renderer.redirect(
                "/checkout", [("error", "The checkout form was damaged: try again.")]
            )
        done = await asyncio.to_thread(self.web.checkout, token)
        if done is not None:  # sent again: show what the first one did
            if done["session_id"] != sid:
                return self.renderer.redirect(
                    "/checkout", [("error", "That checkout belongs to another session.")]
                )
            await asyncio.to_thread(self.web.wait_checkout, token, CHECKOUT_DEADLINE_S + 5)
            return self.renderer.redirect(f"/checkout/{token}")
        if not lines:
            return self.renderer.redirect("/cart", [("info", "Your cart is empty: add something first.")])
        checkout, values, errors = parse_checkout(form)
        if checkout is None:
            ctx = self._checkout_ctx(sid, lines, token=token, values=values, errors=errors)
            return self.renderer.page(request, "storefront/checkout.html", ctx, status=422)
        if not await asyncio.to_thread(self.web.claim_checkout, token, sid):
            await asyncio.to_thread(self.web.wait_checkout, token, CHECKOUT_DEADLINE_S + 5)
            return self.renderer.redirect(f"/checkout/{token}")
        results: list[dict[str, Any]] = []
        try:
            cart_lines = [
                {
                    "bpp_id": ln["bpp_id"],
                    "provider_id": ln["provider_id"],
                    "item_id": ln["item_id"],
                    "quantity": int(ln["quantity"]),
                    **({"bpp_uri": ln["bpp_uri"]} if ln.get("bpp_uri") else {}),
                }
                for ln in lines
            ]
            results = await self.orders.checkout(
                cart_lines,
                billing=checkout.billing(),
                fulfillment=checkout.fulfillment(),
                payment=checkout.payment_terms(),
                deadline_s=CHECKOUT_DEADLINE_S,
            )
        except BuyerError as exc:
            results = [{"ok": False, "bpp_id": None, "error": exc.to_json()}]
        finally:
            ordered = {(r["bpp_id"], r["provider_id"]) for r in results if r.get("ok")}
            left = [ln for ln in lines if (ln["bpp_id"], ln["provider_id"]) not in ordered]
            names = {(ln["bpp_id"], ln["provider_id"]): ln.get("provider_name") for ln in lines}
            for r in results:
                r["provider_name"] = names.get((r.get("bpp_id"), r.get("provider_id"))) or r.get("bpp_id")
                r["order_ref"] = (r.get("order") or {}).get("id")
                r.pop("order", None)
            refs = [r["order_ref"] for r in results if r.get("order_ref")]
            await asyncio.to_thread(self.web.own_orders, sid, refs)
            await asyncio.to_thread(self.web.save_cart, sid, left)
            await asyncio.to_thread(self.web.finish_checkout, token, results)
        return self.renderer.redirect(f"/checkout/{token}")

    async def checkout_result(self, request: Request, sid: str) -> Response:
        token = _uuid(request.path_params["token"]) or ""
        found = await asyncio.to_thread(self.web.checkout, token)
        if found is None or found["session_id"] != sid:
            return self._not_found(request, sid, "No such checkout in this session.")
        results = found["result"] or []
        for r in results:
            ref = r.get("order_ref")
            r["view"] = await self._view(ref) if ref and r.get("ok") else None
        ctx = self._ctx(sid, "orders", title="Your order", results=results, running=found["state"] != "done")
        return self.renderer.page(request, "storefront/placed.html", ctx)

    # --- orders -----------------------------------------------------------------------------

    async def _view(self, ref: str) -> dict[str, Any] | None:
        order = await asyncio.to_thread(self.node.store.get_order, ref)
        if order is None:
            return None
        quoted = await asyncio.to_thread(self._quoted_order, ref)
        beckn = order.get("order") or {}
        order["promise"] = promise_of(beckn) or promise_of(quoted)
        order["final"] = is_final(order)
        order["status_class"] = STATUS_CLASS.get(str(order.get("status") or "").upper(), "")
        order["live"] = live_fields(order)
        order["provider_name"] = _provider_name(beckn) or _provider_name(quoted) or order["bpp_id"]
        names = {it.get("id"): _name(it) for it in (quoted or {}).get("items") or ()}
        order["lines"] = [
            {
                "name": _name(it) or names.get(it.get("id")) or it.get("id"),
                "quantity": ((it.get("quantity") or {}).get("selected") or {}).get("count")
                or it.get("quantity"),
            }
            for it in beckn.get("items") or order["items"]
        ]
        return order

    def _quoted_order(self, ref: str) -> dict[str, Any] | None:
        """The order the seller quoted at init (or select): it names the provider and items and
        carries the delivery window, which a confirmed order does not repeat."""
        with self.node.store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(callbacks.c.body)
                .where(callbacks.c.order_ref == ref, callbacks.c.action.in_(("on_init", "on_select")))
                .order_by(callbacks.c.seq.desc())
                .limit(2)
            ).all()
        for (body,) in rows:
            try:
                order = (orjson.loads(body).get("message") or {}).get("order")
            except (orjson.JSONDecodeError, AttributeError):
                continue
            if isinstance(order, dict):
                return order
        return None

    def _not_found(self, request: Request, sid: str, text: str) -> Response:
        ctx = self._ctx(sid, "orders", title="Not found", text=text, link=("/orders", "Your orders"))
        return self.renderer.page(request, "storefront/message.html", ctx, status=404)

    async def orders_page(self, request: Request, sid: str) -> Response:
        rows = await asyncio.to_thread(self.node.store.list_orders, 1000, 0)
        mine = await asyncio.to_thread(self.web.order_refs, sid)
        views = [await self._view(r["id"]) for r in rows if r["stage"] == "confirmed" and r["id"] in mine]
        ctx = self._ctx(sid, "orders", title="Your orders", orders=[v for v in views if v])
        return self.renderer.page(request, "storefront/orders.html", ctx)

    async def order_page(
        self, request: Request, sid: str, form_errors: dict[str, str] | None = None, extra: Any = None
    ) -> Response:
        ref = _uuid(request.path_params["ref"]) or ""
        order = await self._view(ref) if await asyncio.to_thread(self.web.owns, sid, ref) else None
        if order is None or order["stage"] != "confirmed":
            return self._not_found(request, sid, "No such order of yours on this buyer node.")
        rated = await asyncio.to_thread(self.web.rating_of, ref)
        ctx = self._ctx(
            sid,
            "orders",
            title=f"Order from {order['provider_name']}",
            order=order,
            reasons=[("", "Choose a reason"), *BUYER_CANCEL_REASONS.items()],
            stars=[("", "Choose"), *((str(i), f"{i} star{'s' if i > 1 else ''}") for i in range(5, 0, -1))],
            errors=form_errors or {},
            values=dict(await request.form()) if request.method == "POST" else {"value": str(rated or "")},
            rated=rated,
            **(extra or {}),
        )
        return self.renderer.page(request, "storefront/order.html", ctx, status=422 if form_errors else 200)

    async def order_live(self, request: Request, sid: str) -> Response:
        ref = _uuid(request.path_params["ref"]) or ""
        owned = await asyncio.to_thread(self.web.owns, sid, ref)
        order = await asyncio.to_thread(self.node.store.get_order, ref) if owned else None
        if order is None:
            return Response(orjson.dumps({"error": "no such order"}), 404, media_type="application/json")
        data = {"fields": live_fields(order), "final": is_final(order)}
        return Response(
            orjson.dumps(data), media_type="application/json", headers={"Cache-Control": "no-store"}
        )

    async def order_action(self, request: Request, sid: str) -> Response:
        ref = _uuid(request.path_params["ref"]) or ""
        action = request.path_params["action"]
        form = await request.form()
        url = f"/orders/{ref}"
        owned = await asyncio.to_thread(self.web.owns, sid, ref)
        order = await asyncio.to_thread(self.node.store.get_order, ref) if owned else None
        if (
            order is None
            or order["stage"] != "confirmed"
            or action not in ("status", "track", "cancel", "rate")
        ):
            return self._not_found(request, sid, "No such order or action.")
        try:
            if action == "status":
                view = await self.orders.status(ref, deadline_s=ACTION_DEADLINE_S)
                return self.renderer.redirect(
                    url, [("ok", f"The seller says: {view.get('status') or 'no news'}.")]
                )
            if action == "track":
                tracked = await self.orders.track(ref, deadline_s=ACTION_DEADLINE_S)
                return await self.order_page(request, sid, extra={"tracking": tracked.get("tracking") or {}})
            if action == "cancel":
                reason = parse_cancel_reason(form.get("reason"))
                await self.orders.cancel(ref, reason_id=reason, deadline_s=ACTION_DEADLINE_S)
                return self.renderer.redirect(url, [("ok", "The seller cancelled the order.")])
            value = parse_rating(form.get("value"))
            await self.orders.rate(ref, value=value, category="Order", deadline_s=ACTION_DEADLINE_S)
            await asyncio.to_thread(self.web.rate, ref, order["bpp_id"], order["provider_id"] or "", value)
            return self.renderer.redirect(url, [("ok", f"Thank you: you rated this order {value} of 5.")])
        except FormError as exc:
            return await self.order_page(request, sid, exc.errors)
        except Unavailable:
            return self.renderer.redirect(
                url,
                [
                    (
                        "error",
                        "The seller is unavailable right now: its node does not answer. Try again later.",
                    )
                ],
            )
        except BuyerError as exc:
            return self.renderer.redirect(url, [("error", f"The seller did not do it: {exc.message}")])
