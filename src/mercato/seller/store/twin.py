"""The supply twin's document in the seller's database: one row, validated before it is stored, and
kept parsed per store for :data:`CACHE_SECONDS` so a node without a twin pays no query per quote after
the first. Storing a twin also marks the items its lines make as sold to order where they are made."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String, delete
from sqlalchemy.orm import Mapped, Session, mapped_column

from mercato.db import UTCDateTime
from mercato.supply.errors import SupplyInputError
from mercato.supply.model import Twin
from mercato.supply.parse import parse_twin

from .stock import lock_keys, write_back
from .tables import Base, ItemRow, LocationRow
from .txn import Store, check_now

CACHE_SECONDS = 5.0


class SupplyTwinRow(Base):
    __tablename__ = "seller_supply_twin"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


# -- the twin document ----------------------------------------------------------------------------

_cache: dict[int, tuple[float, int, Twin | None]] = {}


def _key(store: Store) -> int:
    return id(store.engine)


def forget(store: Store) -> None:
    _cache.pop(_key(store), None)


def twin_of(store: Store) -> Twin | None:
    """The node's twin (None: no twin configured), cached for :data:`CACHE_SECONDS`."""
    hit = _cache.get(_key(store))
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[2]
    with store.read() as s:
        row = s.get(SupplyTwinRow, "twin")
        doc, version = (row.document, row.version) if row is not None else (None, 0)
    if hit is not None and hit[1] == version:
        twin = hit[2]
    else:
        twin = parse_twin(doc, "stored twin") if doc is not None else None
    _cache[_key(store)] = (time.monotonic(), version, twin)
    return twin


def twin_document(store: Store) -> dict[str, Any] | None:
    with store.read() as s:
        row = s.get(SupplyTwinRow, "twin")
        return None if row is None else dict(row.document)


def put_twin(store: Store, document: Mapping[str, Any], now: datetime) -> Twin:
    """Validate and store the twin document (``SupplyInputError`` listing every problem: nothing stored)."""
    check_now(now)
    twin = parse_twin(document)
    doc = twin.to_dict()
    with store.write() as s:
        row = s.get(SupplyTwinRow, "twin")
        if row is None:
            s.add(SupplyTwinRow(id="twin", document=doc, version=1, updated_at=now))
        else:
            row.document, row.version, row.updated_at = doc, row.version + 1, now
        _make_to_order(s, twin, now)
    forget(store)
    return twin


def _make_to_order(s: Session, twin: Twin, now: datetime) -> None:
    """Items a line makes may be sold beyond stock where the line stands (the twin promises them from
    capacity): set the backorder flag of those catalog items at those catalog locations."""
    keys = sorted({(r.item, ln.location) for ln in twin.lines for r in ln.rates})
    keys = [
        (i, loc) for i, loc in keys if s.get(ItemRow, i) is not None and s.get(LocationRow, loc) is not None
    ]
    if not keys:
        return
    book = lock_keys(s, keys)
    entries = [
        book.set_backorder(i, loc, True, now, "made to order: the supply twin promises from capacity")
        for i, loc in keys
        if not book.level(i, loc).backorder
    ]
    if entries:
        write_back(s, book, entries)


def clear_twin(store: Store) -> None:
    with store.write() as s:
        s.execute(delete(SupplyTwinRow))
    forget(store)


def _edit_twin(s: Session, edit: Callable[[dict[str, Any]], None], now: datetime) -> Twin:
    row = s.get(SupplyTwinRow, "twin", with_for_update=True)
    if row is None:
        raise SupplyInputError(["this node has no supply twin; load one first"])
    doc = copy.deepcopy(row.document)  # a shallow copy shares lists with the loaded value, and an
    edit(doc)  # edit made in place would leave old == new for the ORM: no UPDATE of the document
    twin = parse_twin(doc)
    row.document, row.version, row.updated_at = twin.to_dict(), row.version + 1, now
    return twin
