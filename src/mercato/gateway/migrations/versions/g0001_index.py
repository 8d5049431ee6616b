"""The catalog index: sellers, publications (exact bytes and signature), providers, items, and the
full-text index (FTS5 on SQLite, tsvector + GIN on PostgreSQL).

Revision ID: g0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mercato.gateway.index.tables import items, metadata, providers, publications, sellers

revision = "g0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    metadata.create_all(bind, tables=[sellers, publications, providers, items])
    op.create_index("ix_gateway_items_bpp", "gateway_items", ["bpp_id", "publication_id"])
    if bind.dialect.name == "postgresql":
        op.add_column("gateway_items", sa.Column("tsv", sa.dialects.postgresql.TSVECTOR(), nullable=False))
        op.execute("CREATE INDEX ix_gateway_items_tsv ON gateway_items USING gin (tsv)")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE gateway_items_fts USING fts5("
            "words, keys, detail=column, tokenize='unicode61 remove_diacritics 0')"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        op.execute("DROP TABLE gateway_items_fts")
    metadata.drop_all(bind, tables=[items, providers, publications, sellers])
