"""Orders in the database and every state change after confirm, each in one transaction.

Each change locks the order row (``FOR UPDATE`` on PostgreSQL), then the stock rows it touches in
(item_id, location_id) order, runs the domain (the transition table in ``domain.orders``, the
cancellation rules in ``domain.cancellation``), then writes the order, its history, the ledger entries,
the stock levels and — when a ``notify`` callback builder is given — the unsolicited ``on_status`` /
``on_update`` / ``on_cancel`` to the buyer into the outbox. All or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy import insert as sa_insert
from sqlalchemy.orm import Session

from mercato.db import Prepared
from mercato.protocol.errors import Code
from mercato.seller.domain import Catalog, LedgerEntry, Money, Order, StockBook, UnknownEntity
from mercato.seller.domain.cancellation import Cancellation, Party, cancel_lines, cancel_order
from mercato.seller.domain.orders import Action, OrderState, apply, record_payment

from .callbacks import Notifier, send_later
from .catalog import load_items
from .codec import event_row, order_of, quote_json
from .stock import lock_keys, write_back
from .tables import (
    AllocationRow,
    CancellationRow,
    FulfillmentEventRow,
    OrderLineRow,
    OrderRow,
    RefundRow,
    table_of,
)
from .txn import Store, check_now

T = TypeVar("T")


@dataclass(frozen=True)
class OrderRef:
    """Who the order belongs to on the network (where its callbacks go)."""

    bap_id: str
    transaction_id: str
    bap_uri: str | None = None


# -- rows <-> domain -------------------------------------------------------------------------------


def lock_order(s: Session, order_id: str) -> OrderRow:
    row = s.scalars(select(OrderRow).where(OrderRow.id == order_id).with_for_update()).one_or_none()
    if row is None:
        raise UnknownEntity("order", order_id, Code.ORDER_NOT_FOUND)
    return row


def load(s: Session, row: OrderRow) -> Order:
    lines = list(s.scalars(select(OrderLineRow).where(OrderLineRow.order_id == row.id)))
    allocs = list(s.scalars(select(AllocationRow).where(AllocationRow.order_id == row.id)))
    events = list(s.scalars(select(FulfillmentEventRow).where(FulfillmentEventRow.order_id == row.id)))
    return order_of(row, lines, allocs, events)


_NEW_ORDER = Prepared(sa_insert(table_of(OrderRow)))
_NEW_LINES = Prepared(sa_insert(table_of(OrderLineRow)))
_NEW_ALLOCS = Prepared(sa_insert(table_of(AllocationRow)))


def insert(s: Session, order: Order, ref: OrderRef, details: Mapping[str, Any], now: datetime) -> None:
    """A new order with its lines and allocations (plain INSERTs: no unit of work on the checkout path)."""
    values = dict(
        id=order.id, bap_id=ref.bap_id, bap_uri=ref.bap_uri, transaction_id=ref.transaction_id,
        provider_id=order.provider_id, buyer_id=order.buyer_id, fulfillment_id=order.fulfillment_id,
        fulfillment_type=order.fulfillment_type.value, payment_type=order.payment_type.value,
        state=order.state.value, fulfillment_state=order.fulfillment_state.value, currency=order.currency,
        total=order.quote.total.amount, paid=order.paid.amount, refunded=order.refunded.amount,
        quote=quote_json(order.quote), original_quote=quote_json(order.original_quote), details=dict(details),
        created_at=order.created_at, updated_at=now, delivered_at=order.delivered_at, version=1,
    )  # fmt: skip
    s.flush()  # anything pending goes first, as the ORM would order it
    conn = s.connection()
    _NEW_ORDER.execute(conn, values)  # the order row first: lines refer to it
    _NEW_LINES.executemany(conn, _line_values(order))
    _NEW_ALLOCS.executemany(conn, _alloc_values(order))


def _line_values(order: Order) -> list[dict[str, Any]]:
    return [{"order_id": order.id, "item_id": ln.item_id, "position": pos, "quantity": ln.quantity,
             "cancelled": ln.cancelled} for pos, ln in enumerate(order.lines)]  # fmt: skip


def _alloc_values(order: Order) -> list[dict[str, Any]]:
    return [{"order_id": order.id, "item_id": ln.item_id, "location_id": a.location_id,
             "quantity": a.quantity} for ln in order.lines for a in ln.allocations]  # fmt: skip


def _write_lines(s: Session, order: Order) -> None:
    s.execute(delete(AllocationRow).where(AllocationRow.order_id == order.id))
    s.execute(delete(OrderLineRow).where(OrderLineRow.order_id == order.id))
    s.execute(sa_insert(OrderLineRow), _line_values(order))
    allocs = _alloc_values(order)
    if allocs:
        s.execute(sa_insert(AllocationRow), allocs)


def save(s: Session, row: OrderRow, order: Order, now: datetime, history_from: int) -> None:
    """Store the order's new state, its lines and allocations, and history entries from ``history_from``."""
    row.state, row.fulfillment_state = order.state.value, order.fulfillment_state.value
    row.total, row.paid, row.refunded = order.quote.total.amount, order.paid.amount, order.refunded.amount
    row.quote = quote_json(order.quote)
    row.delivered_at = order.delivered_at
    row.updated_at = now
    row.version = row.version + 1
    for change in order.history[history_from:]:
        s.add(event_row(order.id, change))
    _write_lines(s, order)


