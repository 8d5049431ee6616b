"""Checkout: quotes at select/init, and confirm — the one transaction that makes an order.

:func:`confirm` does, in ONE transaction (all or nothing):

1. claim the idempotency key (bap_id, transaction_id) — a second confirm of the same transaction
   gets the stored answer of the first, never a second order;
2. lock the stock rows of the basket's items in (item_id, location_id) order;
3. build a fresh quote from the locked stock and re-check the buyer's quote against it
   (``QuoteChanged`` with the fresh quote if a price changed, ``InsufficientStock`` naming the quantity
   left if stock ran out — nothing is stored in either case);
4. reserve every line (the domain allocates over locations), insert the order, its lines and
   allocations, the ledger entries and the new stock levels;
5. build the ``on_confirm`` callback (``respond``, pure and fast) and put it in the outbox.

Nothing slow happens inside: signing and sending the callback is the outbox worker's job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mercato.db import Prepared
from mercato.seller.domain import (
    Catalog,
    FulfillmentType,
    GeoPoint,
    InvalidInput,
    LineRequest,
    Offer,
    Order,
    PaymentType,
    Quote,
    StockBook,
)
from mercato.seller.domain.orders import create_order
from mercato.seller.domain.quotes import build_quote

from . import orders
from .callbacks import Callback, send_later
from .catalog import load_for_quote
from .codec import quote_json, quote_of
from .stock import lock_items, write_back
from .tables import IdempotencyRow, QuoteRow, table_of
from .txn import Store, check_now


@dataclass(frozen=True)
class Basket:
    """What a buyer asks a price for (select / init / confirm)."""

    provider_id: str
    lines: Sequence[LineRequest]
    fulfillment: FulfillmentType = FulfillmentType.DELIVERY
    city: str | None = None
    point: GeoPoint | None = None
    offers: Sequence[Offer] = ()


@dataclass(frozen=True)
class ConfirmRequest:
    bap_id: str
    transaction_id: str
    basket: Basket
    payment_type: PaymentType = PaymentType.ON_ORDER
    buyer_id: str | None = None
    bap_uri: str | None = None
    # The quote the buyer holds. None: the one stored at select/init for this transaction, if any.
    earlier: Quote | None = None
    details: Mapping[str, Any] = field(default_factory=dict)  # billing, address, payment terms


@dataclass(frozen=True)
class Confirmed:
    order_id: str
    response: bytes  # the stored on_confirm body: the same bytes for every repeat of this confirm
    replayed: bool  # True: this (bap_id, transaction_id) was confirmed before; nothing new was done
    order: Order | None = None  # the order just made (None on a replay: read it with orders.get)


def _fresh(s: Session, basket: Basket, *, lock: bool) -> tuple[Quote, Catalog, StockBook]:
    if not basket.lines:
        raise InvalidInput("a quote needs at least one item")
    ids = [ln.item_id for ln in basket.lines]
    catalog, policy = load_for_quote(s, basket.provider_id, ids)
    book = lock_items(s, ids, lock=lock)
    q = build_quote(catalog, book, basket.provider_id, list(basket.lines), basket.fulfillment,
                    policy, list(basket.offers), basket.city, basket.point)  # fmt: skip
    return q, catalog, book


_QUOTES = table_of(QuoteRow)
_KEYS = table_of(IdempotencyRow)
# Built once: executing a ready statement skips building it and its cache key each time.
_GET_QUOTE = Prepared(
    select(_QUOTES.c.provider_id, _QUOTES.c.quote, _QUOTES.c.details).where(
        _QUOTES.c.bap_id == bindparam("k_bap"), _QUOTES.c.transaction_id == bindparam("k_txn")
    )
)


def _save_quote(dialect: str, with_details: bool) -> Prepared:
    """Insert the quote, or replace the stored one (keeping its details unless new ones are given)."""
    ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(_QUOTES)
    new = ins.excluded
    set_ = {
        "provider_id": new.provider_id,
        "stage": new.stage,
        "quote": new.quote,
        "updated_at": new.updated_at,
    }
    if with_details:
        set_["details"] = new.details
    return Prepared(
        ins.on_conflict_do_update(index_elements=[_QUOTES.c.bap_id, _QUOTES.c.transaction_id], set_=set_)
    )


_SAVE_QUOTE = {(d, w): _save_quote(d, w) for d in ("sqlite", "postgresql") for w in (False, True)}
_GET_ANSWER = Prepared(
    select(_KEYS.c.order_id, _KEYS.c.response).where(
        _KEYS.c.bap_id == bindparam("k_bap"), _KEYS.c.transaction_id == bindparam("k_txn")
    )
)
_NEW_KEY = Prepared(insert(_KEYS))
_SET_ANSWER = Prepared(
    update(_KEYS)
    .where(_KEYS.c.bap_id == bindparam("k_bap"), _KEYS.c.transaction_id == bindparam("k_txn"))
    .values(order_id=bindparam("v_order"), response=bindparam("v_response"))
)
StoredQuote = tuple[Quote, dict[str, Any]]


def _stored_quote_row(s: Session, bap_id: str, transaction_id: str) -> Any:
    return _GET_QUOTE.first(s, {"k_bap": bap_id, "k_txn": transaction_id})


def _stored(s: Session, bap_id: str, transaction_id: str) -> StoredQuote | None:
    row = _stored_quote_row(s, bap_id, transaction_id)
    return None if row is None else (quote_of(row.quote), dict(row.details))


def _answer(s: Session, bap_id: str, transaction_id: str) -> Confirmed | None:
    row = _GET_ANSWER.first(s, {"k_bap": bap_id, "k_txn": transaction_id})
    if row is None or row.order_id is None or row.response is None:
        return None
    return Confirmed(row.order_id, row.response, True)


def quote(store: Store, basket: Basket) -> Quote:
    """A fresh quote with per-line availability (for ``on_select``); reserves nothing."""
    with store.read() as s:
        return _fresh(s, basket, lock=False)[0]


def quote_with_catalog(store: Store, basket: Basket) -> tuple[Quote, Catalog]:
    """A fresh quote and the part of the catalog behind it (item names, times to ship, locations)."""
    with store.read() as s:
        q, catalog, _ = _fresh(s, basket, lock=False)
        return q, catalog


def quote_for_init(
    store: Store, basket: Basket, bap_id: str, transaction_id: str
) -> tuple[Quote, Catalog, StoredQuote | None]:
    """:func:`quote_with_catalog` and :func:`stored_quote`, read in one transaction."""
    with store.read() as s:
        q, catalog, _ = _fresh(s, basket, lock=False)
        return q, catalog, _stored(s, bap_id, transaction_id)


def quote_in(s: Session, basket: Basket) -> tuple[Quote, Catalog]:
    """:func:`quote_with_catalog` in the caller's transaction."""
    q, catalog, _ = _fresh(s, basket, lock=False)
    return q, catalog


