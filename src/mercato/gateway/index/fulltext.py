"""The two full-text backends. Both index the same tokens (the words of an item's name,
descriptions and category names, split by :func:`text_tokens`, and exact-match keys for its
categories and cities), so a query finds the same items on SQLite and PostgreSQL.

* SQLite: an FTS5 table ``gateway_items_fts(words, keys)`` whose rowid is the item's id.
* PostgreSQL: ``gateway_items.tsv`` (``array_to_tsvector`` of the tokens) under a GIN index.

Results come in no particular relevance order: the first ``limit`` matches.
"""

from __future__ import annotations

from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import Connection

from mercato.gateway.index.query import IndexQuery
from mercato.gateway.index.tables import items
from mercato.protocol.catalog_publish import IndexEntry, text_tokens

_COLUMNS = (
    items.c.id,
    items.c.bpp_id,
    items.c.provider_id,
    items.c.item_id,
    items.c.name,
    items.c.category_ids,
    items.c.cities,
    items.c.price_minor,
    items.c.currency,
    items.c.publication_id,
    items.c.item_json,
)


def key(kind: str, value: str) -> str:
    """An exact-match token: ``k`` category, ``c`` city or ``p`` category-and-city, then the
    value's hex."""
    return kind + value.encode("utf-8").hex()


def document(entry: IndexEntry) -> tuple[list[str], list[str]]:
    words = text_tokens(" ".join((entry.name, entry.description, *entry.category_names)))
    keys = [key("k", c) for c in entry.category_ids]
    keys += [key("c", c) for c in entry.cities]
    # category and city together: one short posting list for the commonest filtered query
    keys += [key("p", f"{k}\n{c}") for k in entry.category_ids for c in entry.cities]
    return words, keys


def _key_groups(q: IndexQuery) -> list[list[str]]:
    """Each group is an OR of keys; the groups are ANDed. A city also matches items sold in ``*``."""
    if q.category and q.city:
        return [[key("p", f"{q.category}\n{q.city}"), key("p", f"{q.category}\n*")]]
    groups: list[list[str]] = []
    if q.category:
        groups.append([key("k", q.category)])
    if q.city:
        groups.append([key("c", q.city), key("c", "*")])
    return groups


def _terms(q: IndexQuery) -> list[str]:
    """The query's words, split and lower-cased as the documents were (nothing else reaches the
    FTS5 or tsquery syntax)."""
    return [tok for t in q.terms for tok in text_tokens(t)]


def _price_filter(q: IndexQuery) -> list[Any]:
    """Column filters checked on the few rows the full-text match leaves: the domain (every item
    of a one-domain network has it, so as a full-text key it would be a posting list as long as
    the index) and the price range."""
    out: list[Any] = []
    if q.domain:
        out.append(items.c.domain == q.domain)
    if q.min_price is not None:
        out.append(items.c.price_minor >= q.min_price)
    if q.max_price is not None:
        out.append(items.c.price_minor <= q.max_price)
    return out


class Backend(Protocol):
    def insert(
        self, conn: Connection, rows: list[dict[str, Any]], docs: list[tuple[list[str], list[str]]]
    ) -> None: ...

    def delete(self, conn: Connection, ids: sa.Select[Any]) -> None: ...

    def search(self, conn: Connection, q: IndexQuery) -> list[Any]: ...


class SqliteFts:
    def insert(
        self, conn: Connection, rows: list[dict[str, Any]], docs: list[tuple[list[str], list[str]]]
    ) -> None:
        start = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(items.c.id), 0))).scalar_one()) + 1
        for i, row in enumerate(rows):
            row["id"] = start + i
        conn.execute(sa.insert(items), rows)
        conn.exec_driver_sql(
            "INSERT INTO gateway_items_fts(rowid, words, keys) VALUES (?, ?, ?)",
            [(start + i, " ".join(w), " ".join(k)) for i, (w, k) in enumerate(docs)],
        )

    def delete(self, conn: Connection, ids: sa.Select[Any]) -> None:
        found = [(i,) for i in conn.execute(ids).scalars()]
        if found:
            conn.exec_driver_sql("DELETE FROM gateway_items_fts WHERE rowid = ?", found)

    def search(self, conn: Connection, q: IndexQuery) -> list[Any]:
        stmt = sa.select(*_COLUMNS).where(*_price_filter(q)).limit(q.limit)
        parts = [f'words:"{t}"' for t in _terms(q)]
        for group in _key_groups(q):
            parts.append("(" + " OR ".join(f'keys:"{k}"' for k in group) + ")")
        if not parts:
            return list(conn.execute(stmt.order_by(items.c.id)))
        fts = sa.table("gateway_items_fts", sa.column("rowid"))
        stmt = stmt.join(fts, fts.c.rowid == items.c.id).where(
            sa.text("gateway_items_fts MATCH :m").bindparams(m=" AND ".join(parts))
        )
        return list(conn.execute(stmt))


class PostgresFts:
    _INSERT = sa.text(
        "INSERT INTO gateway_items (bpp_id, provider_id, item_id, domain, name, category_ids, cities, "
        "price_minor, currency, publication_id, item_json, tsv) VALUES (:bpp_id, :provider_id, :item_id, "
        ":domain, :name, :category_ids, :cities, :price_minor, :currency, :publication_id, :item_json, "
        "array_to_tsvector(CAST(:lexemes AS text[])))"
    ).bindparams(sa.bindparam("item_json", type_=sa.LargeBinary))

    def insert(
        self, conn: Connection, rows: list[dict[str, Any]], docs: list[tuple[list[str], list[str]]]
    ) -> None:
        for row, (words, keys) in zip(rows, docs, strict=True):
            row["lexemes"] = sorted(set(words) | set(keys))
        conn.execute(self._INSERT, rows)

    def delete(self, conn: Connection, ids: sa.Select[Any]) -> None:
        return None  # the tsvector lives in the item row

    def search(self, conn: Connection, q: IndexQuery) -> list[Any]:
        stmt = sa.select(*_COLUMNS).where(*_price_filter(q)).limit(q.limit)
        parts = [f"'{t}'" for t in _terms(q)]
        for group in _key_groups(q):
            parts.append("(" + " | ".join(f"'{k}'" for k in group) + ")")
        if not parts:
            return list(conn.execute(stmt.order_by(items.c.id)))
        tsq = sa.text("tsv @@ CAST(:tq AS tsquery)").bindparams(tq=" & ".join(parts))
        return list(conn.execute(stmt.where(tsq)))


def for_dialect(name: str) -> Backend:
    if name == "postgresql":
        return PostgresFts()
    if name == "sqlite":
        return SqliteFts()
    raise ValueError(f"the catalog index runs on SQLite or PostgreSQL, not {name}")
