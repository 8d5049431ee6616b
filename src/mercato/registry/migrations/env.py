"""Alembic environment of the registry. Runs on the connection ``mercato.db.run_migrations`` passes."""

from __future__ import annotations

from mercato.db import run_alembic_env
from mercato.registry.models import metadata

run_alembic_env(
    metadata, version_table="registry_alembic_version", script_location="mercato.registry:migrations"
)
