"""mercato.db: a PostgreSQL pool that pings a connection only after it sat idle."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from mercato.db import make_engine


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def kill(url: str, pid: int) -> None:
    other = make_engine(url, pool_size=1)
    with other.begin() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    other.dispose()
    time.sleep(0.2)


def test_an_idle_connection_that_died_is_replaced(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=1, ping_idle_s=0.05)
    first = backend_pid(engine)
    kill(pg_url, first)  # the server drops the pooled connection while it is idle
    second = backend_pid(engine)  # the ping at checkout found it dead: a fresh one is used
    assert second != first
    assert backend_pid(engine) == second  # and reused
    engine.dispose()


def test_a_connection_in_use_again_at_once_is_not_pinged(pg_url: str) -> None:
    """Within ``ping_idle_s`` the pool trusts the connection: a broken one fails the statement (the
    engine then invalidates it), which shows no round trip was spent on a ping."""
    engine = make_engine(pg_url, pool_size=1, ping_idle_s=3600)
    first = backend_pid(engine)
    kill(pg_url, first)
    with pytest.raises(OperationalError):
        backend_pid(engine)
    assert backend_pid(engine) != first  # the failure invalidated it; the next checkout reconnects
    engine.dispose()


def test_sqlite_engines_are_unchanged(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    engine.dispose()
