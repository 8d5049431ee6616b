"""The quote cache (catalog_cache.py): served from memory while the catalog version holds, and every
change to what a quote reads — through the store, by plain SQL from another connection or another
process's store, to providers, locations, items, pools or pool offers — is seen by the next quote
(SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event, text

from mercato.seller.domain import LineRequest, UnknownEntity
from mercato.seller.store import Store, catalog, open_store
from mercato.seller.store import pools as store_pools
from mercato.seller.store.catalog_cache import CatalogCache, Snapshot
from mercato.seller.store.checkout import Basket, quote, quote_with_catalog

from .helpers import T0, inr, make_shop

BASKET = Basket("P1", [LineRequest("HOT", 2), LineRequest("TEA", 1)], city="std:080")


@pytest.fixture
def other(db_url: str) -> Iterator[Store]:
    """A second store on the same database: another worker process as far as the cache can tell."""
    s = open_store(db_url, migrate=False)
    yield s
    s.engine.dispose()


def statements(store: Store) -> list[str]:
    seen: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def _count(_conn: Any, _cur: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    return seen


def version(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT version FROM seller_catalog_version")).scalar_one())


def test_a_second_quote_reads_only_the_version_and_the_stock(store: Store) -> None:
    make_shop(store)
    quote(store, BASKET)
    seen = statements(store)
    hits = store.catalog_cache.hits
    quote(store, BASKET)
    assert store.catalog_cache.hits == hits + 1
    touched = " ".join(seen).lower()
    assert "seller_catalog_version" in touched and "seller_stock_levels" in touched
    for table in ("seller_items", "seller_providers", "seller_locations"):
        assert f"from {table}" not in touched, seen


def test_store_writes_raise_the_version_and_the_next_quote_sees_them(store: Store) -> None:
    make_shop(store)
    assert quote(store, BASKET).line("HOT").unit_price == inr(25_000)
    v = version(store)
    item = catalog.load_all(store).item("HOT")
    catalog.put_item(store, replace(item, price=inr(26_000)), T0)
    assert version(store) > v
    assert quote(store, BASKET).line("HOT").unit_price == inr(26_000)
    catalog.deactivate_item(store, "TEA", T0)
    with pytest.raises(UnknownEntity):
        quote(store, BASKET)


def test_plain_sql_from_another_connection_is_seen(store: Store, other: Store) -> None:
    make_shop(store)
    quote(store, BASKET)
    with other.engine.begin() as conn:  # not through the store: an importer, psql, another worker
        conn.execute(text("UPDATE seller_items SET price = 27000 WHERE id = 'HOT'"))
    assert quote(store, BASKET).line("HOT").unit_price == inr(27_000)
    with other.engine.begin() as conn:
        conn.execute(text("UPDATE seller_providers SET delivery_charge = 5000 WHERE id = 'P1'"))
    assert quote(store, BASKET).delivery == inr(5_000)
    with other.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO seller_locations (id, provider_id, address, gps, cities, pickup, updated_at) "
                "SELECT 'L3', provider_id, address, gps, cities, pickup, updated_at FROM seller_locations "
                "WHERE id = 'L2'"
            )
        )
    _, cat = quote_with_catalog(store, BASKET)
    assert set(cat.locations) == {"L1", "L2", "L3"}


def test_a_new_item_after_an_unknown_one_was_cached(store: Store) -> None:
    make_shop(store)
    ghost = Basket("P1", [LineRequest("NEW", 1)])
    with pytest.raises(UnknownEntity):
        quote(store, ghost)  # cached as missing at this version
    item = catalog.load_all(store).item("TEA")
    catalog.put_item(store, replace(item, id="NEW"), T0)
    assert quote(store, ghost).line("NEW").quantity == 1


def test_pool_offers_and_pool_states_are_seen(store: Store) -> None:
    make_shop(store)
    assert store_pools.pools_of_items(store, ["HOT", "TEA"]) == {}
    with store.write() as s:
        s.execute(
            text(
                "INSERT INTO seller_pools (id, deadline, capacity, state, created_at) "
                "VALUES ('pool-1', :t, 100, 'open', :t)"
            ),
            {"t": T0.replace(tzinfo=None)},
        )
        s.execute(
            text(
                "INSERT INTO seller_pool_offers (item_id, pool_id, body, signature, public_key, updated_at) "
                "VALUES ('HOT', 'pool-1', '{}', 's', 'k', :t)"
            ),
            {"t": T0.replace(tzinfo=None)},
        )
    found = store_pools.pools_of_items(store, ["HOT", "TEA"])
    assert set(found) == {"HOT"} and found["HOT"].state == "open"
    with store.write() as s:
        s.execute(text("UPDATE seller_pools SET state = 'cleared' WHERE id = 'pool-1'"))
    assert store_pools.pools_of_items(store, ["HOT"])["HOT"].state == "cleared"


def test_an_older_transaction_never_replaces_a_newer_snapshot() -> None:
    cache = CatalogCache()
    s5 = cache.at(5)
    s5.items["X"] = None
    assert cache.at(5) is s5
    s4 = cache.at(4)
    assert s4 is not s5 and isinstance(s4, Snapshot) and s4.items == {}
    assert cache.at(5) is s5
    s6 = cache.at(6)
    assert s6 is not s5 and cache.at(6) is s6


def test_a_huge_snapshot_starts_over() -> None:
    cache = CatalogCache(max_entries=3)
    snap = cache.at(1)
    for i in range(4):
        snap.items[str(i)] = None
    assert cache.at(1).items == {}
