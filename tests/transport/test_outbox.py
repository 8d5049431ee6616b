"""The durable outbox on SQLite and PostgreSQL: transactional enqueue, claims and leases, ordered
delivery within a transaction, retries with backoff, dead rows, restarts, competing workers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, update

from mercato.db import make_engine
from mercato.transport.outbox import (
    OutboxRow,
    OutboxWorker,
    WorkerConfig,
    backoff_ms,
    counts,
    enqueue,
    metadata,
    outbox_table,
    purge_delivered,
    revive,
    rows_for,
)

T = 1_750_000_000_000  # a fixed "now" in epoch milliseconds


class Clock:
    def __init__(self, t: int = T) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


class Recorder:
    """A sender that records what it got and fails while ``fail`` says so."""

    def __init__(self, fail: set[str] | None = None, raise_for: set[str] | None = None) -> None:
        self.sent: list[str] = []
        self.fail = fail or set()
        self.raise_for = raise_for or set()

    async def __call__(self, row: OutboxRow) -> bool:
        await asyncio.sleep(0)
        self.sent.append(row.message_id)
        if row.message_id in self.raise_for:
            raise ConnectionError("connection refused")
        return row.message_id not in self.fail


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    eng = make_engine(str(url))
    metadata.create_all(eng)
    yield eng
    eng.dispose()


def put(engine: Engine, txn: str, msg: str, at: int = T) -> int:
    with engine.begin() as conn:
        return enqueue(conn, f"http://127.0.0.1:9/{txn}", "on_status", msg.encode(), txn, msg, at_ms=at)


def test_enqueue_joins_the_callers_transaction(engine: Engine) -> None:
    with engine.connect() as conn:
        enqueue(conn, "http://127.0.0.1:9/x", "on_confirm", b"{}", "t1", "m1")
        conn.rollback()
    assert counts(engine)["pending"] == 0
    with engine.begin() as conn:
        row_id = enqueue(conn, "https://bap.example/on_confirm", "on_confirm", b'{"a":1}', "t1", "m1")
    [row] = rows_for(engine, "t1")
    assert row["id"] == row_id and row["body"] == b'{"a":1}' and row["status"] == "pending"
    assert row["attempts"] == 0 and row["claimed_by"] is None


def test_enqueue_refuses_bad_input(engine: Engine) -> None:
    with engine.begin() as conn:
        for url in ("ftp://x", "bap.example/cb", ""):
            with pytest.raises(ValueError):
                enqueue(conn, url, "on_confirm", b"{}", "t", "m")
        with pytest.raises(TypeError):
            enqueue(conn, "http://x/", "on_confirm", "{}", "t", "m")  # type: ignore[arg-type]
        for args in (("", "t", "m"), ("on_confirm", "", "m"), ("on_confirm", "t", "")):
            with pytest.raises(ValueError):
                enqueue(conn, "http://x/", args[0], b"{}", args[1], args[2])
    assert counts(engine) == {"pending": 0, "delivered": 0, "dead": 0}


async def test_in_order_within_a_transaction_and_a_failure_blocks_the_rest(engine: Engine) -> None:
    for m in ("a1", "a2", "a3"):
        put(engine, "A", m)
    for m in ("b1", "b2"):
        put(engine, "B", m)
    clock = Clock()
    sender = Recorder(fail={"a1"})
    cfg = WorkerConfig(base_delay_ms=1_000, max_delay_ms=60_000)
    worker = OutboxWorker(engine, sender, config=cfg, clock=clock, rng=random.Random(1))
    await worker.drain()
    # a1 failed: a2 and a3 wait; B goes on in order.
    assert sender.sent == ["a1", "b1", "b2"]
    clock.t += 60_000
    sender.fail.clear()
    await worker.drain()
    assert sender.sent == ["a1", "b1", "b2", "a1", "a2", "a3"]
    assert [r["status"] for r in rows_for(engine, "A")] == ["delivered"] * 3
    assert [r["attempts"] for r in rows_for(engine, "A")] == [2, 1, 1]
    assert counts(engine) == {"pending": 0, "delivered": 5, "dead": 0}


async def test_retries_back_off_exponentially_with_jitter_then_give_up(engine: Engine) -> None:
    put(engine, "A", "a1")
    put(engine, "A", "a2")
    clock = Clock()
    sender = Recorder(raise_for={"a1"})
    cfg = WorkerConfig(base_delay_ms=1_000, max_delay_ms=8_000, max_attempts=6)
    worker = OutboxWorker(engine, sender, config=cfg, clock=clock, rng=random.Random(3))
    delays = []
    for attempt in range(1, 7):
        assert await worker.run_once() == 1
        row = rows_for(engine, "A")[0]
        assert row["attempts"] == attempt and "ConnectionError" in str(row["last_error"])
        delay = int(str(row["next_attempt_ms"])) - clock.t
        delays.append(delay)
        if attempt < 6:
            assert await worker.run_once() == 0  # not due yet: nothing is sent early
            clock.t += delay
    expected = [1_000, 2_000, 4_000, 8_000, 8_000]
    for d, full in zip(delays, expected, strict=False):
        assert full // 2 <= d <= full
    rows = rows_for(engine, "A")
    assert rows[0]["status"] == "dead" and rows[1]["status"] == "pending"
    clock.t += 10**9
    assert await worker.run_once() == 0  # a dead row keeps blocking the later ones
    assert sender.sent == ["a1"] * 6
    assert revive(engine, "A", at_ms=clock.t) == 1
    sender.raise_for.clear()
    await worker.drain()
    assert sender.sent == ["a1"] * 7 + ["a2"]
    assert counts(engine)["delivered"] == 2


def test_backoff_is_capped_and_jittered() -> None:
    rng = random.Random(5)
    for attempts in range(1, 80):
        full = min(600_000, 1_000 * 2 ** (attempts - 1))
        for _ in range(5):
            assert full // 2 <= backoff_ms(attempts, 1_000, 600_000, rng) <= full


async def test_a_lost_worker_lease_expires_and_another_worker_delivers(engine: Engine) -> None:
    for i in range(5):
        put(engine, f"T{i}", f"m{i}")
    clock = Clock()
    cfg = WorkerConfig(lease_ms=30_000)
    dead_worker = OutboxWorker(engine, Recorder(), config=cfg, clock=clock, worker_id="dies")
    assert len(dead_worker.claim()) == 5  # claimed, then the process "dies" before sending
    sender = Recorder()
    survivor = OutboxWorker(engine, sender, config=cfg, clock=clock, worker_id="survivor")
    assert await survivor.drain() == 0  # leased rows are not taken while the lease runs
    clock.t += 30_001
    assert await survivor.drain() == 5
    assert sorted(sender.sent) == [f"m{i}" for i in range(5)]
    # The dead worker's late failure report cannot undo the survivor's delivery.
    dead_worker.mark_failed(OutboxRow(1, "T0", "m0", "http://x/", "on_status", b"", 0), "late")
    assert counts(engine) == {"pending": 0, "delivered": 5, "dead": 0}


async def test_restart_picks_up_undelivered_rows(engine: Engine) -> None:
    for i in range(3):
        put(engine, "R", f"r{i}")
    first = OutboxWorker(engine, Recorder(fail={"r1"}), clock=Clock(), rng=random.Random(2))
    await first.drain()
    assert [r["status"] for r in rows_for(engine, "R")] == ["delivered", "pending", "pending"]
    first.engine.dispose()  # the process stops; a new one starts later on the same database
    sender = Recorder()
    second = OutboxWorker(engine, sender, clock=Clock(T + 3_600_000))
    await second.drain()
    assert sender.sent == ["r1", "r2"]
    assert counts(engine) == {"pending": 0, "delivered": 3, "dead": 0}
    assert purge_delivered(engine, T + 1) == 1  # only what was delivered before then
    assert purge_delivered(engine, T + 3_600_001) == 2 and counts(engine)["delivered"] == 0


async def test_run_loop_delivers_until_stopped(engine: Engine) -> None:
    put(engine, "L", "l1", at=0)
    sender = Recorder()
    worker = OutboxWorker(engine, sender, config=WorkerConfig(poll_interval_s=0.01))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    for _ in range(500):
        if counts(engine)["delivered"] == 1:
            break
        await asyncio.sleep(0.01)
    put(engine, "L", "l2", at=0)
    for _ in range(500):
        if counts(engine)["delivered"] == 2:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert sender.sent == ["l1", "l2"]


def test_worker_config_is_checked(engine: Engine) -> None:
    for cfg in (WorkerConfig(lease_ms=0), WorkerConfig(batch=0), WorkerConfig(max_attempts=0)):
        with pytest.raises(ValueError):
            OutboxWorker(engine, Recorder(), config=cfg)


async def test_two_workers_never_deliver_the_same_row_twice(engine: Engine) -> None:
    txns, per = 40, 4
    with engine.begin() as conn:
        for n in range(per):
            for t in range(txns):
                enqueue(conn, "http://127.0.0.1:9/cb", "on_status", b"{}", f"T{t}", f"T{t}-{n}", at_ms=0)
    sent: list[tuple[str, str]] = []

    def sender_for(name: str):  # type: ignore[no-untyped-def]
        async def send(row: OutboxRow) -> bool:
            await asyncio.sleep(0.001)
            sent.append((name, row.message_id))
            return True

        return send

    cfg = WorkerConfig(batch=7, poll_interval_s=0.01)
    workers = [OutboxWorker(engine, sender_for(f"w{i}"), config=cfg, worker_id=f"w{i}") for i in range(2)]

    async def loop(w: OutboxWorker) -> None:
        idle = 0
        while idle < 3:
            idle = idle + 1 if await w.run_once() == 0 else 0
            await asyncio.sleep(0)

    await asyncio.gather(*(loop(w) for w in workers))
    ids = [m for _, m in sent]
    assert len(ids) == len(set(ids)) == txns * per  # each row delivered exactly once
    assert {w for w, _ in sent} == {"w0", "w1"}  # both took part
    for t in range(txns):  # and each transaction in order, whichever worker sent it
        seq = [m for m in ids if m.startswith(f"T{t}-")]
        assert seq == [f"T{t}-{n}" for n in range(per)]
    with engine.connect() as conn:
        assert (
            conn.execute(
                select(outbox_table.c.claimed_by).where(outbox_table.c.claimed_by.is_not(None))
            ).all()
            == []
        )


async def test_sender_timeout_counts_as_failure(engine: Engine) -> None:
    put(engine, "S", "s1")

    async def hangs(row: OutboxRow) -> bool:
        await asyncio.sleep(30)
        return True

    worker = OutboxWorker(engine, hangs, config=WorkerConfig(send_timeout_s=0.05), clock=Clock())
    assert await worker.run_once() == 1
    [row] = rows_for(engine, "S")
    assert row["status"] == "pending" and row["attempts"] == 1 and "TimeoutError" in str(row["last_error"])
    with engine.begin() as conn:  # an outside change to a claimed row is simply overwritten on the next claim
        conn.execute(update(outbox_table).values(next_attempt_ms=0))
    ok = OutboxWorker(engine, Recorder(), clock=Clock())
    assert await ok.run_once() == 1 and counts(engine)["delivered"] == 1
