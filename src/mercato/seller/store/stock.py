"""Stock in the database: lock the rows, run the domain's StockBook, write back entries and levels.

Every writer follows the same steps inside one transaction (:meth:`Store.write`):

1. lock the stock rows it will read and change, in the fixed order (item_id, location_id)
   (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers);
2. load them into a :class:`StockBook` and let the domain decide (it refuses anything that would
   oversell or go negative);
3. append the returned ledger entries and write the new levels of the rows it touched.

Because the levels are read under the lock and written in the same transaction, two buyers can never
both see the last unit. A CHECK constraint (on hand and reserved never negative) backs this up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from mercato.db import Prepared
from mercato.seller.domain import LedgerEntry, Movement, StockBook, StockLevel, UnknownEntity

from .tables import ItemRow, LedgerRow, LocationRow, StockLevelRow, table_of
from .txn import Store, check_now

StockKey = tuple[str, str]
_LEVELS = table_of(StockLevelRow)
# Built once: executing a ready statement skips building it and its cache key each time.
_LEVEL_COLS = (
    _LEVELS.c.item_id,
    _LEVELS.c.location_id,
    _LEVELS.c.on_hand,
    _LEVELS.c.reserved,
    _LEVELS.c.backorder,
)


def _levels_where(ids: BindParameter[Any] | list[BindParameter[Any]]) -> Select[Any]:
    """The stock rows whose item is in ``ids`` (a bind or a list of binds), in lock order."""
    return (
        select(*_LEVEL_COLS)
        .where(_LEVELS.c.item_id.in_(ids))
        .order_by(_LEVELS.c.item_id, _LEVELS.c.location_id)
    )


_READ = _levels_where(bindparam("ids", expanding=True))
_LOCK = _READ.with_for_update()
_SET_LEVEL = Prepared(
    update(_LEVELS)
    .where(_LEVELS.c.item_id == bindparam("k_item"), _LEVELS.c.location_id == bindparam("k_location"))
    .values(
        on_hand=bindparam("v_on_hand"), reserved=bindparam("v_reserved"), backorder=bindparam("v_backorder")
    )
)
_NEW_LEVEL = Prepared(insert(_LEVELS))
_LEDGER = Prepared(insert(table_of(LedgerRow)))
_PREPARED_UP_TO = 16  # baskets of up to this many items read their stock with a prepared statement


@lru_cache(maxsize=2 * _PREPARED_UP_TO)
def _levels_of(n: int, lock: bool) -> Prepared:
    """The stock rows of ``n`` items (binds ``i0`` .. ``i{n-1}``), locked or not."""
    stmt = _levels_where([bindparam(f"i{k}") for k in range(n)])
    return Prepared(stmt.with_for_update() if lock else stmt)


def lock_items(session: Session, item_ids: Iterable[str], *, lock: bool = True) -> StockBook:
    """Lock every stock row of these items (all locations), ordered by (item_id, location_id).

    With ``lock=False`` it only reads them (for a quote that reserves nothing)."""
    session.flush()  # plain SQL below: anything pending goes first
    ids = sorted(set(item_ids))
    if 0 < len(ids) <= _PREPARED_UP_TO:
        rows = _levels_of(len(ids), lock).all(session, {f"i{k}": i for k, i in enumerate(ids)})
    else:
        rows = list(session.connection().execute(_LOCK if lock else _READ, {"ids": ids}).all())
    return StockBook(levels={(r[0], r[1]): StockLevel(r[2], r[3], r[4]) for r in rows})


def lock_keys(session: Session, keys: Iterable[StockKey]) -> StockBook:
    """Lock these (item_id, location_id) rows in order, creating missing ones first."""
    wanted = sorted(set(keys))
    if not wanted:
        return StockBook()
    ensure_rows(session, wanted)
    rows = session.scalars(
        select(StockLevelRow)
        .where(tuple_(StockLevelRow.item_id, StockLevelRow.location_id).in_(wanted))
        .order_by(StockLevelRow.item_id, StockLevelRow.location_id)
        .with_for_update()
    ).all()
    return _book(rows)


def ensure_rows(session: Session, keys: Sequence[StockKey]) -> None:
    """Insert empty stock rows that do not exist yet (``ON CONFLICT DO NOTHING``: race-free)."""
    dialect = session.get_bind().dialect.name
    values = [{"item_id": i, "location_id": loc, "on_hand": 0, "reserved": 0, "backorder": False}
              for i, loc in keys]  # fmt: skip
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(StockLevelRow).values(values).on_conflict_do_nothing())


def _book(rows: Sequence[StockLevelRow]) -> StockBook:
    return StockBook(
        levels={(r.item_id, r.location_id): StockLevel(r.on_hand, r.reserved, r.backorder) for r in rows}
    )


def write_back(session: Session, book: StockBook, entries: Sequence[LedgerEntry]) -> None:
    """Append ``entries`` to the ledger and store the new levels of the rows they touched.

    Plain UPDATE / INSERT statements: the rows were locked (or created) by whoever built ``book``."""
    if not entries:
        return
    session.flush()  # ORM changes made before this go first
    conn = session.connection()
    for item_id, location_id in sorted({(e.item_id, e.location_id) for e in entries}):
        lvl = book.level(item_id, location_id)
        key = {"k_item": item_id, "k_location": location_id}
        done = _SET_LEVEL.execute(conn, {**key, "v_on_hand": lvl.on_hand, "v_reserved": lvl.reserved,
                                         "v_backorder": lvl.backorder})  # fmt: skip
        if done == 0:
            _NEW_LEVEL.execute(conn, {"item_id": item_id, "location_id": location_id, "on_hand": lvl.on_hand,
                                      "reserved": lvl.reserved, "backorder": lvl.backorder})  # fmt: skip
    _LEDGER.executemany(
        conn,
        [
            {
                "at": e.at,
                "item_id": e.item_id,
                "location_id": e.location_id,
                "movement": e.movement.value,
                "on_hand_delta": e.on_hand_delta,
                "reserved_delta": e.reserved_delta,
                "reason": e.reason,
                "ref": e.ref,
                "backorder": e.backorder,
            }  # fmt: skip
            for e in entries
        ],
    )
    # ORM objects of these rows loaded earlier in this session no longer match: reload on next access
    for obj in list(session.identity_map.values()):
        if isinstance(obj, StockLevelRow):
            session.expire(obj)


# -- merchant operations (each its own transaction) -------------------------------------------------


def _check_key(session: Session, item_id: str, location_id: str) -> None:
    item = session.get(ItemRow, item_id)
    if item is None:
        raise UnknownEntity("item", item_id)
    loc = session.get(LocationRow, location_id)
    if loc is None:
        raise UnknownEntity("location", location_id)
    if loc.provider_id != item.provider_id:
        raise UnknownEntity(f"location of provider {item.provider_id}", location_id)


def receive(store: Store, item_id: str, location_id: str, qty: int, now: datetime,
            reason: str = "received", ref: str | None = None) -> StockLevel:  # fmt: skip
    """Goods arrive: on hand grows by ``qty``."""
    check_now(now)
    with store.write() as s:
        _check_key(s, item_id, location_id)
        book = lock_keys(s, [(item_id, location_id)])
        entry = book.receive(item_id, location_id, qty, now, reason, ref)
        write_back(s, book, [entry])
        return book.level(item_id, location_id)


def adjust(store: Store, item_id: str, location_id: str, delta: int, now: datetime, reason: str,
           ref: str | None = None) -> StockLevel:  # fmt: skip
    """Correct on hand by ``delta`` with a reason (count, damage); never below reserved units."""
    check_now(now)
    with store.write() as s:
        _check_key(s, item_id, location_id)
        book = lock_keys(s, [(item_id, location_id)])
        entry = book.adjust(item_id, location_id, delta, now, reason, ref)
        write_back(s, book, [entry])
        return book.level(item_id, location_id)


def set_backorder(store: Store, item_id: str, location_id: str, allowed: bool, now: datetime,
                  reason: str = "backorder policy") -> StockLevel:  # fmt: skip
    check_now(now)
    with store.write() as s:
        _check_key(s, item_id, location_id)
        book = lock_keys(s, [(item_id, location_id)])
        entry = book.set_backorder(item_id, location_id, allowed, now, reason)
        write_back(s, book, [entry])
        return book.level(item_id, location_id)


# -- reading -------------------------------------------------------------------------------------


def levels(store: Store, item_ids: Iterable[str] | None = None) -> dict[StockKey, StockLevel]:
    with store.read() as s:
        q = select(StockLevelRow)
        if item_ids is not None:
            q = q.where(StockLevelRow.item_id.in_(sorted(set(item_ids))))
        return {
            (r.item_id, r.location_id): StockLevel(r.on_hand, r.reserved, r.backorder) for r in s.scalars(q)
        }


def ledger(store: Store, item_id: str | None = None, ref: str | None = None) -> list[LedgerEntry]:
    """Ledger entries in the order they were written (``seq`` renumbered from 1 for the selection)."""
    with store.read() as s:
        q = select(LedgerRow).order_by(LedgerRow.id)
        if item_id is not None:
            q = q.where(LedgerRow.item_id == item_id)
        if ref is not None:
            q = q.where(LedgerRow.ref == ref)
        rows = s.scalars(q).all()
    return [
        LedgerEntry(
            i,
            r.at,
            r.item_id,
            r.location_id,
            Movement(r.movement),
            r.on_hand_delta,
            r.reserved_delta,
            r.reason,
            r.ref,
            r.backorder,
        )  # fmt: skip
        for i, r in enumerate(rows, start=1)
    ]


def replay_matches(store: Store) -> bool:
    """Whether replaying the whole ledger (checking every rule on the way) gives the stored levels."""
    book = StockBook.replay(ledger(store))
    stored = {k: v for k, v in levels(store).items() if v != StockLevel()}
    return dict(book.snapshot()) == stored
