"""The registry's tables: subscribers, their keys, and the roles they play in domains and cities.

* ``registry_subscribers`` — one row per subscriber id (country, where ``/on_subscribe`` lives).
* ``registry_keys`` — one row per (subscriber id, unique key id): the Ed25519 signing and X25519
  encryption public keys, their validity window and status. Several keys may be valid at once
  (rotation); a revoked key stays in the table with status ``REVOKED``.
* ``registry_participations`` — one row per (subscriber id, type, domain, city): what
  ``/lookup`` searches by. City ``"*"`` means every city.

Times are stored in UTC; :class:`UTCDateTime` hands back timezone-aware datetimes on SQLite too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Status(StrEnum):
    """Subscription status of a key (the Beckn registry enum, plus REVOKED)."""

    INITIATED = "INITIATED"
    UNDER_SUBSCRIPTION = "UNDER_SUBSCRIPTION"
    SUBSCRIBED = "SUBSCRIBED"
    INVALID_SSL = "INVALID_SSL"
    UNSUBSCRIBED = "UNSUBSCRIBED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"  # reported by lookup for keys past valid_until, never stored


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        t: datetime = value.astimezone(UTC)
        return t.replace(tzinfo=None) if dialect.name == "sqlite" else t

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        t: datetime = value
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class Base(DeclarativeBase):
    metadata = metadata


class Subscriber(Base):
    __tablename__ = "registry_subscribers"

    subscriber_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    country: Mapped[str] = mapped_column(String(8))
    callback_url: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24))
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    updated: Mapped[datetime] = mapped_column(UTCDateTime())


class SubscriberKey(Base):
    __tablename__ = "registry_keys"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "unique_key_id"),
        Index("ix_registry_keys_signing_public_key", "signing_public_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscriber_id: Mapped[str] = mapped_column(
        String(255), ForeignKey("registry_subscribers.subscriber_id", ondelete="CASCADE")
    )
    unique_key_id: Mapped[str] = mapped_column(String(255))
    signing_public_key: Mapped[str] = mapped_column(String(128))
    encr_public_key: Mapped[str] = mapped_column(String(256))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(24))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    updated: Mapped[datetime] = mapped_column(UTCDateTime())


class Participation(Base):
    __tablename__ = "registry_participations"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "type", "domain", "city"),
        Index("ix_registry_participations_type_domain_city", "type", "domain", "city"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscriber_id: Mapped[str] = mapped_column(
        String(255), ForeignKey("registry_subscribers.subscriber_id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(8))
    domain: Mapped[str] = mapped_column(String(128))
    city: Mapped[str] = mapped_column(String(64))
    subscriber_url: Mapped[str] = mapped_column(Text)
