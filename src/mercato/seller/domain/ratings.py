"""Ratings of an order, its items, its provider and its fulfillment: 1 to 5, tied to a real order.

Beckn ``rating`` carries a ``rating_category`` and the ``id`` of the thing rated; here the rated thing
must belong to the order named, so nobody can rate an item they never bought.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from mercato.protocol.errors import Code

from .errors import InvalidRating, UnknownEntity
from .orders import Order, OrderState

MIN_RATING, MAX_RATING = 1, 5


class RatingCategory(StrEnum):
    ORDER = "Order"
    ITEM = "Item"
    PROVIDER = "Provider"
    FULFILLMENT = "Fulfillment"


@dataclass(frozen=True)
class Rating:
    order_id: str
    category: RatingCategory
    entity_id: str
    value: int
    at: datetime
    feedback: str = ""


def rate(orders: Mapping[str, Order], order_id: str, category: str, entity_id: str, value: object,
         at: datetime, feedback: str = "") -> Rating:  # fmt: skip
    """Validate and build a rating. ``value`` may be an int or a digit string (Beckn sends strings)."""
    order = orders.get(order_id)
    if order is None:
        raise UnknownEntity("order", order_id, Code.ORDER_NOT_FOUND)
    try:
        cat = RatingCategory(category)
    except ValueError:
        err = InvalidRating(f"unsupported rating category {category!r}; use one of "
                            + ", ".join(c.value for c in RatingCategory))  # fmt: skip
        err.code = Code.UNSUPPORTED_RATING_CATEGORY
        raise err from None
    if order.state is OrderState.CREATED:
        raise InvalidRating(f"order {order_id} is not accepted yet; nothing to rate")
    valid_ids = {
        RatingCategory.ORDER: {order.id},
        RatingCategory.ITEM: {ln.item_id for ln in order.lines if ln.quantity or ln.cancelled},
        RatingCategory.PROVIDER: {order.provider_id},
        RatingCategory.FULFILLMENT: {order.fulfillment_id},
    }[cat]
    if entity_id not in valid_ids:
        raise UnknownEntity(
            f"{cat.value.lower()} in order {order_id}", entity_id, Code.ENTITY_TO_RATE_NOT_FOUND
        )
    return Rating(order_id, cat, entity_id, _value(value), at, feedback)


def _value(value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_RATING <= value <= MAX_RATING:
        raise InvalidRating(f"a rating is a whole number from {MIN_RATING} to {MAX_RATING}, got {value!r}")
    return value