def stored_in(s: Session, bap_id: str, transaction_id: str) -> StoredQuote | None:
    """:func:`stored_quote` in the caller's transaction."""
    return _stored(s, bap_id, transaction_id)


def save_quote(store: Store, bap_id: str, transaction_id: str, q: Quote, stage: str, now: datetime,
               details: Mapping[str, Any] | None = None,
               callback: Callback | None = None) -> None:  # fmt: skip
    """Remember the quote sent at ``select`` or ``init`` (and the init details) for confirm; ``callback``
    (the on_select / on_init answer) is put in the outbox in the same transaction.

    ``details=None`` keeps the details stored before (none: empty)."""
    with store.write() as s:
        save_quote_in(s, bap_id, transaction_id, q, stage, now, details, callback)


def save_quote_in(s: Session, bap_id: str, transaction_id: str, q: Quote, stage: str, now: datetime,
                  details: Mapping[str, Any] | None = None,
                  callback: Callback | None = None) -> None:  # fmt: skip
    """:func:`save_quote` in the caller's write transaction (:meth:`Store.write`)."""
    check_now(now)
    if stage not in ("select", "init"):
        raise InvalidInput(f"quote stage must be select or init, got {stage!r}")
    values: dict[str, Any] = {
        "bap_id": bap_id,
        "transaction_id": transaction_id,
        "provider_id": q.provider_id,
        "stage": stage,
        "quote": quote_json(q),
        "details": {} if details is None else dict(details),
        "updated_at": now,
    }
    conn = s.connection()
    _SAVE_QUOTE[(conn.dialect.name, details is not None)].execute(conn, values)
    if callback is not None:
        send_later(s, callback)


