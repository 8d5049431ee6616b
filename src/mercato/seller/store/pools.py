"""Demand pools on a manufacturer's node: pools, pool offers, signed commitments, production orders.

Tables: ``seller_pools`` (deadline, who clears it, the node's total capacity in it, the published
input and result once cleared), ``seller_pool_offers`` (one per catalog item offered in a pool, with
the node's signed offer document), ``seller_pool_commitments`` and ``seller_pool_revocations``
(signed documents exactly as received, with the key they verified with) and
``seller_production_orders`` (one per offer that runs: quantity, production start, delivery window,
source). See docs/pools.md.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from mercato.db import UTCDateTime
from mercato.pools.book import PoolBook
from mercato.pools.offers import offer_from_doc
from mercato.pools.signed import Signed, commitment_from_doc

from .catalog_cache import cache_of, snapshot_in
from .tables import ID, Base
from .txn import Store, check_now

OPEN, CLEARED, SETTLED = "open", "cleared", "settled"


class PoolRow(Base):
    __tablename__ = "seller_pools"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    coordinator: Mapped[str | None] = mapped_column(Text, nullable=True)  # None: this node clears it
    capacity: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    input: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PoolOfferRow(Base):
    __tablename__ = "seller_pool_offers"
    item_id: Mapped[str] = mapped_column(ForeignKey("seller_items.id"), primary_key=True)
    pool_id: Mapped[str] = mapped_column(ForeignKey("seller_pools.id"), index=True)
    body: Mapped[str] = mapped_column(Text)  # canonical signed offer document
    signature: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PoolCommitmentRow(Base):
    __tablename__ = "seller_pool_commitments"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    pool_id: Mapped[str] = mapped_column(ForeignKey("seller_pools.id"), index=True)
    bap_id: Mapped[str] = mapped_column(ID)
    body: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PoolRevocationRow(Base):
    __tablename__ = "seller_pool_revocations"
    commitment_id: Mapped[str] = mapped_column(ForeignKey("seller_pool_commitments.id"), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProductionOrderRow(Base):
    __tablename__ = "seller_production_orders"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    item_id: Mapped[str] = mapped_column(ID, index=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    unit_price: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    production_start: Mapped[datetime] = mapped_column(UTCDateTime())
    delivery_start: Mapped[datetime] = mapped_column(UTCDateTime())
    delivery_end: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(Text)  # "pool:<pool id>", ...
    state: Mapped[str] = mapped_column(String(16))  # planned (scheduling picks it up from here)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class ProductionOrder:
    id: str
    item_id: str
    quantity: int
    production_start: datetime
    delivery_start: datetime
    delivery_end: datetime
    source: str
    state: str = "planned"
    unit_price: int | None = None
    currency: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "item_id": self.item_id,
            "quantity": self.quantity,
            "unit_price": self.unit_price,
            "currency": self.currency,
            "production_start": self.production_start.isoformat(),
            "delivery_start": self.delivery_start.isoformat(),
            "delivery_end": self.delivery_end.isoformat(),
            "source": self.source,
            "state": self.state,
        }


# -- production orders (the small interface supply scheduling can pick up) -------------------------


def add_production_order(session: Session, order: ProductionOrder, now: datetime) -> None:
    session.add(
        ProductionOrderRow(
            id=order.id,
            item_id=order.item_id,
            quantity=order.quantity,
            unit_price=order.unit_price,
            currency=order.currency,
            production_start=order.production_start,
            delivery_start=order.delivery_start,
            delivery_end=order.delivery_end,
            source=order.source,
            state=order.state,
            created_at=now,
        )
    )


def record_production(store: Store, order: ProductionOrder, now: datetime) -> ProductionOrder:
    """Store one production order (idempotent on its id)."""
    check_now(now)
    with store.write() as s:
        if s.get(ProductionOrderRow, order.id) is None:
            add_production_order(s, order, now)
    return order


def production_orders(store: Store, source: str | None = None) -> list[ProductionOrder]:
    with store.read() as s:
        stmt = select(ProductionOrderRow).order_by(ProductionOrderRow.created_at, ProductionOrderRow.id)
        if source is not None:
            stmt = stmt.where(ProductionOrderRow.source == source)
        return [
            ProductionOrder(
                r.id,
                r.item_id,
                r.quantity,
                r.production_start,
                r.delivery_start,
                r.delivery_end,
                r.source,
                r.state,
                r.unit_price,
                r.currency,
            )
            for r in s.scalars(stmt)
        ]


def production_id(pool_id: str, item_id: str) -> str:
    """One production order per running offer of a pool, whoever records it and how often."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mercato:pool:{pool_id}:{item_id}"))


# -- pools ------------------------------------------------------------------------------------------


def put_pool(store: Store, pool_id: str, deadline: datetime, capacity: int, coordinator: str | None,
             now: datetime) -> PoolRow:  # fmt: skip
    check_now(now)
    with store.write() as s:
        row = s.get(PoolRow, pool_id)
        if row is not None and (row.state != OPEN or s.scalars(
            select(PoolCommitmentRow.id).where(PoolCommitmentRow.pool_id == pool_id).limit(1)
        ).first() is not None or s.scalars(
            select(PoolOfferRow.item_id).where(PoolOfferRow.pool_id == pool_id).limit(1)
        ).first() is not None):  # fmt: skip
            raise ValueError(f"pool {pool_id!r} already has offers or commitments: its terms are fixed")
        row = row or PoolRow(id=pool_id, created_at=now, state=OPEN)
        row.deadline, row.capacity, row.coordinator = deadline, capacity, coordinator
        s.add(row)
        s.flush()
        s.expunge(row)
        return row


