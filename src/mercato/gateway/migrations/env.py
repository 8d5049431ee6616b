"""Alembic environment of the gateway. Runs on the connection ``mercato.db.run_migrations`` passes."""

from __future__ import annotations

from alembic import context

from mercato.gateway.index.tables import metadata

VERSION_TABLE = "gateway_alembic_version"

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError(
        "run gateway migrations with mercato.db.run_migrations(engine, 'mercato.gateway:migrations')"
    )

context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
