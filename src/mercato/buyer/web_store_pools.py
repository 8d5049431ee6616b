"""The storefront's record of which browser session made which pool commitment (migration
``b0003``): the coordinator keeps the commitments themselves; this node needs to know whose they
are, to show each buyer theirs and to settle each buyer's with that buyer's address."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from mercato.buyer.store import now_rfc3339
from mercato.buyer.web_store import web_metadata

commitments = sa.Table(
    "buyer_web_commitments",
    web_metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # the commitment's id (UUID)
    sa.Column("session_id", sa.String(64), nullable=False, index=True),
    sa.Column("coordinator", sa.Text(), nullable=False),
    sa.Column("pool", sa.String(255), nullable=False),
    sa.Column("offer", sa.Text(), nullable=False),  # the offer id (bpp_id/item_id)
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("max_unit_price", sa.BigInteger(), nullable=False),  # minor units
    sa.Column("currency", sa.String(8), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)


def add_commitment(engine: Engine, row: dict[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(commitments.insert().values(**row, created_at=now_rfc3339()))


def session_commitments(engine: Engine, session_id: str, pool: str | None = None) -> list[dict[str, Any]]:
    q = sa.select(commitments).where(commitments.c.session_id == session_id)
    if pool is not None:
        q = q.where(commitments.c.pool == pool)
    with engine.connect() as conn:
        rows = conn.execute(q.order_by(commitments.c.created_at, commitments.c.id)).all()
    return [dict(r._mapping) for r in rows]
