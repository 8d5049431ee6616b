"""The typed results the SDK returns: search results per seller, orders, events, checkout results.

Money is an integer in minor units (``12050`` INR is ₹120.50) with its currency code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mercato.buyer.errors import BuyerError, from_json


@dataclass(frozen=True)
class Item:
    id: str
    name: str | None
    price: int | None  # minor units
    currency: str | None
    category_ids: tuple[str, ...] = ()
    available: int | None = None
    pool: dict[str, Any] | None = None  # a pool offer's terms and progress (docs/pools.md)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Item:
        return cls(
            id=str(d.get("id")),
            name=d.get("name"),
            price=d.get("price"),
            currency=d.get("currency"),
            category_ids=tuple(d.get("category_ids") or ()),
            available=d.get("available"),
            pool=d.get("pool"),
        )


@dataclass(frozen=True)
class SearchResult:
    """What one provider of one seller node offers for a search."""

    bpp_id: str
    bpp_uri: str
    provider_id: str | None
    provider_name: str | None
    items: tuple[Item, ...]
    transaction_id: str
    source: str  # "seller" (straight from the seller), "gateway" (relayed) or "index"
    catalog_version: str | None = None
    signature: str | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SearchResult:
        return cls(
            bpp_id=d["bpp_id"],
            bpp_uri=d["bpp_uri"],
            provider_id=d.get("provider_id"),
            provider_name=d.get("provider_name"),
            items=tuple(Item.from_json(i) for i in d.get("items") or ()),
            transaction_id=d["transaction_id"],
            source=d.get("source", "seller"),
            catalog_version=d.get("catalog_version"),
            signature=d.get("signature"),
        )


@dataclass(frozen=True)
class Order:
    """The buyer's side of one order with one seller."""

    id: str  # this buyer node's id for the order
    transaction_id: str
    bpp_id: str
    bpp_uri: str
    provider_id: str | None
    order_id: str | None  # the seller's order id, once confirmed
    stage: str  # selected | initialized | confirmed
    status: str | None  # the seller's order status: ACTIVE, COMPLETED, CANCELLED, ...
    fulfillment_state: str | None
    total: int | None  # minor units, from the seller's latest quote
    currency: str | None
    items: tuple[dict[str, Any], ...]
    order: dict[str, Any] | None  # the seller's latest Beckn order object
    created_at: str
    updated_at: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Order:
        return cls(
            id=d["id"],
            transaction_id=d["transaction_id"],
            bpp_id=d["bpp_id"],
            bpp_uri=d["bpp_uri"],
            provider_id=d.get("provider_id"),
            order_id=d.get("order_id"),
            stage=d["stage"],
            status=d.get("status"),
            fulfillment_state=d.get("fulfillment_state"),
            total=d.get("total"),
            currency=d.get("currency"),
            items=tuple(d.get("items") or ()),
            order=d.get("order"),
            created_at=d["created_at"],
            updated_at=d["updated_at"],
        )


@dataclass(frozen=True)
class Tracking:
    order: Order
    url: str | None
    status: str | None
    raw: dict[str, Any] | None


@dataclass(frozen=True)
class Rated:
    order: Order
    feedback_form: dict[str, Any] | None


@dataclass(frozen=True)
class SupportInfo:
    order: Order
    phone: str | None
    email: str | None
    url: str | None
    raw: dict[str, Any] | None


@dataclass(frozen=True)
class Event:
    """A callback this node received: ``solicited`` when it answered one of its requests, else a
    seller's own news (an ``on_status`` or ``on_update`` pushed as the order moves)."""

    seq: int
    action: str
    bpp_id: str
    message_id: str
    transaction_id: str
    order: str | None  # the buyer's order id
    solicited: bool
    status: str | None
    fulfillment_state: str | None
    error_code: str | None
    received_at: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Event:
        fields: dict[str, Any] = {k: d.get(k) for k in cls.__dataclass_fields__}
        return cls(**fields)


@dataclass(frozen=True)
class CheckoutResult:
    """What became of one seller's part of a cart."""

    bpp_id: str
    provider_id: str
    ok: bool
    order: Order | None
    error: BuyerError | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CheckoutResult:
        return cls(
            bpp_id=d["bpp_id"],
            provider_id=d["provider_id"],
            ok=bool(d.get("ok")),
            order=Order.from_json(d["order"]) if d.get("order") else None,
            error=from_json(d["error"]) if d.get("error") else None,
        )


@dataclass
class Cart:
    """Items from any number of sellers; ``checkout`` makes one order per seller."""

    lines: list[dict[str, Any]] = field(default_factory=list)

    def add(self, result: SearchResult, item: Item | str, quantity: int = 1) -> Cart:
        item_id = item.id if isinstance(item, Item) else item
        self.lines.append(
            {
                "bpp_id": result.bpp_id,
                "bpp_uri": result.bpp_uri,
                "provider_id": result.provider_id,
                "item_id": item_id,
                "quantity": quantity,
            }
        )
        return self

    def sellers(self) -> list[str]:
        return list(dict.fromkeys(line["bpp_id"] for line in self.lines))