def stored_quote(store: Store, bap_id: str, transaction_id: str) -> StoredQuote | None:
    with store.read() as s:
        return _stored(s, bap_id, transaction_id)


def stored_answer(store: Store, bap_id: str, transaction_id: str) -> Confirmed | None:
    """The answer of an earlier successful confirm of this transaction, if there was one."""
    with store.read() as s:
        return _answer(s, bap_id, transaction_id)


def before_confirm(
    store: Store, bap_id: str, transaction_id: str
) -> tuple[Confirmed | None, StoredQuote | None]:
    """:func:`stored_answer` and :func:`stored_quote`, read in one transaction."""
    with store.read() as s:
        return before_confirm_in(s, bap_id, transaction_id)


def before_confirm_in(
    s: Session, bap_id: str, transaction_id: str
) -> tuple[Confirmed | None, StoredQuote | None]:
    """:func:`before_confirm` in the caller's transaction."""
    answer = _answer(s, bap_id, transaction_id)
    return answer, (None if answer is not None else _stored(s, bap_id, transaction_id))


def confirm(store: Store, req: ConfirmRequest, *, order_id: str, now: datetime,
            respond: Callable[[Order], Callback],
            hold: Callable[[Session, Quote], None] | None = None) -> Confirmed:  # fmt: skip
    """Confirm a basket: one order and its on_confirm in the outbox, or an error and nothing stored.

    Raises ``UnknownEntity`` / ``InvalidInput`` / ``InvalidQuantity`` / ``FulfillmentUnavailable`` for a
    bad basket, ``QuoteChanged`` (carrying the fresh quote) for a stale price, and ``InsufficientStock``
    (with the quantity left per item) when the stock is gone. ``hold`` (the supply twin's
    reservation of capacity and components) runs in the same transaction, after the stock rows are
    locked and before the order is made; it may refuse with ``InsufficientStock``."""
    try:
        with store.write() as s:
            return confirm_in(s, req, order_id=order_id, now=now, respond=respond, hold=hold)
    except IntegrityError as exc:
        return replay_after(store, req.bap_id, req.transaction_id, exc)


def replay_after(store: Store, bap_id: str, transaction_id: str, exc: IntegrityError) -> Confirmed:
    """After :func:`confirm_in` met an existing key: the stored answer of the confirm that made it (a
    concurrent duplicate that committed first). ``exc`` again if there is none (another constraint)."""
    again = stored_answer(store, bap_id, transaction_id)
    if again is None:
        raise exc
    return again


def confirm_in(s: Session, req: ConfirmRequest, *, order_id: str, now: datetime,
               respond: Callable[[Order], Callback],
               hold: Callable[[Session, Quote], None] | None = None) -> Confirmed:  # fmt: skip
    """:func:`confirm` in the caller's write transaction (:meth:`Store.write`). A key confirmed before
    raises ``IntegrityError``: roll back, then answer with :func:`replay_after`."""
    check_now(now)
    if not req.bap_id or not req.transaction_id:
        raise InvalidInput("bap_id and transaction_id are required")
    conn = s.connection()
    # A key confirmed before makes this insert fail (IntegrityError); on PostgreSQL a concurrent
    # confirm of the same key waits here until the first one ends.
    _NEW_KEY.execute(conn, {"bap_id": req.bap_id, "transaction_id": req.transaction_id, "created_at": now})
    earlier, details = req.earlier, dict(req.details)
    if earlier is None:
        stored = _stored_quote_row(s, req.bap_id, req.transaction_id)
        if stored is not None and stored.provider_id == req.basket.provider_id:
            earlier = quote_of(stored.quote)
            details = details or dict(stored.details)
    fresh, catalog, book = _fresh(s, req.basket, lock=True)
    if hold is not None:
        hold(s, fresh)
    order, event = create_order(catalog, book, order_id, fresh, now, earlier, req.payment_type,
                                buyer_id=req.buyer_id)  # fmt: skip
    orders.insert(s, order, orders.OrderRef(req.bap_id, req.transaction_id, req.bap_uri), details, now)
    write_back(s, book, event.stock)
    callback = respond(order)
    send_later(s, callback)
    _SET_ANSWER.execute(conn, {"k_bap": req.bap_id, "k_txn": req.transaction_id, "v_order": order.id,
                               "v_response": callback.body})  # fmt: skip
    return Confirmed(order.id, callback.body, False, order)
