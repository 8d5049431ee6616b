"""mercato.db: a PostgreSQL pool that pings a connection only after it sat idle; the JSON codec."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import JSON, Column, Engine, Integer, MetaData, Table, select, text
from sqlalchemy.exc import OperationalError, StatementError

from mercato.db import json_dumps, json_loads, make_engine


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


# --- the engines' JSON codec ------------------------------------------------------------------------

_DOCS = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**80), 2**80) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=4),
    max_leaves=20,
)  # fmt: skip


@given(_DOCS)
def test_the_codec_reads_back_what_json_would(doc: object) -> None:
    text = json_dumps(doc)
    expected = json.loads(json.dumps(doc))
    for back in (json_loads(text), json_loads(text.encode())):  # SQLite gives str, psycopg bytes
        assert back == expected
        assert _types(back) == _types(expected)  # an int stays an int (2**70 + 1 == float(...) fails)


def _types(doc: object) -> object:
    if isinstance(doc, dict):
        return {k: _types(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_types(v) for v in doc]
    return type(doc)


def test_json_dumps_refuses_what_json_dumps_refuses() -> None:
    back = json_loads(json_dumps({1: "a", "big": 2**70 + 1}))
    assert back == {"1": "a", "big": 2**70 + 1} and isinstance(back["big"], int)
    for bad in ({"at": datetime.now(UTC)}, {"d": Decimal("1.5")}, {"s": {1, 2}}):
        with pytest.raises(TypeError):
            json_dumps(bad)


def test_rows_written_by_json_dumps_still_read() -> None:
    """Older rows came from ``json.dumps``: NaN and lone surrogates are not what orjson reads."""
    assert json_loads('{"x": NaN, "y": 1}')["y"] == 1
    assert json_loads(json.dumps({"s": "\ud800"})) == {"s": "\ud800"}
    assert json_loads(json_dumps({"s": "\ud800"})) == {"s": "\ud800"}  # written through json.dumps
    with pytest.raises(ValueError):
        json_loads("{not json")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_json_columns_round_trip_through_the_codec(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    engine = make_engine(url)
    table = Table("json_probe", MetaData(), Column("id", Integer, primary_key=True), Column("doc", JSON))
    table.metadata.create_all(engine)
    doc = {"lines": [{"item": "I1", "qty": 2, "price": 12345}], "note": "ünïcode ₹", "big": 2**70 + 1}
    with engine.begin() as conn:
        conn.execute(table.insert(), {"id": 1, "doc": doc})
        back = conn.execute(select(table.c.doc)).scalar_one()
        assert back == doc and isinstance(back["big"], int)
        scalars = [0, 2.5, "text", True, [], {}]  # SQLite hands a number back as a number, not text
        conn.execute(table.insert(), [{"id": 10 + i, "doc": v} for i, v in enumerate(scalars)])
        got = conn.execute(select(table.c.doc).where(table.c.id >= 10).order_by(table.c.id)).scalars().all()
        assert got == scalars and [type(v) for v in got] == [type(v) for v in scalars]
        # SQLite encodes in SQLAlchemy's bind processor (StatementError); psycopg in its own dumper
        with pytest.raises((StatementError, TypeError)):
            conn.execute(table.insert(), {"id": 2, "doc": {"at": datetime.now(UTC)}})
    engine.dispose()