def _stock_keys(order: Order) -> set[tuple[str, str]]:
    return {(ln.item_id, a.location_id) for ln in order.lines for a in ln.allocations}


def change(
    store: Store,
    order_id: str,
    now: datetime,
    fn: Callable[[Session, Order, StockBook, Catalog], tuple[T, tuple[LedgerEntry, ...]]],
    notify: Notifier | None = None,
    extra_keys: set[tuple[str, str]] | None = None,
) -> tuple[Order, T]:
    """The one way to change an order: lock, load, run ``fn`` (the domain), write it all back."""
    check_now(now)
    with store.write() as s:
        row = lock_order(s, order_id)
        order = load(s, row)
        book = lock_keys(s, _stock_keys(order) | (extra_keys or set()))
        catalog = load_items(s, [ln.item_id for ln in order.lines])
        n_history = len(order.history)
        result, entries = fn(s, order, book, catalog)
        write_back(s, book, entries)
        save(s, row, order, now, n_history)
        if notify is not None:
            cb = notify(order)
            if cb is not None:
                send_later(s, cb)
        return order, result


# -- actions ---------------------------------------------------------------------------------------


def act(store: Store, order_id: str, action: Action | str, now: datetime, *, by: str = "seller",
        note: str = "", notify: Notifier | None = None) -> Order:  # fmt: skip
    """Move an order through the transition table (accept, pack, pick-up, deliver, ...).

    Raises ``IllegalTransition`` (listing the allowed actions) for anything the table does not allow.
    ``cancel`` must go through :func:`cancel` (it needs a reason code)."""
    try:
        a = Action(action)
    except ValueError:
        raise UnknownEntity("order action", str(action)) from None
    if a is Action.CANCEL:
        raise UnknownEntity("order action (use cancel with a reason code)", a.value)

    def fn(s: Session, order: Order, book: StockBook, cat: Catalog) -> tuple[None, tuple[LedgerEntry, ...]]:
        return None, apply(order, a, book, now, by=by, note=note).stock

    order, _ = change(store, order_id, now, fn, notify)
    return order


def cancel(
    store: Store,
    order_id: str,
    code: str,
    by: Party,
    now: datetime,
    *,
    quantities: Mapping[str, int] | None = None,
    notify: Notifier | None = None,
) -> Cancellation:
    """Cancel the order (or ``quantities`` of some lines) with an ONDC reason code; refunds are recorded."""

    def fn(
        s: Session, order: Order, book: StockBook, cat: Catalog
    ) -> tuple[Cancellation, tuple[LedgerEntry, ...]]:
        if quantities:
            c = cancel_lines(order, cat, book, quantities, code, by, now)
        else:
            c = cancel_order(order, cat, book, code, by, now)
        row = CancellationRow(order_id=order.id, at=now, code=c.reason.code, by=by.value, full=c.full,
                              quantities=dict(c.quantities), refund=c.refund.amount,
                              cost_to=sorted(p.value for p in c.cost_to))  # fmt: skip
        s.add(row)
        s.flush()
        if c.refund.amount:
            s.add(RefundRow(order_id=order.id, at=now, amount=c.refund.amount,
                            reason=f"cancellation {c.reason.code}",
                            ref=f"cancellation-{row.id}"))  # fmt: skip
        return c, c.event.stock

    _, result = change(store, order_id, now, fn, notify)
    return result


