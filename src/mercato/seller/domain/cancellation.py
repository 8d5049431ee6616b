"""Cancellation: ONDC retail 1.2 reason codes as data, full and partial cancellation, and who pays.

Each code says which network party may use it, whether it applies before shipping, in transit, or
both, whether it triggers a return to origin (RTO), whether it may cancel part of an order, and who
bears the cost. Our money rule for "who pays": when the cost is attributed to the buyer's side (BNP),
the delivery charge and its tax are kept by the seller; otherwise the buyer is refunded everything
paid for the cancelled part. Codes 996–999 are internal (confirmation failures) and are refused here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .catalog import Catalog
from .errors import CancellationRefused, InvalidCancellationReason, InvalidInput
from .money import Money
from .orders import Action, Order, OrderEvent, OrderState, apply
from .quotes import reprice
from .stock import Allocation, LedgerEntry, StockBook


class Party(StrEnum):
    BUYER_APP = "BNP"  # buyer network participant (the buyer's app, on the buyer's behalf)
    SELLER = "SNP"  # seller network participant (this node)
    LOGISTICS = "LSP"  # logistics service provider
    LOGISTICS_BUYER = "LBNP"  # logistics buyer network participant


class Phase(StrEnum):
    BEFORE_SHIPPING = "before-shipping"
    IN_TRANSIT = "in-transit"
    ANY = "any"  # before shipping or in transit; never after delivery


@dataclass(frozen=True)
class CancellationReason:
    code: str
    reason: str
    used_by: frozenset[Party]
    cost_to: frozenset[Party]  # empty for internal codes
    phase: Phase
    triggers_rto: bool
    part_cancel: bool
    internal: bool = False  # not valid in /cancel or /on_cancel

    @property
    def buyer_pays(self) -> bool:
        return self.cost_to == frozenset({Party.BUYER_APP})


_B, _S, _L, _LB = Party.BUYER_APP, Party.SELLER, Party.LOGISTICS, Party.LOGISTICS_BUYER
_BEFORE, _TRANSIT, _ANY = Phase.BEFORE_SHIPPING, Phase.IN_TRANSIT, Phase.ANY


def _r(code: str, reason: str, by: set[Party], cost: set[Party], phase: Phase, rto: bool,
       part: bool = False, internal: bool = False) -> CancellationReason:  # fmt: skip
    return CancellationReason(code, reason, frozenset(by), frozenset(cost), phase, rto, part, internal)


# ONDC retail 1.2 error_codes/Cancellation. "LSP / SNP (for self-fulfillment)" codes are usable by the
# seller too (a seller delivering with its own riders is its own LSP).
REASONS: Mapping[str, CancellationReason] = {
    r.code: r
    for r in (
        _r("001", "Price of one or more items have changed due to which buyer was asked to make "
                  "additional payment", {_B}, {_S}, _BEFORE, False),
        _r("002", "One or more items in the Order not available", {_S}, {_S}, _BEFORE, False, part=True),
        _r("003", "Product available at lower than order price", {_B}, {_S}, _ANY, True),
        _r("005", "Merchant rejected the order", {_S}, {_S}, _BEFORE, False),
        _r("006", "Order / fulfillment not received as per buyer app TAT SLA", {_B}, {_S, _L}, _ANY, True),
        _r("007", "Order / fulfillment not received as per buyer app TAT SLA", {_LB}, {_L}, _ANY, True),
        _r("008", "Order / fulfillment not ready for pickup", {_L}, {_S}, _BEFORE, False),
        _r("009", "Wrong product delivered", {_B}, {_S}, _TRANSIT, True),
        _r("010", "Buyer wants to modify address / other order details", {_B}, {_B}, _ANY, True),
        _r("011", "Buyer not found or cannot be contacted", {_L, _S}, {_B}, _TRANSIT, True),
        _r("012", "Buyer does not want product any more", {_L, _S}, {_B}, _ANY, True, part=True),
        _r("013", "Buyer refused to accept delivery", {_L, _S}, {_B}, _TRANSIT, True),
        _r("014", "Address not found", {_L, _S}, {_B}, _TRANSIT, True),
        _r("015", "Buyer not available at location", {_L, _S}, {_B}, _TRANSIT, True),
        _r("016", "Accident / rain / strike / vehicle issues", {_L}, {_L}, _ANY, False),
        _r("017", "Order delivery delayed or not possible", {_L}, {_L}, _ANY, False),
        _r("018", "Delivery pin code not serviceable", {_S}, {_S}, _BEFORE, False),
        _r("019", "Pickup pin code not serviceable", {_S}, {_S}, _BEFORE, False),
        _r("020", "Order lost in transit", {_L, _S}, {_L}, _TRANSIT, False),
        _r("021", "Packed order not complete", {_L}, {_S}, _BEFORE, False),
        _r("022", "Payment Failed", {_S}, {_S}, _BEFORE, False),
        _r("996", "Order confirmation / completion failure", {_LB}, set(), _BEFORE, False, internal=True),
        _r("997", "Order confirmation failure", {_L}, set(), _BEFORE, False, internal=True),
        _r("998", "Order confirmation failure", {_S}, set(), _BEFORE, False, internal=True),
        _r("999", "Order confirmation failure", {_B}, set(), _BEFORE, False, internal=True),
    )
}  # fmt: skip


def reason(code: str) -> CancellationReason:
    try:
        return REASONS[code]
    except KeyError:
        raise InvalidCancellationReason(f"unknown cancellation reason code {code!r}") from None


def reasons_for(party: Party, order: Order | None = None) -> list[CancellationReason]:
    """The codes ``party`` may use now (for an order: those valid in its current phase)."""
    out = []
    for r in REASONS.values():
        if r.internal or party not in r.used_by:
            continue
        if order is not None and not _phase_ok(r, order):
            continue
        out.append(r)
    return out


def _phase_ok(r: CancellationReason, order: Order) -> bool:
    if r.phase is Phase.BEFORE_SHIPPING:
        return not order.shipped
    if r.phase is Phase.IN_TRANSIT:
        return order.shipped
    return True


@dataclass(frozen=True)
class Cancellation:
    """The outcome: the reason, the lines/quantities cancelled, the money to refund, what moved."""

    order_id: str
    reason: CancellationReason
    by: Party
    quantities: Mapping[str, int]  # item -> units cancelled by this request
    full: bool
    refund: Money
    cost_to: frozenset[Party]
    event: OrderEvent


def _check(order: Order, catalog: Catalog, r: CancellationReason, by: Party, partial: bool) -> None:
    if r.internal:
        raise InvalidCancellationReason(f"code {r.code} is internal (confirmation failure), not for /cancel")
    if by not in r.used_by:
        users = ", ".join(sorted(p.value for p in r.used_by))
        raise InvalidCancellationReason(f"code {r.code} may be used by {users}, not {by.value}")
    if order.state in (OrderState.COMPLETED, OrderState.CANCELLED):
        raise CancellationRefused(
            f"order {order.id} is {order.state}/{order.fulfillment_state}; it can no longer be cancelled"
            + ("; ask for a return instead" if order.state is OrderState.COMPLETED else "")
        )
    if not _phase_ok(r, order):
        where = "after shipping" if order.shipped else "before shipping"
        raise CancellationRefused(f"code {r.code} ({r.phase}) does not apply {where}")
    if partial:
        if not r.part_cancel:
            raise CancellationRefused(f"code {r.code} cannot cancel part of an order")
        if order.shipped:
            raise CancellationRefused("part of an order can only be cancelled before it ships")
    if by is Party.BUYER_APP and r.cost_to <= {Party.BUYER_APP}:
        fixed = [ln.item_id for ln in order.lines if ln.quantity and not catalog.item(ln.item_id).cancellable]
        if fixed:
            raise CancellationRefused(f"items {fixed} are not cancellable by the buyer")


def cancel_order(order: Order, catalog: Catalog, stock: StockBook, code: str, by: Party,
                 now: datetime) -> Cancellation:  # fmt: skip
    """Cancel the whole order: before shipping its stock is released; in transit it goes to RTO."""
    r = reason(code)
    _check(order, catalog, r, by, partial=False)
    before_total = order.quote.total
    event = apply(order, Action.CANCEL, stock, now, by=by.value, note=f"{r.code}: {r.reason}")
    keep = order.quote.delivery + order.quote.delivery_tax if r.buyer_pays else Money.zero(order.currency)
    refund = _refundable(order, before_total - keep)
    order.refunded = order.refunded + refund
    cancelled = {ln.item_id: ln.quantity for ln in order.lines if ln.quantity}
    return Cancellation(order.id, r, by, cancelled, True, refund, r.cost_to, event)


def cancel_lines(order: Order, catalog: Catalog, stock: StockBook, quantities: Mapping[str, int],
                 code: str, by: Party, now: datetime) -> Cancellation:  # fmt: skip
    """Cancel some units of some lines before shipping: stock released, quote re-priced at the quoted
    unit prices, the difference refunded. Cancelling every remaining unit cancels the order."""
    r = reason(code)
    if not quantities:
        raise InvalidInput("name at least one line to cancel")
    for item_id, q in quantities.items():
        ln = order.line(item_id)
        if isinstance(q, bool) or not isinstance(q, int) or not 1 <= q <= ln.quantity:
            raise InvalidInput(
                f"cancel quantity of {item_id!r} must be between 1 and {ln.quantity}, got {q!r}"
            )
    remaining = {ln.item_id: ln.quantity - quantities.get(ln.item_id, 0) for ln in order.lines if ln.quantity}
    if not any(remaining.values()):
        return cancel_order(order, catalog, stock, code, by, now)
    _check(order, catalog, r, by, partial=True)
    new_quote = reprice(order.quote, remaining)
    entries: list[LedgerEntry] = []
    for item_id, q in sorted(quantities.items()):
        ln = order.line(item_id)
        released, ln.allocations = _shrink(ln.allocations, q)
        entries += [stock.release(item_id, a.location_id, a.quantity, now, order.id, f"part cancel {r.code}")
                    for a in released]  # fmt: skip
        ln.quantity -= q
        ln.cancelled += q
    difference = order.quote.total - new_quote.total
    order.quote = new_quote
    refund = _refundable(order, difference)
    order.refunded = order.refunded + refund
    # A part cancellation changes no status, so it writes no StateChange: the Cancellation is its record.
    return Cancellation(order.id, r, by, dict(quantities), False, refund, r.cost_to,
                        OrderEvent(order.id, None, tuple(entries)))  # fmt: skip


def _shrink(allocs: tuple[Allocation, ...], qty: int) -> tuple[list[Allocation], tuple[Allocation, ...]]:
    """Take ``qty`` units off allocations, last location (by id) first: (released, kept)."""
    released: list[Allocation] = []
    kept = list(allocs)
    left = qty
    for i in range(len(kept) - 1, -1, -1):
        if left == 0:
            break
        take = min(left, kept[i].quantity)
        released.append(Allocation(kept[i].location_id, take))
        kept[i] = Allocation(kept[i].location_id, kept[i].quantity - take)
        left -= take
    return released, tuple(a for a in kept if a.quantity)


def _refundable(order: Order, amount: Money) -> Money:
    """What can actually go back: never below zero, never more than paid and not yet refunded."""
    return amount.max(Money.zero(order.currency)).min(order.paid - order.refunded)
