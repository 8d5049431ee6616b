"""Applying publications to the index, and reading it back.

:meth:`CatalogIndex.apply` runs in one transaction: a snapshot replaces every item of the seller,
a delta must build on the version the index holds (else :class:`SnapshotRequired`), and a version
that is not newer than the held one is :class:`StaleVersion`. The exact publication bytes and the
seller's ``Authorization`` are kept for as long as an indexed item comes from them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from mercato.db import make_engine, run_migrations
from mercato.gateway.index import fulltext
from mercato.gateway.index.query import IndexQuery
from mercato.gateway.index.tables import items, providers, publications, sellers
from mercato.protocol.catalog_publish import IndexEntry, Publication, index_entries

SCRIPT_LOCATION = "mercato.gateway:migrations"


class VersionConflict(Exception):
    reason = "conflict"

    def __init__(self, message: str, current: int | None) -> None:
        super().__init__(message)
        self.current = current


class StaleVersion(VersionConflict):
    reason = "stale_version"


class SnapshotRequired(VersionConflict):
    reason = "snapshot_required"


@dataclass(frozen=True, slots=True)
class Hit:
    bpp_id: str
    bpp_uri: str
    domain: str
    provider_id: str
    item_id: str
    name: str
    category_ids: tuple[str, ...]
    cities: tuple[str, ...]
    price_minor: int | None
    currency: str | None
    version: int
    publication_id: int
    item: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredPublication:
    bpp_id: str
    bpp_uri: str
    version: int
    kind: str
    body: bytes
    authorization: str


class CatalogIndex:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.backend = fulltext.for_dialect(engine.dialect.name)

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> CatalogIndex:
        engine = make_engine(url)
        if migrate:
            run_migrations(engine, SCRIPT_LOCATION)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    # --- writing --------------------------------------------------------------------------------

    def apply(self, pub: Publication, body: bytes, authorization: str) -> int:
        """Index one verified publication; returns the number of items it added or replaced."""
        entries = index_entries(pub)
        now = time.time()
        try:
            with self.engine.begin() as conn:
                current = self._lock_seller(conn, pub, now)
                if pub.kind == "snapshot":
                    if current is not None and pub.version <= current:
                        raise StaleVersion(f"version {pub.version} is not newer than {current}", current)
                    self._delete_items(conn, pub.bpp_id, None)
                    conn.execute(sa.delete(providers).where(providers.c.bpp_id == pub.bpp_id))
                    conn.execute(sa.delete(publications).where(publications.c.bpp_id == pub.bpp_id))
                else:
                    if current is not None and pub.version <= current:
                        raise StaleVersion(f"version {pub.version} is not newer than {current}", current)
                    if current is None or pub.base_version != current:
                        raise SnapshotRequired(
                            f"this delta builds on version {pub.base_version}, the gateway holds "
                            f"{current if current is not None else 'nothing'}: publish a snapshot",
                            current,
                        )
                    keys = [(r.provider_id, r.item_id) for r in pub.removed]
                    keys += [(e.provider_id, e.item_id) for e in entries]
                    self._delete_items(conn, pub.bpp_id, keys)
                pub_id = conn.execute(
                    sa.insert(publications)
                    .values(
                        bpp_id=pub.bpp_id,
                        version=pub.version,
                        kind=pub.kind,
                        body=body,
                        authorization=authorization,
                        received_at=now,
                    )
                    .returning(publications.c.id)
                ).scalar_one()
                self._upsert_providers(conn, pub, entries)
                self._insert_items(conn, pub, entries, pub_id)
                conn.execute(
                    sa.update(sellers)
                    .where(sellers.c.bpp_id == pub.bpp_id)
                    .values(version=pub.version, bpp_uri=pub.bpp_uri, domain=pub.domain, updated_at=now)
                )
                if pub.kind == "delta":
                    self._drop_unused_publications(conn, pub.bpp_id)
        except IntegrityError:  # a concurrent publish of the same seller won the race
            raise StaleVersion("another publication of this version arrived first", None) from None
        return len(entries)

    def _lock_seller(self, conn: Connection, pub: Publication, now: float) -> int | None:
        q = sa.select(sellers.c.version).where(sellers.c.bpp_id == pub.bpp_id)
        if conn.dialect.name == "postgresql":
            q = q.with_for_update()
        else:  # take SQLite's write lock before reading, so the check and the write are one step
            conn.execute(sa.update(sellers).where(sellers.c.bpp_id == pub.bpp_id).values(updated_at=now))
        current = conn.execute(q).scalar_one_or_none()
        if current is None:
            conn.execute(
                sa.insert(sellers).values(
                    bpp_id=pub.bpp_id, bpp_uri=pub.bpp_uri, domain=pub.domain, version=0, updated_at=now
                )
            )
            return None
        return int(current) if current > 0 else None

    def _delete_items(self, conn: Connection, bpp_id: str, keys: list[tuple[str, str]] | None) -> None:
        where = items.c.bpp_id == bpp_id
        if keys is not None:
            if not keys:
                return
            where = sa.and_(where, sa.tuple_(items.c.provider_id, items.c.item_id).in_(keys))
        self.backend.delete(conn, sa.select(items.c.id).where(where))
        conn.execute(sa.delete(items).where(where))

    def _upsert_providers(self, conn: Connection, pub: Publication, entries: list[IndexEntry]) -> None:
        seen: dict[str, dict[str, Any]] = {}
        for p in pub.catalog.get("providers") or []:
            seen[p["id"]] = {k: v for k, v in p.items() if k != "items"}
        if not seen:
            return
        conn.execute(
            sa.delete(providers).where(
                providers.c.bpp_id == pub.bpp_id, providers.c.provider_id.in_(list(seen))
            )
        )
        conn.execute(
            sa.insert(providers),
            [
                {"bpp_id": pub.bpp_id, "provider_id": k, "provider_json": orjson.dumps(v)}
                for k, v in seen.items()
            ],
        )

    def _insert_items(
        self, conn: Connection, pub: Publication, entries: list[IndexEntry], pub_id: int
    ) -> None:
        if not entries:
            return
        rows = [
            {
                "bpp_id": pub.bpp_id,
                "provider_id": e.provider_id,
                "item_id": e.item_id,
                "domain": pub.domain,
                "name": e.name,
                "category_ids": " ".join(e.category_ids),
                "cities": " ".join(e.cities),
                "price_minor": e.price_minor,
                "currency": e.currency,
                "publication_id": pub_id,
                "item_json": orjson.dumps(e.item),
            }
            for e in entries
        ]
        self.backend.insert(conn, rows, [fulltext.document(e) for e in entries])

    def _drop_unused_publications(self, conn: Connection, bpp_id: str) -> None:
        used = sa.select(items.c.publication_id).where(items.c.bpp_id == bpp_id).distinct()
        newest = sa.select(sa.func.max(publications.c.id)).where(publications.c.bpp_id == bpp_id)
        conn.execute(
            sa.delete(publications).where(
                publications.c.bpp_id == bpp_id,
                publications.c.id.not_in(used),
                publications.c.id != newest.scalar_subquery(),
            )
        )

    # --- reading --------------------------------------------------------------------------------

    def search(self, query: IndexQuery) -> list[Hit]:
        with self.engine.connect() as conn:
            rows = self.backend.search(conn, query)
            if not rows:
                return []
            sellers_info = {
                r.bpp_id: (r.bpp_uri, r.domain)
                for r in conn.execute(
                    sa.select(sellers.c.bpp_id, sellers.c.bpp_uri, sellers.c.domain).where(
                        sellers.c.bpp_id.in_({r.bpp_id for r in rows})
                    )
                )
            }
            versions = dict(
                conn.execute(
                    sa.select(publications.c.id, publications.c.version).where(
                        publications.c.id.in_({r.publication_id for r in rows})
                    )
                ).all()
            )
        return [
            Hit(
                bpp_id=r.bpp_id,
                bpp_uri=sellers_info[r.bpp_id][0],
                domain=sellers_info[r.bpp_id][1],
                provider_id=r.provider_id,
                item_id=r.item_id,
                name=r.name,
                category_ids=tuple(r.category_ids.split()),
                cities=tuple(r.cities.split()),
                price_minor=r.price_minor,
                currency=r.currency,
                version=int(versions[r.publication_id]),
                publication_id=int(r.publication_id),
                item=orjson.loads(r.item_json),
            )
            for r in rows
        ]

    def publication(self, publication_id: int) -> StoredPublication | None:
        return self._one(publications.c.id == publication_id)

    def publication_of(self, bpp_id: str, version: int) -> StoredPublication | None:
        return self._one(sa.and_(publications.c.bpp_id == bpp_id, publications.c.version == version))

    def _one(self, where: Any) -> StoredPublication | None:
        q = (
            sa.select(publications, sellers.c.bpp_uri)
            .join(sellers, sellers.c.bpp_id == publications.c.bpp_id)
            .where(where)
        )
        with self.engine.connect() as conn:
            r = conn.execute(q).first()
        if r is None:
            return None
        return StoredPublication(r.bpp_id, r.bpp_uri, int(r.version), r.kind, bytes(r.body), r.authorization)

    def provider(self, bpp_id: str, provider_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            raw = conn.execute(
                sa.select(providers.c.provider_json).where(
                    providers.c.bpp_id == bpp_id, providers.c.provider_id == provider_id
                )
            ).scalar_one_or_none()
        return None if raw is None else dict(orjson.loads(raw))

    def version(self, bpp_id: str) -> int | None:
        with self.engine.connect() as conn:
            v = conn.execute(
                sa.select(sellers.c.version).where(sellers.c.bpp_id == bpp_id)
            ).scalar_one_or_none()
        return int(v) if v else None

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(items)).scalar_one())


def authorizations(index: CatalogIndex, publication_ids: set[int]) -> dict[int, str]:
    """The seller's ``Authorization`` of each publication (without loading the bodies)."""
    if not publication_ids:
        return {}
    with index.engine.connect() as conn:
        rows = conn.execute(
            sa.select(publications.c.id, publications.c.authorization).where(
                publications.c.id.in_(publication_ids)
            )
        )
        return {int(i): str(a) for i, a in rows}
