"""The buyer SDK: ``from mercato.buyer.sdk import Client``."""

from mercato.buyer.errors import (
    BuyerError,
    Conflict,
    DeadlineExceeded,
    GatewayUnavailable,
    Nack,
    NotFound,
    SellerUnavailable,
    Unauthorized,
    Unavailable,
)
from mercato.buyer.sdk.client import Client, SearchStream
from mercato.buyer.sdk.types import (
    Cart,
    CheckoutResult,
    Event,
    Item,
    Order,
    Rated,
    SearchResult,
    SupportInfo,
    Tracking,
)

__all__ = [
    "BuyerError",
    "Cart",
    "CheckoutResult",
    "Client",
    "Conflict",
    "DeadlineExceeded",
    "Event",
    "GatewayUnavailable",
    "Item",
    "Nack",
    "NotFound",
    "Order",
    "Rated",
    "SearchResult",
    "SearchStream",
    "SellerUnavailable",
    "SupportInfo",
    "Tracking",
    "Unauthorized",
    "Unavailable",
]
