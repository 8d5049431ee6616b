"""Engines and sessions for SQLite (the embedded default) and PostgreSQL, and migrations.

Each role keeps its own database and its own Alembic migrations, in a ``migrations`` folder
inside the role's package (for example ``mercato/registry/migrations``).

URLs: ``sqlite:///path/to/file.db`` or ``postgresql://user@host:5432/db``. A PostgreSQL URL may
carry ``?schema=NAME`` (a Mercato extension, removed before connecting): every table then lives
in that schema, which is created if missing. Tests use it to give each test its own schema.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import DateTime, Dialect, Engine, TypeDecorator, create_engine, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        t: datetime = value.astimezone(UTC)
        return t.replace(tzinfo=None) if dialect.name == "sqlite" else t

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        t: datetime = value
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _split_schema(url: str) -> tuple[str, str | None]:
    if is_sqlite(url):  # urlsplit/urlunsplit would drop the '//' of sqlite:////abs/path
        return url, None
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = None
    kept = []
    for k, v in query:
        if k == "schema":
            schema = v
        else:
            kept.append((k, v))
    return urlunsplit(parts._replace(query=urlencode(kept))), schema


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    ping_idle_s: float = 5.0,
    pool_recycle_s: int = 1800,
) -> Engine:
    """Create an engine. SQLite gets WAL, foreign keys and a busy timeout; PostgreSQL a pool whose
    connections are tested before use after ``ping_idle_s`` idle (:func:`ping_when_idle`) and
    replaced after ``pool_recycle_s``."""
    url, schema = _split_schema(url)
    url = normalise_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if is_sqlite(url):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        # Reuse the connection returned last: SQLite keeps a page cache per connection, which is
        # dropped whenever another connection has written since, so cycling through the pool (FIFO)
        # re-read pages on every transaction (node CPU per checkout -3..-6% with LIFO, two pairs).
        kwargs["pool_use_lifo"] = True
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_recycle=pool_recycle_s)
    if schema:
        if not schema.replace("_", "").isalnum():
            raise ValueError(f"schema name {schema!r} must be letters, digits and underscores")
        kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
    engine = create_engine(url, **kwargs)
    ping_when_idle(engine, ping_idle_s)
    if schema:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    return engine


def ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Test a pooled connection before use only when it sat idle for more than ``idle_s`` seconds.

    ``pool_pre_ping`` would ping on every checkout: a server round trip per transaction on the hot
    path, where connections are reused within milliseconds. A connection that broke while idle (the
    server restarted, a proxy dropped it) is still caught here, and replaced: raising
    ``DisconnectionError`` in a checkout listener makes the pool discard it and try another.
    Connections older than ``pool_recycle`` are replaced anyway."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since <= idle_s:
            return
        try:
            cur = dbapi_conn.cursor()
            cur.execute("SELECT 1")
            cur.close()
            dbapi_conn.rollback()
        except Exception as exc:
            raise DisconnectionError(f"a pooled connection died while idle: {exc}") from exc


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def run_migrations(engine: Engine, script_location: str) -> None:
    """Upgrade the database to the newest revision of the given Alembic script folder.

    ``script_location`` is a package path such as ``"mercato.registry:migrations"``.
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", script_location)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def default_data_dir() -> Path:
    return Path(os.environ.get("MERCATO_DATA_DIR", ".mercato")).expanduser()


def run_alembic_env(metadata: Any, *, version_table: str, script_location: str) -> None:
    """The body of every role's ``migrations/env.py``: run on the connection ``run_migrations`` passes.

    ``metadata`` is the role's SQLAlchemy MetaData (or a list of them); each role keeps its own
    version table, so several roles may share one database or schema.
    """
    from alembic import context

    connection = context.config.attributes.get("connection")
    if connection is None or context.is_offline_mode():
        raise RuntimeError(
            f"run these migrations with mercato.db.run_migrations(engine, {script_location!r})"
        )
    context.configure(connection=connection, target_metadata=metadata, version_table=version_table)
    with context.begin_transaction():
        context.run_migrations()
