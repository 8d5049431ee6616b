"""Alembic environment of the buyer. Runs on the connection ``mercato.db.run_migrations`` passes."""

from __future__ import annotations

from mercato.buyer.tables import metadata
from mercato.db import run_alembic_env

run_alembic_env(metadata, version_table="buyer_alembic_version", script_location="mercato.buyer:migrations")
