"""Orders and their one transition table.

An order's status is the pair (order state, fulfillment state), both as in ONDC retail 1.2. Every
change goes through :data:`TRANSITIONS`: from a status, an action leads to exactly one new status,
and some actions apply to only one fulfillment type. The order state is therefore always consistent
with the fulfillment state: only the pairs in the table (and the start pair) can ever exist.

Stock follows the status: units are reserved when the order is created, committed (they leave the
location) when the order is picked up or handed over, released when it is cancelled before that, and
put back when a cancelled shipment returns to origin (RTO-Delivered).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .catalog import Catalog, FulfillmentType
from .errors import IllegalTransition, InvalidInput, NegativeStock
from .money import Money
from .quotes import Quote, require_available, require_unchanged
from .stock import Allocation, LedgerEntry, StockBook


class OrderState(StrEnum):
    CREATED = "Created"
    ACCEPTED = "Accepted"
    IN_PROGRESS = "In-progress"
    COMPLETED = "Completed"
    CANCELLED = "Cancelled"


class FulfillmentState(StrEnum):
    PENDING = "Pending"
    PACKED = "Packed"
    AGENT_ASSIGNED = "Agent-assigned"
    PICKED_UP = "Order-picked-up"
    OUT_FOR_DELIVERY = "Out-for-delivery"
    DELIVERED = "Order-delivered"
    CANCELLED = "Cancelled"
    RTO_INITIATED = "RTO-Initiated"
    RTO_DELIVERED = "RTO-Delivered"
    RTO_DISPOSED = "RTO-Disposed"


class Action(StrEnum):
    ACCEPT = "accept"
    PACK = "pack"
    ASSIGN_AGENT = "assign-agent"
    PICK_UP = "pick-up"  # the courier (or the seller's own rider) takes the parcel
    OUT_FOR_DELIVERY = "out-for-delivery"
    DELIVER = "deliver"
    COLLECT = "collect"  # self-pickup: the buyer collects the packed order at the store
    CANCEL = "cancel"
    RTO_DELIVER = "rto-deliver"  # the returned shipment is back at the seller
    RTO_DISPOSE = "rto-dispose"  # the returned shipment is written off


class StockEffect(StrEnum):
    NONE = "none"
    RELEASE = "release"  # reserved units become available again
    COMMIT = "commit"  # reserved units leave on hand
    RESTOCK = "restock"  # shipped units come back on hand


Status = tuple[OrderState, FulfillmentState]
OS, FS = OrderState, FulfillmentState
START: Status = (OS.CREATED, FS.PENDING)


@dataclass(frozen=True)
class Transition:
    to: Status
    stock: StockEffect = StockEffect.NONE
    only_for: FulfillmentType | None = None


_DLV, _PCK = FulfillmentType.DELIVERY, FulfillmentType.PICKUP
_CANCEL_BEFORE_SHIPPING = Transition((OS.CANCELLED, FS.CANCELLED), StockEffect.RELEASE)
_CANCEL_IN_TRANSIT = Transition((OS.CANCELLED, FS.RTO_INITIATED))

# THE transition table: status -> action -> transition. Nothing changes an order's status otherwise.
TRANSITIONS: Mapping[Status, Mapping[Action, Transition]] = {
    (OS.CREATED, FS.PENDING): {
        Action.ACCEPT: Transition((OS.ACCEPTED, FS.PENDING)),
        Action.CANCEL: _CANCEL_BEFORE_SHIPPING,
    },
    (OS.ACCEPTED, FS.PENDING): {
        Action.PACK: Transition((OS.IN_PROGRESS, FS.PACKED)),
        Action.CANCEL: _CANCEL_BEFORE_SHIPPING,
    },
    (OS.IN_PROGRESS, FS.PACKED): {
        Action.ASSIGN_AGENT: Transition((OS.IN_PROGRESS, FS.AGENT_ASSIGNED), only_for=_DLV),
        Action.PICK_UP: Transition((OS.IN_PROGRESS, FS.PICKED_UP), StockEffect.COMMIT, _DLV),
        Action.COLLECT: Transition((OS.COMPLETED, FS.DELIVERED), StockEffect.COMMIT, _PCK),
        Action.CANCEL: _CANCEL_BEFORE_SHIPPING,
    },
    (OS.IN_PROGRESS, FS.AGENT_ASSIGNED): {
        Action.PICK_UP: Transition((OS.IN_PROGRESS, FS.PICKED_UP), StockEffect.COMMIT, _DLV),
        Action.CANCEL: _CANCEL_BEFORE_SHIPPING,
    },
    (OS.IN_PROGRESS, FS.PICKED_UP): {
        Action.OUT_FOR_DELIVERY: Transition((OS.IN_PROGRESS, FS.OUT_FOR_DELIVERY)),
        Action.DELIVER: Transition((OS.COMPLETED, FS.DELIVERED)),
        Action.CANCEL: _CANCEL_IN_TRANSIT,
    },
    (OS.IN_PROGRESS, FS.OUT_FOR_DELIVERY): {
        Action.DELIVER: Transition((OS.COMPLETED, FS.DELIVERED)),
        Action.CANCEL: _CANCEL_IN_TRANSIT,
    },
    (OS.CANCELLED, FS.RTO_INITIATED): {
        Action.RTO_DELIVER: Transition((OS.CANCELLED, FS.RTO_DELIVERED), StockEffect.RESTOCK),
        Action.RTO_DISPOSE: Transition((OS.CANCELLED, FS.RTO_DISPOSED)),
    },
    (OS.COMPLETED, FS.DELIVERED): {},
    (OS.CANCELLED, FS.CANCELLED): {},
    (OS.CANCELLED, FS.RTO_DELIVERED): {},
    (OS.CANCELLED, FS.RTO_DISPOSED): {},
}

SHIPPED: frozenset[FulfillmentState] = frozenset(
    {FS.PICKED_UP, FS.OUT_FOR_DELIVERY, FS.DELIVERED, FS.RTO_INITIATED, FS.RTO_DELIVERED, FS.RTO_DISPOSED}
)


def allowed_actions(status: Status, fulfillment: FulfillmentType) -> list[Action]:
    return sorted(
        a for a, t in TRANSITIONS[status].items() if t.only_for is None or t.only_for is fulfillment
    )


class PaymentType(StrEnum):
    ON_ORDER = "ON-ORDER"  # prepaid: collected at confirm
    ON_FULFILLMENT = "ON-FULFILLMENT"  # cash/pay on delivery: collected at delivery
    POST_FULFILLMENT = "POST-FULFILLMENT"  # credit: collected after delivery (recorded with record_payment)


@dataclass
class OrderLine:
    item_id: str
    quantity: int  # units still ordered (after partial cancellations)
    allocations: tuple[Allocation, ...]  # where those units are reserved / were shipped from
    cancelled: int = 0


@dataclass(frozen=True)
class StateChange:
    at: datetime
    action: Action
    before: Status
    after: Status
    by: str
    note: str = ""


@dataclass(frozen=True)
class OrderEvent:
    """What one action did: the state change (if any) and the stock ledger entries it wrote."""

    order_id: str
    change: StateChange | None
    stock: tuple[LedgerEntry, ...] = ()


@dataclass
class Order:
    id: str
    provider_id: str
    fulfillment_id: str
    fulfillment_type: FulfillmentType
    payment_type: PaymentType
    quote: Quote  # the current quote (re-priced after partial cancellations)
    original_quote: Quote
    lines: list[OrderLine]
    created_at: datetime
    paid: Money
    refunded: Money
    state: OrderState = OrderState.CREATED
    fulfillment_state: FulfillmentState = FulfillmentState.PENDING
    delivered_at: datetime | None = None
    buyer_id: str | None = None
    history: list[StateChange] = field(default_factory=list)

    @property
    def status(self) -> Status:
        return (self.state, self.fulfillment_state)

    @property
    def currency(self) -> str:
        return self.quote.currency

    @property
    def shipped(self) -> bool:
        return self.fulfillment_state in SHIPPED

    @property
    def holds_reservation(self) -> bool:
        """True while the order's units are reserved: confirmed, not shipped, not cancelled."""
        return not self.shipped and self.state is not OrderState.CANCELLED

    def line(self, item_id: str) -> OrderLine:
        for ln in self.lines:
            if ln.item_id == item_id:
                return ln
        raise InvalidInput(f"item {item_id!r} is not in order {self.id}")

    def allowed_actions(self) -> list[Action]:
        return allowed_actions(self.status, self.fulfillment_type)

    def reserved_quantities(self) -> dict[tuple[str, str], int]:
        """(item, location) -> units this order holds reserved right now."""
        out: dict[tuple[str, str], int] = {}
        if self.holds_reservation:
            for ln in self.lines:
                for a in ln.allocations:
                    out[(ln.item_id, a.location_id)] = out.get((ln.item_id, a.location_id), 0) + a.quantity
        return out


