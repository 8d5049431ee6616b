"""The buyer node's tables (SQLAlchemy Core). Migrations in ``mercato/buyer/migrations``."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    }
)

orders = sa.Table(
    "buyer_orders",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # the buyer's own id (UUID)
    sa.Column("transaction_id", sa.String(64), nullable=False),
    sa.Column("bpp_id", sa.String(255), nullable=False),
    sa.Column("bpp_uri", sa.Text(), nullable=False),
    sa.Column("provider_id", sa.String(255), nullable=True),
    sa.Column("order_id", sa.String(255), nullable=True),  # the seller's order id, from on_confirm
    sa.Column("stage", sa.String(16), nullable=False),  # selected | initialized | confirmed
    sa.Column("status", sa.String(24), nullable=True),  # Beckn order status from the seller
    sa.Column("fulfillment_state", sa.String(64), nullable=True),
    sa.Column("total", sa.BigInteger(), nullable=True),  # minor units
    sa.Column("currency", sa.String(8), nullable=True),
    sa.Column("items", sa.Text(), nullable=False),  # JSON [{"id", "quantity"}] as asked
    sa.Column("order_json", sa.Text(), nullable=True),  # the seller's latest order object
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("transaction_id", "bpp_id"),
)
sa.Index("ix_buyer_orders_order_id", orders.c.bpp_id, orders.c.order_id)

callbacks = sa.Table(
    "buyer_callbacks",
    metadata,
    sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("bpp_id", sa.String(255), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("message_id", sa.String(64), nullable=False),
    sa.Column("transaction_id", sa.String(64), nullable=False),
    sa.Column(
        "order_ref", sa.String(36), sa.ForeignKey("buyer_orders.id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("solicited", sa.Boolean(), nullable=False),
    sa.Column("status", sa.String(24), nullable=True),
    sa.Column("fulfillment_state", sa.String(64), nullable=True),
    sa.Column("error_code", sa.String(16), nullable=True),
    sa.Column("body", sa.Text(), nullable=False),  # the exact bytes received (UTF-8 JSON)
    sa.Column("received_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("bpp_id", "action", "message_id"),
)
