"""Plain-data views of what sellers send: search results per provider, and orders.

Prices travel in Beckn as decimal strings in major units (``"120.50"``); a buyer app gets integer
minor units (``12050``) with the currency, never a float. These views are what the local API
returns as JSON and what the SDK turns into typed results.
"""

from __future__ import annotations

import re
from typing import Any

from mercato.protocol.catalog_publish import ATTESTATION_CODE, Attestation
from mercato.protocol.models import Catalog, Item, Order, Price, Provider

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


def attestation_group(provider: Provider) -> dict[str, Any] | None:
    """The provider's ``mercato:attestation`` tag group (index results), as plain data."""
    for g in provider.tags or ():
        if g.descriptor is not None and g.descriptor.code == ATTESTATION_CODE:
            return g.model_dump(by_alias=True, exclude_none=True)
    return None


def _item_view(item: Item) -> dict[str, Any]:
    available = None
    if item.quantity is not None and item.quantity.available is not None:
        available = item.quantity.available.count
    currency = item.price.currency if item.price is not None else None
    terms = _tag_values(item, "terms")
    breaks = sorted(
        (int(q), to_minor(v, currency)) for q, v in _tag_values(item, "price_breaks").items() if q.isdigit()
    )
    return {
        "id": item.id,
        "name": item.descriptor.name if item.descriptor else None,
        **price_view(item.price),
        "category_ids": list(item.category_ids or ()),
        "available": available,
        # what the storefront shows besides the price: shipping time, volume price tiers, rating
        "time_to_ship": terms.get("time_to_ship"),
        "price_breaks": [{"min_quantity": q, "price": p} for q, p in breaks if p is not None],
        "rating": item.rating,
    }


def _tag_values(item: Item, code: str) -> dict[str, str]:
    for g in item.tags or ():
        if g.descriptor is not None and g.descriptor.code == code:
            return {
                t.descriptor.code: str(t.value)
                for t in g.list_ or ()
                if t.descriptor is not None and t.descriptor.code and t.value is not None
            }
    return {}


def _with_pool(view: dict[str, Any], item: Item) -> dict[str, Any]:
    """A pool offer keeps its pool terms and progress (``pool`` tags) and tiers (``pool_tiers``)."""
    pool = _tag_values(item, "pool")
    if pool:
        view["pool"] = {**pool, "tiers": _tag_values(item, "pool_tiers")}
    return view


def search_results(
    catalog: Catalog,
    *,
    bpp_id: str,
    bpp_uri: str,
    transaction_id: str,
    source: str,
    attestations: dict[int, Attestation] | None = None,
) -> list[dict[str, Any]]:
    """One result per provider of an ``on_search`` catalog: who sells, and the items with prices.

    A provider answered from a gateway's index carries the seller's signed publication
    (``attestations[i]`` for provider ``i``, already verified by the caller): the result then names
    that seller, its catalog version and signature, and every item and price comes from the signed
    publication itself (an item the publication lacks is left out), never from the gateway.
    """
    out: list[dict[str, Any]] = []
    for index, provider in enumerate(catalog.providers or ()):
        att = (attestations or {}).get(index)
        items = []
        for item in provider.items or ():
            if att is not None:
                signed = att.item(provider.id or "", item.id or "")
                if signed is None:
                    continue
                item = Item.model_validate(signed)
            items.append(_with_pool(_item_view(item), item))
        result = {
            "bpp_id": bpp_id,
            "bpp_uri": bpp_uri,
            "provider_id": provider.id,
            "provider_name": provider.descriptor.name if provider.descriptor else None,
            "provider_rating": provider.rating,
            "cities": sorted({c.city.code for c in provider.locations or () if c.city and c.city.code}),
            "items": items,
            "transaction_id": transaction_id,
            "source": source,
            "catalog_version": None,
            "signature": None,
        }
        if att is not None:
            group = attestation_group(provider) or {}
            values = {
                (t.get("descriptor") or {}).get("code"): t.get("value") for t in group.get("list") or ()
            }
            uri = values.get("bpp_uri")
            result.update(
                bpp_id=att.bpp_id,
                bpp_uri=uri if isinstance(uri, str) else bpp_uri,
                source="index",
                catalog_version=str(att.version),
                signature=att.signature.render(),
            )
        out.append(result)
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
