"""After delivery: returns, refunds and ratings, each in one transaction with the order locked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.protocol.errors import Code
from mercato.seller.domain import Catalog, InvalidInput, LedgerEntry, Money, Order, StockBook, UnknownEntity
from mercato.seller.domain import returns as dr
from mercato.seller.domain.ratings import Rating, rate

from . import orders
from .callbacks import Notifier
from .tables import OrderRow, RatingRow, RefundRow, ReturnRow
from .txn import Store, check_now

NO_STOCK: tuple[LedgerEntry, ...] = ()


def _return_of(row: ReturnRow, currency: str) -> dr.ReturnRequest:
    ret = dr.ReturnRequest(row.id, row.order_id, row.item_id, row.quantity, row.reason, row.requested_at,
                           Money(row.refund, currency), dr.ReturnState(row.state), row.location_id,
                           row.restocked)  # fmt: skip
    ret.history = [
        (datetime.fromisoformat(t), dr.ReturnState(a), dr.ReturnState(b)) for t, a, b in row.history
    ]
    return ret


def _save_return(row: ReturnRow, ret: dr.ReturnRequest) -> None:
    row.state, row.location_id, row.restocked = ret.state.value, ret.location_id, ret.restocked
    row.history = [[t.isoformat(), a.value, b.value] for t, a, b in ret.history]


def _returns_of(s: Session, order: Order) -> list[dr.ReturnRequest]:
    rows = s.scalars(select(ReturnRow).where(ReturnRow.order_id == order.id).order_by(ReturnRow.id))
    return [_return_of(r, order.currency) for r in rows]


def request_return(store: Store, order_id: str, return_id: str, item_id: str, quantity: int, reason: str,
                   now: datetime, notify: Notifier | None = None) -> dr.ReturnRequest:  # fmt: skip
    """Open a return for delivered, returnable units within the window (``ReturnRefused`` says why not)."""

    def fn(s: Session, order: Order, book: StockBook, cat: Catalog) -> tuple[dr.ReturnRequest, tuple[()]]:
        if s.get(ReturnRow, return_id) is not None:
            raise InvalidInput(f"return id {return_id!r} is already used")
        ret = dr.request_return(order, cat, return_id, item_id, quantity, reason, now, _returns_of(s, order))
        row = ReturnRow(id=ret.id, order_id=order.id, item_id=ret.item_id, quantity=ret.quantity,
                        reason=ret.reason, requested_at=now, refund=ret.refund.amount)  # fmt: skip
        _save_return(row, ret)
        s.add(row)
        return ret, ()

    return orders.change(store, order_id, now, fn, notify)[1]


_MOVES = {"approve": dr.approve, "reject": dr.reject, "pick": dr.mark_picked}


def move_return(
    store: Store,
    return_id: str,
    step: str,
    now: datetime,
    *,
    restock: bool = True,
    location_id: str | None = None,
    notify: Notifier | None = None,
) -> dr.ReturnRequest:
    """Move a return: ``approve``, ``reject``, ``pick``, ``receive`` (units back on hand unless
    ``restock=False``) or ``refund`` (pays the return's amount back)."""
    check_now(now)
    if step not in (*_MOVES, "receive", "refund"):
        raise UnknownEntity("return step", step)
    order_id = _order_of_return(store, return_id)
    extra: set[tuple[str, str]] = set()

    def fn(
        s: Session, order: Order, book: StockBook, cat: Catalog
    ) -> tuple[dr.ReturnRequest, tuple[LedgerEntry, ...]]:  # noqa: E501
        row = s.scalars(select(ReturnRow).where(ReturnRow.id == return_id).with_for_update()).one()
        ret = _return_of(row, order.currency)
        entries: tuple[LedgerEntry, ...] = ()
        if step in _MOVES:
            _MOVES[step](ret, now)
        elif step == "receive":
            entries = dr.receive(ret, order, book, now, restock, location_id)
        else:
            amount = dr.refund(ret, order, now)
            if amount.amount:
                s.add(RefundRow(order_id=order.id, at=now, amount=amount.amount, reason="return", ref=ret.id))
        _save_return(row, ret)
        return ret, entries

    if step == "receive":
        with store.read() as s:
            row = s.get(ReturnRow, return_id)
            assert row is not None
            order = orders.load(s, s.get_one(OrderRow, order_id))
            loc = location_id or order.line(row.item_id).allocations[0].location_id
            extra.add((row.item_id, loc))
    return orders.change(store, order_id, now, fn, notify, extra_keys=extra)[1]


def _order_of_return(store: Store, return_id: str) -> str:
    with store.read() as s:
        row = s.get(ReturnRow, return_id)
        if row is None:
            raise UnknownEntity("return", return_id)
        return row.order_id


def get_return(store: Store, return_id: str) -> dr.ReturnRequest:
    with store.read() as s:
        row = s.get(ReturnRow, return_id)
        if row is None:
            raise UnknownEntity("return", return_id)
        currency = s.get_one(OrderRow, row.order_id).currency
        return _return_of(row, currency)


def refund(store: Store, order_id: str, amount: int, reason: str, now: datetime,
           notify: Notifier | None = None) -> Order:  # fmt: skip
    """A goodwill / manual refund; refused above what was paid and not yet refunded."""
    if not reason.strip():
        raise InvalidInput("a refund needs a reason")

    def fn(s: Session, order: Order, book: StockBook, cat: Catalog) -> tuple[None, tuple[()]]:
        dr.issue_refund(order, Money(amount, order.currency))
        s.add(RefundRow(order_id=order.id, at=now, amount=amount, reason=reason, ref=None))
        return None, ()

    return orders.change(store, order_id, now, fn, notify)[0]


def refunds(store: Store, order_id: str) -> list[tuple[datetime, int, str, str | None]]:
    with store.read() as s:
        rows = s.scalars(select(RefundRow).where(RefundRow.order_id == order_id).order_by(RefundRow.id))
        return [(r.at, r.amount, r.reason, r.ref) for r in rows]


def add_rating(store: Store, order_id: str, category: str, entity_id: str, value: object, now: datetime,
               feedback: str = "") -> Rating:  # fmt: skip
    """Rate an order, an item in it, its provider or its fulfillment (1–5). Rating again replaces."""
    check_now(now)
    with store.write() as s:
        row = s.get(OrderRow, order_id)
        found = {} if row is None else {order_id: orders.load(s, row)}
        if row is None:
            raise UnknownEntity("order", order_id, Code.ORDER_NOT_FOUND)
        r = rate(found, order_id, category, entity_id, value, now, feedback)
        existing = s.get(RatingRow, (order_id, r.category.value, entity_id))
        target = existing or RatingRow(order_id=order_id, category=r.category.value, entity_id=entity_id)
        target.value, target.feedback, target.at = r.value, r.feedback, now
        s.add(target)
        return r


def ratings(store: Store, order_id: str) -> list[tuple[str, str, int, str]]:
    with store.read() as s:
        rows = s.scalars(select(RatingRow).where(RatingRow.order_id == order_id))
        return sorted((r.category, r.entity_id, r.value, r.feedback) for r in rows)