def get_pool(store: Store, pool_id: str) -> PoolRow | None:
    with store.read() as s:
        row = s.get(PoolRow, pool_id)
        if row is not None:
            s.expunge(row)
        return row


def pools(store: Store) -> list[PoolRow]:
    with store.read() as s:
        rows = list(s.scalars(select(PoolRow).order_by(PoolRow.created_at, PoolRow.id)))
        for r in rows:
            s.expunge(r)
        return rows


def put_offer(store: Store, pool_id: str, item_id: str, signed: Signed, now: datetime) -> None:
    with store.write() as s:
        row = s.get(PoolOfferRow, item_id) or PoolOfferRow(item_id=item_id)
        if row.pool_id is not None and row.pool_id != pool_id:
            raise ValueError(f"item {item_id!r} is already offered in pool {row.pool_id!r}")
        row.pool_id = pool_id
        row.body, row.signature, row.public_key = signed.body.decode(), signed.signature, signed.public_key
        row.updated_at = now
        s.add(row)


def offer_items(store: Store) -> dict[str, str]:
    """item id -> pool id of every pool offer on this node."""
    with store.read() as s:
        return {r.item_id: r.pool_id for r in s.scalars(select(PoolOfferRow))}


def pools_of_items(store: Store, item_ids: list[str]) -> dict[str, PoolRow]:
    """item id -> its pool, for the items of a basket that are pool offers (from the catalog cache
    while the catalog version holds: pools and pool offers raise it; one small query otherwise)."""
    with store.read() as s:
        return pools_of_items_in(s, item_ids)


def pools_of_items_in(s: Session, item_ids: list[str]) -> dict[str, PoolRow]:
    """:func:`pools_of_items` in the caller's session. The rows are detached: read them, never change them."""
    cache = cache_of(s)
    snap = snapshot_in(cache, s) if cache is not None else None
    wanted = [i for i in item_ids if snap is None or i not in snap.pools]
    if wanted:
        rows = s.execute(
            select(PoolOfferRow.item_id, PoolRow)
            .join(PoolRow, PoolRow.id == PoolOfferRow.pool_id)
            .where(PoolOfferRow.item_id.in_(wanted))
        ).all()
        found: dict[str, PoolRow] = {}
        for item_id, pool in rows:
            s.expunge(pool)
            found[item_id] = pool
        if snap is None:
            return found
        for item_id in wanted:
            snap.pools[item_id] = found.get(item_id)
    assert snap is not None
    return {i: snap.pools[i] for i in item_ids if snap.pools.get(i) is not None}


def _signed(row: Any) -> Signed:
    return Signed(row.body.encode(), row.signature, row.public_key)


def load_book(session: Session, pool_id: str) -> PoolBook:
    """The pool's book from its rows (offers, commitments, revocations as received)."""
    book = PoolBook(pool_id)
    pool = session.get(PoolRow, pool_id)
    book.cleared = pool is not None and pool.state != OPEN
    for r in session.scalars(select(PoolOfferRow).where(PoolOfferRow.pool_id == pool_id)):
        sg = _signed(r)
        offer = offer_from_doc(sg.doc.get("offer"))
        book.offers[offer.id] = (offer, sg)
    rows = session.scalars(select(PoolCommitmentRow).where(PoolCommitmentRow.pool_id == pool_id))
    for c in rows:
        sg = _signed(c)
        book.commitments[c.id] = (commitment_from_doc(sg.doc), sg)
    revs = session.scalars(
        select(PoolRevocationRow)
        .join(PoolCommitmentRow, PoolCommitmentRow.id == PoolRevocationRow.commitment_id)
        .where(PoolCommitmentRow.pool_id == pool_id)
    )
    for rev in revs:
        book.revoked[rev.commitment_id] = _signed(rev)
    return book


def add_commitment(
    session: Session, pool_id: str, bap_id: str, cid: str, signed: Signed, now: datetime
) -> None:
    session.add(
        PoolCommitmentRow(
            id=cid,
            pool_id=pool_id,
            bap_id=bap_id,
            body=signed.body.decode(),
            signature=signed.signature,
            public_key=signed.public_key,
            received_at=now,
        )
    )


def add_revocation(session: Session, cid: str, signed: Signed, now: datetime) -> None:
    session.add(
        PoolRevocationRow(
            commitment_id=cid,
            body=signed.body.decode(),
            signature=signed.signature,
            public_key=signed.public_key,
            received_at=now,
        )
    )


def pool_of_commitment(store: Store, cid: str) -> str | None:
    with store.read() as s:
        row = s.get(PoolCommitmentRow, cid)
        return None if row is None else row.pool_id


def save_clearing(session: Session, pool_id: str, doc: dict[str, Any], result: dict[str, Any],
                  now: datetime, state: str = CLEARED) -> None:  # fmt: skip
    row = session.get(PoolRow, pool_id)
    if row is None:
        raise KeyError(pool_id)
    row.input, row.result, row.cleared_at, row.state = doc, result, now, state
