"""Plain-data views of what sellers send: search results per provider, and orders.

Prices travel in Beckn as decimal strings in major units (``"120.50"``); a buyer app gets integer
minor units (``12050``) with the currency, never a float. These views are what the local API
returns as JSON and what the SDK turns into typed results.
"""

from __future__ import annotations

import re
from typing import Any

from mercato.protocol.models import Catalog, Order, Price

# ISO 4217 currencies whose minor unit is not 1/100.
_EXPONENTS = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
}
_DECIMAL = re.compile(r"^(-?)(\d+)(?:\.(\d+))?$")


def exponent(currency: str | None) -> int:
    return _EXPONENTS.get((currency or "").upper(), 2)


def to_minor(value: str | None, currency: str | None) -> int | None:
    """``"120.5"`` INR -> 12050. None when absent or not a plain decimal; extra digits are refused
    (a price finer than the currency's minor unit is not a price this node can charge)."""
    if value is None:
        return None
    m = _DECIMAL.match(value.strip())
    if m is None:
        return None
    sign, whole, frac = m.groups()
    exp = exponent(currency)
    frac = (frac or "").rstrip("0")
    if len(frac) > exp:
        return None
    minor: int = int(whole) * 10**exp + (int(frac.ljust(exp, "0")) if exp else 0)
    return -minor if sign else minor


def to_decimal(minor: int, currency: str | None) -> str:
    """12050 INR -> ``"120.50"``."""
    exp = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exp)
    return f"{sign}{whole}" if exp == 0 else f"{sign}{whole}.{frac:0{exp}d}"


def price_view(price: Price | None) -> dict[str, Any]:
    if price is None:
        return {"price": None, "currency": None}
    return {"price": to_minor(price.value, price.currency), "currency": price.currency}


def _tag(tags: Any, group: str, code: str) -> str | None:
    for g in tags or ():
        if g.descriptor is not None and g.descriptor.code == group:
            for t in g.list_ or ():
                if t.descriptor is not None and t.descriptor.code == code:
                    return t.value  # type: ignore[no-any-return]
    return None


def search_results(
    catalog: Catalog, *, bpp_id: str, bpp_uri: str, transaction_id: str, source: str
) -> list[dict[str, Any]]:
    """One result per provider of an ``on_search`` catalog: who sells, and the items with prices.

    A provider may name another seller node than the sender (a gateway answering from its index)
    with the ``mercato`` tags ``bpp_id``/``bpp_uri``; ``catalog_version`` and ``signature`` are
    passed on when the catalog carries them.
    """
    out: list[dict[str, Any]] = []
    for provider in catalog.providers or ():
        items = []
        for item in provider.items or ():
            available = None
            if item.quantity is not None and item.quantity.available is not None:
                available = item.quantity.available.count
            items.append(
                {
                    "id": item.id,
                    "name": item.descriptor.name if item.descriptor else None,
                    **price_view(item.price),
                    "category_ids": list(item.category_ids or ()),
                    "available": available,
                }
            )
        out.append(
            {
                "bpp_id": _tag(provider.tags, "mercato", "bpp_id") or bpp_id,
                "bpp_uri": _tag(provider.tags, "mercato", "bpp_uri") or bpp_uri,
                "provider_id": provider.id,
                "provider_name": provider.descriptor.name if provider.descriptor else None,
                "items": items,
                "transaction_id": transaction_id,
                "source": _tag(provider.tags, "mercato", "source") or source,
                "catalog_version": _tag(provider.tags, "mercato", "catalog_version"),
                "signature": _tag(provider.tags, "mercato", "signature"),
            }
        )
    return out


def fulfillment_state(order: Order | None) -> str | None:
    """The state code of the order's first fulfillment (``Pending``, ``Order-delivered``, ...)."""
    for f in (order.fulfillments if order is not None else None) or ():
        if f.state is not None and f.state.descriptor is not None and f.state.descriptor.code:
            return f.state.descriptor.code
    return None


def quote_total(order: Order | None) -> tuple[int | None, str | None]:
    if order is None or order.quote is None or order.quote.price is None:
        return None, None
    p = order.quote.price
    return to_minor(p.value, p.currency), p.currency
