"""``rating`` → ``on_rating`` and ``support`` → ``on_support``.

A rating must name a real order of this buyer app (by its id for ``Order``, else the order of the
request's transaction) and something that belongs to it; each is stored (rating again replaces).
Support answers the node's contact for an order or a provider it knows.
"""

from __future__ import annotations

from typing import Any

from mercato.protocol.errors import Code
from mercato.protocol.models import RatingRequest, SupportRequest
from mercato.seller.domain import UnknownEntity
from mercato.seller.domain.support import SupportDirectory
from mercato.seller.store import Callback
from mercato.seller.store import aftersales as store_aftersales
from mercato.seller.store import orders as store_orders
from mercato.seller.store.tables import ProviderRow

from .env import Env
from .orders import own_order
from .parse import bad
from .reply import callback


def rating(env: Env, req: RatingRequest) -> Callback:
    ctx = req.context
    ratings = req.message.ratings or []
    if not ratings:
        raise bad("message.ratings must hold at least one rating", "message.ratings")
    txn_order = store_orders.find(env.store, ctx.bap_id, str(ctx.transaction_id))
    plan: list[tuple[str, str, str, Any]] = []
    for i, r in enumerate(ratings):
        if not r.id or not r.rating_category or r.value is None:
            raise bad("each rating needs id, rating_category and value", f"message.ratings[{i}]")
        order_id = r.id if r.rating_category == "Order" else txn_order
        if order_id is None:
            raise UnknownEntity("order for this transaction", str(ctx.transaction_id), Code.ORDER_NOT_FOUND)
        try:
            own_order(env, ctx.bap_id, order_id, f"message.ratings[{i}].id")
        except UnknownEntity:
            code = Code.ENTITY_TO_RATE_NOT_FOUND if r.rating_category == "Order" else Code.ORDER_NOT_FOUND
            raise UnknownEntity("order", order_id, code) from None
        plan.append((order_id, r.rating_category, r.id, r.value))
    now = env.now()
    for order_id, category, entity_id, value in plan:
        store_aftersales.add_rating(env.store, order_id, category, entity_id, value, now)
    form = {
        "form": {
            "url": f"{env.me.subscriber_url.rstrip('/')}/feedback/{plan[0][0]}",
            "mime_type": "text/html",
        }
    }
    return callback(ctx, "on_rating", env.me, {"feedback_form": form})


def support(env: Env, req: SupportRequest) -> Callback:
    ref_id = req.message.support.ref_id if req.message.support is not None else None
    if not ref_id:
        raise bad("message.support.ref_id is required", "message.support.ref_id")
    directory = SupportDirectory(default=env.support)
    try:
        own_order(env, req.context.bap_id, ref_id, "message.support.ref_id")
        directory.set_order(ref_id, store_orders.get(env.store, ref_id).provider_id)
    except UnknownEntity:
        with env.store.read() as s:
            if s.get(ProviderRow, ref_id) is not None and env.support is not None:
                directory.set_provider(ref_id, env.support)
    contact = directory.contact_for(ref_id)
    out: dict[str, Any] = {"ref_id": ref_id}
    for k in ("phone", "email", "url"):
        v = getattr(contact, k)
        if v:
            out[k] = v
    return callback(req.context, "on_support", env.me, {"support": out})
