"""``status``, ``track``, ``cancel`` and ``update``, and the unsolicited ``on_status`` / ``on_update``.

A buyer app may only see and change its own orders: an order id of another buyer app is answered as
unknown (30010). cancel and update change the order in one transaction with their callback.
"""

from __future__ import annotations

from typing import Any

from mercato.protocol.errors import Code, ProtocolError
from mercato.protocol.models import CancelRequest, StatusRequest, TrackRequest, UpdateRequest
from mercato.seller.domain import CancellationRefused, IllegalTransition, Money, Order, UnknownEntity
from mercato.seller.domain.cancellation import Party
from mercato.seller.domain.orders import FulfillmentState, OrderState
from mercato.seller.store import Callback, Notifier
from mercato.seller.store import aftersales as store_aftersales
from mercato.seller.store import orders as store_orders

from . import beckn
from .env import Env
from .parse import bad
from .reply import Identity, callback, unsolicited

IN_TRANSIT = {FulfillmentState.PICKED_UP, FulfillmentState.OUT_FOR_DELIVERY}


def own_order(env: Env, bap_id: str, order_id: str | None, path: str) -> str:
    if not order_id:
        raise bad("an order id is required", path)
    try:
        ref = store_orders.ref_of(env.store, order_id)
    except UnknownEntity:
        ref = None
    if ref is None or ref.bap_id != bap_id:
        raise UnknownEntity("order", order_id, Code.ORDER_NOT_FOUND)
    return order_id


def order_message(env: Env, order: Order) -> dict[str, Any]:
    return {"order": beckn.order_json(order, store_orders.details_of(env.store, order.id))}


def notifier(env: Env, order_id: str, action: str = "on_status") -> Notifier:
    """Builds the unsolicited callback telling the buyer app about a change the merchant made."""
    ref = store_orders.ref_of(env.store, order_id)
    details = store_orders.details_of(env.store, order_id)
    return merchant_notifier(env.me, ref, details, action)


def merchant_notifier(
    me: Identity, ref: store_orders.OrderRef, details: dict[str, Any], action: str
) -> Notifier:
    def build(order: Order) -> Callback | None:
        if not ref.bap_uri:
            return None
        return unsolicited(
            me,
            action,
            ref.bap_id,
            ref.bap_uri,
            ref.transaction_id,
            {"order": beckn.order_json(order, details)},
        )

    return build


def status(env: Env, req: StatusRequest) -> Callback:
    order_id = own_order(env, req.context.bap_id, req.message.order_id, "message.order_id")
    order = store_orders.get(env.store, order_id)
    return callback(req.context, "on_status", env.me, order_message(env, order))


def track(env: Env, req: TrackRequest) -> Callback:
    order_id = own_order(env, req.context.bap_id, req.message.order_id, "message.order_id")
    order = store_orders.get(env.store, order_id)
    if order.fulfillment_type.value != "Delivery":
        raise ProtocolError(Code.TRACKING_NOT_SUPPORTED, "a self-pickup order has no tracking")
    active = order.state is not OrderState.CANCELLED and order.fulfillment_state in IN_TRANSIT
    tracking = {
        "id": order.fulfillment_id,
        "url": f"{env.me.subscriber_url.rstrip('/')}/track/{order.id}",
        "status": "active" if active else "inactive",
    }
    return callback(req.context, "on_track", env.me, {"tracking": tracking})


def _details_and_respond(env: Env, req: Any, action: str, order_id: str) -> Notifier:
    details = store_orders.details_of(env.store, order_id)

    def respond(order: Order) -> Callback:
        return callback(req.context, action, env.me, {"order": beckn.order_json(order, details)})

    return respond


def cancel(env: Env, req: CancelRequest) -> Callback | None:
    m = req.message
    order_id = own_order(env, req.context.bap_id, m.order_id, "message.order_id")
    code = m.cancellation_reason_id
    if not code:
        raise bad("cancellation_reason_id is required", "message.cancellation_reason_id")
    try:
        store_orders.cancel(
            env.store,
            order_id,
            code,
            Party.BUYER_APP,
            env.now(),
            notify=_details_and_respond(env, req, "on_cancel", order_id),
        )
    except IllegalTransition as exc:
        refused = CancellationRefused(
            f"order {order_id} cannot be cancelled now ({exc.state}); "
            "a delivered order can be returned instead"
        )
        raise refused from None
    return None


