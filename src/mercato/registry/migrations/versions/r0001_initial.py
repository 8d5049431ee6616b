"""Subscribers, their keys and their participations (type, domain, city).

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mercato.db import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_subscribers",
        sa.Column("subscriber_id", sa.String(255), nullable=False),
        sa.Column("country", sa.String(8), nullable=False),
        sa.Column("callback_url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("subscriber_id", name="pk_registry_subscribers"),
    )
    op.create_table(
        "registry_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subscriber_id", sa.String(255), nullable=False),
        sa.Column("unique_key_id", sa.String(255), nullable=False),
        sa.Column("signing_public_key", sa.String(128), nullable=False),
        sa.Column("encr_public_key", sa.String(256), nullable=False),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("valid_until", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registry_keys"),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["registry_subscribers.subscriber_id"],
            name="fk_registry_keys_subscriber_id_registry_subscribers",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "subscriber_id", "unique_key_id", name="uq_registry_keys_subscriber_id_unique_key_id"
        ),
    )
    op.create_index("ix_registry_keys_signing_public_key", "registry_keys", ["signing_public_key"])
    op.create_table(
        "registry_participations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subscriber_id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("domain", sa.String(128), nullable=False),
        sa.Column("city", sa.String(64), nullable=False),
        sa.Column("subscriber_url", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registry_participations"),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["registry_subscribers.subscriber_id"],
            name="fk_registry_participations_subscriber_id_registry_subscribers",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "subscriber_id",
            "type",
            "domain",
            "city",
            name="uq_registry_participations_subscriber_id_type_domain_city",
        ),
    )
    op.create_index(
        "ix_registry_participations_type_domain_city", "registry_participations", ["type", "domain", "city"]
    )


def downgrade() -> None:
    op.drop_index("ix_registry_participations_type_domain_city", "registry_participations")
    op.drop_table("registry_participations")
    op.drop_index("ix_registry_keys_signing_public_key", "registry_keys")
    op.drop_table("registry_keys")
    op.drop_table("registry_subscribers")
