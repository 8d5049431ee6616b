"""Seller node: the supply twin (its document), promises per order, component reservations, and the
scheduling columns of production orders (line, release and due days, late risk, start and completion).

Revision ID: s0003
Revises: s0002
Create Date: 2026-11-25 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mercato.db import UTCDateTime

revision = "s0003"
down_revision = "s0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seller_supply_twin",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_supply_twin")),
    )
    op.create_table(
        "seller_supply_promises",
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("city", sa.String(length=64), nullable=False),
        sa.Column("ship_on", sa.Date(), nullable=False),
        sa.Column("deliver_on", sa.Date(), nullable=False),
        sa.Column("promised_on", sa.Date(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_seller_supply_promises")),
    )
    op.create_table(
        "seller_supply_reservations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("production_order_id", sa.String(length=255), nullable=False),
        sa.Column("item_id", sa.String(length=255), nullable=False),
        sa.Column("location_id", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("draw_on", sa.Date(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_seller_supply_reservations_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_supply_reservations")),
    )
    op.create_index(
        op.f("ix_seller_supply_reservations_production_order_id"),
        "seller_supply_reservations",
        ["production_order_id"],
        unique=False,
    )
    with op.batch_alter_table("seller_production_orders") as batch:
        batch.add_column(sa.Column("line_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("location_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("order_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("release_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("due_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("expected_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("started_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("completed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("seller_production_orders") as batch:
        for col in ("completed_at", "started_at", "late", "expected_on", "due_on", "release_on", "order_id",
                    "location_id", "line_id"):  # fmt: skip
            batch.drop_column(col)
    op.drop_index(
        op.f("ix_seller_supply_reservations_production_order_id"), table_name="seller_supply_reservations"
    )
    op.drop_table("seller_supply_reservations")
    op.drop_table("seller_supply_promises")
    op.drop_table("seller_supply_twin")
