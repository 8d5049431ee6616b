"""The storefront: carts by browser session, checkouts by idempotency token.

Revision ID: b0002
Revises: b0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b0002"
down_revision = "b0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "buyer_web_carts",
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name="pk_buyer_web_carts"),
    )
    op.create_table(
        "buyer_web_checkouts",
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("token", name="pk_buyer_web_checkouts"),
    )


def downgrade() -> None:
    op.drop_table("buyer_web_checkouts")
    op.drop_table("buyer_web_carts")
