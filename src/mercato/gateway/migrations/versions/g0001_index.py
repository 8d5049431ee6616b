"""The catalog index: sellers, publications (exact bytes and signature), providers, items, and the
full-text index (FTS5 on SQLite, tsvector + GIN on PostgreSQL).

Revision ID: g0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "g0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_sellers",
        sa.Column("bpp_id", sa.String(255), primary_key=True),
        sa.Column("bpp_uri", sa.Text(), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "gateway_publications",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("bpp_id", sa.String(255), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("authorization", sa.Text(), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("bpp_id", "version", name="uq_gateway_publications_bpp_version"),
    )
    op.create_table(
        "gateway_providers",
        sa.Column("bpp_id", sa.String(255), primary_key=True),
        sa.Column("provider_id", sa.String(255), primary_key=True),
        sa.Column("provider_json", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "gateway_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("bpp_id", sa.String(255), nullable=False),
        sa.Column("provider_id", sa.String(255), nullable=False),
        sa.Column("item_id", sa.String(255), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("category_ids", sa.Text(), nullable=False),
        sa.Column("cities", sa.Text(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(8), nullable=True),
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("item_json", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("bpp_id", "provider_id", "item_id", name="uq_gateway_items_key"),
    )
    op.create_index("ix_gateway_items_bpp", "gateway_items", ["bpp_id", "publication_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("gateway_items", sa.Column("tsv", postgresql.TSVECTOR(), nullable=False))
        op.execute("CREATE INDEX ix_gateway_items_tsv ON gateway_items USING gin (tsv)")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE gateway_items_fts USING fts5("
            "words, keys, detail=column, tokenize='unicode61 remove_diacritics 0')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE gateway_items_fts")
    for table in ("gateway_items", "gateway_providers", "gateway_publications", "gateway_sellers"):
        op.drop_table(table)
