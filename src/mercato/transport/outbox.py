"""Durable outbox: callbacks committed with the state change, delivered later with retries.

A role writes its state change and the callback to send in ONE database transaction
(:func:`enqueue` joins the caller's session). A :class:`OutboxWorker` then delivers the rows:

* **claim** — due rows are claimed for a lease (``claimed_by`` + ``lease_until``) in a short
  transaction: ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` (one writer at
  a time) on SQLite. A claimed row is invisible to other workers until its lease expires, so a worker
  that dies mid-send loses nothing: the row is claimed again after the lease.
* **order** — within one ``transaction_id`` a row is only due once every earlier row (lower id) of the
  same transaction is delivered; a row that gave up (``dead``) keeps blocking the later ones.
* **send** — outside any transaction, with a pluggable ``send(row) -> bool`` (True = the receiver ACKed).
* **record** — ACK: ``delivered``. Otherwise the attempt count grows and the next attempt waits
  ``min(max_delay, base_delay * 2**(attempts-1))`` scaled by a random factor in [0.5, 1] (jitter);
  after ``max_attempts`` the row is ``dead`` (see :func:`revive`).

Delivery is at least once: a receiver dedupes by ``message_id``. Times are integer milliseconds since
the Unix epoch (UTC) so that both databases compare them the same way.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from mercato.db import Prepared
from mercato.protocol.messages import restamp

log = logging.getLogger(__name__)

metadata = MetaData()

outbox_table = Table(
    "outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("transaction_id", String(255), nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("destination_url", Text(), nullable=False),
    Column("action", String(64), nullable=False),
    Column("body", LargeBinary(), nullable=False),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer(), nullable=False, server_default="0"),
    Column("created_ms", BigInteger(), nullable=False),
    Column("next_attempt_ms", BigInteger(), nullable=False),
    Column("claimed_by", String(64), nullable=True),
    Column("lease_until_ms", BigInteger(), nullable=True),
    Column("delivered_ms", BigInteger(), nullable=True),
    Column("last_error", Text(), nullable=True),
    Index("ix_outbox_status_next_attempt_ms", "status", "next_attempt_ms"),
    Index("ix_outbox_transaction_id_id", "transaction_id", "id"),
)


class Status(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True)
class OutboxRow:
    id: int
    transaction_id: str
    message_id: str
    destination_url: str
    action: str
    body: bytes
    attempts: int  # attempts made before this one


Sender = Callable[[OutboxRow], Awaitable[bool]]
Clock = Callable[[], int]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def enqueue(
    session: Session | Connection,
    destination_url: str,
    action: str,
    body_bytes: bytes,
    transaction_id: str,
    message_id: str,
    *,
    at_ms: int | None = None,
    lease: tuple[str, int] | None = None,
) -> int:
    """Add a message to send, inside the caller's transaction (it commits or rolls back with it).

    Returns the row id. Rows of one ``transaction_id`` are delivered in the order they were enqueued.
    ``lease`` = (worker id, lease end in ms): the row is born claimed by that worker, which sends it
    as soon as the transaction commits (no claim); if the worker dies, the row is claimed again when
    the lease ends, like any claimed row. Only lease a row whose transaction has no undelivered
    earlier row (:func:`undelivered_ids`)."""
    if not destination_url.startswith(("http://", "https://")):
        raise ValueError(f"destination must be an http(s) URL, got {destination_url!r}")
    if not isinstance(body_bytes, bytes | bytearray):
        raise TypeError("body must be bytes (the exact bytes to sign and send)")
    for name, value in (("action", action), ("transaction_id", transaction_id), ("message_id", message_id)):
        if not value:
            raise ValueError(f"{name} must not be empty")
    t = now_ms() if at_ms is None else at_ms
    values = {
        "transaction_id": transaction_id,
        "message_id": message_id,
        "destination_url": destination_url,
        "action": action,
        "body": bytes(body_bytes),
        "status": Status.PENDING.value,
        "attempts": 0,
        "created_ms": t,
        "next_attempt_ms": t,
        "claimed_by": lease[0] if lease else None,
        "lease_until_ms": lease[1] if lease else None,
    }
    return int(_ENQUEUE.scalar(session, values))


# Built once: executing a ready statement skips building it and its cache key on every callback.
_ENQUEUE = Prepared(insert(outbox_table).returning(outbox_table.c.id))

_UNDELIVERED = Prepared(
    select(outbox_table.c.id)
    .where(
        outbox_table.c.transaction_id == bindparam("t"),
        outbox_table.c.status != Status.DELIVERED.value,
    )
    .order_by(outbox_table.c.id)
    .limit(bindparam("n"))
)


def _due(lock: bool) -> Prepared:
    """Up to ``batch`` due rows at time ``t``, oldest first, none behind an undelivered earlier row
    of its transaction; ``lock``: FOR UPDATE SKIP LOCKED (PostgreSQL: workers claim disjoint rows)."""
    o = outbox_table
    p = outbox_table.alias("earlier")
    blocked = exists().where(
        and_(p.c.transaction_id == o.c.transaction_id, p.c.id < o.c.id, p.c.status != Status.DELIVERED)
    )
    t: BindParameter[int] = bindparam("t")
    query = (
        select(
            o.c.id,
            o.c.transaction_id,
            o.c.message_id,
            o.c.destination_url,
            o.c.action,
            o.c.body,
            o.c.attempts,
        )
        .where(
            o.c.status == Status.PENDING,
            o.c.next_attempt_ms <= t,
            (o.c.lease_until_ms.is_(None)) | (o.c.lease_until_ms < t),
            ~blocked,
        )
        .order_by(o.c.id)
        .limit(bindparam("batch"))
    )
    return Prepared(query.with_for_update(skip_locked=True, of=o) if lock else query)


_DUE = {False: _due(False), True: _due(True)}
_LEASE = Prepared(
    update(outbox_table)
    .where(outbox_table.c.id == bindparam("k_id"))
    .values(claimed_by=bindparam("v_by"), lease_until_ms=bindparam("v_until"))
)
_DELIVERED = Prepared(
    update(outbox_table)
    .where(outbox_table.c.id == bindparam("k_id"), outbox_table.c.status == Status.PENDING.value)
    .values(
        status=Status.DELIVERED.value,
        delivered_ms=bindparam("v_at"),
        claimed_by=None,
        lease_until_ms=None,
        attempts=outbox_table.c.attempts + 1,
        last_error=None,
    )
)


def mark_delivered_in(conn: Connection, ids: Sequence[int], at_ms: int) -> None:
    """Mark pending rows delivered (at ``at_ms``) in the caller's transaction."""
    _DELIVERED.executemany(conn, [{"k_id": i, "v_at": at_ms} for i in ids])


