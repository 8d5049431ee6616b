"""The catalog rows every quote reads, kept in memory for as long as the catalog's version holds.

Every select, init and confirm needs the provider (with its delivery policy and locations), the
basket's items and whether any of them is a pool offer. Those rows change rarely and are read
hundreds of times a second, so each process keeps them here, keyed by the catalog version: one
integer in ``seller_catalog_version`` that database triggers (migration ``s0004``) raise in the same
transaction as any insert, update or delete of providers, locations, categories, items, pools or
pool offers — whoever writes them: the admin API, an importer, the console, another worker process,
hand-written SQL. A quote reads that integer in its own transaction (one small SELECT instead of
four); while it is unchanged the rows come from memory, and a new version starts an empty snapshot.

Consistency: the version is read before any cached row is loaded, in the same transaction. A row
loaded for version V was read at V or later, so a snapshot never serves data older than its version;
it may serve a newer row for a moment (a writer committed between the two reads), which every reader
of the older version would also accept, and which confirm's re-check of the quote treats as any
price change. On SQLite the transaction is a snapshot and the question does not arise.

Cached values are shared between threads and must never be mutated: the domain's Provider, Location
and Item are frozen; a quote gets a new :class:`~mercato.seller.domain.Catalog` built from them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from mercato.db import Prepared
from mercato.seller.domain import DeliveryPolicy, Item, Location, Provider

from .tables import CatalogVersionRow, table_of

SESSION_KEY = "mercato.catalog_cache"  # Session.info key: the store's cache (set by Store)
_VERSIONS = table_of(CatalogVersionRow)
_VERSION = Prepared(select(_VERSIONS.c.version).where(_VERSIONS.c.id == 1))


@dataclass(frozen=True, slots=True)
class CachedProvider:
    provider: Provider
    policy: DeliveryPolicy | None
    locations: tuple[Location, ...]


@dataclass(frozen=True, slots=True)
class CachedItem:
    item: Item
    active: bool


class Snapshot:
    """What was loaded at one catalog version. ``None`` values remember that a row does not exist."""

    __slots__ = ("version", "providers", "items", "pools")

    def __init__(self, version: int) -> None:
        self.version = version
        self.providers: dict[str, CachedProvider | None] = {}
        self.items: dict[str, CachedItem | None] = {}
        self.pools: dict[str, Any] = {}  # item id -> its pool row (detached, read-only) or None


class CatalogCache:
    """One process's snapshot of the newest catalog version it has seen (thread-safe)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._snap = Snapshot(-1)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def snapshot(self, conn: Connection) -> Snapshot:
        """The snapshot for the version this transaction sees (read now, in ``conn``'s transaction)."""
        return self.at(int(_VERSION.scalar(conn, {})))

    def at(self, version: int) -> Snapshot:
        """The snapshot for catalog ``version`` (kept if it is the newest seen)."""
        snap = self._snap
        if version == snap.version:
            if len(snap.items) + len(snap.pools) > self.max_entries:  # a huge catalog: start over
                snap.items.clear()
                snap.pools.clear()
            return snap
        with self._lock:
            snap = self._snap
            if version == snap.version:
                return snap
            fresh = Snapshot(version)
            if version > snap.version:  # an older transaction never replaces a newer snapshot
                self._snap = fresh
            return fresh

    def count(self, hit: bool) -> None:
        if hit:
            self.hits += 1
        else:
            self.misses += 1


def cache_of(session: Session) -> CatalogCache | None:
    cache: CatalogCache | None = session.info.get(SESSION_KEY)
    return cache


_SNAPSHOT_KEY = "mercato.catalog_snapshot"


def snapshot_in(cache: CatalogCache, session: Session) -> Snapshot:
    """The snapshot for ``session``'s transaction: the version is read once per transaction (a step
    that checks pool offers and prices its basket in one transaction reads it once)."""
    txn = session.get_transaction()
    held = session.info.get(_SNAPSHOT_KEY)
    if held is not None and txn is not None and held[0] is txn:
        snap: Snapshot = held[1]
        return snap
    snap = cache.snapshot(session.connection())
    session.info[_SNAPSHOT_KEY] = (session.get_transaction(), snap)
    return snap