def pay(store: Store, order_id: str, amount: int, now: datetime, notify: Notifier | None = None) -> Order:
    """Record money collected outside confirm/delivery (e.g. a credit order paid later)."""

    def fn(s: Session, order: Order, book: StockBook, cat: Catalog) -> tuple[None, tuple[LedgerEntry, ...]]:
        record_payment(order, Money(amount, order.currency))
        return None, ()

    order, _ = change(store, order_id, now, fn, notify)
    return order


def update_details(store: Store, order_id: str, changes: Mapping[str, Any], now: datetime,
                   notify: Notifier | None = None) -> Order:  # fmt: skip
    """Merge ``changes`` into the order's details (delivery address, contact, billing) in one transaction."""
    check_now(now)
    with store.write() as s:
        row = lock_order(s, order_id)
        row.details = {**dict(row.details), **dict(changes)}
        row.updated_at = now
        order = load(s, row)
        if notify is not None:
            cb = notify(order)
            if cb is not None:
                send_later(s, cb)
        return order


# -- reading -------------------------------------------------------------------------------------


def get(store: Store, order_id: str) -> Order:
    with store.read() as s:
        row = s.get(OrderRow, order_id)
        if row is None:
            raise UnknownEntity("order", order_id, Code.ORDER_NOT_FOUND)
        return load(s, row)


def ref_of(store: Store, order_id: str) -> OrderRef:
    with store.read() as s:
        row = s.get(OrderRow, order_id)
        if row is None:
            raise UnknownEntity("order", order_id, Code.ORDER_NOT_FOUND)
        return OrderRef(row.bap_id, row.transaction_id, row.bap_uri)


def find(store: Store, bap_id: str, transaction_id: str) -> str | None:
    """The id of the order a buyer app's transaction made, if any."""
    with store.read() as s:
        q = select(OrderRow.id).where(OrderRow.bap_id == bap_id, OrderRow.transaction_id == transaction_id)
        return s.scalars(q.limit(1)).first()


def details_of(store: Store, order_id: str) -> dict[str, Any]:
    with store.read() as s:
        row = s.get(OrderRow, order_id)
        if row is None:
            raise UnknownEntity("order", order_id, Code.ORDER_NOT_FOUND)
        return dict(row.details)


def list_ids(store: Store, *, state: OrderState | None = None, provider_id: str | None = None,
             limit: int = 100, offset: int = 0) -> list[str]:  # fmt: skip
    """Order ids, newest first."""
    with store.read() as s:
        q = select(OrderRow.id).order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
        if state is not None:
            q = q.where(OrderRow.state == state.value)
        if provider_id is not None:
            q = q.where(OrderRow.provider_id == provider_id)
        return list(s.scalars(q.limit(limit).offset(offset)))


def count(store: Store) -> int:
    with store.read() as s:
        return int(s.scalar(select(func.count()).select_from(OrderRow)) or 0)


def open_reservations(store: Store) -> dict[tuple[str, str], int]:
    """(item, location) -> units held by open orders (confirmed, not shipped, not cancelled).

    This is what ``reserved`` must equal for every stock row; tests and ``mercato`` checks use it."""
    shipped_or_cancelled = {"Order-picked-up", "Out-for-delivery", "Order-delivered", "RTO-Initiated",
                            "RTO-Delivered", "RTO-Disposed"}  # fmt: skip
    with store.read() as s:
        q = (
            select(AllocationRow.item_id, AllocationRow.location_id, func.sum(AllocationRow.quantity))
            .join(OrderRow, OrderRow.id == AllocationRow.order_id)
            .where(OrderRow.state != OrderState.CANCELLED.value)
            .where(OrderRow.fulfillment_state.not_in(shipped_or_cancelled))
            .group_by(AllocationRow.item_id, AllocationRow.location_id)
        )
        return {(i, loc): int(n) for i, loc, n in s.execute(q) if n}
