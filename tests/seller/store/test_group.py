"""Group commit (store/group.py): the work queued in one event-loop turn shares one SQLite write
transaction; each piece's writes are savepoints, so the outcome is that of running the pieces one
after another, and nothing is handed on before the commit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mercato.seller.store import Store, open_store
from mercato.seller.store.callbacks import Callback, send_later
from mercato.transport.outbox import OutboxRow


class FakeHandoff:
    worker_id = "w1"
    lease_ms = 60_000

    def __init__(self) -> None:
        self.handed: list[list[str]] = []
        self.queued: list[int] = []

    def acked(self, row_id: int) -> bool:
        return False

    def idle(self) -> bool:
        return True

    def committed(self, handed: Sequence[OutboxRow], queued: Sequence[int]) -> None:
        self.handed.append([r.message_id for r in handed])
        self.queued.extend(queued)


def make_store(path: Path) -> Store:
    s = open_store(f"sqlite:///{path}")
    with s.write() as session:
        session.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
    return s


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = make_store(tmp_path / "shop.db")
    yield s
    s.engine.dispose()


def numbers(store: Store) -> list[int]:
    with store.sessions() as s:
        return [int(n) for n in s.execute(text("SELECT n FROM t ORDER BY n")).scalars()]


def insert(store: Store, n: int) -> int:
    with store.write() as s:
        s.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
    return n


def together(store: Store, *pieces: Callable[[], Any]) -> list[Any]:
    """Queue every piece in the same loop turn; their results or exceptions, in order."""

    async def main() -> list[Any]:
        return await asyncio.gather(*(store.run_grouped(p) for p in pieces), return_exceptions=True)

    return asyncio.run(main())


def callback(message_id: str) -> Callback:
    return Callback("http://buyer.test/bap", "on_select", b"{}", f"txn-{message_id}", message_id)


def test_one_turns_pieces_share_one_transaction_and_see_each_other(store: Store) -> None:
    assert store.group is not None
    seen: list[list[int]] = []

    def look() -> None:
        with store.read() as s:
            seen.append([int(n) for n in s.execute(text("SELECT n FROM t ORDER BY n")).scalars()])

    out = together(store, lambda: insert(store, 1), look, lambda: insert(store, 2), look)
    assert out == [1, None, 2, None]
    assert seen == [[1], [1, 2]]  # each piece reads the pieces before it
    assert numbers(store) == [1, 2]
    assert (store.group.groups, store.group.pieces) == (1, 4)
    assert (store.ran_inline, store.ran_in_thread) == (4, 0)


def test_a_failed_write_undoes_only_itself(store: Store) -> None:
    def fails_inside() -> None:
        with store.write() as s:
            s.execute(text("INSERT INTO t VALUES (10)"))
            raise ValueError("out of stock")

    def duplicate() -> None:
        insert(store, 1)  # the first piece's row: IntegrityError, as alone

    def fails_after() -> int:
        insert(store, 20)  # written, then the piece fails: the write stays, as alone
        raise KeyError("later")

    out = together(
        store, lambda: insert(store, 1), fails_inside, duplicate, fails_after, lambda: insert(store, 3)
    )
    assert out[0] == 1 and out[4] == 3
    assert isinstance(out[1], ValueError) and isinstance(out[3], KeyError)
    assert type(out[2]).__name__ == "IntegrityError"
    assert numbers(store) == [1, 3, 20]


def test_nested_writes_roll_back_separately(store: Store) -> None:
    def piece() -> str:
        with store.write() as s:
            s.execute(text("INSERT INTO t VALUES (1)"))
            try:
                with store.write() as inner:
                    inner.execute(text("INSERT INTO t VALUES (2)"))
                    raise ValueError("inner")
            except ValueError:
                pass
            s.execute(text("INSERT INTO t VALUES (3)"))
        return "ok"

    assert together(store, piece) == ["ok"]
    assert numbers(store) == [1, 3]


def test_callbacks_are_handed_on_after_the_commit_and_never_from_a_rolled_back_write(store: Store) -> None:
    handoff = FakeHandoff()
    store.handoff = handoff

    def sends(mid: str, fail: bool = False) -> Callable[[], None]:
        def piece() -> None:
            with store.write() as s:
                send_later(s, callback(mid))
                assert handoff.handed == []  # nothing leaves before the group commits
                if fail:
                    raise ValueError(mid)

        return piece

    out = together(store, sends("a"), sends("b", fail=True), sends("c"))
    assert out[0] is None and isinstance(out[1], ValueError) and out[2] is None
    assert handoff.handed == [["a", "c"]]  # one hand-over, after the one commit
    with store.sessions() as s:
        stored = list(s.execute(text("SELECT message_id FROM outbox ORDER BY id")).scalars())
    assert stored == ["a", "c"]


def test_a_failed_commit_runs_the_pieces_again_one_by_one(store: Store) -> None:
    handoff = FakeHandoff()
    store.handoff = handoff
    with store.write() as s:  # a deferred foreign key: checked at COMMIT, which then fails
        s.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        s.execute(text("CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"))
    runs: list[str] = []

    def orphan() -> str:
        runs.append("orphan")
        with store.write() as s:
            s.execute(text("INSERT INTO child VALUES (7)"))
        return "written"

    def sends() -> None:
        with store.write() as s:
            send_later(s, callback("x"))

    out = together(store, lambda: insert(store, 1), orphan, sends)
    assert out[0] == 1 and type(out[1]).__name__ == "IntegrityError" and out[2] is None, out
    assert runs == ["orphan", "orphan"]  # in the group, then alone
    assert numbers(store) == [1] and handoff.handed == [["x"]]  # only what the second runs committed
    assert store.group is not None and (store.group.groups, store.group.retried) == (0, 3)
    with store.sessions() as s:  # nothing of the failed group is left on the pooled connection
        assert s.execute(text("SELECT count(*) FROM child")).scalar_one() == 0
    assert together(store, lambda: insert(store, 2)) == [2]  # the store goes on grouping
    assert numbers(store) == [1, 2] and store.group.groups == 1


def test_a_transaction_that_sqlite_ended_runs_the_pieces_again(store: Store) -> None:
    ended: list[bool] = []

    def ends_it() -> None:
        with store.read() as s:
            if not ended:  # only the first time, inside the group
                ended.append(True)
                s.connection().connection.driver_connection.rollback()  # type: ignore[union-attr]

    out = together(store, lambda: insert(store, 1), ends_it, lambda: insert(store, 2))
    assert out == [1, None, 2]
    assert numbers(store) == [1, 2] and store.group is not None and store.group.retried == 3


def test_a_failed_orm_flush_fails_only_its_own_piece(store: Store) -> None:
    def adds_a_duplicate() -> None:
        with store.write() as s:
            s.add(TRow(n=1))  # flushed at the end of the write: IntegrityError, as alone

    out = together(store, lambda: insert(store, 1), adds_a_duplicate, lambda: insert(store, 2))
    assert out[0] == 1 and out[2] == 2 and type(out[1]).__name__ == "IntegrityError", out
    assert numbers(store) == [1, 2]


def test_a_second_connection_inside_a_group_is_refused(store: Store) -> None:
    def sneaky() -> None:
        with store.engine.connect() as conn:  # would wait for the group's own write lock
            conn.execute(text("SELECT 1"))

    out = together(store, lambda: insert(store, 1), sneaky)
    assert out[0] == 1 and isinstance(out[1], RuntimeError) and "second connection" in str(out[1])
    assert numbers(store) == [1]  # outside a group, other connections are fine


class Base(DeclarativeBase):
    pass


class TRow(Base):
    __tablename__ = "t"
    n: Mapped[int] = mapped_column(primary_key=True)


def test_the_orm_session_is_emptied_between_pieces(store: Store) -> None:
    sizes: list[int] = []
    kept: list[TRow | None] = []  # the identity map holds rows weakly

    def piece() -> None:
        insert(store, 1) if not sizes else None
        with store.read() as s:
            sizes.append(len(s.identity_map))
            kept.append(s.get(TRow, 1))  # loads the row into the session
            sizes.append(len(s.identity_map))

    together(store, piece, piece)
    assert sizes == [0, 1, 0, 1]  # the second piece starts without the first one's row


def test_at_most_max_items_share_a_group(store: Store) -> None:
    assert store.group is not None
    store.group.max_items = 4
    out = together(store, *[lambda n=n: insert(store, n) for n in range(10)])
    assert out == list(range(10)) and numbers(store) == list(range(10))
    assert (store.group.groups, store.group.pieces) == (3, 10)


def test_a_write_lock_held_by_a_thread_sends_the_pieces_to_threads(store: Store) -> None:
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with store.write() as s:
            s.execute(text("INSERT INTO t VALUES (0)"))
            held.set()
            release.wait(10)

    async def main() -> list[Any]:
        t = threading.Thread(target=holder)
        t.start()
        held.wait(10)
        asyncio.get_running_loop().call_later(0.2, release.set)
        out = await asyncio.gather(store.run_grouped(insert, store, 1), store.run_grouped(insert, store, 2))
        t.join()
        return out

    assert asyncio.run(main()) == [1, 2]
    assert numbers(store) == [0, 1, 2] and store.ran_in_thread == 2


def test_a_cancelled_waiter_does_not_undo_its_work(store: Store) -> None:
    async def main() -> None:
        task = asyncio.ensure_future(store.run_grouped(insert, store, 5))
        await asyncio.sleep(0)  # queued
        task.cancel()
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert numbers(store) == [5]  # queued work still runs: cancelling only stops the waiting


def test_postgresql_never_groups(pg_url: str) -> None:
    s = open_store(pg_url)
    try:
        assert s.group is None

        async def main() -> int:
            return await s.run_grouped(threading.get_ident)

        assert asyncio.run(main()) != threading.get_ident() and s.ran_in_thread == 1
    finally:
        s.engine.dispose()


class URow(Base):
    __tablename__ = "u"
    n: Mapped[int] = mapped_column(primary_key=True)
    v: Mapped[int] = mapped_column()


def with_u(store: Store) -> None:
    with store.write() as s:
        s.execute(text("CREATE TABLE u (n INTEGER PRIMARY KEY, v INTEGER NOT NULL)"))
        s.execute(text("INSERT INTO u VALUES (1, 0)"))


def u_value(store: Store) -> int:
    with store.sessions() as s:
        return int(s.execute(text("SELECT v FROM u WHERE n = 1")).scalar_one())


def test_a_failed_inner_write_keeps_the_outer_writes_orm_changes(store: Store) -> None:
    with_u(store)

    def piece() -> str:
        with store.write() as s:
            row = s.get(URow, 1)
            assert row is not None
            row.v = 12
            try:
                with store.write() as inner:
                    inner.execute(text("INSERT INTO t VALUES (5)"))
                    raise ValueError("inner")
            except ValueError:
                pass
        return "outer ok"

    assert together(store, piece) == ["outer ok"]
    assert u_value(store) == 12 and numbers(store) == []


def test_each_write_of_a_piece_reads_rows_afresh(store: Store) -> None:
    with_u(store)
    seen: list[int] = []
    kept: list[Any] = []

    def piece() -> None:
        with store.write() as s:
            kept.append(s.get(URow, 1))  # loaded: v = 0
        with store.write() as s:
            s.execute(text("UPDATE u SET v = 5 WHERE n = 1"))
        with store.read() as s:
            row = s.get(URow, 1)
            assert row is not None
            seen.append(row.v)

    assert together(store, piece) == [None]
    assert seen == [5]  # as alone: the read does not get the first write's stale row


# --- property: a group's outcome is the pieces' outcome run one by one ---------------------------

# a piece: insert these numbers (each its own write), failing after the k-th when k is given
pieces = st.lists(
    st.tuples(st.lists(st.integers(0, 12), min_size=1, max_size=3), st.none() | st.integers(0, 2)),
    min_size=1,
    max_size=8,
)


def piece_fn(store: Store, numbers_: list[int], fail_at: int | None) -> Callable[[], list[int]]:
    def piece() -> list[int]:
        done = []
        for i, n in enumerate(numbers_):
            with store.write() as s:
                s.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})  # a duplicate fails
                if fail_at == i:
                    raise ValueError(f"piece fails at write {i}")
            done.append(n)
        return done

    return piece


def outcome(results: list[Any]) -> list[Any]:
    return [type(r).__name__ if isinstance(r, BaseException) else r for r in results]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=pieces)
def test_a_group_ends_as_its_pieces_would_one_by_one(
    tmp_path_factory: pytest.TempPathFactory, spec: Any
) -> None:
    d = tmp_path_factory.mktemp("group")
    grouped, alone = make_store(d / "grouped.db"), make_store(d / "alone.db")
    try:
        got = together(grouped, *[piece_fn(grouped, ns, k) for ns, k in spec])

        async def one_by_one() -> list[Any]:
            out: list[Any] = []
            for ns, k in spec:
                run: Awaitable[Any] = alone.run(piece_fn(alone, ns, k))
                try:
                    out.append(await run)
                except Exception as exc:
                    out.append(exc)
            return out

        want = asyncio.run(one_by_one())
        assert outcome(got) == outcome(want)
        assert numbers(grouped) == numbers(alone)
        assert grouped.group is not None and grouped.group.groups == 1
    finally:
        grouped.engine.dispose()
        alone.engine.dispose()
