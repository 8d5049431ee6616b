"""mercato.db.Prepared: the same rows and effects as ``conn.execute``, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from mercato.db import Prepared, UTCDateTime, make_engine

META = MetaData()
THINGS = Table(
    "prepared_things",
    META,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("doc", JSON, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("blob", LargeBinary, nullable=True),
    Column("flag", Boolean, nullable=False),
    Column("n", Integer, nullable=False, default=7),
)

NEW = Prepared(insert(THINGS).returning(THINGS.c.id))
NEW_PLAIN = Prepared(insert(THINGS))
BY_NAME = Prepared(
    select(THINGS.c.id, THINGS.c.name, THINGS.c.doc, THINGS.c.at, THINGS.c.blob, THINGS.c.flag)
    .where(THINGS.c.name == bindparam("k_name"))
    .order_by(THINGS.c.id)
)
NOT_NAMED = Prepared(select(THINGS.c.id).where(THINGS.c.name != "skip").order_by(THINGS.c.id))
RENAME = Prepared(update(THINGS).where(THINGS.c.name == bindparam("k_name")).values(name=bindparam("v_name")))
T0 = datetime(2026, 12, 7, 6, 30, 1, 250_000, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[Any]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    eng = make_engine(url)
    META.create_all(eng)
    yield eng
    eng.dispose()


def row(name: str, i: int = 0, **kw: Any) -> dict[str, Any]:
    doc = {"i": i, "tags": ["a", "ü"], "deep": {"x": None}}
    at = T0 + timedelta(hours=i)
    return {"name": name, "doc": doc, "at": at, "blob": bytes([i]) * 3, "flag": i % 2 == 0, "n": i, **kw}


def test_rows_and_types_match_conn_execute(engine: Any) -> None:
    with Session(engine) as s, s.begin():
        ids = [NEW.scalar(s, row("a", i)) for i in range(3)]
        NEW_PLAIN.executemany(s, [row("b", i) for i in range(3, 5)])
    assert ids == sorted(ids) and len(set(ids)) == 3
    with Session(engine) as s:
        fast = BY_NAME.all(s, {"k_name": "a"})
        slow = s.connection().execute(BY_NAME.statement, {"k_name": "a"}).all()
        assert [tuple(r) for r in fast] == [tuple(r) for r in slow]
        first = BY_NAME.first(s, {"k_name": "a"})
        assert first is not None and first.doc == {"i": 0, "tags": ["a", "ü"], "deep": {"x": None}}
        assert (
            first.at == T0 and first.at.tzinfo is not None and first.blob == b"\0\0\0" and first.flag is True
        )
        assert first[1] == first.name == "a"
        assert BY_NAME.first(s, {"k_name": "nobody"}) is None
        assert [r.id for r in BY_NAME.all(s, {"k_name": "b"})] == [ids[-1] + 1, ids[-1] + 2]


def test_a_value_fixed_in_the_statement_is_used(engine: Any) -> None:
    with Session(engine) as s, s.begin():
        keep = NEW.scalar(s, row("keep"))
        NEW.scalar(s, row("skip"))
    with Session(engine) as s:
        assert [r.id for r in NOT_NAMED.all(s, {})] == [keep]


def test_execute_counts_changed_rows_and_joins_the_transaction(engine: Any) -> None:
    with Session(engine) as s, s.begin():
        NEW_PLAIN.executemany(s, [row("x", 1), row("x", 2)])
        assert RENAME.execute(s, {"k_name": "x", "v_name": "y"}) == 2
        assert RENAME.execute(s, {"k_name": "x", "v_name": "z"}) == 0
    with Session(engine) as s:
        s.begin()
        RENAME.execute(s, {"k_name": "y", "v_name": "gone"})
        assert len(BY_NAME.all(s, {"k_name": "gone"})) == 2  # seen inside the transaction
        s.rollback()
    with Session(engine) as s:  # ... and undone with it
        assert BY_NAME.all(s, {"k_name": "gone"}) == [] and len(BY_NAME.all(s, {"k_name": "y"})) == 2


def test_a_listener_sees_every_statement(engine: Any) -> None:
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_c: Any, _cur: Any, sql: str, *_a: Any) -> None:
        seen.append(sql)

    with Session(engine) as s, s.begin():
        NEW.scalar(s, row("seen"))
        assert BY_NAME.first(s, {"k_name": "seen"}).name == "seen"
        assert RENAME.execute(s, {"k_name": "seen", "v_name": "seen2"}) == 1
    assert len(seen) == 3 and "prepared_things" in seen[1]


def test_what_it_refuses(sqlite_url: str) -> None:
    eng = make_engine(sqlite_url)
    META.create_all(eng)
    ins = row("r")
    del ins["n"]  # a column with a Python-side default left out: conn.execute would fill it in
    with Session(eng) as s, pytest.raises(TypeError, match="Python-side default"):
        NEW_PLAIN.execute(s, ins)
    expanding = Prepared(select(THINGS.c.id).where(THINGS.c.name.in_(bindparam("names", expanding=True))))
    with Session(eng) as s, pytest.raises(TypeError, match="expanding"):
        expanding.all(s, {"names": ["a"]})
    with Session(eng) as s, pytest.raises(ValueError, match="one row"):
        NEW.scalar(s, row("x")) and BY_NAME.scalar(s, {"k_name": "nobody"})
    eng.dispose()


@settings(max_examples=40, deadline=None)
@given(
    name=st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), max_size=40),
    doc=st.recursive(
        st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
        lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3),
        max_leaves=8,
    ),
    micros=st.integers(0, 10**12),
)
def test_any_value_round_trips_as_through_sqlalchemy(
    tmp_path_factory: pytest.TempPathFactory, name: str, doc: Any, micros: int
) -> None:
    eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('p') / 'p.db'}")
    META.create_all(eng)
    at = T0 + timedelta(microseconds=micros)
    values = {"name": name, "doc": doc, "at": at, "blob": None, "flag": False, "n": 1}
    with Session(eng) as s, s.begin():
        NEW_PLAIN.execute(s, values)
        s.connection().execute(insert(THINGS), values)
    with Session(eng) as s:
        fast, slow = (
            BY_NAME.all(s, {"k_name": name}),
            s.connection().execute(BY_NAME.statement, {"k_name": name}).all(),
        )
    assert len(fast) == 2 and [tuple(r)[1:] for r in fast] == [tuple(r)[1:] for r in slow]
    assert fast[0].doc == doc and fast[0].at == at
    eng.dispose()


UNIQUE = Table("prepared_unique", META, Column("k", String(10), primary_key=True))
NEW_KEY = Prepared(insert(UNIQUE))


def test_a_driver_error_is_sqlalchemys(engine: Any) -> None:
    from sqlalchemy.exc import IntegrityError

    with Session(engine) as s, s.begin():
        NEW_KEY.execute(s, {"k": "one"})
    with Session(engine) as s, pytest.raises(IntegrityError):
        NEW_KEY.execute(s, {"k": "one"})
    with Session(engine) as s, s.begin():  # the connection is fine afterwards
        NEW_KEY.execute(s, {"k": "two"})


def test_a_plain_connection_begins_as_conn_execute_would(engine: Any) -> None:
    with engine.connect() as conn:  # no begin(): the first statement begins, commit() commits it
        NEW_KEY.execute(conn, {"k": "auto"})
        conn.commit()
    with engine.connect() as conn:
        NEW_KEY.execute(conn, {"k": "dropped"})  # closed without commit: rolled back
    with Session(engine) as s:
        keys = {r.k for r in Prepared(select(UNIQUE.c.k)).all(s, {})}
    assert keys == {"auto"}
