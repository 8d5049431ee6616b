"""The registry's database: an engine from a URL, with the registry's migrations applied."""

from __future__ import annotations

from sqlalchemy import Engine

from mercato.db import make_engine, run_migrations

SCRIPT_LOCATION = "mercato.registry:migrations"


def open_engine(url: str, *, migrate: bool = True) -> Engine:
    """An engine for ``url`` (SQLite file or PostgreSQL), upgraded to the newest registry schema."""
    engine = make_engine(url)
    if migrate:
        run_migrations(engine, SCRIPT_LOCATION)
    return engine
