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

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mercato.db import UTCDateTime


class Status(StrEnum):
    """Subscription status of a key (the Beckn registry enum, plus REVOKED)."""

    INITIATED = "INITIATED"
    UNDER_SUBSCRIPTION = "UNDER_SUBSCRIPTION"
    SUBSCRIBED = "SUBSCRIBED"
    INVALID_SSL = "INVALID_SSL"
    UNSUBSCRIBED = "UNSUBSCRIBED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"  # reported by lookup for keys past valid_until, never stored


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
