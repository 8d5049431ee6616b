"""The seller's pure domain: catalog, money, stock, quotes, orders, cancellations, returns, ratings, support.

No web framework, database or HTTP client: plain dataclasses in, plain data and events out. The
protocol handlers and the store build on it; see docs/seller-domain.md for the rules.
"""

from .catalog import (
    Address,
    Catalog,
    Category,
    Descriptor,
    FulfillmentType,
    GeoPoint,
    Item,
    Location,
    Option,
    PriceBreak,
    Provider,
)
from .errors import (
    CancellationRefused,
    CurrencyMismatch,
    DomainError,
    FulfillmentUnavailable,
    IllegalTransition,
    InsufficientStock,
    InvalidCancellationReason,
    InvalidInput,
    InvalidQuantity,
    InvalidRating,
    NegativeStock,
    RefundTooLarge,
    ReturnRefused,
    SupportUnavailable,
    UnknownEntity,
)
from .money import Money
from .orders import TRANSITIONS, Action, FulfillmentState, Order, OrderEvent, OrderState, PaymentType
from .quotes import DeliveryPolicy, LineRequest, Offer, Quote, QuoteChanged, QuoteLine
from .stock import Allocation, LedgerEntry, Movement, StockBook, StockLevel

__all__ = [
    "TRANSITIONS", "Action", "Address", "Allocation", "CancellationRefused", "Catalog", "Category",
    "CurrencyMismatch", "DeliveryPolicy", "Descriptor", "DomainError", "FulfillmentState",
    "FulfillmentType", "FulfillmentUnavailable", "GeoPoint", "IllegalTransition", "InsufficientStock",
    "InvalidCancellationReason", "InvalidInput", "InvalidQuantity", "InvalidRating", "Item", "LedgerEntry",
    "LineRequest", "Location", "Money", "Movement", "NegativeStock", "Offer", "Option", "Order",
    "OrderEvent", "OrderState", "PaymentType", "PriceBreak", "Provider", "Quote", "QuoteChanged",
    "QuoteLine", "RefundTooLarge", "ReturnRefused", "StockBook", "StockLevel", "SupportUnavailable",
    "UnknownEntity",
]  # fmt: skip
