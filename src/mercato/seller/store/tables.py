"""The seller node's tables (SQLAlchemy 2). One database per node; the outbox table lives here too.

Catalog: ``seller_providers``, ``seller_locations``, ``seller_categories``, ``seller_items`` (variants
share ``parent_item_id``). Stock: ``seller_stock_levels`` (one row per item per location — the only hot
rows) and the append-only ``seller_stock_ledger``. Checkout: ``seller_quotes`` (the last quote sent per
buyer transaction), ``seller_idempotency`` ((bap_id, transaction_id) → order and the stored answer).
Orders: ``seller_orders``, ``seller_order_lines``, ``seller_order_allocations`` (units per location),
``seller_fulfillment_events`` (every state change), ``seller_cancellations``, ``seller_returns``,
``seller_refunds``, ``seller_ratings``. Money is integer minor units; times are UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mercato.db import UTCDateTime

ID = String(255)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class Base(DeclarativeBase):
    metadata = metadata


# -- catalog ---------------------------------------------------------------------------------------


class ProviderRow(Base):
    __tablename__ = "seller_providers"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    descriptor: Mapped[dict[str, Any]] = mapped_column(JSON)
    currency: Mapped[str] = mapped_column(String(3))
    delivery_charge: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    delivery_free_from: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    delivery_tax_bp: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LocationRow(Base):
    __tablename__ = "seller_locations"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("seller_providers.id"), index=True)
    address: Mapped[dict[str, Any]] = mapped_column(JSON)
    gps: Mapped[str] = mapped_column(String(64))
    cities: Mapped[list[str]] = mapped_column(JSON)
    radius_m: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pickup: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CategoryRow(Base):
    __tablename__ = "seller_categories"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("seller_categories.id"), nullable=True)


class ItemRow(Base):
    __tablename__ = "seller_items"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("seller_providers.id"), index=True)
    parent_item_id: Mapped[str | None] = mapped_column(ID, nullable=True, index=True)
    category_id: Mapped[str | None] = mapped_column(ForeignKey("seller_categories.id"), nullable=True)
    descriptor: Mapped[dict[str, Any]] = mapped_column(JSON)
    price: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    options: Mapped[list[list[str]]] = mapped_column(JSON)
    price_breaks: Mapped[list[list[int]]] = mapped_column(JSON)
    tax_rate_bp: Mapped[int] = mapped_column(Integer)
    returnable: Mapped[bool] = mapped_column(Boolean)
    return_window_s: Mapped[int] = mapped_column(BigInteger)
    cancellable: Mapped[bool] = mapped_column(Boolean)
    time_to_ship_s: Mapped[int] = mapped_column(BigInteger)
    fulfillment_types: Mapped[list[str]] = mapped_column(JSON)
    max_quantity: Mapped[int] = mapped_column(Integer)
    location_ids: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CatalogVersionRow(Base):
    """One row: raised by triggers on every catalog change (migration s0004; see catalog_cache.py)."""

    __tablename__ = "seller_catalog_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


# -- stock -----------------------------------------------------------------------------------------


class StockLevelRow(Base):
    __tablename__ = "seller_stock_levels"
    __table_args__ = (CheckConstraint("on_hand >= 0 AND reserved >= 0", name="not_negative"),)
    item_id: Mapped[str] = mapped_column(ForeignKey("seller_items.id"), primary_key=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("seller_locations.id"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    backorder: Mapped[bool] = mapped_column(Boolean, default=False)


class LedgerRow(Base):
    __tablename__ = "seller_stock_ledger"
    __table_args__ = (Index("ix_seller_stock_ledger_item_location", "item_id", "location_id", "id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    item_id: Mapped[str] = mapped_column(ID)
    location_id: Mapped[str] = mapped_column(ID)
    movement: Mapped[str] = mapped_column(String(16))
    on_hand_delta: Mapped[int] = mapped_column(BigInteger)
    reserved_delta: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    ref: Mapped[str | None] = mapped_column(ID, nullable=True, index=True)
    backorder: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


# -- checkout --------------------------------------------------------------------------------------


class QuoteRow(Base):
    __tablename__ = "seller_quotes"
    bap_id: Mapped[str] = mapped_column(ID, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ID, primary_key=True)
    provider_id: Mapped[str] = mapped_column(ID)
    stage: Mapped[str] = mapped_column(String(16))  # select | init
    quote: Mapped[dict[str, Any]] = mapped_column(JSON)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)  # billing, fulfillment address, payment terms
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IdempotencyRow(Base):
    __tablename__ = "seller_idempotency"
    bap_id: Mapped[str] = mapped_column(ID, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ID, primary_key=True)
    order_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    response: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# -- orders ----------------------------------------------------------------------------------------


class OrderRow(Base):
    __tablename__ = "seller_orders"
    __table_args__ = (Index("ix_seller_orders_bap_transaction", "bap_id", "transaction_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    bap_id: Mapped[str] = mapped_column(ID)
    bap_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    transaction_id: Mapped[str] = mapped_column(ID)
    provider_id: Mapped[str] = mapped_column(ForeignKey("seller_providers.id"), index=True)
    buyer_id: Mapped[str | None] = mapped_column(ID, nullable=True, index=True)
    fulfillment_id: Mapped[str] = mapped_column(ID)
    fulfillment_type: Mapped[str] = mapped_column(String(32))
    payment_type: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32), index=True)
    fulfillment_state: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[int] = mapped_column(BigInteger)
    paid: Mapped[int] = mapped_column(BigInteger)
    refunded: Mapped[int] = mapped_column(BigInteger)
    quote: Mapped[dict[str, Any]] = mapped_column(JSON)
    original_quote: Mapped[dict[str, Any]] = mapped_column(JSON)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)  # billing, address, payment terms (for handlers)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class OrderLineRow(Base):
    __tablename__ = "seller_order_lines"
    order_id: Mapped[str] = mapped_column(ForeignKey("seller_orders.id"), primary_key=True)
    item_id: Mapped[str] = mapped_column(ID, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)


class AllocationRow(Base):
    __tablename__ = "seller_order_allocations"
    order_id: Mapped[str] = mapped_column(ForeignKey("seller_orders.id"), primary_key=True)
    item_id: Mapped[str] = mapped_column(ID, primary_key=True)
    location_id: Mapped[str] = mapped_column(ID, primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)


class FulfillmentEventRow(Base):
    """Every state change of an order's fulfillment (the order's history)."""

    __tablename__ = "seller_fulfillment_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("seller_orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str] = mapped_column(String(32))
    from_fulfillment_state: Mapped[str] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    to_fulfillment_state: Mapped[str] = mapped_column(String(32))
    by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")


class CancellationRow(Base):
    __tablename__ = "seller_cancellations"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("seller_orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    code: Mapped[str] = mapped_column(String(8))
    by: Mapped[str] = mapped_column(String(8))
    full: Mapped[bool] = mapped_column(Boolean)
    quantities: Mapped[dict[str, int]] = mapped_column(JSON)
    refund: Mapped[int] = mapped_column(BigInteger)
    cost_to: Mapped[list[str]] = mapped_column(JSON)


class ReturnRow(Base):
    __tablename__ = "seller_returns"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("seller_orders.id"), index=True)
    item_id: Mapped[str] = mapped_column(ID)
    quantity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    refund: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    location_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    restocked: Mapped[bool] = mapped_column(Boolean, default=False)
    history: Mapped[list[list[str]]] = mapped_column(JSON)


class RefundRow(Base):
    __tablename__ = "seller_refunds"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("seller_orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    ref: Mapped[str | None] = mapped_column(ID, nullable=True)  # cancellation / return id


class RatingRow(Base):
    __tablename__ = "seller_ratings"
    order_id: Mapped[str] = mapped_column(ForeignKey("seller_orders.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    entity_id: Mapped[str] = mapped_column(ID, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
    feedback: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


def table_of(cls: type[Base]) -> Table:
    """The Core table behind a row class (for plain SQL statements on the hot paths)."""
    return cast(Table, cls.__table__)
