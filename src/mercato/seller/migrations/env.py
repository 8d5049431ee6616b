"""Alembic environment of the seller node. Runs on the connection ``mercato.db.run_migrations`` passes."""

from __future__ import annotations

from alembic import context

from mercato.seller.store.tables import metadata
from mercato.transport.outbox import metadata as outbox_metadata

VERSION_TABLE = "seller_alembic_version"

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError(
        "run seller migrations with mercato.db.run_migrations(engine, 'mercato.seller:migrations')"
    )

context.configure(
    connection=connection, target_metadata=[metadata, outbox_metadata], version_table=VERSION_TABLE
)
with context.begin_transaction():
    context.run_migrations()
