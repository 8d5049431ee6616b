"""Seller node: demand pools (pools, pool offers, signed commitments and revocations) and production orders.

Revision ID: s0002
Revises: s0001
Create Date: 2026-11-25 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mercato.db import UTCDateTime

revision = "s0002"
down_revision = "s0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seller_pools",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("deadline", UTCDateTime(), nullable=False),
        sa.Column("coordinator", sa.Text(), nullable=True),
        sa.Column("capacity", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("input", sa.JSON(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("cleared_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_pools")),
    )
    op.create_table(
        "seller_pool_offers",
        sa.Column("item_id", sa.String(length=255), nullable=False),
        sa.Column("pool_id", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["seller_items.id"], name=op.f("fk_seller_pool_offers_item_id_seller_items")
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["seller_pools.id"], name=op.f("fk_seller_pool_offers_pool_id_seller_pools")
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_seller_pool_offers")),
    )
    op.create_index(op.f("ix_seller_pool_offers_pool_id"), "seller_pool_offers", ["pool_id"], unique=False)
    op.create_table(
        "seller_pool_commitments",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("pool_id", sa.String(length=255), nullable=False),
        sa.Column("bap_id", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["seller_pools.id"], name=op.f("fk_seller_pool_commitments_pool_id_seller_pools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_pool_commitments")),
    )
    op.create_index(
        op.f("ix_seller_pool_commitments_pool_id"), "seller_pool_commitments", ["pool_id"], unique=False
    )
    op.create_table(
        "seller_pool_revocations",
        sa.Column("commitment_id", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["commitment_id"],
            ["seller_pool_commitments.id"],
            name=op.f("fk_seller_pool_revocations_commitment_id_seller_pool_commitments"),
        ),
        sa.PrimaryKeyConstraint("commitment_id", name=op.f("pk_seller_pool_revocations")),
    )
    op.create_table(
        "seller_production_orders",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("item_id", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("production_start", UTCDateTime(), nullable=False),
        sa.Column("delivery_start", UTCDateTime(), nullable=False),
        sa.Column("delivery_end", UTCDateTime(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_production_orders")),
    )
    op.create_index(
        op.f("ix_seller_production_orders_item_id"), "seller_production_orders", ["item_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_seller_production_orders_item_id"), table_name="seller_production_orders")
    op.drop_table("seller_production_orders")
    op.drop_table("seller_pool_revocations")
    op.drop_index(op.f("ix_seller_pool_commitments_pool_id"), table_name="seller_pool_commitments")
    op.drop_table("seller_pool_commitments")
    op.drop_index(op.f("ix_seller_pool_offers_pool_id"), table_name="seller_pool_offers")
    op.drop_table("seller_pool_offers")
    op.drop_table("seller_pools")
