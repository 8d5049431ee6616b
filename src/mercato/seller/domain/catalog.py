"""The catalog a seller node publishes: providers (stores), locations, categories and items.

One node may host several providers. Items are sellable units (SKUs); variants of one product share a
``parent_item_id`` and differ by their ``options`` (e.g. size=M, colour=red). All objects are
immutable values; :class:`Catalog` indexes them and checks that every reference resolves.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from mercato.protocol.errors import Code

from .errors import CurrencyMismatch, InvalidInput, UnknownEntity
from .money import Money, check_bp, check_int

DEFAULT_MAX_QUANTITY = 1000
_GPS = re.compile(r"^\s*(-?\d{1,3})(?:\.(\d{1,6}))?\s*,\s*(-?\d{1,3})(?:\.(\d{1,6}))?\s*$")


class FulfillmentType(StrEnum):
    DELIVERY = "Delivery"
    PICKUP = "Self-Pickup"


@dataclass(frozen=True)
class GeoPoint:
    """A position in micro-degrees (integers; 1e-6 degree is about 11 cm)."""

    lat_e6: int
    lon_e6: int

    def __post_init__(self) -> None:
        check_int(self.lat_e6, "latitude")
        check_int(self.lon_e6, "longitude")
        if not -90_000_000 <= self.lat_e6 <= 90_000_000 or not -180_000_000 <= self.lon_e6 <= 180_000_000:
            raise InvalidInput(f"GPS position out of range: {self}")

    @classmethod
    def parse(cls, text: str) -> GeoPoint:
        """Parse the Beckn ``gps`` string ``"12.971599,77.594563"`` (at most 6 decimals)."""
        m = _GPS.match(text) if isinstance(text, str) else None
        if m is None:
            raise InvalidInput(f"not a GPS position 'lat,lon': {text!r}")

        def micro(whole: str, frac: str | None) -> int:
            value = abs(int(whole)) * 1_000_000 + int((frac or "").ljust(6, "0"))
            return -value if whole.startswith("-") else value

        return cls(micro(m.group(1), m.group(2)), micro(m.group(3), m.group(4)))

    def __str__(self) -> str:
        def fmt(v: int) -> str:
            sign = "-" if v < 0 else ""
            return f"{sign}{abs(v) // 1_000_000}.{abs(v) % 1_000_000:06d}"

        return f"{fmt(self.lat_e6)},{fmt(self.lon_e6)}"

    def distance_m(self, other: GeoPoint) -> int:
        """Great-circle distance in whole metres (haversine, mean Earth radius 6 371 008.8 m)."""
        la1, lo1 = math.radians(self.lat_e6 / 1e6), math.radians(self.lon_e6 / 1e6)
        la2, lo2 = math.radians(other.lat_e6 / 1e6), math.radians(other.lon_e6 / 1e6)
        h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
        return int(round(2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, h)))))


@dataclass(frozen=True)
class Address:
    street: str
    city: str
    area_code: str
    state: str = ""
    country: str = "IND"
    locality: str = ""
    building: str = ""


@dataclass(frozen=True)
class Descriptor:
    name: str
    short_desc: str = ""
    long_desc: str = ""
    code: str = ""
    images: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidInput("descriptor name must not be empty")
        for url in self.images:
            if not url.startswith(("https://", "http://")):
                raise InvalidInput(f"image URL must be http(s): {url!r}")


@dataclass(frozen=True)
class Location:
    """A store or warehouse. It serves the cities listed (Beckn city codes such as ``std:080``)
    and/or every destination within ``radius_m`` metres of its GPS position."""

    id: str
    provider_id: str
    address: Address
    gps: GeoPoint
    cities: frozenset[str] = frozenset()
    radius_m: int | None = None
    pickup: bool = True

    def __post_init__(self) -> None:
        if self.radius_m is not None and check_int(self.radius_m, "radius") <= 0:
            raise InvalidInput(f"location {self.id}: radius must be positive")

    def serves(self, city: str | None = None, point: GeoPoint | None = None) -> bool:
        """Whether a delivery to ``city`` / ``point`` is serviceable from here.

        With neither given, every location serves. A listed city serves; otherwise a point inside the
        radius serves. A location with neither cities nor radius serves only its own city."""
        if city is None and point is None:
            return True
        if city is not None and (city in self.cities or (not self.cities and city == self.address.city)):
            return True
        return point is not None and self.radius_m is not None and self.gps.distance_m(point) <= self.radius_m


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    parent_id: str | None = None


@dataclass(frozen=True)
class Option:
    name: str
    value: str


@dataclass(frozen=True)
class PriceBreak:
    """From ``min_quantity`` units per order line on, each unit costs ``unit_price``."""

    min_quantity: int
    unit_price: Money


@dataclass(frozen=True)
class Item:
    id: str
    provider_id: str
    descriptor: Descriptor
    price: Money
    category_id: str | None = None
    parent_item_id: str | None = None
    options: tuple[Option, ...] = ()
    price_breaks: tuple[PriceBreak, ...] = ()
    tax_rate_bp: int = 0
    returnable: bool = False
    return_window: timedelta = timedelta(0)
    cancellable: bool = True
    time_to_ship: timedelta = timedelta(hours=24)
    fulfillment_types: frozenset[FulfillmentType] = frozenset({FulfillmentType.DELIVERY})
    max_quantity: int = DEFAULT_MAX_QUANTITY
    location_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.price.amount < 0:
            raise InvalidInput(f"item {self.id}: price must not be negative")
        check_bp(self.tax_rate_bp, f"item {self.id} tax rate")
        if check_int(self.max_quantity, "max_quantity") < 1:
            raise InvalidInput(f"item {self.id}: max_quantity must be at least 1")
        if self.returnable and self.return_window <= timedelta(0):
            raise InvalidInput(f"item {self.id}: a returnable item needs a positive return window")
        if self.time_to_ship < timedelta(0):
            raise InvalidInput(f"item {self.id}: time to ship must not be negative")
        if not self.fulfillment_types:
            raise InvalidInput(f"item {self.id}: at least one fulfillment type")
        seen: set[int] = set()
        for pb in self.price_breaks:
            if pb.unit_price.currency != self.price.currency:
                raise CurrencyMismatch(self.price.currency, pb.unit_price.currency)
            if check_int(pb.min_quantity, "min_quantity") < 2 or pb.min_quantity in seen:
                raise InvalidInput(f"item {self.id}: price breaks need distinct minimum quantities >= 2")
            if pb.unit_price.amount < 0:
                raise InvalidInput(f"item {self.id}: price break must not be negative")
            seen.add(pb.min_quantity)
        names = [o.name for o in self.options]
        if len(names) != len(set(names)):
            raise InvalidInput(f"item {self.id}: option names must be distinct")

    def unit_price(self, quantity: int) -> Money:
        """The unit price for a line of ``quantity`` units: the break with the largest minimum reached."""
        best = self.price
        best_min = 1
        for pb in self.price_breaks:
            if best_min < pb.min_quantity <= quantity:
                best, best_min = pb.unit_price, pb.min_quantity
        return best


@dataclass(frozen=True)
class Provider:
    id: str
    descriptor: Descriptor
    currency: str = "INR"


@dataclass
class Catalog:
    """Every provider, location, category and item a node offers, with references checked on insert."""

    providers: dict[str, Provider] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        providers: Iterable[Provider] = (),
        locations: Iterable[Location] = (),
        categories: Iterable[Category] = (),
        items: Iterable[Item] = (),
    ) -> Catalog:
        cat = cls()
        for p in providers:
            cat.add_provider(p)
        for loc in locations:
            cat.add_location(loc)
        for c in categories:
            cat.add_category(c)
        for it in items:
            cat.add_item(it)
        return cat

    def add_provider(self, provider: Provider) -> None:
        _require_id(provider.id, "provider")
        self.providers[provider.id] = provider

    def add_location(self, location: Location) -> None:
        _require_id(location.id, "location")
        self.provider(location.provider_id)
        self.locations[location.id] = location

    def add_category(self, category: Category) -> None:
        _require_id(category.id, "category")
        if category.parent_id is not None:
            self.category(category.parent_id)
            node: str | None = category.parent_id
            while node is not None:
                if node == category.id:
                    raise InvalidInput(f"category {category.id}: parent chain makes a cycle")
                node = self.categories[node].parent_id
        self.categories[category.id] = category

    def add_item(self, item: Item) -> None:
        _require_id(item.id, "item")
        provider = self.provider(item.provider_id)
        if item.price.currency != provider.currency:
            raise CurrencyMismatch(provider.currency, item.price.currency)
        if item.category_id is not None:
            self.category(item.category_id)
        for loc_id in item.location_ids:
            if self.location(loc_id).provider_id != item.provider_id:
                raise InvalidInput(f"item {item.id}: location {loc_id} belongs to another provider")
        if item.parent_item_id is not None and item.parent_item_id == item.id:
            raise InvalidInput(f"item {item.id} cannot be its own parent")
        self.items[item.id] = item

    def provider(self, provider_id: str) -> Provider:
        try:
            return self.providers[provider_id]
        except KeyError:
            raise UnknownEntity("provider", provider_id, Code.PROVIDER_NOT_FOUND) from None

    def location(self, location_id: str) -> Location:
        try:
            return self.locations[location_id]
        except KeyError:
            raise UnknownEntity("location", location_id, Code.PROVIDER_LOCATION_NOT_FOUND) from None

    def category(self, category_id: str) -> Category:
        try:
            return self.categories[category_id]
        except KeyError:
            raise UnknownEntity("category", category_id, Code.CATEGORY_NOT_FOUND) from None

    def item(self, item_id: str) -> Item:
        try:
            return self.items[item_id]
        except KeyError:
            raise UnknownEntity("item", item_id, Code.ITEM_NOT_FOUND) from None

    def items_of(self, provider_id: str) -> list[Item]:
        return sorted((i for i in self.items.values() if i.provider_id == provider_id), key=lambda i: i.id)

    def variants_of(self, parent_item_id: str) -> list[Item]:
        return sorted(
            (i for i in self.items.values() if i.parent_item_id == parent_item_id), key=lambda i: i.id
        )

    def locations_for(self, item_id: str) -> list[Location]:
        """Where an item may be stocked: its own list, else every location of its provider (sorted by id)."""
        item = self.item(item_id)
        ids = item.location_ids or tuple(
            loc.id for loc in self.locations.values() if loc.provider_id == item.provider_id
        )
        return sorted((self.locations[i] for i in ids), key=lambda loc: loc.id)

    def serving_locations(
        self,
        item_id: str,
        fulfillment: FulfillmentType,
        city: str | None = None,
        point: GeoPoint | None = None,
    ) -> list[Location]:
        """Locations that may fulfil ``item_id`` this way to this destination."""
        out = []
        for loc in self.locations_for(item_id):
            if fulfillment is FulfillmentType.PICKUP:
                if loc.pickup:
                    out.append(loc)
            elif loc.serves(city, point):
                out.append(loc)
        return out


def _require_id(value: str, kind: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{kind} id must be a non-empty string")
