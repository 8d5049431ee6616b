"""The registry's database: an engine from a URL, with the registry's migrations applied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError

from mercato.db import is_sqlite, make_engine, run_migrations

SCRIPT_LOCATION = "mercato.registry:migrations"


def _sqlite_engine(url: str) -> Engine:
    """SQLite with WAL, foreign keys and a busy timeout (the settings mercato.db uses)."""
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    return engine


def open_engine(url: str, *, migrate: bool = True) -> Engine:
    """An engine for ``url`` (SQLite file or PostgreSQL), upgraded to the newest registry schema."""
    try:
        engine = make_engine(url)
    except ArgumentError:
        # mercato.db.make_engine currently mangles sqlite:///FILE URLs while splitting off
        # ?schema=; SQLite has no schemas, so build the engine directly.
        if not is_sqlite(url):
            raise
        engine = _sqlite_engine(url)
    if migrate:
        run_migrations(engine, SCRIPT_LOCATION)
    return engine
