"""The registry's Alembic migrations run on SQLite and PostgreSQL and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from mercato.registry.database import open_engine
from mercato.registry.models import metadata

VERSION_TABLE = "registry_alembic_version"  # set in mercato/registry/migrations/env.py


def test_migrations_create_the_tables_and_indexes(db_url: str) -> None:
    engine = open_engine(db_url)
    try:
        open_engine(db_url).dispose()  # a second run is a no-op
        insp = inspect(engine)
        assert {"registry_subscribers", "registry_keys", "registry_participations", VERSION_TABLE} <= set(
            insp.get_table_names()
        )
        indexes = {tuple(ix["column_names"]) for ix in insp.get_indexes("registry_participations")}
        assert ("type", "domain", "city") in indexes
        uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints("registry_keys")}
        assert ("subscriber_id", "unique_key_id") in uniques
        with engine.connect() as conn:
            assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == "0001"
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}), metadata
            )
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        engine.dispose()
