"""Request and response bodies of the merchant admin API (pydantic; money in integer minor units)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from mercato.seller.domain import (
    Address,
    Category,
    DeliveryPolicy,
    Descriptor,
    FulfillmentType,
    GeoPoint,
    Item,
    Location,
    Money,
    Option,
    PriceBreak,
    Provider,
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemIn(Strict):
    provider_id: str
    name: str = Field(min_length=1)
    price: int = Field(ge=0, description="unit price in minor units (paise, cents)")
    currency: str = "INR"
    short_desc: str = ""
    long_desc: str = ""
    code: str = ""
    images: list[str] = []
    category_id: str | None = None
    parent_item_id: str | None = None
    options: dict[str, str] = {}
    price_breaks: list[tuple[int, int]] = Field(default=[], description="[min quantity, unit price] pairs")
    tax_rate_bp: int = Field(default=0, ge=0, le=10_000)
    returnable: bool = False
    return_window_s: int = Field(default=0, ge=0)
    cancellable: bool = True
    time_to_ship_s: int = Field(default=86_400, ge=0)
    fulfillment_types: list[FulfillmentType] = [FulfillmentType.DELIVERY]
    max_quantity: int = Field(default=1000, ge=1)
    location_ids: list[str] = []

    def to_item(self, item_id: str) -> Item:
        cur = self.currency
        return Item(
            id=item_id,
            provider_id=self.provider_id,
            descriptor=Descriptor(self.name, self.short_desc, self.long_desc, self.code, tuple(self.images)),
            price=Money(self.price, cur),
            category_id=self.category_id,
            parent_item_id=self.parent_item_id,
            options=tuple(Option(k, v) for k, v in self.options.items()),
            price_breaks=tuple(PriceBreak(q, Money(p, cur)) for q, p in self.price_breaks),
            tax_rate_bp=self.tax_rate_bp,
            returnable=self.returnable,
            return_window=timedelta(seconds=self.return_window_s),
            cancellable=self.cancellable,
            time_to_ship=timedelta(seconds=self.time_to_ship_s),
            fulfillment_types=frozenset(self.fulfillment_types),
            max_quantity=self.max_quantity,
            location_ids=tuple(self.location_ids),
        )


class CategoryIn(Strict):
    name: str = Field(min_length=1)
    parent_id: str | None = None

    def to_category(self, category_id: str) -> Category:
        return Category(category_id, self.name, self.parent_id)


class StockChange(Strict):
    delta: int = Field(description="units to add (positive) or remove (negative) from on hand")
    reason: str = Field(min_length=1, description="why: count, damage, received, ...")
    ref: str | None = None


class CancelIn(Strict):
    code: str = Field(description="ONDC cancellation reason code, e.g. 002 (items not available)")
    reason: str = ""
    quantities: dict[str, int] | None = Field(default=None, description="partial cancellation: item -> units")


class RefundIn(Strict):
    amount: int = Field(gt=0, description="minor units")
    reason: str = Field(min_length=1)


class OrderOut(BaseModel):
    id: str
    provider_id: str
    state: str
    fulfillment_state: str
    payment_type: str
    currency: str
    total: int
    paid: int
    refunded: int
    created_at: str
    lines: list[dict[str, int | str]]
    allowed_actions: list[str]


class ProviderIn(Strict):
    name: str = Field(min_length=1)
    currency: str = "INR"
    delivery_charge: int | None = Field(default=None, ge=0, description="minor units; none: free delivery")
    free_delivery_from: int | None = Field(default=None, ge=0, description="items subtotal, minor units")
    delivery_tax_rate_bp: int = Field(default=0, ge=0, le=10_000)

    def to_provider(self, provider_id: str) -> tuple[Provider, DeliveryPolicy | None]:
        cur = self.currency
        policy = None
        if self.delivery_charge is not None:
            free = Money(self.free_delivery_from, cur) if self.free_delivery_from else None
            policy = DeliveryPolicy(Money(self.delivery_charge, cur), free, self.delivery_tax_rate_bp)
        return Provider(provider_id, Descriptor(self.name), cur), policy


class LocationIn(Strict):
    provider_id: str
    street: str = Field(min_length=1)
    city: str = Field(description="Beckn city code, e.g. std:080")
    area_code: str
    state: str = ""
    gps: str = Field(description="lat,lon")
    cities: list[str] = Field(default=[], description="city codes served (default: its own city)")
    radius_m: int | None = Field(default=None, gt=0, description="serves every destination this close")
    pickup: bool = True

    def to_location(self, location_id: str) -> Location:
        address = Address(self.street, self.city, self.area_code, self.state)
        return Location(
            location_id,
            self.provider_id,
            address,
            GeoPoint.parse(self.gps),
            frozenset(self.cities),
            self.radius_m,
            self.pickup,
        )
