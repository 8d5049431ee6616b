"""Engines and sessions for SQLite (the embedded default) and PostgreSQL, and migrations.

Each role keeps its own database and its own Alembic migrations, in a ``migrations`` folder
inside the role's package (for example ``mercato/registry/migrations``).

URLs: ``sqlite:///path/to/file.db`` or ``postgresql://user@host:5432/db``. A PostgreSQL URL may
carry ``?schema=NAME`` (a Mercato extension, removed before connecting): every table then lives
in that schema, which is created if missing. Tests use it to give each test its own schema.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import namedtuple
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
from sqlalchemy import Connection, DateTime, Dialect, Engine, TypeDecorator, create_engine, event, text
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


_JSON_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# 19 digits in a row may be an integer beyond 64 bits, which orjson would read back as a float.
_LONG_DIGITS = re.compile(r"\d{19}")
_LONG_DIGITS_B = re.compile(rb"\d{19}")


def json_dumps(value: Any) -> str:
    """The engines' JSON encoder: orjson (compact), several times faster than ``json.dumps`` for a
    quote or an order. What orjson refuses (integers beyond 64 bits, strings with a lone surrogate)
    goes to ``json.dumps``, and so do datetimes and dataclasses, which ``json.dumps`` refuses.
    Differences that remain: NaN and infinities are written as null (``json.dumps`` writes ``NaN``,
    which is not JSON and which PostgreSQL refuses), and enums and UUIDs are written as their values
    where ``json.dumps`` refuses them."""
    try:
        return orjson.dumps(value, option=_JSON_OPTS).decode()
    except TypeError:
        return json.dumps(value)


def json_loads(text: str | bytes) -> Any:
    """The engines' JSON decoder: orjson, except for what it would read differently from
    ``json.loads`` — a document that may hold an integer beyond 64 bits (orjson reads it as a float)
    and what orjson refuses (``NaN`` or a lone surrogate, which older rows written by ``json.dumps``
    may hold) go to ``json.loads``."""
    if isinstance(text, str):
        long = _LONG_DIGITS.search(text) is not None
    elif isinstance(text, bytes):
        long = _LONG_DIGITS_B.search(text) is not None
    else:  # SQLite hands a top-level number over as a number: json.loads' TypeError tells SQLAlchemy
        return json.loads(text)
    if not long:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


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
    kwargs: dict[str, Any] = {
        "echo": echo,
        "future": True,
        "json_serializer": json_dumps,
        "json_deserializer": json_loads,
    }
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


# -- prepared statements: the hot path without SQLAlchemy's per-execution work -------------------


class Prepared:
    """A Core statement compiled once per engine and run straight on the driver's cursor.

    ``conn.execute(stmt, params)`` builds an execution context, a cache key and a result object
    for every call: about 20–25 µs of Python per statement on top of the driver's own ~10 µs, and a
    checkout runs some 25 statements. A :class:`Prepared` compiles its statement for the engine's
    dialect the first time (per set of INSERT columns), keeps the SQL string, the order of its
    parameters and the type processors of its parameters and result columns (JSON, UTC times), and
    from then on only converts the values and calls the cursor — in the transaction of the Session or
    Connection it is given, like ``conn.execute``.

    What it refuses, at the first run, is what would make it differ from ``conn.execute``: a
    ``bindparam(expanding=True)`` (an ``IN`` list: build one statement per length instead), a column
    with a Python-side default or ``onupdate`` that the values leave out (give every value), a
    bindparam with a callable. When the engine has cursor-execute event listeners (statement
    counters in tests, tracing), every run goes through ``conn.execute`` so that they see it.
    """

    __slots__ = ("statement",)

    def __init__(self, statement: Any) -> None:
        self.statement = statement

    def _plan(self, conn: Connection, keys: tuple[str, ...] | None) -> _Plan:
        # kept on the dialect: they go with the engine; keyed by the statement itself (not its id,
        # which a collected statement could hand on to a new one)
        plans: dict[tuple[Prepared, tuple[str, ...] | None], _Plan] = conn.dialect.__dict__.setdefault(
            "_mercato_prepared", {}
        )
        key = (self, keys)
        plan = plans.get(key)
        if plan is None:
            plan = plans[key] = _Plan(self.statement, conn.dialect, keys)
        return plan

    def _run(self, target: Session | Connection, params: Any, many: bool) -> tuple[_Plan | None, Any]:
        """Run it: the plan and the driver's cursor, or (None, SQLAlchemy's result) when listeners
        are installed. Both answer ``fetchall``, ``fetchone``, ``rowcount`` and ``close``; rows from
        the cursor still need ``plan.row``."""
        conn = target.connection() if isinstance(target, Session) else target
        if conn._has_events or conn.engine._has_events:
            return None, conn.execute(self.statement, params)
        first = params[0] if many else params
        keys = tuple(sorted(first)) if self.statement.is_insert else None
        plan = self._plan(conn, keys)
        if not conn.in_transaction():
            conn.begin()  # as conn.execute would (autobegin): conn.commit() then commits this work
        cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        args = [plan.args(p) for p in params] if many else plan.args(params)
        try:
            if many:
                cur.executemany(plan.sql, args)
            else:
                cur.execute(plan.sql, args)
        except conn.dialect.loaded_dbapi.Error as exc:
            # as conn.execute does: a disconnect invalidates the connection, and the driver's error
            # becomes SQLAlchemy's (IntegrityError, OperationalError, ...), which callers catch
            cur.close()
            conn._handle_dbapi_exception(exc, plan.sql, args, cur, None)
            raise  # not reached: the line above raises
        return plan, cur

    def execute(self, target: Session | Connection, params: Mapping[str, Any]) -> int:
        """Run it; the number of rows it changed (the cursor's ``rowcount``)."""
        _, cur = self._run(target, params, False)
        try:
            return int(cur.rowcount)
        finally:
            cur.close()

    def executemany(self, target: Session | Connection, params: Sequence[Mapping[str, Any]]) -> None:
        """Run it once per set of values (all with the same keys)."""
        if params:
            self._run(target, params, True)[1].close()

    def all(self, target: Session | Connection, params: Mapping[str, Any]) -> list[Any]:
        """The rows, as named tuples (``row.column`` and ``row[i]``), values converted by type."""
        plan, cur = self._run(target, params, False)
        try:
            rows = cur.fetchall()
        finally:
            cur.close()
        return list(rows) if plan is None else [plan.row(r) for r in rows]

    def first(self, target: Session | Connection, params: Mapping[str, Any]) -> Any:
        """The first row, or None."""
        plan, cur = self._run(target, params, False)
        try:
            r = cur.fetchone()
        finally:
            cur.close()
        return r if plan is None or r is None else plan.row(r)

    def scalar(self, target: Session | Connection, params: Mapping[str, Any]) -> Any:
        """The first column of the one row there must be (``scalar_one``)."""
        rows = self.all(target, params)
        if len(rows) != 1:
            raise ValueError(f"expected one row, got {len(rows)}")
        return rows[0][0]


class _Plan:
    """One compiled form of a :class:`Prepared` statement for one dialect."""

    __slots__ = ("sql", "names", "fixed", "procs", "positional", "row_type", "result_procs")

    def __init__(self, statement: Any, dialect: Dialect, keys: tuple[str, ...] | None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise TypeError(
                "Prepared: an expanding or literal-execute parameter; build one statement per length"
            )
        left_out = [c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
        if left_out:
            raise TypeError(f"Prepared: give values for {left_out} (columns with a Python-side default)")
        for name, bind in compiled.binds.items():
            if bind.callable is not None:
                raise TypeError(f"Prepared: bindparam {name!r} has a callable value")
        self.sql: str = compiled.string
        self.positional = compiled.positional
        names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.bind_names.values())
        if not compiled.positional and compiled.escaped_bind_names:
            raise TypeError("Prepared: bind names that the dialect must escape")
        self.names: tuple[str, ...] = names
        # values fixed in the statement itself (``col != 'delivered'``): used when params leave them out
        self.fixed: dict[str, Any] = {
            n: b.effective_value for n, b in compiled.binds.items() if b.value is not None or not b.required
        }
        procs = compiled._bind_processors
        self.procs: tuple[tuple[str, Any], ...] = tuple(
            (n, procs[n]) for n in dict.fromkeys(names) if n in procs
        )
        cols = compiled._result_columns
        if cols:
            self.row_type: Any = namedtuple("Row", [c.keyname for c in cols], rename=True)  # type: ignore[misc]
            self.result_procs: tuple[Any, ...] | None = tuple(
                c.type._cached_result_processor(dialect, None) for c in cols
            )
            if not any(self.result_procs):
                self.result_procs = None
        else:
            self.row_type, self.result_procs = tuple, None

    def args(self, params: Mapping[str, Any]) -> Any:
        values = {**self.fixed, **params} if self.fixed else dict(params)
        for name, proc in self.procs:
            values[name] = proc(values[name])
        if self.positional:
            return tuple([values[n] for n in self.names])
        return {n: values[n] for n in self.names}

    def row(self, raw: Sequence[Any]) -> Any:
        procs = self.result_procs
        if procs is None:
            return self.row_type._make(raw)
        return self.row_type._make([v if p is None else p(v) for p, v in zip(procs, raw, strict=True)])
