"""The buyer's side of orders, and every callback received (deduplicated by sender, action, message id).

Revision ID: b0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "buyer_orders",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("transaction_id", sa.String(64), nullable=False),
        sa.Column("bpp_id", sa.String(255), nullable=False),
        sa.Column("bpp_uri", sa.Text(), nullable=False),
        sa.Column("provider_id", sa.String(255), nullable=True),
        sa.Column("order_id", sa.String(255), nullable=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=True),
        sa.Column("fulfillment_state", sa.String(64), nullable=True),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(8), nullable=True),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("order_json", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_buyer_orders"),
        sa.UniqueConstraint("transaction_id", "bpp_id", name="uq_buyer_orders_transaction_id_bpp_id"),
    )
    op.create_index("ix_buyer_orders_order_id", "buyer_orders", ["bpp_id", "order_id"])
    op.create_table(
        "buyer_callbacks",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bpp_id", sa.String(255), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("transaction_id", sa.String(64), nullable=False),
        sa.Column("order_ref", sa.String(36), nullable=True),
        sa.Column("solicited", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(24), nullable=True),
        sa.Column("fulfillment_state", sa.String(64), nullable=True),
        sa.Column("error_code", sa.String(16), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_buyer_callbacks"),
        sa.ForeignKeyConstraint(
            ["order_ref"],
            ["buyer_orders.id"],
            name="fk_buyer_callbacks_order_ref_buyer_orders",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint(
            "bpp_id", "action", "message_id", name="uq_buyer_callbacks_bpp_id_action_message_id"
        ),
    )


def downgrade() -> None:
    op.drop_table("buyer_callbacks")
    op.drop_index("ix_buyer_orders_order_id", table_name="buyer_orders")
    op.drop_table("buyer_orders")
