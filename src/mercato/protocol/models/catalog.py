"""What a seller offers: items with prices and quantities, categories, add-ons, offers, terms, providers
and the catalog a seller returns in ``on_search``."""

from __future__ import annotations

from typing import Literal

from .base import BecknModel
from .common import Descriptor, Fee, MediaFile, Price, Scalar, TagGroup, Time, XInput
from .fulfillment import Fulfillment, FulfillmentState
from .location import Location, State
from .parties import Organization
from .payment import Payment

__all__ = [
    "AddOn",
    "CancellationTerm",
    "Catalog",
    "Category",
    "Item",
    "ItemQuantity",
    "Offer",
    "Provider",
    "Quantity",
    "RefundTerm",
    "ReplacementTerm",
    "ReturnTerm",
]


class Quantity(BecknModel):
    """A count of units and/or a measure: ``{"count": 2}``, ``{"measure": {"value": "500", "unit": "g"}}``."""

    count: int | None = None
    measure: Scalar | None = None


class ItemQuantity(BecknModel):
    """Quantities of an item: available stock, limits per order, what the buyer selected."""

    allocated: Quantity | None = None
    available: Quantity | None = None
    maximum: Quantity | None = None
    minimum: Quantity | None = None
    selected: Quantity | None = None
    unitized: Quantity | None = None


class CancellationTerm(BecknModel):
    """Whether and at what cost an order can be cancelled in a given fulfillment state."""

    fulfillment_state: FulfillmentState | None = None
    reason_required: bool | None = None
    cancel_by: Time | None = None
    cancellation_fee: Fee | None = None
    xinput: XInput | None = None
    external_ref: MediaFile | None = None


class RefundTerm(BecknModel):
    fulfillment_state: State | None = None
    refund_eligible: bool | None = None
    refund_within: Time | None = None
    refund_amount: Price | None = None


class ReplacementTerm(BecknModel):
    fulfillment_state: State | None = None
    replace_within: Time | None = None
    external_ref: MediaFile | None = None


class ReturnTerm(BecknModel):
    fulfillment_state: State | None = None
    return_eligible: bool | None = None
    return_time: Time | None = None
    return_location: Location | None = None
    fulfillment_managed_by: Literal["CONSUMER", "PROVIDER"] | None = None


class Category(BecknModel):
    id: str | None = None
    parent_category_id: str | None = None
    descriptor: Descriptor | None = None
    time: Time | None = None
    ttl: object | None = None
    tags: list[TagGroup] | None = None


class AddOn(BecknModel):
    """Something sold with an item (gift wrap, extended warranty)."""

    id: str | None = None
    descriptor: Descriptor | None = None
    price: Price | None = None
    quantity: ItemQuantity | None = None


class Item(BecknModel):
    """A product or service: what it is, what it costs, how many there are, and the terms."""

    id: str | None = None
    parent_item_id: str | None = None
    parent_item_quantity: ItemQuantity | None = None
    descriptor: Descriptor | None = None
    creator: Organization | None = None
    price: Price | None = None
    quantity: ItemQuantity | None = None
    category_ids: list[str] | None = None
    fulfillment_ids: list[str] | None = None
    location_ids: list[str] | None = None
    payment_ids: list[str] | None = None
    add_ons: list[AddOn] | None = None
    cancellation_terms: list[CancellationTerm] | None = None
    refund_terms: list[RefundTerm] | None = None
    replacement_terms: list[ReplacementTerm] | None = None
    return_terms: list[ReturnTerm] | None = None
    xinput: XInput | None = None
    time: Time | None = None
    rateable: bool | None = None
    rating: str | None = None
    matched: bool | None = None
    related: bool | None = None
    recommended: bool | None = None
    ttl: str | None = None
    tags: list[TagGroup] | None = None


class Offer(BecknModel):
    """A promotion on items, categories or locations."""

    id: str | None = None
    descriptor: Descriptor | None = None
    location_ids: list[str] | None = None
    category_ids: list[str] | None = None
    item_ids: list[str] | None = None
    time: Time | None = None
    tags: list[TagGroup] | None = None


class Provider(BecknModel):
    """A seller (a shop, a manufacturer) with its locations, categories, items and offers."""

    id: str | None = None
    descriptor: Descriptor | None = None
    category_id: str | None = None
    rating: str | None = None
    time: Time | None = None
    categories: list[Category] | None = None
    fulfillments: list[Fulfillment] | None = None
    payments: list[Payment] | None = None
    locations: list[Location] | None = None
    offers: list[Offer] | None = None
    items: list[Item] | None = None
    exp: str | None = None
    rateable: bool | None = None
    ttl: str | None = None
    tags: list[TagGroup] | None = None


class Catalog(BecknModel):
    """What a seller platform (BPP) returns for a search: its providers and their items."""

    descriptor: Descriptor | None = None
    fulfillments: list[Fulfillment] | None = None
    payments: list[Payment] | None = None
    offers: list[Offer] | None = None
    providers: list[Provider] | None = None
    exp: str | None = None
    ttl: str | None = None