def undelivered_ids(session: Session | Connection, transaction_id: str, limit: int = 8) -> list[int]:
    """Ids of rows of ``transaction_id`` not delivered yet (pending or dead), oldest first, at most
    ``limit``: a row enqueued now is only due after them."""
    return [int(r[0]) for r in _UNDELIVERED.all(session, {"t": transaction_id, "n": limit})]


def backoff_ms(attempts: int, base_ms: int, max_ms: int, rng: random.Random) -> int:
    """Delay before attempt ``attempts + 1``: exponential, capped, with jitter in [50 %, 100 %]."""
    raw = min(max_ms, base_ms * (2 ** max(0, min(attempts - 1, 40))))
    return max(1, int(raw * (0.5 + 0.5 * rng.random())))


@dataclass(frozen=True)
class WorkerConfig:
    batch: int = 50
    lease_ms: int = 30_000
    max_attempts: int = 20
    restamp_after_s: float = 5.0  # older messages are sent with context.timestamp = the time of sending
    base_delay_ms: int = 1_000
    max_delay_ms: int = 600_000
    poll_interval_s: float = 0.2
    send_timeout_s: float = 20.0


class OutboxWorker:
    """Delivers outbox rows of one database. Several workers (threads or processes) may share it."""

    def __init__(
        self,
        engine: Engine,
        send: Sender,
        *,
        config: WorkerConfig | None = None,
        worker_id: str | None = None,
        clock: Clock = now_ms,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.send = send
        self.config = config or WorkerConfig()
        self.worker_id = worker_id or uuid.uuid4().hex[:16]
        self.clock = clock
        self.rng = rng or random.Random()
        self._sqlite = engine.dialect.name == "sqlite"
        if self.config.lease_ms <= 0 or self.config.batch <= 0 or self.config.max_attempts <= 0:
            raise ValueError("lease, batch and max_attempts must be positive")

    # -- claim -----------------------------------------------------------------------------------
    def claim(self) -> list[OutboxRow]:
        """Claim up to ``batch`` due rows for this worker's lease (one short transaction)."""
        t = self.clock()
        with self.engine.connect() as conn:
            if self._sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            due = _DUE[not self._sqlite].all(conn, {"t": t, "batch": self.config.batch})
            rows = [self._fresh(OutboxRow(*r), t) for r in due]
            until = t + self.config.lease_ms
            _LEASE.executemany(conn, [{"k_id": r.id, "v_by": self.worker_id, "v_until": until} for r in rows])
            conn.commit()
        return rows

    def _fresh(self, row: OutboxRow, t_ms: int) -> OutboxRow:
        """Re-date a message that waited in the outbox, so its receiver does not refuse it as stale."""
        now = datetime.fromtimestamp(t_ms / 1000, UTC)
        body = restamp(row.body, now, older_than_s=self.config.restamp_after_s)
        return row if body is row.body else replace(row, body=body)

    # -- record ----------------------------------------------------------------------------------
    def mark_delivered(self, row: OutboxRow) -> None:
        with self.engine.begin() as conn:
            mark_delivered_in(conn, [row.id], self.clock())

    def mark_failed(self, row: OutboxRow, error: str) -> None:
        o = outbox_table
        attempts = row.attempts + 1
        dead = attempts >= self.config.max_attempts
        delay = backoff_ms(attempts, self.config.base_delay_ms, self.config.max_delay_ms, self.rng)
        with self.engine.begin() as conn:
            conn.execute(
                update(o)
                .where(o.c.id == row.id, o.c.status == Status.PENDING, o.c.claimed_by == self.worker_id)
                .values(
                    status=Status.DEAD if dead else Status.PENDING,
                    attempts=attempts,
                    next_attempt_ms=self.clock() + delay,
                    claimed_by=None,
                    lease_until_ms=None,
                    last_error=error[:2000],
                )
            )
        if dead:
            log.warning("outbox row %s (%s to %s) gave up after %d attempts: %s", row.id, row.action,
                        row.destination_url, attempts, error[:200])  # fmt: skip

    # -- deliver ---------------------------------------------------------------------------------
    async def _deliver(self, row: OutboxRow) -> bool:
        try:
            ok = await asyncio.wait_for(self.send(row), timeout=self.config.send_timeout_s)
            error = "not acknowledged"
        except Exception as exc:  # any failure of the sender is a failed attempt, never a crash
            ok, error = False, f"{type(exc).__name__}: {exc}"
        if ok:
            await asyncio.to_thread(self.mark_delivered, row)
        else:
            await asyncio.to_thread(self.mark_failed, row, error)
        return ok

    async def run_once(self) -> int:
        """Claim one batch and try to deliver it (concurrently: at most one row per transaction id is
        due at a time). Returns the number of rows tried."""
        rows = await asyncio.to_thread(self.claim)
        if rows:
            await asyncio.gather(*(self._deliver(r) for r in rows))
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; sleeps ``poll_interval_s`` when nothing is due."""
        while not stop.is_set():
            try:
                n = await self.run_once()
            except Exception:
                log.exception("outbox worker %s: claim failed; retrying", self.worker_id)
                n = 0
            if n == 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self.config.poll_interval_s)
                except TimeoutError:
                    pass

    async def drain(self, max_rounds: int = 10_000) -> int:
        """Deliver until nothing is due now (for tests and shutdown). Returns rows tried."""
        total = 0
        for _ in range(max_rounds):
            n = await self.run_once()
            if n == 0:
                break
            total += n
        return total


# -- inspection and operations --------------------------------------------------------------------


def counts(engine: Engine) -> dict[str, int]:
    """Rows per status (``pending``, ``delivered``, ``dead``)."""
    o = outbox_table
    with engine.connect() as conn:
        rows = conn.execute(select(o.c.status, func.count()).group_by(o.c.status)).all()
    out = {s.value: 0 for s in Status}
    out.update({str(s): int(n) for s, n in rows})
    return out


def rows_for(engine: Engine, transaction_id: str) -> Sequence[dict[str, object]]:
    o = outbox_table
    with engine.connect() as conn:
        result = conn.execute(select(o).where(o.c.transaction_id == transaction_id).order_by(o.c.id))
        return [dict(r._mapping) for r in result]


def revive(engine: Engine, transaction_id: str | None = None, *, at_ms: int | None = None) -> int:
    """Put ``dead`` rows (of one transaction, or all) back to pending with a fresh attempt count."""
    o = outbox_table
    cond = o.c.status == Status.DEAD
    if transaction_id is not None:
        cond = and_(cond, o.c.transaction_id == transaction_id)
    with engine.begin() as conn:
        result = conn.execute(
            update(o)
            .where(cond)
            .values(
                status=Status.PENDING, attempts=0, next_attempt_ms=now_ms() if at_ms is None else at_ms
            )  # fmt: skip
        )
        return int(result.rowcount)


def purge_delivered(engine: Engine, older_than_ms: int) -> int:
    """Delete delivered rows older than the given time (keeps the table small)."""
    o = outbox_table
    with engine.begin() as conn:
        result = conn.execute(
            o.delete().where(o.c.status == Status.DELIVERED, o.c.delivered_ms < older_than_ms)
        )
        return int(result.rowcount)
