"""Seller node: a catalog version, bumped by triggers on every change to what a quote reads.

``seller_catalog_version`` holds one row; a trigger on each of providers, locations, categories,
items, pools and pool offers adds one to it in the same transaction as any insert, update or delete,
whoever makes it (admin API, importer, console, another worker process, hand-written SQL). A node's
quote cache (``mercato.seller.store.catalog_cache``) is valid while the number is unchanged.

Revision ID: s0004
Revises: s0003
Create Date: 2026-12-07 02:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0004"
down_revision = "s0003"
branch_labels = None
depends_on = None

WATCHED = (
    "seller_providers",
    "seller_locations",
    "seller_categories",
    "seller_items",
    "seller_pools",
    "seller_pool_offers",
)
BUMP = "UPDATE seller_catalog_version SET version = version + 1 WHERE id = 1"
FUNCTION = "seller_bump_catalog_version"


def upgrade() -> None:
    op.create_table(
        "seller_catalog_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_catalog_version")),
    )
    op.execute("INSERT INTO seller_catalog_version (id, version) VALUES (1, 1)")
    if op.get_bind().dialect.name == "sqlite":
        for table in WATCHED:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_v_{event.lower()} AFTER {event} ON {table} BEGIN {BUMP}; END"
                )
        return
    # PostgreSQL: once per statement (a bulk import bumps it once); the function keeps the schema
    # it was created in, so it finds the version table whatever the caller's search_path.
    op.execute(
        f"CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT "
        f"AS $$ BEGIN {BUMP}; RETURN NULL; END $$"
    )
    for table in WATCHED:
        op.execute(
            f"CREATE TRIGGER {table}_v AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_v_{event}")
    else:
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_v ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
    op.drop_table("seller_catalog_version")
