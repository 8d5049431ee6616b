"""Orders and what leads to them: the search intent, the quote, cancellation and the order itself."""

from __future__ import annotations

from typing import Literal

from .base import BecknModel
from .catalog import (
    AddOn,
    CancellationTerm,
    Category,
    Item,
    Offer,
    Provider,
    RefundTerm,
    ReplacementTerm,
    ReturnTerm,
)
from .common import Descriptor, Option, Price, TagGroup, XInput
from .fulfillment import Fulfillment
from .parties import Billing
from .payment import Payment

__all__ = ["Cancellation", "Document", "Intent", "Order", "QuoteBreakup", "Quotation"]


class Intent(BecknModel):
    """What the buyer is looking for (``search``): an item, a category, a provider, a delivery place."""

    descriptor: Descriptor | None = None
    provider: Provider | None = None
    fulfillment: Fulfillment | None = None
    payment: Payment | None = None
    category: Category | None = None
    offer: Offer | None = None
    item: Item | None = None
    tags: list[TagGroup] | None = None


class QuoteBreakup(BecknModel):
    """One line of a quote: an item, a tax, a delivery charge."""

    item: Item | None = None
    title: str | None = None
    price: Price | None = None


class Quotation(BecknModel):
    """The seller's price for an order, with its breakup and how long it holds (``ttl``)."""

    id: str | None = None
    price: Price | None = None
    breakup: list[QuoteBreakup] | None = None
    ttl: str | None = None


class Cancellation(BecknModel):
    time: str | None = None
    cancelled_by: Literal["CONSUMER", "PROVIDER"] | None = None
    reason: Option | None = None
    additional_description: Descriptor | None = None


class Document(BecknModel):
    """A document attached to an order (an invoice)."""

    descriptor: Descriptor | None = None
    mime_type: Literal["text/html", "application/html", "application/xml", "application/pdf"] | None = None
    url: str | None = None


OrderStatus = Literal["ACTIVE", "COMPLETE", "CANCELLED", "COMPLETED", "SOFT_CANCEL"]


class Order(BecknModel):
    """A contract between buyer and seller, from the draft of ``select`` to the confirmed order."""

    id: str | None = None
    ref_order_ids: list[str] | None = None
    status: OrderStatus | None = None
    type: Literal["DRAFT", "DEFAULT"] | None = None
    provider: Provider | None = None
    items: list[Item] | None = None
    add_ons: list[AddOn] | None = None
    offers: list[Offer] | None = None
    billing: Billing | None = None
    fulfillments: list[Fulfillment] | None = None
    cancellation: Cancellation | None = None
    cancellation_terms: list[CancellationTerm] | None = None
    documents: list[Document] | None = None
    refund_terms: list[RefundTerm] | None = None
    replacement_terms: list[ReplacementTerm] | None = None
    return_terms: list[ReturnTerm] | None = None
    quote: Quotation | None = None
    payments: list[Payment] | None = None
    created_at: str | None = None
    updated_at: str | None = None
    xinput: XInput | None = None
    tags: list[TagGroup] | None = None
