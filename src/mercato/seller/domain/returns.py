"""Returns and refunds.

A delivered item marked returnable may be returned within its return window, counted from delivery.
A return goes Requested → Approved | Rejected; Approved → Picked (a courier collects it) or straight to
Received (the buyer drops it at a store); Picked → Received; Received → Refunded. Receiving puts the
units back on hand (unless the merchant writes them off). The refund is the returned units' share of
what the line cost in the order's current quote (amount − discount + tax, rounded down), never the
delivery charge, and never more than what was paid and not yet refunded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .catalog import Catalog
from .errors import CurrencyMismatch, IllegalTransition, InvalidInput, RefundTooLarge, ReturnRefused
from .money import Money
from .orders import FulfillmentState, Order
from .stock import LedgerEntry, StockBook


class ReturnState(StrEnum):
    REQUESTED = "Requested"
    APPROVED = "Approved"
    REJECTED = "Rejected"
    PICKED = "Picked"
    RECEIVED = "Received"
    REFUNDED = "Refunded"


RETURN_TRANSITIONS: Mapping[ReturnState, frozenset[ReturnState]] = {
    ReturnState.REQUESTED: frozenset({ReturnState.APPROVED, ReturnState.REJECTED}),
    ReturnState.APPROVED: frozenset({ReturnState.PICKED, ReturnState.RECEIVED}),
    ReturnState.PICKED: frozenset({ReturnState.RECEIVED}),
    ReturnState.RECEIVED: frozenset({ReturnState.REFUNDED}),
    ReturnState.REJECTED: frozenset(),
    ReturnState.REFUNDED: frozenset(),
}


@dataclass
class ReturnRequest:
    id: str
    order_id: str
    item_id: str
    quantity: int
    reason: str
    requested_at: datetime
    refund: Money  # computed at request time from the order's quote
    state: ReturnState = ReturnState.REQUESTED
    location_id: str | None = None  # where the units came back
    restocked: bool = False
    history: list[tuple[datetime, ReturnState, ReturnState]] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.state is not ReturnState.REJECTED


def _move(ret: ReturnRequest, to: ReturnState, now: datetime) -> None:
    allowed = RETURN_TRANSITIONS[ret.state]
    if to not in allowed:
        raise IllegalTransition(f"return {ret.id}", ret.state, to, [s.value for s in allowed])
    ret.history.append((now, ret.state, to))
    ret.state = to


def returnable_quantity(order: Order, item_id: str, returns: Sequence[ReturnRequest]) -> int:
    already = sum(r.quantity for r in returns if r.order_id == order.id and r.item_id == item_id and r.open)
    return order.line(item_id).quantity - already


def refund_for(order: Order, item_id: str, quantity: int) -> Money:
    """The returned units' share of the line's total (net of discount, with tax), rounded down."""
    ln = order.quote.line(item_id)
    if not 1 <= quantity <= ln.quantity:
        raise InvalidInput(f"quantity {quantity} of {item_id!r} must be between 1 and {ln.quantity}")
    return Money(ln.total.amount * quantity // ln.quantity, order.currency)


def request_return(order: Order, catalog: Catalog, return_id: str, item_id: str, quantity: int, reason: str,
                   now: datetime, existing: Sequence[ReturnRequest] = ()) -> ReturnRequest:  # fmt: skip
    """Open a return, or raise :class:`ReturnRefused` saying why not."""
    if order.fulfillment_state is not FulfillmentState.DELIVERED or order.delivered_at is None:
        raise ReturnRefused(
            f"order {order.id} is {order.fulfillment_state}: only delivered items can be returned"
        )
    ln = order.line(item_id)
    item = catalog.item(item_id)
    if not item.returnable:
        raise ReturnRefused(f"item {item_id!r} is not returnable")
    deadline = order.delivered_at + item.return_window
    if now > deadline:
        raise ReturnRefused(f"the return window of {item_id!r} closed at {deadline.isoformat()}")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidInput(f"return quantity must be a positive integer, got {quantity!r}")
    left = returnable_quantity(order, item_id, existing)
    if quantity > left:
        raise ReturnRefused(f"only {left} of {ln.quantity} units of {item_id!r} can still be returned")
    if not reason.strip():
        raise InvalidInput("a return needs a reason")
    return ReturnRequest(
        return_id, order.id, item_id, quantity, reason, now, refund_for(order, item_id, quantity)
    )


def approve(ret: ReturnRequest, now: datetime) -> None:
    _move(ret, ReturnState.APPROVED, now)


def reject(ret: ReturnRequest, now: datetime) -> None:
    _move(ret, ReturnState.REJECTED, now)


def mark_picked(ret: ReturnRequest, now: datetime) -> None:
    _move(ret, ReturnState.PICKED, now)


def receive(ret: ReturnRequest, order: Order, stock: StockBook, now: datetime, restock: bool = True,
            location_id: str | None = None) -> tuple[LedgerEntry, ...]:  # fmt: skip
    """The units are back. By default they go back on hand where the line shipped from (first location)."""
    if ret.order_id != order.id:
        raise InvalidInput(f"return {ret.id} is not for order {order.id}")
    loc = location_id or order.line(ret.item_id).allocations[0].location_id
    _move(ret, ReturnState.RECEIVED, now)
    ret.location_id = loc
    if not restock:
        return ()
    ret.restocked = True
    return (stock.return_(ret.item_id, loc, ret.quantity, now, ret.id, "return received"),)


def issue_refund(order: Order, amount: Money) -> Money:
    """Refund ``amount`` on the order; refused above what was paid and not yet refunded."""
    if amount.currency != order.currency:
        raise CurrencyMismatch(order.currency, amount.currency)
    if amount.amount <= 0:
        raise InvalidInput("a refund must be positive")
    left = order.paid - order.refunded
    if amount > left:
        raise RefundTooLarge(f"refund {amount} is more than the {left} paid and not yet refunded")
    order.refunded = order.refunded + amount
    return amount


def refund(ret: ReturnRequest, order: Order, now: datetime) -> Money:
    """Pay back a received return (its precomputed amount) and close it."""
    if ret.order_id != order.id:
        raise InvalidInput(f"return {ret.id} is not for order {order.id}")
    if ret.state is not ReturnState.RECEIVED:
        raise IllegalTransition(f"return {ret.id}", ret.state, ReturnState.REFUNDED,
                                [s.value for s in RETURN_TRANSITIONS[ret.state]])  # fmt: skip
    if ret.refund.amount:
        issue_refund(order, ret.refund)
    _move(ret, ReturnState.REFUNDED, now)
    return ret.refund
