"""The order calls of the buyer node: select, init, confirm, status, track, cancel, update, rating,
support, and checkout of a multi-seller cart (one order per seller).

Each call sends one request to the order's seller and waits for the matching callback until the
deadline; the callback updates the stored order before the call returns the order's view.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from mercato.buyer.cart import CartError, SellerCart, split_cart
from mercato.buyer.errors import BadRequest, BuyerError, Conflict, DeadlineExceeded, NotFound
from mercato.buyer.node import BuyerNode

RATING_CATEGORIES = ("Item", "Order", "Fulfillment", "Provider", "Agent", "Support")
UPDATE_TARGETS = ("order", "billing", "fulfillments", "items", "payments")


def _obj(value: Any, name: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest(f"{name} must be an object")
    return value


def _items(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not items:
        raise BadRequest("items must be a non-empty list of {id, quantity}")
    out = []
    for i, it in enumerate(items):
        if not isinstance(it, dict) or not isinstance(it.get("id"), str) or not it["id"]:
            raise BadRequest(f"items[{i}].id must be a non-empty string")
        q = it.get("quantity", 1)
        if isinstance(q, bool) or not isinstance(q, int) or q < 1:
            raise BadRequest(f"items[{i}].quantity must be a positive integer")
        out.append({"id": it["id"], "quantity": q})
    return out


def _beckn_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": i["id"], "quantity": {"selected": {"count": i["quantity"]}}} for i in items]


class Orders:
    def __init__(self, node: BuyerNode) -> None:
        self.node = node
        self.store = node.store

    async def get(self, order_ref: str) -> dict[str, Any]:
        found = await asyncio.to_thread(self.store.get_order, order_ref)
        if found is None:
            raise NotFound(f"no order {order_ref!r} on this buyer node")
        return found

    async def _confirmed(self, order_ref: str, what: str) -> dict[str, Any]:
        order = await self.get(order_ref)
        if order["stage"] != "confirmed" or not order["order_id"]:
            raise Conflict(
                f"order {order_ref} is not confirmed yet: cannot {what} it", bpp_id=order["bpp_id"]
            )
        return order

    async def _call(
        self, order: dict[str, Any], action: str, message: dict[str, Any], deadline_s: float
    ) -> tuple[dict[str, Any], Any]:
        inbound = await self.node.request(
            action,
            message,
            bpp_id=order["bpp_id"],
            bpp_uri=order["bpp_uri"],
            transaction_id=order["transaction_id"],
            deadline_s=deadline_s,
        )
        return await self.get(order["id"]), getattr(inbound.request, "message", None)

    # --- the purchase -----------------------------------------------------------------------

    async def select(
        self,
        *,
        bpp_id: Any,
        provider_id: Any,
        items: Any,
        deadline_s: float,
        bpp_uri: Any = None,
        transaction_id: Any = None,
        fulfillment: Any = None,
    ) -> dict[str, Any]:
        """Ask the seller for a quote; creates the buyer's order (stage ``selected``)."""
        if not isinstance(bpp_id, str) or not bpp_id:
            raise BadRequest("bpp_id must be a non-empty string")
        if not isinstance(provider_id, str) or not provider_id:
            raise BadRequest("provider_id must be a non-empty string")
        if bpp_uri is not None and (
            not isinstance(bpp_uri, str) or not bpp_uri.startswith(("http://", "https://"))
        ):
            raise BadRequest("bpp_uri must be an http(s) URL")
        if transaction_id is not None:
            try:
                transaction_id = str(uuid.UUID(str(transaction_id)))
            except ValueError:
                raise BadRequest("transaction_id must be a UUID") from None
        wanted = _items(items)
        ful = _obj(fulfillment, "fulfillment")
        ends = time.monotonic() + deadline_s
        uri = bpp_uri or await self.node.seller_uri(bpp_id)
        try:
            order = await asyncio.to_thread(
                self.store.create_order,
                transaction_id=transaction_id or str(uuid.uuid4()),
                bpp_id=bpp_id,
                bpp_uri=uri,
                provider_id=provider_id,
                items=wanted,
            )
        except ValueError as exc:
            raise Conflict(str(exc), bpp_id=bpp_id) from None
        beckn: dict[str, Any] = {"provider": {"id": provider_id}, "items": _beckn_items(wanted)}
        if ful is not None:
            beckn["fulfillments"] = [ful]
        view, _ = await self._call(order, "select", {"order": beckn}, ends - time.monotonic())
        return view

    async def init(
        self, order_ref: str, *, billing: Any, fulfillment: Any, payment: Any, deadline_s: float
    ) -> dict[str, Any]:
        """Give the seller billing, delivery and payment details; the seller answers with the final
        quote and payment terms (stage ``initialized``)."""
        order = await self.get(order_ref)
        if order["stage"] == "confirmed":
            raise Conflict(f"order {order_ref} is already confirmed", bpp_id=order["bpp_id"])
        bill = _obj(billing, "billing")
        if bill is None:
            raise BadRequest("billing is required")
        ful = _obj(fulfillment, "fulfillment")
        pay = _obj(payment, "payment")
        beckn: dict[str, Any] = {
            "provider": {"id": order["provider_id"]},
            "items": _beckn_items(order["items"]),
            "billing": bill,
        }
        if ful is not None:
            beckn["fulfillments"] = [ful]
        if pay is not None:
            beckn["payments"] = [pay]
        view, _ = await self._call(order, "init", {"order": beckn}, deadline_s)
        return view

    async def confirm(self, order_ref: str, *, payment: Any = None, deadline_s: float) -> dict[str, Any]:
        """Place the order on the terms of the seller's ``on_init`` (stage ``confirmed``)."""
        order = await self.get(order_ref)
        if order["stage"] != "initialized" or order["order"] is None:
            raise Conflict(
                f"order {order_ref} must be initialized (init) before confirm", bpp_id=order["bpp_id"]
            )
        pay = _obj(payment, "payment")
        beckn = dict(order["order"])
        beckn.setdefault("provider", {"id": order["provider_id"]})
        beckn.setdefault("items", _beckn_items(order["items"]))
        if pay is not None:
            beckn["payments"] = [pay]
        view, _ = await self._call(order, "confirm", {"order": beckn}, deadline_s)
        return view

    # --- after the purchase -----------------------------------------------------------------

    async def status(self, order_ref: str, *, deadline_s: float) -> dict[str, Any]:
        order = await self._confirmed(order_ref, "ask the status of")
        view, _ = await self._call(order, "status", {"order_id": order["order_id"]}, deadline_s)
        return view

    async def track(self, order_ref: str, *, deadline_s: float) -> dict[str, Any]:
        order = await self._confirmed(order_ref, "track")
        view, message = await self._call(order, "track", {"order_id": order["order_id"]}, deadline_s)
        tracking = (
            message.tracking.model_dump(by_alias=True, exclude_none=True) if message is not None else None
        )
        return {"order": view, "tracking": tracking}

    async def cancel(self, order_ref: str, *, reason_id: Any, deadline_s: float) -> dict[str, Any]:
        if not isinstance(reason_id, str) or not reason_id:
            raise BadRequest("reason_id (a cancellation reason code) is required")
        order = await self._confirmed(order_ref, "cancel")
        msg = {"order_id": order["order_id"], "cancellation_reason_id": reason_id}
        view, _ = await self._call(order, "cancel", msg, deadline_s)
        return view

    async def update(self, order_ref: str, *, target: Any, order: Any, deadline_s: float) -> dict[str, Any]:
        if target not in UPDATE_TARGETS:
            raise BadRequest(f"target must be one of {', '.join(UPDATE_TARGETS)}")
        patch = _obj(order, "order") or {}
        current = await self._confirmed(order_ref, "update")
        msg = {"update_target": target, "order": {**patch, "id": current["order_id"]}}
        view, _ = await self._call(current, "update", msg, deadline_s)
        return view

    async def rate(
        self, order_ref: str, *, value: Any, category: Any = "Order", id: Any = None, deadline_s: float
    ) -> dict[str, Any]:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise BadRequest("value must be an integer from 1 to 5")
        if category not in RATING_CATEGORIES:
            raise BadRequest(f"category must be one of {', '.join(RATING_CATEGORIES)}")
        order = await self._confirmed(order_ref, "rate")
        rating = {"rating_category": category, "id": id or order["order_id"], "value": str(value)}
        view, message = await self._call(order, "rating", {"ratings": [rating]}, deadline_s)
        form = getattr(message, "feedback_form", None)
        return {
            "order": view,
            "feedback_form": form.model_dump(by_alias=True, exclude_none=True) if form else None,
        }

    async def support(self, order_ref: str, *, deadline_s: float) -> dict[str, Any]:
        order = await self._confirmed(order_ref, "ask support for")
        view, message = await self._call(
            order, "support", {"support": {"ref_id": order["order_id"]}}, deadline_s
        )
        sup = getattr(message, "support", None)
        return {"order": view, "support": sup.model_dump(by_alias=True, exclude_none=True) if sup else None}

    # --- a cart across sellers --------------------------------------------------------------

    async def checkout(
        self, lines: Any, *, billing: Any, fulfillment: Any, payment: Any, deadline_s: float
    ) -> list[dict[str, Any]]:
        """One order per seller (and provider): select, init and confirm each, concurrently, within
        the deadline. A seller that fails does not stop the others: each result says ``ok`` or
        carries its error (and the order as far as it got)."""
        if not isinstance(lines, list):
            raise BadRequest("lines must be a list of {bpp_id, provider_id, item_id, quantity}")
        try:
            carts = split_cart(lines)
        except CartError as exc:
            raise BadRequest(str(exc)) from None
        if _obj(billing, "billing") is None:
            raise BadRequest("billing is required")
        _obj(fulfillment, "fulfillment")
        _obj(payment, "payment")
        ends = time.monotonic() + deadline_s
        return list(
            await asyncio.gather(*(self._checkout_one(c, billing, fulfillment, payment, ends) for c in carts))
        )

    async def _checkout_one(
        self, cart: SellerCart, billing: Any, fulfillment: Any, payment: Any, ends: float
    ) -> dict[str, Any]:
        result: dict[str, Any] = {"bpp_id": cart.bpp_id, "provider_id": cart.provider_id, "ok": False}
        try:
            view = await self.select(
                bpp_id=cart.bpp_id,
                provider_id=cart.provider_id,
                items=cart.item_list(),
                bpp_uri=cart.bpp_uri,
                deadline_s=_left(ends),
            )
            result["order"] = view
            view = await self.init(
                view["id"], billing=billing, fulfillment=fulfillment, payment=payment, deadline_s=_left(ends)
            )
            result["order"] = view
            result["order"] = await self.confirm(view["id"], payment=payment, deadline_s=_left(ends))
            result["ok"] = True
        except BuyerError as exc:
            result["error"] = exc.to_json()
            if "order" in result:
                result["order"] = await self.get(result["order"]["id"])
        return result


def _left(ends: float) -> float:
    left = ends - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded("the checkout deadline passed")
    return left
