"""Alembic environment of the seller. Runs on the connection ``mercato.db.run_migrations`` passes."""

from __future__ import annotations

from mercato.db import run_alembic_env
from mercato.seller.store.tables import metadata
from mercato.transport.outbox import metadata as outbox_metadata

run_alembic_env(
    [metadata, outbox_metadata],
    version_table="seller_alembic_version",
    script_location="mercato.seller:migrations",
)
