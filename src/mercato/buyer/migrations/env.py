"""Alembic environment of the buyer node. Runs on the connection ``mercato.db.run_migrations`` passes."""

from __future__ import annotations

from alembic import context

from mercato.buyer.tables import metadata

VERSION_TABLE = "buyer_alembic_version"

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError(
        "run buyer migrations with mercato.db.run_migrations(engine, 'mercato.buyer:migrations')"
    )

context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
