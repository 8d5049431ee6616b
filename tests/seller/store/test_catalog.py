"""Catalog CRUD and migrations in a real database."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import inspect

from mercato.db import run_migrations
from mercato.protocol.errors import Code
from mercato.seller.domain import (
    Category,
    CurrencyMismatch,
    Descriptor,
    InvalidInput,
    Item,
    Location,
    Money,
    Option,
    PriceBreak,
    Provider,
    UnknownEntity,
)
from mercato.seller.store import MIGRATIONS, Store, catalog

from .helpers import BLR, T0, inr, make_shop


def test_migration_creates_every_table_and_is_repeatable(store: Store) -> None:
    run_migrations(store.engine, MIGRATIONS)  # a second run is a no-op
    names = set(inspect(store.engine).get_table_names())
    expected = {"outbox", "seller_alembic_version"} | {
        "seller_" + t
        for t in (
            "providers",
            "locations",
            "categories",
            "items",
            "stock_levels",
            "stock_ledger",
            "quotes",
            "idempotency",
            "orders",
            "order_lines",
            "order_allocations",
            "fulfillment_events",
            "cancellations",
            "returns",
            "refunds",
            "ratings",
        )  # fmt: skip
    }
    assert expected <= names


def test_catalog_round_trip_with_variants(store: Store) -> None:
    make_shop(store)
    base = dict(provider_id="P1", price=inr(50_000), category_id="tea", tax_rate_bp=1200,
                price_breaks=(PriceBreak(5, inr(45_000)),), returnable=True, return_window=timedelta(days=10),
                time_to_ship=timedelta(hours=6), location_ids=("L1",))  # fmt: skip
    for size in ("S", "M"):
        item = Item(f"SHIRT-{size}", descriptor=Descriptor(f"Shirt {size}", images=("https://img.example/s.jpg",)),
                    parent_item_id="SHIRT", options=(Option("size", size),), **base)  # type: ignore[arg-type]  # fmt: skip
        catalog.put_item(store, item, T0)
    cat = catalog.load_all(store)
    assert cat.item("SHIRT-M") == item
    assert [i.id for i in cat.variants_of("SHIRT")] == ["SHIRT-M", "SHIRT-S"]
    assert cat.category("tea").parent_id == "grocery"
    assert cat.location("L1").gps == Location("L1", "P1", BLR, cat.location("L1").gps).gps
    catalog.put_item(store, replace(item, price=inr(55_000)), T0)  # update in place
    assert catalog.load_all(store).item("SHIRT-M").price == inr(55_000)
    catalog.deactivate_item(store, "SHIRT-M", T0)
    assert "SHIRT-M" not in catalog.load_all(store).items
    assert "SHIRT-M" in catalog.load_all(store, active_only=False).items


def test_catalog_refuses_bad_references(store: Store) -> None:
    make_shop(store)
    item = Item("X", "P1", Descriptor("X"), inr(100))
    with pytest.raises(UnknownEntity) as e:
        catalog.put_item(store, replace(item, provider_id="P9"), T0)
    assert e.value.code is Code.PROVIDER_NOT_FOUND
    with pytest.raises(UnknownEntity):
        catalog.put_item(store, replace(item, category_id="nope"), T0)
    with pytest.raises(UnknownEntity):
        catalog.put_item(store, replace(item, location_ids=("L9",)), T0)
    with pytest.raises(CurrencyMismatch):
        catalog.put_item(store, replace(item, price=Money(100, "USD")), T0)
    with pytest.raises(UnknownEntity):
        catalog.put_location(store, Location("L5", "P9", BLR, catalog.load_all(store).location("L1").gps), T0)
    with pytest.raises(UnknownEntity):
        catalog.put_category(store, Category("x", "X", "missing"))
    with pytest.raises(InvalidInput):  # a parent chain that loops
        catalog.put_category(store, Category("grocery", "Grocery", "tea"))
    with pytest.raises(InvalidInput):
        catalog.put_provider(store, Provider(" ", Descriptor("Blank")), T0)
    with pytest.raises(UnknownEntity):
        catalog.deactivate_item(store, "nope", T0)
    catalog.put_provider(store, Provider("P2", Descriptor("Other")), T0)
    with pytest.raises(UnknownEntity):  # an item id cannot move to another provider
        catalog.put_item(store, Item("HOT", "P2", Descriptor("Hot"), inr(1)), T0)
    assert set(catalog.load_all(store).items) == {"HOT", "TEA", "MUG"}
