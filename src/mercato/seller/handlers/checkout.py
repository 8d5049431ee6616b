"""``init`` → ``on_init`` and ``confirm`` → ``on_confirm``.

init re-prices the basket against the quote sent at select (a changed price answers 40003 with the new
quote; stock gone answers 40002 with the quantity left), records billing, delivery address and payment
terms, and answers the final terms. confirm runs the store's one confirm transaction: the order, its
stock reservations and its on_confirm commit together, and a repeated confirm of the same transaction
gets the first answer again (with the new message id) and makes no second order.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from mercato.protocol.models import ConfirmRequest as BecknConfirm
from mercato.protocol.models import InitRequest
from mercato.seller.domain import InsufficientStock, Order, Quote, QuoteChanged
from mercato.seller.domain.orders import PaymentType
from mercato.seller.domain.quotes import require_available, require_unchanged
from mercato.seller.store import Callback
from mercato.seller.store import checkout as store_checkout
from mercato.seller.store.callbacks import send_later
from mercato.seller.store.checkout import ConfirmRequest

from . import beckn
from .discovery import estimate, order_draft_json, pool_guard
from .env import Env
from .parse import Draft, draft
from .reply import callback, error_json, rewrap
from .supply import ConfirmHold, confirm_hold, quote_promise


def _stale(
    req_ctx: Any,
    action: str,
    env: Env,
    exc: QuoteChanged | InsufficientStock,
    fresh: Quote | None,
    provider_id: str,
) -> Callback:
    order: dict[str, Any] = {"provider": {"id": provider_id}}
    if fresh is not None:
        order["items"] = [
            {
                "id": ln.item_id,
                "quantity": {
                    "selected": {"count": ln.quantity},
                    "available": {"count": max(0, ln.available_quantity)},
                },
            }
            for ln in fresh.lines
        ]
        order["quote"] = beckn.quote_json(fresh)
    if isinstance(exc, InsufficientStock):
        order["items"] = [
            {"id": i, "quantity": {"selected": {"count": req}, "available": {"count": max(0, left)}}}
            for i, (req, left) in sorted(exc.shortages.items())
        ]
    return callback(req_ctx, action, env.me, {"order": order}, error_json(exc))


def init(env: Env, req: InitRequest, d: Draft | None = None) -> Callback | None:
    """One write transaction: the pool guard, the fresh and the stored quote, saving the terms with
    their on_init (a stale quote is answered after it, with nothing saved). ``d``: the request's
    draft, if already parsed."""
    ctx = req.context
    d = d if d is not None else draft(req.message.order if req.message else None, ctx)
    txn = str(ctx.transaction_id)
    with env.store.write() as s:
        pool_guard(env, ctx.bap_id, txn, d.basket, s)
        fresh, cat = store_checkout.quote_in(s, d.basket)
        stored = store_checkout.stored_in(s, ctx.bap_id, txn)
        try:
            if stored is not None and stored[0].provider_id == fresh.provider_id:
                require_unchanged(stored[0], fresh)
            require_available(fresh)
        except (QuoteChanged, InsufficientStock) as exc:
            return _stale(ctx, "on_init", env, exc, fresh, d.basket.provider_id)
        now = env.now()
        fresh, window = quote_promise(env, fresh, d.basket, now, lambda q: estimate(cat, q, d.basket, now))
        try:
            require_available(fresh)
        except InsufficientStock as exc:
            return _stale(ctx, "on_init", env, exc, fresh, d.basket.provider_id)
        order = order_draft_json(cat, fresh, d.basket, now, d.details, window)
        if "billing" in d.details:
            order["billing"] = d.details["billing"]
        order["payments"] = [
            beckn.payment_json(fresh.total, d.payment_type, False, d.details["collected_by"])
        ]
        cb = callback(ctx, "on_init", env.me, {"order": order})
        store_checkout.save_quote_in(s, ctx.bap_id, txn, fresh, "init", env.now(), d.details, callback=cb)
    return None


def confirm(env: Env, req: BecknConfirm, d: Draft | None = None) -> Callback | None:
    """One write transaction: a repeat's stored answer, the stored terms, the pool guard, then the
    store's confirm (the order, its reservations and its on_confirm), all or nothing."""
    ctx = req.context
    txn = str(ctx.transaction_id)
    d = d if d is not None else draft(req.message.order if req.message else None, ctx)
    order_id, now = str(uuid.uuid4()), env.now()
    hold = confirm_hold(env, d.basket, order_id, now)  # reads the twin (cached) outside the transaction
    try:
        with env.store.write() as s:
            again, stored = store_checkout.before_confirm_in(s, ctx.bap_id, txn)
            if again is not None:  # a repeat: the first answer again, in this same transaction
                send_later(s, rewrap(again.response, ctx, env.me))
                return None
            pool_guard(env, ctx.bap_id, txn, d.basket, s)
            creq, respond = _confirm_request(env, req, stored, d, now, hold)
            store_checkout.confirm_in(s, creq, order_id=order_id, now=now, respond=respond, hold=hold)
    except QuoteChanged as exc:
        return _stale(ctx, "on_confirm", env, exc, exc.fresh, d.basket.provider_id)
    except InsufficientStock as exc:
        return _stale(ctx, "on_confirm", env, exc, None, d.basket.provider_id)
    except IntegrityError as exc:  # a concurrent duplicate won the race: answer with its stored on_confirm
        return rewrap(store_checkout.replay_after(env.store, ctx.bap_id, txn, exc).response, ctx, env.me)
    return None


def _confirm_request(env: Env, req: BecknConfirm, stored: store_checkout.StoredQuote | None, d: Draft,
                     now: datetime, hold: ConfirmHold | None,
                     ) -> tuple[ConfirmRequest, Callable[[Order], Callback]]:  # fmt: skip
    """What the store's confirm needs: the request (terms from init where the confirm leaves them
    out) and how to build the on_confirm (with the twin's promise)."""
    ctx = req.context
    details = dict(d.details)
    if stored is not None:
        for k, v in stored[1].items():
            if k not in details or (k in ("payment_type", "collected_by") and not _explicit_payment(req)):
                details[k] = v
    ptype = PaymentType(details.get("payment_type", d.payment_type.value))

    def respond(order: Order) -> Callback:
        message = {"order": beckn.order_json(order, details)}
        if hold is not None:
            hold.stamp(message, order.quote, lambda q: _estimate(env, q, d.basket, now))
        return callback(ctx, "on_confirm", env.me, message)

    # the quote sent at select/init, read above (the confirm transaction then need not read it again)
    earlier = stored[0] if stored is not None and stored[0].provider_id == d.basket.provider_id else None
    creq = ConfirmRequest(ctx.bap_id, str(ctx.transaction_id), d.basket, ptype, buyer_id=_buyer(details),
                          bap_uri=str(ctx.bap_uri), earlier=earlier, details=details)  # fmt: skip
    return creq, respond


def _estimate(env: Env, q: Quote, basket: Any, now: Any) -> tuple[Any, Any]:
    """The simple rule's window for lines the twin does not know (reads the catalog only then)."""
    _, cat = store_checkout.quote_with_catalog(env.store, basket)
    return estimate(cat, q, basket, now)


def _explicit_payment(req: BecknConfirm) -> bool:
    order = req.message.order if req.message else None
    return bool(order is not None and order.payments and order.payments[0].type)


def _buyer(details: dict[str, Any]) -> str | None:
    """A stable customer id for retention: the billing email or phone, when given."""
    billing = details.get("billing") or {}
    who = billing.get("email") or billing.get("phone")
    return str(who) if who else None
