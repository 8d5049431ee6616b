"""Catalog CRUD: providers (with their delivery policy), locations, categories, items and variants.

Every write is validated by the domain first (:class:`mercato.seller.domain.Catalog` checks references
and values), then stored in one transaction. Items are never deleted while orders may name them:
:func:`deactivate_item` hides an item from new quotes instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from mercato.protocol.errors import Code
from mercato.seller.domain import (
    Catalog,
    Category,
    DeliveryPolicy,
    Item,
    Location,
    Money,
    Provider,
    UnknownEntity,
)

from .catalog_cache import CachedItem, CachedProvider, Snapshot, cache_of, snapshot_in
from .codec import address_json, category_of, descriptor_json, item_of, item_values, location_of, provider_of
from .tables import CategoryRow, ItemRow, LocationRow, ProviderRow, table_of
from .txn import Store, check_now


def put_provider(store: Store, provider: Provider, now: datetime,
                 delivery: DeliveryPolicy | None = None) -> None:  # fmt: skip
    """Create or replace a provider and its delivery policy."""
    check_now(now)
    Catalog().add_provider(provider)
    with store.write() as s:
        row = s.get(ProviderRow, provider.id) or ProviderRow(id=provider.id)
        row.descriptor = descriptor_json(provider.descriptor)
        row.currency = provider.currency
        row.delivery_charge = delivery.charge.amount if delivery else None
        row.delivery_free_from = delivery.free_from.amount if delivery and delivery.free_from else None
        row.delivery_tax_bp = delivery.tax_rate_bp if delivery else 0
        row.updated_at = now
        s.add(row)


def put_location(store: Store, location: Location, now: datetime) -> None:
    check_now(now)
    with store.write() as s:
        Catalog(providers={location.provider_id: _provider(s, location.provider_id)}).add_location(location)
        row = s.get(LocationRow, location.id) or LocationRow(id=location.id)
        row.provider_id = location.provider_id
        row.address = address_json(location.address)
        row.gps = str(location.gps)
        row.cities = sorted(location.cities)
        row.radius_m = location.radius_m
        row.pickup = location.pickup
        row.updated_at = now
        s.add(row)


def put_category(store: Store, category: Category) -> None:
    with store.write() as s:
        cats = {r.id: category_of(r) for r in s.scalars(select(CategoryRow))}
        cats.pop(category.id, None)
        Catalog(categories=cats).add_category(category)
        row = s.get(CategoryRow, category.id) or CategoryRow(id=category.id)
        row.name, row.parent_id = category.name, category.parent_id
        s.add(row)


def put_item(store: Store, item: Item, now: datetime) -> None:
    """Create or replace an item (a variant names its product in ``parent_item_id``)."""
    check_now(now)
    with store.write() as s:
        cat = Catalog(providers={item.provider_id: _provider(s, item.provider_id)})
        for loc_id in item.location_ids:
            loc_row = s.get(LocationRow, loc_id)
            if loc_row is None:
                raise UnknownEntity("location", loc_id, Code.PROVIDER_LOCATION_NOT_FOUND)
            cat.locations[loc_id] = location_of(loc_row)
        if item.category_id is not None:
            c = s.get(CategoryRow, item.category_id)
            if c is None:
                raise UnknownEntity("category", item.category_id, Code.CATEGORY_NOT_FOUND)
            cat.categories[c.id] = category_of(c)
        cat.add_item(item)
        existing = s.get(ItemRow, item.id)
        if existing is not None and existing.provider_id != item.provider_id:
            raise UnknownEntity(f"item of provider {item.provider_id}", item.id, Code.ITEM_NOT_FOUND)
        row = existing or ItemRow(id=item.id)
        for k, v in item_values(item).items():
            setattr(row, k, v)
        row.active = True
        row.updated_at = now
        s.add(row)


def deactivate_item(store: Store, item_id: str, now: datetime) -> None:
    check_now(now)
    with store.write() as s:
        row = s.get(ItemRow, item_id)
        if row is None:
            raise UnknownEntity("item", item_id, Code.ITEM_NOT_FOUND)
        row.active, row.updated_at = False, now


def _provider(s: Session, provider_id: str) -> Provider:
    row = s.get(ProviderRow, provider_id)
    if row is None:
        raise UnknownEntity("provider", provider_id, Code.PROVIDER_NOT_FOUND)
    return provider_of(row)


def delivery_policy(s: Session, provider_id: str) -> DeliveryPolicy | None:
    row = s.get(ProviderRow, provider_id)
    if row is None:
        raise UnknownEntity("provider", provider_id, Code.PROVIDER_NOT_FOUND)
    return _policy(row)


def _policy(row: ProviderRow) -> DeliveryPolicy | None:
    if row.delivery_charge is None:
        return None
    free = Money(row.delivery_free_from, row.currency) if row.delivery_free_from is not None else None
    return DeliveryPolicy(Money(row.delivery_charge, row.currency), free, row.delivery_tax_bp)


# -- reading -------------------------------------------------------------------------------------


# Built once: executing a ready statement skips building it and its cache key on every quote.
_PROVIDER = select(table_of(ProviderRow)).where(table_of(ProviderRow).c.id == bindparam("p"))
_LOCATIONS = select(table_of(LocationRow)).where(table_of(LocationRow).c.provider_id == bindparam("p"))
_ITEMS = select(table_of(ItemRow)).where(table_of(ItemRow).c.id.in_(bindparam("ids", expanding=True)))


def load_for(s: Session, provider_id: str, item_ids: Iterable[str], *, active_only: bool = True) -> Catalog:
    """The part of the catalog a quote for these items needs: the provider, its locations, the items.

    Unknown (or deactivated) items raise :class:`UnknownEntity` with ITEM_NOT_FOUND."""
    return load_for_quote(s, provider_id, item_ids, active_only=active_only)[0]


def load_for_quote(
    s: Session, provider_id: str, item_ids: Iterable[str], *, active_only: bool = True
) -> tuple[Catalog, DeliveryPolicy | None]:
    """:func:`load_for` and the provider's delivery policy: from the store's catalog cache while the
    catalog version holds (catalog_cache.py), otherwise in plain SELECTs (the rows carry the ORM
    classes' attribute names, which is all the codec reads)."""
    ids = sorted(set(item_ids))
    s.flush()
    conn = s.connection()
    cache = cache_of(s)
    snap = snapshot_in(cache, s) if cache is not None else Snapshot(0)
    p = snap.providers.get(provider_id, _MISSING)
    if p is _MISSING:
        p = _load_provider(conn, provider_id)
        snap.providers[provider_id] = p
    if p is None:
        raise UnknownEntity("provider", provider_id, Code.PROVIDER_NOT_FOUND)
    assert isinstance(p, CachedProvider)
    cat = Catalog(providers={provider_id: p.provider}, locations={loc.id: loc for loc in p.locations})
    wanted = [i for i in ids if i not in snap.items]
    if cache is not None:
        cache.count(not wanted)
    if wanted:
        rows = {r.id: r for r in conn.execute(_ITEMS, {"ids": wanted})}
        for item_id in wanted:
            row = rows.get(item_id)
            snap.items[item_id] = None if row is None else CachedItem(item_of(cast(ItemRow, row)), row.active)
    for item_id in ids:
        got = snap.items.get(item_id)
        if got is None or (active_only and not got.active):
            raise UnknownEntity("item", item_id, Code.ITEM_NOT_FOUND)
        cat.items[item_id] = got.item
    return cat, p.policy


_MISSING: Any = object()


def _load_provider(conn: Connection, provider_id: str) -> CachedProvider | None:
    p = conn.execute(_PROVIDER, {"p": provider_id}).first()
    if p is None:
        return None
    rows = conn.execute(_LOCATIONS, {"p": provider_id})
    locations = tuple(location_of(cast(LocationRow, loc)) for loc in rows)
    return CachedProvider(provider_of(cast(ProviderRow, p)), _policy(cast(ProviderRow, p)), locations)


def load_items(s: Session, item_ids: Iterable[str]) -> Catalog:
    """Items (active or not) with their providers and locations: enough for order actions."""
    ids = sorted(set(item_ids))
    cat = Catalog()
    for row in s.scalars(select(ItemRow).where(ItemRow.id.in_(ids))):
        cat.items[row.id] = item_of(row)
        if row.provider_id not in cat.providers:
            cat.providers[row.provider_id] = _provider(s, row.provider_id)
            for loc in s.scalars(select(LocationRow).where(LocationRow.provider_id == row.provider_id)):
                cat.locations[loc.id] = location_of(loc)
    return cat


def load_all(store: Store, *, active_only: bool = True) -> Catalog:
    """The whole catalog (for search and publishing), checked by the domain on the way in."""
    with store.read() as s:
        providers = [provider_of(r) for r in s.scalars(select(ProviderRow).order_by(ProviderRow.id))]
        locations = [location_of(r) for r in s.scalars(select(LocationRow).order_by(LocationRow.id))]
        categories = _topological([category_of(r) for r in s.scalars(select(CategoryRow))])
        q = select(ItemRow).order_by(ItemRow.id)
        if active_only:
            q = q.where(ItemRow.active.is_(True))
        items = [item_of(r) for r in s.scalars(q)]
    return Catalog.build(providers, locations, categories, items)


def _topological(categories: list[Category]) -> list[Category]:
    by_id = {c.id: c for c in categories}
    out: list[Category] = []
    done: set[str] = set()

    def visit(c: Category) -> None:
        if c.id in done:
            return
        done.add(c.id)
        if c.parent_id in by_id:
            visit(by_id[c.parent_id])
        out.append(c)

    for c in sorted(categories, key=lambda c: c.id):
        visit(c)
    return out