def _check_now(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInput("times must be timezone-aware (UTC)")


def create_order(
    catalog: Catalog,
    stock: StockBook,
    order_id: str,
    fresh: Quote,
    now: datetime,
    earlier: Quote | None = None,
    payment_type: PaymentType = PaymentType.ON_ORDER,
    fulfillment_id: str | None = None,
    buyer_id: str | None = None,
) -> tuple[Order, OrderEvent]:
    """Confirm: check the buyer's quote against a fresh one, reserve every line, make the order.

    All or nothing: a changed price raises ``QuoteChanged`` (with the fresh quote), missing stock raises
    ``InsufficientStock`` (with the quantity left), and in both cases no stock has moved."""
    _check_now(now)
    if not order_id:
        raise InvalidInput("order id must not be empty")
    if earlier is not None:
        require_unchanged(earlier, fresh)
    require_available(fresh)
    allowed = set(fresh.location_ids)
    wanted = [
        (ln.item_id, ln.quantity, [loc.id for loc in catalog.locations_for(ln.item_id) if loc.id in allowed])
        for ln in fresh.lines
    ]
    plan, entries = stock.reserve_lines(wanted, now, ref=order_id)
    zero = Money.zero(fresh.currency)
    order = Order(
        id=order_id,
        provider_id=fresh.provider_id,
        fulfillment_id=fulfillment_id or f"{order_id}-F1",
        fulfillment_type=fresh.fulfillment_type,
        payment_type=payment_type,
        quote=fresh,
        original_quote=fresh,
        lines=[OrderLine(ln.item_id, ln.quantity, plan[ln.item_id]) for ln in fresh.lines],
        created_at=now,
        paid=fresh.total if payment_type is PaymentType.ON_ORDER else zero,
        refunded=zero,
        buyer_id=buyer_id,
    )
    return order, OrderEvent(order.id, None, tuple(entries))


def apply(order: Order, action: Action, stock: StockBook, now: datetime, by: str = "seller",
          note: str = "") -> OrderEvent:  # fmt: skip
    """Move ``order`` by ``action`` through :data:`TRANSITIONS`, with its stock effect.

    Raises :class:`IllegalTransition` listing the allowed actions when the table has no such move."""
    _check_now(now)
    t = TRANSITIONS[order.status].get(action)
    if t is None or (t.only_for is not None and t.only_for is not order.fulfillment_type):
        raise IllegalTransition("order " + order.id, f"{order.state}/{order.fulfillment_state}", action,
                                order.allowed_actions())  # fmt: skip
    entries = _stock_effect(order, t.stock, stock, now, action)
    change = StateChange(now, action, order.status, t.to, by, note)
    order.state, order.fulfillment_state = t.to
    order.history.append(change)
    if t.to[1] is FulfillmentState.DELIVERED:
        order.delivered_at = now
        if order.payment_type is PaymentType.ON_FULFILLMENT:
            order.paid = order.quote.total
    return OrderEvent(order.id, change, entries)


def _stock_effect(order: Order, effect: StockEffect, stock: StockBook, now: datetime,
                  action: Action) -> tuple[LedgerEntry, ...]:  # fmt: skip
    moves = [(ln.item_id, a.location_id, a.quantity) for ln in order.lines for a in ln.allocations]
    if effect is StockEffect.NONE or not moves:
        return ()
    op = {
        StockEffect.RELEASE: stock.release,
        StockEffect.COMMIT: stock.commit,
        StockEffect.RESTOCK: stock.return_,
    }
    fn = op[effect]
    # Check first so that a refused move leaves nothing half done.
    for item_id, loc, qty in moves:
        lvl = stock.level(item_id, loc)
        if effect is not StockEffect.RESTOCK and lvl.reserved < qty:
            raise InvalidInput(f"order {order.id}: {qty} of {item_id} not reserved at {loc}")
        if effect is StockEffect.COMMIT and lvl.on_hand < qty:
            raise NegativeStock(
                f"order {order.id}: only {lvl.on_hand} of {item_id} on hand at {loc}; receive stock first"
            )
    return tuple(fn(item_id, loc, qty, now, order.id, f"order {action}") for item_id, loc, qty in moves)


def record_payment(order: Order, amount: Money) -> None:
    """Record money collected outside confirm/delivery; never more than the current total."""
    if amount.amount <= 0:
        raise InvalidInput("a payment must be positive")
    if order.paid + amount > order.quote.total:
        raise InvalidInput(f"payment would exceed the order total {order.quote.total}")
    order.paid = order.paid + amount


def reserved_by_orders(orders: Sequence[Order]) -> dict[tuple[str, str], int]:
    """(item, location) -> units held by all open orders: what ``reserved`` must equal."""
    out: dict[tuple[str, str], int] = {}
    for o in orders:
        for k, v in o.reserved_quantities().items():
            out[k] = out.get(k, 0) + v
    return out
