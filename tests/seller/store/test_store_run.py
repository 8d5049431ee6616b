"""Store.run: store work inline on SQLite while the write lock is free, in a thread otherwise; a
refused first write leaves nothing behind and the work runs again from the start."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from mercato.seller.store import Store, open_store


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    with s.write() as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    yield s
    s.engine.dispose()


def rows(store: Store) -> int:
    with store.read() as s:
        return int(s.execute(text("SELECT count(*) FROM t")).scalar_one())


def test_free_lock_runs_inline_on_the_callers_thread(sqlite_store: Store) -> None:
    seen: list[int] = []

    def work() -> str:
        seen.append(threading.get_ident())
        with sqlite_store.write() as s:
            s.execute(text("INSERT INTO t VALUES (1)"))
        return "done"

    async def main() -> str:
        return await sqlite_store.run(work)

    assert asyncio.run(main()) == "done"
    assert seen == [threading.get_ident()] and rows(sqlite_store) == 1
    assert (sqlite_store.ran_inline, sqlite_store.ran_in_thread) == (1, 0)


def test_held_lock_sends_the_work_to_a_thread_and_runs_it_once(sqlite_store: Store) -> None:
    assert sqlite_store.write_lock is not None
    calls: list[int] = []
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with sqlite_store.write() as s:
            s.execute(text("INSERT INTO t VALUES (0)"))
            held.set()
            release.wait(10)

    def work() -> None:
        calls.append(threading.get_ident())
        with sqlite_store.write() as s:  # the first write: refused inline, waited for in the thread
            s.execute(text("INSERT INTO t VALUES (1)"))
        with sqlite_store.write() as s:  # a later write always waits
            s.execute(text("INSERT INTO t VALUES (2)"))

    async def main() -> None:
        t = threading.Thread(target=holder)
        t.start()
        held.wait(10)
        asyncio.get_running_loop().call_later(0.2, release.set)
        await sqlite_store.run(work)
        t.join()

    asyncio.run(main())
    assert len(calls) == 2 and calls[0] == threading.get_ident() != calls[1]
    assert rows(sqlite_store) == 3  # 0, 1 and 2: the refused attempt wrote nothing
    assert (sqlite_store.ran_inline, sqlite_store.ran_in_thread) == (0, 1)


def test_only_the_first_write_may_refuse(sqlite_store: Store) -> None:
    """After a committed write the work may not start over: a later write waits for the lock."""
    order: list[str] = []
    got_first = threading.Event()

    def other() -> None:
        got_first.wait(10)
        with sqlite_store.write():
            order.append("other")

    def work() -> None:
        with sqlite_store.write() as s:
            s.execute(text("INSERT INTO t VALUES (1)"))
        t = threading.Thread(target=other)
        with sqlite_store.write() as s:
            t.start()
            got_first.set()
            s.execute(text("INSERT INTO t VALUES (2)"))
            order.append("work")
        t.join()

    async def main() -> None:
        await sqlite_store.run(work)

    asyncio.run(main())
    assert order == ["work", "other"] and rows(sqlite_store) == 2
    assert sqlite_store.ran_inline == 1


def test_errors_of_the_work_pass_through(sqlite_store: Store) -> None:
    def work() -> None:
        raise ValueError("bad basket")

    async def main() -> None:
        await sqlite_store.run(work)

    with pytest.raises(ValueError, match="bad basket"):
        asyncio.run(main())


def test_postgresql_work_goes_to_a_thread(pg_url: str) -> None:
    store = open_store(pg_url)
    try:
        assert not store.inline

        async def main() -> int:
            return await store.run(threading.get_ident)

        assert asyncio.run(main()) != threading.get_ident()
        assert store.ran_in_thread == 1
    finally:
        store.engine.dispose()
