"""The index tables. The full-text part depends on the database: an FTS5 virtual table
``gateway_items_fts`` on SQLite, a ``tsv tsvector`` column with a GIN index on PostgreSQL (both
made by the migration)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

sellers = sa.Table(
    "gateway_sellers",
    metadata,
    sa.Column("bpp_id", sa.String(255), primary_key=True),
    sa.Column("bpp_uri", sa.Text, nullable=False),
    sa.Column("domain", sa.String(255), nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

publications = sa.Table(
    "gateway_publications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("bpp_id", sa.String(255), nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("authorization", sa.Text, nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.UniqueConstraint("bpp_id", "version", name="uq_gateway_publications_bpp_version"),
)

providers = sa.Table(
    "gateway_providers",
    metadata,
    sa.Column("bpp_id", sa.String(255), primary_key=True),
    sa.Column("provider_id", sa.String(255), primary_key=True),
    sa.Column("provider_json", sa.LargeBinary, nullable=False),
)

items = sa.Table(
    "gateway_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("bpp_id", sa.String(255), nullable=False),
    sa.Column("provider_id", sa.String(255), nullable=False),
    sa.Column("item_id", sa.String(255), nullable=False),
    sa.Column("domain", sa.String(255), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("category_ids", sa.Text, nullable=False),  # space-separated, for display
    sa.Column("cities", sa.Text, nullable=False),
    sa.Column("price_minor", sa.BigInteger, nullable=True),
    sa.Column("currency", sa.String(8), nullable=True),
    sa.Column("publication_id", sa.Integer, nullable=False),
    sa.Column("item_json", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("bpp_id", "provider_id", "item_id", name="uq_gateway_items_key"),
)
