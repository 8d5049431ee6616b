"""The database replay guard: shared by several processes (here: several engines) on one database."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from mercato.db import make_engine
from mercato.transport.replay import DatabaseReplayGuard, create_table, key_digest, replay_table


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def engines(url: str) -> Iterator[tuple[Engine, Engine]]:
    """Two engines on one database: what two worker processes hold."""
    a, b = make_engine(url), make_engine(url)
    create_table(a)
    create_table(b)  # idempotent
    yield a, b
    a.dispose()
    b.dispose()


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(replay_table)).scalar_one())


def test_a_key_claimed_by_one_process_is_refused_by_the_other(engines: tuple[Engine, Engine]) -> None:
    clock = Clock(1000.0)
    one, two = (DatabaseReplayGuard(e, clock=clock) for e in engines)
    key = ("buyer.example", "confirm", "m-1")

    async def go() -> list[bool]:
        return [
            await one.claim(key, 1030.0),
            await two.claim(key, 1030.0),
            await one.claim(key, 1030.0),
            await two.claim(("buyer.example", "confirm", "m-2"), 1030.0),
        ]

    assert asyncio.run(go()) == [True, False, False, True]
    clock.t = 1031.0  # the first entry expired: the id may be used again, once
    assert asyncio.run(two.claim(key, 1060.0)) is True
    assert asyncio.run(one.claim(key, 1060.0)) is False


def test_release_lets_the_message_be_sent_again(engines: tuple[Engine, Engine]) -> None:
    clock = Clock(1000.0)
    one, two = (DatabaseReplayGuard(e, clock=clock) for e in engines)
    key = ("b", "init", "m")

    async def go() -> list[bool]:
        first = await one.claim(key, 1030.0)
        await one.release(key)
        return [first, await two.claim(key, 1030.0), await one.claim(key, 1030.0)]

    assert asyncio.run(go()) == [True, True, False]


def test_concurrent_claims_in_one_batch_and_across_processes(engines: tuple[Engine, Engine]) -> None:
    """Many claims at once, each key sent twice to each process: exactly one acceptance per key."""
    clock = Clock(1000.0)
    keys = [("b", "select", f"m{i}") for i in range(60)]
    results: list[list[bool]] = [[], []]

    def process(n: int) -> None:
        guard = DatabaseReplayGuard(engines[n], clock=clock, max_batch=16)

        async def go() -> list[bool]:
            return list(await asyncio.gather(*(guard.claim(k, 1030.0) for k in keys + keys)))

        results[n] = asyncio.run(go())

    threads = [threading.Thread(target=process, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(len(keys)):
        got = [results[0][i], results[0][i + len(keys)], results[1][i], results[1][i + len(keys)]]
        assert got.count(True) == 1, (i, got)
    assert rows(engines[0]) == len(keys)


def test_expired_entries_are_purged(engines: tuple[Engine, Engine]) -> None:
    clock = Clock(1000.0)
    guard = DatabaseReplayGuard(engines[0], clock=clock, purge_every_s=10)
    assert guard.claim_many([(key_digest(("b", "s", str(i))), 1_005_000) for i in range(5)]) == [True] * 5
    assert rows(engines[0]) == 5
    clock.t = 1011.0
    assert guard.claim_many([(key_digest(("b", "s", "new")), 1_040_000)]) == [True]
    assert rows(engines[0]) == 1


def test_a_message_already_past_its_ttl_is_not_recorded(engines: tuple[Engine, Engine]) -> None:
    guard = DatabaseReplayGuard(engines[0], clock=Clock(1000.0))
    assert guard.claim_many([("x" * 64, 999_000), ("x" * 64, 999_000)]) == [True, False]
    assert rows(engines[0]) == 0


def test_a_database_failure_fails_the_claim(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)  # the table was never created
    guard = DatabaseReplayGuard(engine)
    with pytest.raises(Exception, match="replay_guard"):
        asyncio.run(guard.claim(("b", "s", "m"), 1e12))
    engine.dispose()


def test_max_batch_must_be_positive(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="max_batch"):
        DatabaseReplayGuard(make_engine(sqlite_url), max_batch=0)


@given(st.lists(st.tuples(st.text(max_size=5), st.text(max_size=5)), min_size=2, max_size=20, unique=True))
def test_digest_is_unambiguous(keys: list[tuple[str, str]]) -> None:
    """Different part lists never share a digest (length-prefixed parts: ("ab","c") != ("a","bc"))."""
    assert len({key_digest(k) for k in keys}) == len(keys)
