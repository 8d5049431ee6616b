"""Alembic environment of the registry. Runs on the connection ``mercato.db.run_migrations`` passes."""

from __future__ import annotations

from alembic import context

from mercato.registry.models import metadata

VERSION_TABLE = "registry_alembic_version"

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError(
        "run registry migrations with mercato.db.run_migrations(engine, 'mercato.registry:migrations')"
    )

context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
