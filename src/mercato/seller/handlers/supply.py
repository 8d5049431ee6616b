"""The supply twin in the protocol handlers: promise dates in on_select / on_init / on_confirm,
the confirm-time reservation, and the unsolicited on_update telling a buyer its new date.

A node without a twin keeps the simple rule of :func:`.discovery.estimate` (time to ship plus a
transit time by area) and pays nothing here beyond a cached lookup. With a twin, every line of an
item the twin knows gets its date from the twin (stock, receipts, capacity, transit to the buyer's
city); a line the twin cannot promise is quoted with nothing available, so no promise is made that
the twin cannot keep.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from mercato.protocol.messages import format_timestamp
from mercato.seller.domain import FulfillmentType, InsufficientStock, Order, Quote
from mercato.seller.store import Callback, supply_late
from mercato.seller.store import orders as store_orders
from mercato.seller.store import supply as store_supply
from mercato.seller.store.checkout import Basket
from mercato.supply.errors import PromiseUnavailable
from mercato.supply.promise import Promise

from . import beckn
from .env import Env
from .reply import unsolicited

Window = tuple[datetime, datetime]


def _city(basket: Basket) -> str | None:
    return basket.city if basket.fulfillment is not FulfillmentType.PICKUP else None


def quote_promise(env: Env, q: Quote, basket: Basket, now: datetime,
                  fallback: Callable[[Quote], Window]) -> tuple[Quote, Window | None]:  # fmt: skip
    """The quote (lines the twin cannot promise marked unavailable) and its delivery window from the
    twin (None: no twin, no city, or no line the twin knows: use the simple rule)."""
    city = _city(basket)
    twin = store_supply.twin_of(env.store)
    if twin is None or city is None:
        return q, None
    items = [(ln.item_id, ln.quantity) for ln in q.lines]
    try:
        p = store_supply.promise(env.store, items, city, now)
    except PromiseUnavailable as exc:
        lines = tuple(dataclasses.replace(ln, available_quantity=0) if ln.item_id == exc.item_id else ln
                      for ln in q.lines)  # fmt: skip
        return dataclasses.replace(q, lines=lines), None
    if p is None:
        return q, None
    return q, merge(p, q, now, fallback)


def merge(p: Promise, q: Quote, now: datetime, fallback: Callable[[Quote], Window]) -> Window:
    """The twin's window, widened by the simple rule's for lines of items the twin does not know."""
    start, end = store_supply.window(p, now)
    known = {ln.item for ln in p.lines}
    if any(ln.item_id not in known for ln in q.lines):
        s2, e2 = fallback(q)
        start, end = max(start, s2), max(end, e2)
    return start, end


class ConfirmHold:
    """Reserve what the twin promises inside the confirm transaction (see ``store.checkout.confirm``)."""

    def __init__(self, env: Env, basket: Basket, order_id: str, now: datetime) -> None:
        self.env, self.basket, self.order_id, self.now = env, basket, order_id, now
        self.promise: Promise | None = None

    def __call__(self, session: Session, fresh: Quote) -> None:
        twin = store_supply.twin_of(self.env.store)
        city = _city(self.basket)
        if twin is None or city is None:
            return
        items = [(ln.item_id, ln.quantity) for ln in fresh.lines]
        try:
            self.promise = store_supply.reserve_in(session, twin, self.order_id, items, city, self.now)
        except PromiseUnavailable as exc:
            raise InsufficientStock({exc.item_id: (fresh.line(exc.item_id).quantity, 0)}) from None

    def stamp(self, message: dict[str, Any], q: Quote, fallback: Callable[[Quote], Window]) -> dict[str, Any]:
        """Put the promised window into the on_confirm order's fulfillment."""
        if self.promise is not None:
            set_window(message, merge(self.promise, q, self.now, fallback))
        return message


def confirm_hold(env: Env, basket: Basket, order_id: str, now: datetime) -> ConfirmHold | None:
    """A hold for the confirm transaction, or None when the node has no twin (nothing to do)."""
    if store_supply.twin_of(env.store) is None:
        return None
    return ConfirmHold(env, basket, order_id, now)


def set_window(message: dict[str, Any], window: Window) -> None:
    """Write ``window`` into ``message['order']['fulfillments'][0]``'s end stop (``time.range``)."""
    order = message.get("order", {})
    fulfillments = order.get("fulfillments") or []
    if not fulfillments:
        return
    f = fulfillments[0]
    stops = f.setdefault("stops", [{"type": "end"}])
    stop = next((s for s in stops if s.get("type") == "end"), stops[0])
    stop["time"] = {"range": {"start": format_timestamp(window[0]), "end": format_timestamp(window[1])}}


def late_notifier(env: Env) -> supply_late.LateNotifier:
    """Builds the unsolicited on_update that tells a buyer the new delivery date of a late order."""

    def build(order_id: str, new_date: date) -> Callback | None:
        ref = store_orders.ref_of(env.store, order_id)
        if not ref.bap_uri:
            return None
        order: Order = store_orders.get(env.store, order_id)
        details = store_orders.details_of(env.store, order_id)
        message = {"order": beckn.order_json(order, details)}
        end = datetime(new_date.year, new_date.month, new_date.day, 23, 59, 59, tzinfo=env.now().tzinfo)
        set_window(message, (env.now(), end))
        return unsolicited(env.me, "on_update", ref.bap_id, ref.bap_uri, ref.transaction_id, message)

    return build


__all__ = ["ConfirmHold", "confirm_hold", "late_notifier", "quote_promise", "set_window"]
