"""Alembic environment of the gateway. Runs on the connection ``mercato.db.run_migrations`` passes."""

from __future__ import annotations

from mercato.db import run_alembic_env
from mercato.gateway.index.tables import metadata

run_alembic_env(
    metadata, version_table="gateway_alembic_version", script_location="mercato.gateway:migrations"
)
