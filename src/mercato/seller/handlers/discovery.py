"""``search`` → ``on_search`` and ``select`` → ``on_select``.

search filters the node's catalog by text, category, item id, provider, city and price range, pages
through it (``pagination`` tag: ``page``, ``page_size``) and answers only items changed in a time window
when asked for an incremental catalog (``catalog_inc`` tag: ``start_time``, ``end_time``).
select prices the basket (a fresh quote with the quantity available per line) and estimates delivery:
the longest time to ship of the items plus a transit time by area (inside a location's radius: same
day; a served city: one day; otherwise: three days).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session

from mercato.protocol.errors import Code, ProtocolError
from mercato.protocol.models import SearchRequest, SelectRequest
from mercato.protocol.models.base import parse_rfc3339
from mercato.seller import pools as seller_pools
from mercato.seller.domain import Catalog, Item, Quote
from mercato.seller.store import Callback, checkout
from mercato.seller.store import catalog as store_catalog
from mercato.seller.store.checkout import Basket
from mercato.seller.store.tables import ItemRow, StockLevelRow

from . import beckn
from .env import Env
from .parse import Draft, bad, draft
from .reply import callback
from .supply import quote_promise

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
SAME_DAY = timedelta(hours=4)
SAME_CITY = timedelta(days=1)
ELSEWHERE = timedelta(days=3)


# -- search ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    text: str | None = None
    category: str | None = None
    item_id: str | None = None
    provider: str | None = None
    city: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    changed_from: datetime | None = None
    changed_to: datetime | None = None


def _tags(groups: Any) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for g in groups or []:
        code = g.descriptor.code if g.descriptor is not None else None
        if code:
            out[code] = {
                t.descriptor.code: str(t.value)
                for t in g.list_ or []
                if t.descriptor is not None and t.descriptor.code
            }
    return out


def _decimal(text: str | None, path: str) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise bad(f"not a decimal: {text!r}", path) from None


def _int(text: str, path: str, lo: int, hi: int) -> int:
    if not text.isdigit() or not lo <= int(text) <= hi:
        raise bad(f"must be an integer between {lo} and {hi}, got {text!r}", path)
    return int(text)


def search_query(req: SearchRequest) -> SearchQuery:
    """Read the search intent; a malformed one raises ProtocolError (NACK)."""
    intent = req.message.intent if req.message is not None else None
    city = req.context.location.city.code
    q: dict[str, Any] = {"city": None if city in ("*", "") else city}
    if intent is None:
        return SearchQuery(**q)
    if intent.descriptor is not None and intent.descriptor.name:
        q["text"] = intent.descriptor.name
    it = intent.item
    if it is not None:
        q["item_id"] = it.id
        if it.descriptor is not None and it.descriptor.name:
            q["text"] = it.descriptor.name
        if it.price is not None:
            q["min_price"] = _decimal(it.price.minimum_value, "message.intent.item.price.minimum_value")
            q["max_price"] = _decimal(it.price.maximum_value, "message.intent.item.price.maximum_value")
    if intent.category is not None:
        q["category"] = intent.category.id or (
            intent.category.descriptor.name if intent.category.descriptor else None
        )
    if intent.provider is not None:
        q["provider"] = intent.provider.id or (
            intent.provider.descriptor.name if intent.provider.descriptor else None
        )
    f = intent.fulfillment
    for stop in (f.stops or []) if f is not None else []:
        if stop.location is not None and stop.location.city is not None and stop.location.city.code:
            q["city"] = stop.location.city.code
    tags = _tags(intent.tags)
    page = tags.get("pagination", {})
    if "page" in page:
        q["page"] = _int(page["page"], "message.intent.tags.pagination.page", 1, 1_000_000)
    if "page_size" in page:
        q["page_size"] = _int(page["page_size"], "message.intent.tags.pagination.page_size", 1, MAX_PAGE_SIZE)
    inc = tags.get("catalog_inc", {})
    for key, name in (("start_time", "changed_from"), ("end_time", "changed_to")):
        if key in inc:
            try:
                q[name] = parse_rfc3339(inc[key])
            except ValueError:
                raise bad(f"{key} must be RFC 3339", f"message.intent.tags.catalog_inc.{key}") from None
    if inc and q.get("changed_from") is None:
        raise bad("catalog_inc needs a start_time", "message.intent.tags.catalog_inc.start_time")
    return SearchQuery(**q)


def _matches(item: Item, cat: Catalog, q: SearchQuery) -> bool:
    if q.item_id and item.id != q.item_id:
        return False
    if q.provider and q.provider not in (item.provider_id, cat.providers[item.provider_id].descriptor.name):
        return False
    if q.category:
        c = cat.categories.get(item.category_id or "")
        names: set[str] = set()
        while c is not None:
            names |= {c.id, c.name.lower()}
            c = cat.categories.get(c.parent_id or "")
        if q.category not in names and q.category.lower() not in names:
            return False
    if q.text:
        d = item.descriptor
        hay = " ".join((d.name, d.short_desc, d.long_desc, d.code, *(o.value for o in item.options))).lower()
        if not all(word in hay for word in q.text.lower().split()):
            return False
    value = Decimal(item.price.to_decimal())
    if q.min_price is not None and value < q.min_price:
        return False
    if q.max_price is not None and value > q.max_price:
        return False
    if q.city:
        return any(loc.serves(q.city) for loc in cat.locations_for(item.id))
    return True


def run_search(env: Env, q: SearchQuery) -> dict[str, Any]:
    """The ``on_search`` message for a query."""
    cat = store_catalog.load_all(env.store)
    with env.store.read() as s:
        changed: set[str] | None = None
        if q.changed_from is not None:
            stmt = sql_select(ItemRow.id).where(ItemRow.updated_at >= q.changed_from)
            if q.changed_to is not None:
                stmt = stmt.where(ItemRow.updated_at <= q.changed_to)
            changed = set(s.scalars(stmt))
        avail: dict[str, int] = {}
        for r in s.scalars(sql_select(StockLevelRow)):
            avail[r.item_id] = avail.get(r.item_id, 0) + max(0, r.on_hand - r.reserved)
    found = [
        i
        for i in sorted(cat.items.values(), key=lambda i: (i.provider_id, i.id))
        if (changed is None or i.id in changed) and _matches(i, cat, q)
    ]
    page = found[(q.page - 1) * q.page_size : q.page * q.page_size]
    pool_tags = seller_pools.pool_tags(env.store)  # pool offers carry their pool terms and progress
    providers: dict[str, dict[str, Any]] = {}
    for item in page:
        p = providers.get(item.provider_id)
        if p is None:
            p = beckn.provider_json(cat, item.provider_id)
            locs = sorted(loc.id for loc in cat.locations.values() if loc.provider_id == item.provider_id)
            p["locations"] = [beckn.location_json(cat, loc) for loc in locs]
            p["fulfillments"] = [
                {"id": "Delivery", "type": "Delivery"},
                {"id": "Self-Pickup", "type": "Self-Pickup"},
            ]
            p["categories"] = [
                {
                    "id": c.id,
                    "descriptor": {"name": c.name},
                    **({"parent_category_id": c.parent_id} if c.parent_id else {}),
                }
                for c in sorted(cat.categories.values(), key=lambda c: c.id)
            ]
            p["items"] = []
            providers[item.provider_id] = p
        p["items"].append(beckn.item_json(item, avail.get(item.id, 0)))
        if item.id in pool_tags:
            p["items"][-1]["tags"].extend(pool_tags[item.id])
    catalog: dict[str, Any] = {
        "descriptor": {"name": "Mercato seller"},
        "providers": list(providers.values()),
    }
    return {"catalog": catalog}


def pool_guard(
    env: Env, bap_id: str, transaction_id: str, basket: Basket, session: Session | None = None
) -> None:
    """Pool offers are ordered only for accepted commitments, after the clearing (NACK otherwise).
    ``session``: read in the caller's transaction."""
    lines = [(ln.item_id, ln.quantity) for ln in basket.lines]
    me = env.me.subscriber_id
    problem = seller_pools.pool_order_problem(env.store, me, bap_id, transaction_id, lines, session)
    if problem is not None:
        raise ProtocolError(Code.BUSINESS_ERROR, problem)


