"""What an index search asks for, read from a Beckn search intent or from URL parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mercato.protocol.catalog_publish import search_terms, to_minor

MAX_LIMIT = 200


class QueryError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class IndexQuery:
    terms: tuple[str, ...] = ()
    category: str | None = None
    city: str | None = None
    domain: str | None = None
    min_price: int | None = None  # minor units
    max_price: int | None = None
    limit: int = 20

    @property
    def empty(self) -> bool:
        return not (self.terms or self.category or self.city or self.domain)


def _price(value: str | None, currency: str, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return to_minor(value, currency)
    except ValueError as exc:
        raise QueryError(f"{name}: {exc}") from None


def from_params(params: Mapping[str, str], *, max_limit: int = MAX_LIMIT) -> IndexQuery:
    """``q``, ``category``, ``city``, ``domain``, ``min_price``, ``max_price`` (decimal, major units
    of ``currency``, default INR), ``limit``."""
    try:
        limit = int(params.get("limit") or 20)
    except ValueError:
        raise QueryError("limit must be an integer") from None
    if not 1 <= limit <= max_limit:
        raise QueryError(f"limit must be between 1 and {max_limit}")
    currency = params.get("currency") or "INR"
    q = IndexQuery(
        terms=tuple(search_terms(params.get("q") or "")),
        category=params.get("category") or None,
        city=None if params.get("city") in (None, "", "*") else params.get("city"),
        domain=params.get("domain") or None,
        min_price=_price(params.get("min_price"), currency, "min_price"),
        max_price=_price(params.get("max_price"), currency, "max_price"),
        limit=limit,
    )
    if q.min_price is not None and q.max_price is not None and q.min_price > q.max_price:
        raise QueryError("min_price is above max_price")
    return q


def from_intent(search: Any, limit: int) -> IndexQuery:
    """The index query a Beckn ``search`` asks: item name (and short description) as text,
    ``intent.category.id`` (or its descriptor code), the context's domain and city, and
    ``intent.item.price.minimum_value`` / ``maximum_value``."""
    ctx = search.context
    intent = getattr(search.message, "intent", None)
    text = ""
    category = None
    lo = hi = None
    currency = "INR"
    if intent is not None:
        item = intent.item
        if item is not None and item.descriptor is not None:
            text = " ".join(x for x in (item.descriptor.name, item.descriptor.short_desc) if x)
        if intent.descriptor is not None and intent.descriptor.name:
            text = f"{text} {intent.descriptor.name}".strip()
        if intent.category is not None:
            category = intent.category.id or (
                intent.category.descriptor.code if intent.category.descriptor else None
            )
        if item is not None and item.price is not None:
            currency = item.price.currency or currency
            lo = _price(item.price.minimum_value, currency, "intent.item.price.minimum_value")
            hi = _price(item.price.maximum_value, currency, "intent.item.price.maximum_value")
    city = ctx.location.city.code
    return IndexQuery(
        terms=tuple(search_terms(text)),
        category=category,
        city=None if city == "*" else city,
        domain=ctx.domain,
        min_price=lo,
        max_price=hi,
        limit=limit,
    )
