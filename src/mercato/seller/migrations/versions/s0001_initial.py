"""Seller node: catalog, stock and ledger, quotes, idempotency, orders, returns, ratings, outbox.

Revision ID: s0001
Revises:
Create Date: 2026-11-25 00:24:37.392081
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mercato.db import UTCDateTime

revision = "s0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seller_categories",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["seller_categories.id"],
            name=op.f("fk_seller_categories_parent_id_seller_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_categories")),
    )
    op.create_table(
        "seller_idempotency",
        sa.Column("bap_id", sa.String(length=255), nullable=False),
        sa.Column("transaction_id", sa.String(length=255), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=True),
        sa.Column("response", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("bap_id", "transaction_id", name=op.f("pk_seller_idempotency")),
    )
    op.create_table(
        "seller_providers",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("descriptor", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("delivery_charge", sa.BigInteger(), nullable=True),
        sa.Column("delivery_free_from", sa.BigInteger(), nullable=True),
        sa.Column("delivery_tax_bp", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_providers")),
    )
    op.create_table(
        "seller_quotes",
        sa.Column("bap_id", sa.String(length=255), nullable=False),
        sa.Column("transaction_id", sa.String(length=255), nullable=False),
        sa.Column("provider_id", sa.String(length=255), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("quote", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("bap_id", "transaction_id", name=op.f("pk_seller_quotes")),
    )
    op.create_table(
        "seller_stock_ledger",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("item_id", sa.String(length=255), nullable=False),
        sa.Column("location_id", sa.String(length=255), nullable=False),
        sa.Column("movement", sa.String(length=16), nullable=False),
        sa.Column("on_hand_delta", sa.BigInteger(), nullable=False),
        sa.Column("reserved_delta", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=True),
        sa.Column("backorder", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_stock_ledger")),
    )
    op.create_index(
        "ix_seller_stock_ledger_item_location",
        "seller_stock_ledger",
        ["item_id", "location_id", "id"],
        unique=False,
    )
    op.create_index(op.f("ix_seller_stock_ledger_ref"), "seller_stock_ledger", ["ref"], unique=False)
    op.create_table(
        "seller_items",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("provider_id", sa.String(length=255), nullable=False),
        sa.Column("parent_item_id", sa.String(length=255), nullable=True),
        sa.Column("category_id", sa.String(length=255), nullable=True),
        sa.Column("descriptor", sa.JSON(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("price_breaks", sa.JSON(), nullable=False),
        sa.Column("tax_rate_bp", sa.Integer(), nullable=False),
        sa.Column("returnable", sa.Boolean(), nullable=False),
        sa.Column("return_window_s", sa.BigInteger(), nullable=False),
        sa.Column("cancellable", sa.Boolean(), nullable=False),
        sa.Column("time_to_ship_s", sa.BigInteger(), nullable=False),
        sa.Column("fulfillment_types", sa.JSON(), nullable=False),
        sa.Column("max_quantity", sa.Integer(), nullable=False),
        sa.Column("location_ids", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["seller_categories.id"],
            name=op.f("fk_seller_items_category_id_seller_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["seller_providers.id"],
            name=op.f("fk_seller_items_provider_id_seller_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_items")),
    )
    op.create_index(op.f("ix_seller_items_parent_item_id"), "seller_items", ["parent_item_id"], unique=False)
    op.create_index(op.f("ix_seller_items_provider_id"), "seller_items", ["provider_id"], unique=False)
    op.create_table(
        "seller_locations",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("provider_id", sa.String(length=255), nullable=False),
        sa.Column("address", sa.JSON(), nullable=False),
        sa.Column("gps", sa.String(length=64), nullable=False),
        sa.Column("cities", sa.JSON(), nullable=False),
        sa.Column("radius_m", sa.Integer(), nullable=True),
        sa.Column("pickup", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["seller_providers.id"],
            name=op.f("fk_seller_locations_provider_id_seller_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_locations")),
    )
    op.create_index(
        op.f("ix_seller_locations_provider_id"), "seller_locations", ["provider_id"], unique=False
    )
    op.create_table(
        "seller_orders",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("bap_id", sa.String(length=255), nullable=False),
        sa.Column("bap_uri", sa.Text(), nullable=True),
        sa.Column("transaction_id", sa.String(length=255), nullable=False),
        sa.Column("provider_id", sa.String(length=255), nullable=False),
        sa.Column("buyer_id", sa.String(length=255), nullable=True),
        sa.Column("fulfillment_id", sa.String(length=255), nullable=False),
        sa.Column("fulfillment_type", sa.String(length=32), nullable=False),
        sa.Column("payment_type", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("fulfillment_state", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("quote", sa.JSON(), nullable=False),
        sa.Column("original_quote", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["seller_providers.id"],
            name=op.f("fk_seller_orders_provider_id_seller_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_orders")),
    )
    op.create_index(
        "ix_seller_orders_bap_transaction", "seller_orders", ["bap_id", "transaction_id"], unique=False
    )
    op.create_index(op.f("ix_seller_orders_buyer_id"), "seller_orders", ["buyer_id"], unique=False)
    op.create_index(op.f("ix_seller_orders_created_at"), "seller_orders", ["created_at"], unique=False)
    op.create_index(op.f("ix_seller_orders_provider_id"), "seller_orders", ["provider_id"], unique=False)
    op.create_index(op.f("ix_seller_orders_state"), "seller_orders", ["state"], unique=False)
    op.create_table(
        "seller_cancellations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("by", sa.String(length=8), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("quantities", sa.JSON(), nullable=False),
        sa.Column("refund", sa.BigInteger(), nullable=False),
        sa.Column("cost_to", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["seller_orders.id"], name=op.f("fk_seller_cancellations_order_id_seller_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_cancellations")),
    )
    op.create_index(
        op.f("ix_seller_cancellations_order_id"), "seller_cancellations", ["order_id"], unique=False
    )
    op.create_table(
        "seller_fulfillment_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=False),
        sa.Column("from_fulfillment_state", sa.String(length=32), nullable=False),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("to_fulfillment_state", sa.String(length=32), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["seller_orders.id"],
            name=op.f("fk_seller_fulfillment_events_order_id_seller_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_fulfillment_events")),
    )
    op.create_index(
        op.f("ix_seller_fulfillment_events_order_id"), "seller_fulfillment_events", ["order_id"], unique=False
    )
    op.create_table(
        "seller_order_allocations",
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("item_id", sa.String(length=255), nullable=False),
        sa.Column("location_id", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["seller_orders.id"],
            name=op.f("fk_seller_order_allocations_order_id_seller_orders"),
        ),
        sa.PrimaryKeyConstraint(
            "order_id", "item_id", "location_id", name=op.f("pk_seller_order_allocations")
        ),
    )
    op.create_table(
        "seller_order_lines",
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("item_id", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["seller_orders.id"], name=op.f("fk_seller_order_lines_order_id_seller_orders")
        ),
        sa.PrimaryKeyConstraint("order_id", "item_id", name=op.f("pk_seller_order_lines")),
    )
    op.create_table(
        "seller_ratings",
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("feedback", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["seller_orders.id"], name=op.f("fk_seller_ratings_order_id_seller_orders")
        ),
        sa.PrimaryKeyConstraint("order_id", "category", "entity_id", name=op.f("pk_seller_ratings")),
    )
    op.create_table(
        "seller_refunds",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["seller_orders.id"], name=op.f("fk_seller_refunds_order_id_seller_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_refunds")),
    )
    op.create_index(op.f("ix_seller_refunds_order_id"), "seller_refunds", ["order_id"], unique=False)
    op.create_table(
        "seller_returns",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("item_id", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("refund", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("location_id", sa.String(length=255), nullable=True),
        sa.Column("restocked", sa.Boolean(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["seller_orders.id"], name=op.f("fk_seller_returns_order_id_seller_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_returns")),
    )
    op.create_index(op.f("ix_seller_returns_order_id"), "seller_returns", ["order_id"], unique=False)
    op.create_table(
        "seller_stock_levels",
        sa.Column("item_id", sa.String(length=255), nullable=False),
        sa.Column("location_id", sa.String(length=255), nullable=False),
        sa.Column("on_hand", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("backorder", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "on_hand >= 0 AND reserved >= 0", name=op.f("ck_seller_stock_levels_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["seller_items.id"], name=op.f("fk_seller_stock_levels_item_id_seller_items")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["seller_locations.id"],
            name=op.f("fk_seller_stock_levels_location_id_seller_locations"),
        ),
        sa.PrimaryKeyConstraint("item_id", "location_id", name=op.f("pk_seller_stock_levels")),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("transaction_id", sa.String(length=255), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("destination_url", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("next_attempt_ms", sa.BigInteger(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("lease_until_ms", sa.BigInteger(), nullable=True),
        sa.Column("delivered_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_status_next_attempt_ms", "outbox", ["status", "next_attempt_ms"], unique=False)
    op.create_index("ix_outbox_transaction_id_id", "outbox", ["transaction_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_transaction_id_id", table_name="outbox")
    op.drop_index("ix_outbox_status_next_attempt_ms", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("seller_stock_levels")
    op.drop_index(op.f("ix_seller_returns_order_id"), table_name="seller_returns")
    op.drop_table("seller_returns")
    op.drop_index(op.f("ix_seller_refunds_order_id"), table_name="seller_refunds")
    op.drop_table("seller_refunds")
    op.drop_table("seller_ratings")
    op.drop_table("seller_order_lines")
    op.drop_table("seller_order_allocations")
    op.drop_index(op.f("ix_seller_fulfillment_events_order_id"), table_name="seller_fulfillment_events")
    op.drop_table("seller_fulfillment_events")
    op.drop_index(op.f("ix_seller_cancellations_order_id"), table_name="seller_cancellations")
    op.drop_table("seller_cancellations")
    op.drop_index(op.f("ix_seller_orders_state"), table_name="seller_orders")
    op.drop_index(op.f("ix_seller_orders_provider_id"), table_name="seller_orders")
    op.drop_index(op.f("ix_seller_orders_created_at"), table_name="seller_orders")
    op.drop_index(op.f("ix_seller_orders_buyer_id"), table_name="seller_orders")
    op.drop_index("ix_seller_orders_bap_transaction", table_name="seller_orders")
    op.drop_table("seller_orders")
    op.drop_index(op.f("ix_seller_locations_provider_id"), table_name="seller_locations")
    op.drop_table("seller_locations")
    op.drop_index(op.f("ix_seller_items_provider_id"), table_name="seller_items")
    op.drop_index(op.f("ix_seller_items_parent_item_id"), table_name="seller_items")
    op.drop_table("seller_items")
    op.drop_index(op.f("ix_seller_stock_ledger_ref"), table_name="seller_stock_ledger")
    op.drop_index("ix_seller_stock_ledger_item_location", table_name="seller_stock_ledger")
    op.drop_table("seller_stock_ledger")
    op.drop_table("seller_quotes")
    op.drop_table("seller_providers")
    op.drop_table("seller_idempotency")
    op.drop_table("seller_categories")
