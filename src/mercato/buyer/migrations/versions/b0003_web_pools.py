"""The storefront: which browser session made which demand-pool commitment and placed which order.

Revision ID: b0003
Revises: b0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b0003"
down_revision = "b0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "buyer_web_commitments",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("coordinator", sa.Text(), nullable=False),
        sa.Column("pool", sa.String(255), nullable=False),
        sa.Column("offer", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("max_unit_price", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_buyer_web_commitments"),
    )
    op.create_index("ix_buyer_web_commitments_session_id", "buyer_web_commitments", ["session_id"])
    op.create_table(
        "buyer_web_orders",
        sa.Column("order_ref", sa.String(36), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("order_ref", name="pk_buyer_web_orders"),
    )
    op.create_index("ix_buyer_web_orders_session_id", "buyer_web_orders", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_buyer_web_orders_session_id", table_name="buyer_web_orders")
    op.drop_table("buyer_web_orders")
    op.drop_index("ix_buyer_web_commitments_session_id", table_name="buyer_web_commitments")
    op.drop_table("buyer_web_commitments")
