"""The storefront: the ratings this node's buyers gave their orders.

Revision ID: b0004
Revises: b0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b0004"
down_revision = "b0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "buyer_web_ratings",
        sa.Column("order_ref", sa.String(36), nullable=False),
        sa.Column("bpp_id", sa.String(255), nullable=False),
        sa.Column("provider_id", sa.String(255), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("rated_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("order_ref", name="pk_buyer_web_ratings"),
    )


def downgrade() -> None:
    op.drop_table("buyer_web_ratings")
