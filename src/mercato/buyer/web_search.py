"""What the storefront shows of a network search: one offer per (seller, item), filtered and sorted.

Pure: takes the buyer node's search results (plain dicts, see :mod:`mercato.buyer.views`) and the
query parameters of the search page, returns offers and the errors of bad parameters. The promise
date of a search result is an estimate (now + the seller's time to ship + transit); the seller
confirms the real one when the order is quoted at checkout.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

SORTS = {
    "relevance": "Best match",
    "price": "Price: low to high",
    "price_desc": "Price: high to low",
    "delivery": "Earliest delivery",
    "rating": "Best rated",
    "seller": "Seller name",
}
# cities of the ONDC std codes the seeded network serves; a code typed in by hand is allowed too
CITIES = {
    "std:080": "Bengaluru",
    "std:011": "Delhi",
    "std:022": "Mumbai",
    "std:044": "Chennai",
    "std:040": "Hyderabad",
    "std:033": "Kolkata",
    "std:020": "Pune",
}
TRANSIT = timedelta(days=1)  # the sellers' same-city delivery estimate
MAX_TEXT = 100
MAX_PRICE_MINOR = 10**12
_CITY = re.compile(r"^std:\d{2,5}$")
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


@dataclass(frozen=True)
class Offer:
    bpp_id: str
    bpp_uri: str
    provider_id: str
    provider_name: str
    item_id: str
    name: str
    price: int | None
    currency: str
    category: str | None
    available: int | None
    ships_in: timedelta | None
    promise: date | None
    rating: float | None
    price_breaks: tuple[tuple[int, int], ...] = ()
    cities: tuple[str, ...] = ()
    source: str = "seller"
    rank: int = 0  # order of arrival: the "best match" sort
    pool: str | None = None  # a demand pool's offer (a group run): its pool and coordinator
    coordinator: str | None = None
    ratings: int = 0  # when the seller publishes no rating: how many buyers of this node rated it

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.bpp_id, self.provider_id, self.item_id)

    @property
    def in_stock(self) -> bool:
        return self.available is None or self.available > 0

    def unit_price(self, quantity: int) -> int | None:
        """The price per unit at this quantity: the best volume tier reached, else the list price."""
        best = self.price
        for min_q, price in self.price_breaks:
            if quantity >= min_q and (best is None or price < best):
                best = price
        return best

    def next_tier(self, quantity: int) -> tuple[int, int] | None:
        """The next volume tier above ``quantity``: (how many more units, its unit price)."""
        for min_q, price in self.price_breaks:
            if min_q > quantity:
                return (min_q - quantity, price)
        return None


@dataclass
class Filters:
    text: str = ""
    category: str = ""
    city: str = ""
    min_price: int | None = None
    max_price: int | None = None
    deliver_by: date | None = None
    sort: str = "relevance"
    values: dict[str, str] = field(default_factory=dict)  # as typed, to fill the form again

    @property
    def searchable(self) -> bool:
        return bool(self.text or self.category)


def parse_duration(text: Any) -> timedelta | None:
    """``PT4H``, ``P2D``, ``PT3600S``, ``P1DT2H`` -> timedelta; None when absent or not understood."""
    if not isinstance(text, str):
        return None
    m = _DURATION.match(text.strip())
    if m is None or not any(m.groups()):
        return None
    d, h, mi, s = (int(g or 0) for g in m.groups())
    return timedelta(days=d, hours=h, minutes=mi, seconds=s)


def parse_money(text: str, exponent: int = 2) -> int | None:
    """``"120.5"`` -> 12050 minor units; None when it is not a non-negative amount."""
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0:
        return None
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value() or minor > MAX_PRICE_MINOR:
        return None
    return int(minor)


def _rating(value: Any) -> float | None:
    try:
        r = float(value)
    except (TypeError, ValueError):
        return None
    return r if 0 <= r <= 5 else None


def promise_date(now: datetime, ships_in: timedelta | None) -> date | None:
    if ships_in is None:
        return None
    return (now.astimezone(UTC) + ships_in + TRANSIT).date()


def offers_from_results(
    results: Iterable[Mapping[str, Any]],
    now: datetime,
    local_ratings: Mapping[tuple[str, str], tuple[float, int]] | None = None,
) -> list[Offer]:
    """One offer per (seller, provider, item). A seller's own answer replaces the gateway index's
    copy of the same item (it is fresher); otherwise the first one is kept. The rating is the
    item's, else the seller's, else the average of the ratings this node's buyers gave the seller
    (``local_ratings``: (seller, provider) -> (average, count))."""
    out: dict[tuple[str, str, str], Offer] = {}
    local = local_ratings or {}
    for result in results:
        bpp_id, provider_id = result.get("bpp_id"), result.get("provider_id")
        if not isinstance(bpp_id, str) or not isinstance(provider_id, str):
            continue
        for item in result.get("items") or ():
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                continue
            ships_in = parse_duration(item.get("time_to_ship"))
            rating = _rating(item.get("rating")) or _rating(result.get("provider_rating"))
            count = 0
            if rating is None and (bpp_id, provider_id) in local:
                rating, count = local[(bpp_id, provider_id)]
            breaks = tuple(
                (int(b["min_quantity"]), int(b["price"]))
                for b in item.get("price_breaks") or ()
                if isinstance(b, Mapping)
                and isinstance(b.get("min_quantity"), int)
                and isinstance(b.get("price"), int)
            )
            offer = Offer(
                bpp_id=bpp_id,
                bpp_uri=str(result.get("bpp_uri") or ""),
                provider_id=provider_id,
                provider_name=str(result.get("provider_name") or provider_id),
                item_id=item["id"],
                name=str(item.get("name") or item["id"]),
                price=item.get("price") if isinstance(item.get("price"), int) else None,
                currency=str(item.get("currency") or "INR"),
                category=(item.get("category_ids") or [None])[0],
                available=item.get("available") if isinstance(item.get("available"), int) else None,
                ships_in=ships_in,
                promise=promise_date(now, ships_in),
                rating=rating,
                ratings=count,
                price_breaks=tuple(sorted(breaks)),
                cities=tuple(result.get("cities") or ()),
                source=str(result.get("source") or "seller"),
                rank=len(out),
                **_pool_of(item),
            )
            known = out.get(offer.key)
            if known is None:
                out[offer.key] = offer
            elif known.source == "index" and offer.source != "index":
                out[offer.key] = Offer(**{**offer.__dict__, "rank": known.rank})
    return list(out.values())


def _pool_of(item: Mapping[str, Any]) -> dict[str, str]:
    pool = item.get("pool")
    if not isinstance(pool, Mapping):
        return {}
    pid, coordinator = pool.get("pool"), pool.get("coordinator")
    if not isinstance(pid, str) or not isinstance(coordinator, str):
        return {}
    if not pid or not coordinator.startswith(("http://", "https://")):
        return {}
    return {"pool": pid, "coordinator": coordinator.rstrip("/")}


def parse_filters(params: Mapping[str, str]) -> tuple[Filters, dict[str, str]]:
    """The search page's query parameters -> filters, and an error per bad parameter."""
    errors: dict[str, str] = {}
    values = {
        k: str(params.get(k, "")).strip() for k in ("q", "category", "city", "min", "max", "by", "sort")
    }
    f = Filters(values=values)
    f.text = values["q"]
    if len(f.text) > MAX_TEXT:
        errors["q"] = f"Search for at most {MAX_TEXT} characters"
    f.category = values["category"]
    if len(f.category) > MAX_TEXT:
        errors["category"] = "Choose a category from the list"
    if values["city"]:
        if _CITY.match(values["city"]):
            f.city = values["city"]
        else:
            errors["city"] = "Choose a city from the list"
    for name, attr, label in (("min", "min_price", "Lowest price"), ("max", "max_price", "Highest price")):
        if values[name]:
            amount = parse_money(values[name])
            if amount is None:
                errors[name] = f"{label} must be an amount like 250 or 99.50"
            else:
                setattr(f, attr, amount)
    if f.min_price is not None and f.max_price is not None and f.min_price > f.max_price:
        errors["max"] = "Highest price must not be below the lowest price"
    if values["by"]:
        try:
            f.deliver_by = date.fromisoformat(values["by"])
        except ValueError:
            errors["by"] = "Delivery date must be a date (YYYY-MM-DD)"
    if values["sort"]:
        if values["sort"] in SORTS:
            f.sort = values["sort"]
        else:
            errors["sort"] = "Choose a sort order from the list"
    return f, errors


def apply(offers: Iterable[Offer], f: Filters) -> list[Offer]:
    """Keep the offers inside the price range, deliverable by the date, then sort them."""
    kept = []
    for o in offers:
        if f.min_price is not None and (o.price is None or o.price < f.min_price):
            continue
        if f.max_price is not None and (o.price is None or o.price > f.max_price):
            continue
        if f.deliver_by is not None and (o.promise is None or o.promise > f.deliver_by):
            continue
        kept.append(o)
    big = 2**62
    far = date.max
    keys: dict[str, Any] = {
        "relevance": lambda o: (o.rank,),
        "price": lambda o: (o.price if o.price is not None else big, o.rank),
        "price_desc": lambda o: (-(o.price if o.price is not None else -1), o.rank),
        "delivery": lambda o: (o.promise or far, o.price if o.price is not None else big, o.rank),
        "rating": lambda o: (-(o.rating if o.rating is not None else -1.0), o.rank),
        "seller": lambda o: (o.provider_name.lower(), o.name.lower(), o.rank),
    }
    return sorted(kept, key=keys[f.sort])