UPDATE_TARGETS = ("items", "fulfillments", "payments", "returns")


def update(env: Env, req: UpdateRequest) -> Callback | None:
    m = req.message
    target = (m.update_target or "").removeprefix("order.").split("[")[0].split(".")[0]
    if target == "fulfillment":
        target = "fulfillments"
    if target == "payment":
        target = "payments"
    if target not in UPDATE_TARGETS:
        raise ProtocolError(
            Code.INVALID_UPDATE_TARGET,
            f"update_target must name one of {', '.join(UPDATE_TARGETS)}",
            path="message.update_target",
        )
    order_in = m.order
    if order_in is None:
        raise bad("message.order is required", "message.order")
    order_id = own_order(env, req.context.bap_id, order_in.id, "message.order.id")
    respond = _details_and_respond(env, req, "on_update", order_id)
    now = env.now()
    if target in ("items", "returns"):
        current = store_orders.get(env.store, order_id)
        if current.fulfillment_state is not FulfillmentState.DELIVERED:
            raise ProtocolError(
                Code.UPDATION_NOT_POSSIBLE,
                "items can be returned only after delivery; use cancel before that",
            )
        if not order_in.items:
            raise bad("name the items to return", "message.order.items")
        last: Any = None
        for i, item in enumerate(order_in.items):
            sel = item.quantity.selected if item.quantity is not None else None
            if not item.id or sel is None or sel.count is None:
                raise bad("each item needs an id and quantity.selected.count", f"message.order.items[{i}]")
            reason = _tag_value(item.tags, "return_request", "reason") or "buyer return"
            last = store_aftersales.request_return(
                env.store,
                order_id,
                f"{order_id}:{req.context.message_id}:{i}",
                item.id,
                int(sel.count),
                reason,
                now,
                notify=respond if i == len(order_in.items) - 1 else None,
            )
        assert last is not None
        return None
    if target == "payments":
        p = order_in.payments[0] if order_in.payments else None
        if p is None or p.status != "PAID" or p.params is None or not p.params.amount:
            raise bad("a payment update needs status PAID and params.amount", "message.order.payments[0]")
        order = store_orders.get(env.store, order_id)
        try:
            amount = Money.parse(p.params.amount, order.currency)
        except Exception:
            raise bad(
                "params.amount is not a decimal amount", "message.order.payments[0].params.amount"
            ) from None
        store_orders.pay(env.store, order_id, amount.amount, now, notify=respond)
        return None
    # fulfillments: new delivery contact / address / instructions, before the parcel ships
    order = store_orders.get(env.store, order_id)
    if order.shipped or order.state is OrderState.CANCELLED:
        raise ProtocolError(
            Code.UPDATION_NOT_POSSIBLE, "the delivery details can change only before shipping"
        )
    f = order_in.fulfillments[0] if order_in.fulfillments else None
    if f is None:
        raise bad("name the fulfillment to change", "message.order.fulfillments")
    changes: dict[str, Any] = {}
    for stop in f.stops or []:
        changes["end"] = {
            k: v
            for k, v in stop.model_dump(by_alias=True, exclude_none=True).items()
            if k in ("location", "contact", "person", "instructions")
        }
    if f.customer is not None:
        changes["customer"] = f.customer.model_dump(by_alias=True, exclude_none=True)
    if not changes:
        raise bad("nothing to change: give stops or customer", "message.order.fulfillments[0]")
    details = {**store_orders.details_of(env.store, order_id), **changes}

    def respond_new(order: Order) -> Callback:
        return callback(req.context, "on_update", env.me, {"order": beckn.order_json(order, details)})

    store_orders.update_details(env.store, order_id, changes, now, notify=respond_new)
    return None


def _tag_value(groups: Any, group: str, code: str) -> str | None:
    for g in groups or []:
        if g.descriptor is not None and g.descriptor.code == group:
            for t in g.list_ or []:
                if t.descriptor is not None and t.descriptor.code == code and t.value:
                    return str(t.value)
    return None
