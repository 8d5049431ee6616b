"""Quotes: what a buyer would pay for a basket, line by line, and whether it is still true.

Rules (all integer minor units):
- A line's unit price is the item's price or the quantity break the line reaches.
- Discounts (offers) apply to the items subtotal: a percentage is rounded down, a fixed amount is
  capped at the subtotal; the total discount is split over lines by the largest-remainder method in
  proportion to their amounts, so each line knows its own net amount.
- Tax is computed per line on its net amount (amount − discount share) at the item's rate, and on the
  delivery charge at its own rate, each rounded half away from zero to the minor unit.
- ``total = Σ line amounts + delivery + Σ taxes − Σ discounts``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from mercato.protocol.errors import Code

from .catalog import Catalog, FulfillmentType, GeoPoint
from .errors import (
    CurrencyMismatch,
    DomainError,
    FulfillmentUnavailable,
    InsufficientStock,
    InvalidInput,
    InvalidQuantity,
)
from .money import Money, allocate, check_bp, check_int, tax, total
from .stock import StockBook


@dataclass(frozen=True)
class LineRequest:
    item_id: str
    quantity: int


@dataclass(frozen=True)
class Offer:
    """A discount: ``percent_bp`` of the items subtotal and/or a fixed ``amount``, from ``min_subtotal``."""

    code: str
    percent_bp: int = 0
    amount: Money | None = None
    min_subtotal: Money | None = None

    def __post_init__(self) -> None:
        check_bp(self.percent_bp, f"offer {self.code} percentage")
        if self.amount is not None and self.amount.amount < 0:
            raise InvalidInput(f"offer {self.code}: amount must not be negative")

    def discount(self, subtotal: Money) -> Money:
        if self.min_subtotal is not None and subtotal < self.min_subtotal:
            return Money.zero(subtotal.currency)
        d = subtotal.floor_bp(self.percent_bp)
        if self.amount is not None:
            d = d + self.amount
        return d.min(subtotal)


@dataclass(frozen=True)
class DeliveryPolicy:
    """A flat delivery charge, free from ``free_from`` items subtotal; taxed at ``tax_rate_bp``."""

    charge: Money
    free_from: Money | None = None
    tax_rate_bp: int = 0

    def __post_init__(self) -> None:
        check_bp(self.tax_rate_bp, "delivery tax rate")
        if self.charge.amount < 0:
            raise InvalidInput("delivery charge must not be negative")

    def charge_for(self, subtotal: Money, fulfillment: FulfillmentType) -> Money:
        if fulfillment is FulfillmentType.PICKUP:
            return Money.zero(subtotal.currency)
        if self.free_from is not None and subtotal >= self.free_from:
            return Money.zero(subtotal.currency)
        return self.charge


@dataclass(frozen=True)
class QuoteLine:
    item_id: str
    quantity: int
    unit_price: Money
    amount: Money  # unit_price × quantity
    discount: Money  # this line's share of the order discount
    tax_rate_bp: int
    tax: Money  # on (amount − discount)
    available_quantity: int  # what could be sold now (capped at the item's maximum per order)

    @property
    def net(self) -> Money:
        return self.amount - self.discount

    @property
    def total(self) -> Money:
        return self.amount - self.discount + self.tax

    @property
    def is_available(self) -> bool:
        return self.available_quantity >= self.quantity


@dataclass(frozen=True)
class Quote:
    provider_id: str
    currency: str
    fulfillment_type: FulfillmentType
    lines: tuple[QuoteLine, ...]
    offers: tuple[Offer, ...]
    delivery: Money
    delivery_tax_rate_bp: int
    delivery_tax: Money
    total: Money
    location_ids: tuple[str, ...]  # where the order may be allocated (serviceable locations)

    @property
    def items_subtotal(self) -> Money:
        return total((ln.amount for ln in self.lines), self.currency)

    @property
    def discount_total(self) -> Money:
        return total((ln.discount for ln in self.lines), self.currency)

    @property
    def tax_total(self) -> Money:
        return total((ln.tax for ln in self.lines), self.currency) + self.delivery_tax

    @property
    def fully_available(self) -> bool:
        return all(ln.is_available for ln in self.lines)

    def line(self, item_id: str) -> QuoteLine:
        for ln in self.lines:
            if ln.item_id == item_id:
                return ln
        raise InvalidInput(f"item {item_id!r} is not in this quote")

    def quantities(self) -> dict[str, int]:
        return {ln.item_id: ln.quantity for ln in self.lines}

    def breakup(self) -> list[tuple[str, str | None, Money]]:
        """Rows for a Beckn ``quote.breakup``: (title_type, item id or None, amount)."""
        rows: list[tuple[str, str | None, Money]] = []
        for ln in self.lines:
            rows.append(("item", ln.item_id, ln.amount))
        for ln in self.lines:
            if ln.tax.amount:
                rows.append(("tax", ln.item_id, ln.tax))
        for ln in self.lines:
            if ln.discount.amount:
                rows.append(("discount", ln.item_id, -ln.discount))
        rows.append(("delivery", None, self.delivery))
        if self.delivery_tax.amount:
            rows.append(("tax", None, self.delivery_tax))
        return rows


def price_lines(
    provider_id: str,
    currency: str,
    fulfillment: FulfillmentType,
    priced: Sequence[tuple[str, int, Money, int, int]],
    offers: Sequence[Offer],
    delivery: Money,
    delivery_tax_rate_bp: int,
    location_ids: Sequence[str],
) -> Quote:
    """Assemble a quote from (item_id, quantity, unit price, tax rate bp, available) rows.

    Used for fresh quotes and to re-price an order after a partial cancellation at the prices quoted."""
    for _, _, unit, _, _ in priced:
        if unit.currency != currency:
            raise CurrencyMismatch(currency, unit.currency)
    if delivery.currency != currency:
        raise CurrencyMismatch(currency, delivery.currency)
    amounts = [unit.times(q) for _, q, unit, _, _ in priced]
    subtotal = total(amounts, currency)
    discount = total((o.discount(subtotal) for o in offers), currency).min(subtotal)
    shares = allocate(discount, [a.amount for a in amounts])
    lines = tuple(
        QuoteLine(item_id, q, unit, amt, share, rate, tax(amt - share, rate), avail)
        for (item_id, q, unit, rate, avail), amt, share in zip(priced, amounts, shares, strict=True)
    )
    delivery_tax = tax(delivery, delivery_tax_rate_bp)
    grand = subtotal + delivery + total((ln.tax for ln in lines), currency) + delivery_tax - discount
    return Quote(
        provider_id, currency, fulfillment, lines, tuple(offers), delivery, delivery_tax_rate_bp,
        delivery_tax, grand, tuple(location_ids),
    )  # fmt: skip


def build_quote(
    catalog: Catalog,
    stock: StockBook,
    provider_id: str,
    lines: Sequence[LineRequest],
    fulfillment: FulfillmentType = FulfillmentType.DELIVERY,
    delivery_policy: DeliveryPolicy | None = None,
    offers: Sequence[Offer] = (),
    city: str | None = None,
    point: GeoPoint | None = None,
) -> Quote:
    """Price a basket for one provider from the current catalog and stock.

    Raises for an unknown item or provider, an item of another provider, a repeated item, a quantity
    ≤ 0 or over the item's maximum, an unsupported fulfillment type or an unserviceable destination.
    A line asking for more than is available is still quoted, with ``available_quantity`` showing what
    is left (as ``on_select`` does); :func:`require_available` turns that into an error."""
    provider = catalog.provider(provider_id)
    if not lines:
        raise InvalidInput("a quote needs at least one item")
    seen: set[str] = set()
    priced: list[tuple[str, int, Money, int, int]] = []
    all_locs: set[str] = set()
    for req in lines:
        item = catalog.item(req.item_id)
        if item.provider_id != provider_id:
            raise InvalidInput(
                f"item {item.id!r} belongs to provider {item.provider_id!r}, not {provider_id!r}"
            )
        if item.id in seen:
            raise InvalidInput(f"item {item.id!r} appears twice; send one line with the total quantity")
        seen.add(item.id)
        if isinstance(req.quantity, bool) or not isinstance(req.quantity, int):
            raise InvalidInput(f"quantity of {item.id!r} must be an integer")
        if not 1 <= req.quantity <= item.max_quantity:
            raise InvalidQuantity(item.id, req.quantity, item.max_quantity)
        if fulfillment not in item.fulfillment_types:
            raise FulfillmentUnavailable(f"item {item.id!r} is not offered for {fulfillment}")
        locs = [loc.id for loc in catalog.serving_locations(item.id, fulfillment, city, point)]
        if not locs:
            raise FulfillmentUnavailable(
                f"no location can fulfil item {item.id!r} ({fulfillment}) to this destination"
            )
        all_locs.update(locs)
        avail = stock.available(item.id, locs)
        if stock.backorder_at(item.id, locs) is not None:
            avail = item.max_quantity
        priced.append((item.id, req.quantity, item.unit_price(req.quantity), item.tax_rate_bp,
                       min(avail, item.max_quantity)))  # fmt: skip
    zero = Money.zero(provider.currency)
    subtotal = total((unit.times(q) for _, q, unit, _, _ in priced), provider.currency)
    delivery = delivery_policy.charge_for(subtotal, fulfillment) if delivery_policy else zero
    rate = delivery_policy.tax_rate_bp if delivery_policy else 0
    return price_lines(provider_id, provider.currency, fulfillment, priced, offers, delivery, rate,
                       sorted(all_locs))  # fmt: skip


def require_available(quote: Quote) -> None:
    """Raise :class:`InsufficientStock` (with the quantity left per item) if any line is short."""
    short = {ln.item_id: (ln.quantity, ln.available_quantity) for ln in quote.lines if not ln.is_available}
    if short:
        raise InsufficientStock(short)


# -- re-checking a quote -------------------------------------------------------------------------


class ChangeKind(StrEnum):
    PRICE_CHANGED = "price-changed"
    QUANTITY_UNAVAILABLE = "quantity-unavailable"
    LINES_CHANGED = "lines-changed"
    TOTAL_CHANGED = "total-changed"


@dataclass(frozen=True)
class QuoteChange:
    kind: ChangeKind
    item_id: str | None
    before: Money | int | None
    after: Money | int | None

    def describe(self) -> str:
        if self.kind is ChangeKind.PRICE_CHANGED:
            return f"price of {self.item_id} changed from {self.before} to {self.after}"
        if self.kind is ChangeKind.QUANTITY_UNAVAILABLE:
            return f"{self.item_id}: requested {self.before}, only {self.after} left"
        if self.kind is ChangeKind.LINES_CHANGED:
            return f"item {self.item_id} is not in both quotes"
        return f"total changed from {self.before} to {self.after}"


class QuoteChanged(DomainError):
    """The quote the buyer holds is stale; ``fresh`` is the quote to answer with."""

    code = Code.QUOTE_UNAVAILABLE
    http_status = 409

    def __init__(self, changes: Sequence[QuoteChange], fresh: Quote) -> None:
        super().__init__("quote changed: " + "; ".join(c.describe() for c in changes))
        self.changes = tuple(changes)
        self.fresh = fresh


def recheck(earlier: Quote, fresh: Quote) -> tuple[QuoteChange, ...]:
    """What changed between a quote the buyer holds and a fresh one for the same basket (empty: nothing)."""
    if earlier.currency != fresh.currency:
        raise CurrencyMismatch(earlier.currency, fresh.currency)
    changes: list[QuoteChange] = []
    old = {ln.item_id: ln for ln in earlier.lines}
    new = {ln.item_id: ln for ln in fresh.lines}
    for item_id in sorted(old.keys() ^ new.keys()):
        changes.append(QuoteChange(ChangeKind.LINES_CHANGED, item_id, None, None))
    for item_id in sorted(old.keys() & new.keys()):
        a, b = old[item_id], new[item_id]
        if a.unit_price != b.unit_price:
            changes.append(QuoteChange(ChangeKind.PRICE_CHANGED, item_id, a.unit_price, b.unit_price))
        if not b.is_available:
            changes.append(
                QuoteChange(ChangeKind.QUANTITY_UNAVAILABLE, item_id, b.quantity, b.available_quantity)
            )
    if not changes and earlier.total != fresh.total:
        changes.append(QuoteChange(ChangeKind.TOTAL_CHANGED, None, earlier.total, fresh.total))
    return tuple(changes)


def require_unchanged(earlier: Quote, fresh: Quote) -> Quote:
    """At init/confirm: return ``fresh`` if it still matches ``earlier``; raise :class:`InsufficientStock`
    when only quantities fell short, else :class:`QuoteChanged` carrying the fresh quote."""
    changes = recheck(earlier, fresh)
    if not changes:
        return fresh
    if all(c.kind is ChangeKind.QUANTITY_UNAVAILABLE for c in changes):
        require_available(fresh)
    raise QuoteChanged(changes, fresh)


def reprice(quote: Quote, quantities: Mapping[str, int]) -> Quote:
    """The same quote with new line quantities, at the unit prices and offers originally quoted (a
    buyer never pays more per unit after a partial cancellation). Lines at 0 are dropped; the
    delivery charge stays unless no line is left."""
    priced = []
    for ln in quote.lines:
        q = check_int(quantities.get(ln.item_id, ln.quantity), "quantity")
        if not 0 <= q <= ln.quantity:
            raise InvalidInput(f"{ln.item_id}: new quantity {q} must be between 0 and {ln.quantity}")
        if q:
            priced.append((ln.item_id, q, ln.unit_price, ln.tax_rate_bp, ln.available_quantity))
    unknown = set(quantities) - {ln.item_id for ln in quote.lines}
    if unknown:
        raise InvalidInput(f"items not in the quote: {sorted(unknown)}")
    delivery = quote.delivery if priced else Money.zero(quote.currency)
    return price_lines(quote.provider_id, quote.currency, quote.fulfillment_type, priced, quote.offers,
                       delivery, quote.delivery_tax_rate_bp, quote.location_ids)  # fmt: skip