def search(env: Env, req: SearchRequest) -> Callback:
    return callback(req.context, "on_search", env.me, run_search(env, search_query(req)))


# -- select ----------------------------------------------------------------------------------------


def estimate(cat: Catalog, q: Quote, basket: Basket, now: datetime) -> tuple[datetime, datetime]:
    """Delivery window: the longest time to ship plus a transit time by area."""
    ship = max((cat.item(ln.item_id).time_to_ship for ln in q.lines), default=timedelta(0))
    transit = ELSEWHERE
    locs = [cat.locations[i] for i in q.location_ids if i in cat.locations]
    if basket.point is not None and any(
        loc.radius_m and loc.gps.distance_m(basket.point) <= loc.radius_m for loc in locs
    ):
        transit = SAME_DAY
    elif basket.city is not None and any(
        basket.city in loc.cities or basket.city == loc.address.city for loc in locs
    ):
        transit = SAME_CITY
    if basket.fulfillment.value == "Self-Pickup":
        transit = timedelta(0)
    start = now + ship
    return start, start + transit


def order_draft_json(
    cat: Catalog,
    q: Quote,
    basket: Basket,
    now: datetime,
    details: Mapping[str, Any] | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> dict[str, Any]:
    """The draft order of on_select / on_init: items with availability, a delivery estimate (``window``:
    the supply twin's promise; None: the simple rule), the quote."""
    items = []
    for ln in q.lines:
        items.append(
            {
                "id": ln.item_id,
                "fulfillment_ids": ["F1"],
                "price": beckn.price(ln.unit_price),
                "descriptor": {"name": cat.item(ln.item_id).descriptor.name},
                "quantity": {
                    "selected": {"count": ln.quantity},
                    "available": {"count": max(0, ln.available_quantity)},
                },
            }
        )
    d = details or {}
    provider = beckn.provider_json(cat, q.provider_id)
    provider["locations"] = [{"id": i} for i in q.location_ids]
    return {
        "provider": provider,
        "items": items,
        "fulfillments": [
            beckn.fulfillment_json(
                "F1",
                basket.fulfillment,
                None,
                d.get("end"),
                window or estimate(cat, q, basket, now),
                d.get("customer"),
            )
        ],
        "quote": beckn.quote_json(q),
    }


def select(env: Env, req: SelectRequest, d: Draft | None = None) -> Callback | None:
    """One write transaction: the pool guard, the fresh quote and saving it with its on_select.
    ``d``: the request's draft, if already parsed."""
    d = d if d is not None else draft(req.message.order if req.message else None, req.context)
    bap_id, txn = req.context.bap_id, str(req.context.transaction_id)
    with env.store.write() as s:
        pool_guard(env, bap_id, txn, d.basket, s)
        q, cat = checkout.quote_in(s, d.basket)
        now = env.now()
        q, window = quote_promise(env, q, d.basket, now, lambda q: estimate(cat, q, d.basket, now))
        message = {"order": order_draft_json(cat, q, d.basket, now, window=window)}
        error = None
        if not q.fully_available:
            short = "; ".join(
                f"{ln.item_id}: requested {ln.quantity}, {ln.available_quantity} left"
                for ln in q.lines
                if not ln.is_available
            )
            error = ProtocolError(Code.ITEM_QUANTITY_UNAVAILABLE, f"insufficient stock ({short})").to_error()
        cb = callback(req.context, "on_select", env.me, message, error)
        checkout.save_quote_in(s, bap_id, txn, q, "select", now, callback=cb)
    return None
