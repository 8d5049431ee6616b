"""Replay guard: a message_id is accepted once per sender within its time to live.

The receiver asks the guard *after* every other check has passed, so a rejected request never
leaves a trace here. :class:`MemoryReplayGuard` serves one process; :class:`DatabaseReplayGuard`
keeps the entries in a table (``replay_guard``) so that several worker processes behind one address
refuse a message that any of them has already accepted.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from sqlalchemy import BigInteger, Column, Engine, Index, MetaData, String, Table, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

ReplayKey = tuple[str, ...]


class ReplayGuard(Protocol):
    async def claim(self, key: ReplayKey, expires_at: float) -> bool:
        """Record ``key`` until ``expires_at`` (unix seconds). False if it is already recorded."""
        ...

    async def release(self, key: ReplayKey) -> None:
        """Forget ``key`` (the request it belongs to was refused after all)."""
        ...


class MemoryReplayGuard:
    """Bounded in-memory guard for one process.

    Entries expire at the message's ``timestamp + ttl``. When ``max_entries`` live entries are
    held, the one expiring soonest is dropped to make room (the guard stays bounded under a
    flood; a replay of the dropped message would then be accepted, so size it above the peak
    number of messages accepted within one ttl).
    """

    def __init__(self, max_entries: int = 200_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._expiry: dict[ReplayKey, float] = {}
        self._heap: list[tuple[float, ReplayKey]] = []

    def __len__(self) -> int:
        return len(self._expiry)

    def _purge(self, now: float) -> None:
        heap = self._heap
        while heap and (heap[0][0] <= now or len(self._expiry) >= self.max_entries):
            exp, key = heapq.heappop(heap)
            if self._expiry.get(key) == exp:
                del self._expiry[key]
        if len(heap) > 4 * self.max_entries:  # stale heap rows left by release()
            self._heap = [(e, k) for k, e in self._expiry.items()]
            heapq.heapify(self._heap)

    def claim_sync(self, key: ReplayKey, expires_at: float, now: float | None = None) -> bool:
        t = time.time() if now is None else now
        known = self._expiry.get(key)
        if known is not None and known > t:
            return False
        self._purge(t)
        self._expiry[key] = expires_at
        heapq.heappush(self._heap, (expires_at, key))
        return True

    async def claim(self, key: ReplayKey, expires_at: float) -> bool:
        return self.claim_sync(key, expires_at)

    async def release(self, key: ReplayKey) -> None:
        self._expiry.pop(key, None)


# -- shared through the database -------------------------------------------------------------------

metadata = MetaData()

replay_table = Table(
    "replay_guard",
    metadata,
    Column("key", String(64), primary_key=True),  # sha256 of the key's parts, hex
    Column("expires_ms", BigInteger(), nullable=False),
    Index("ix_replay_guard_expires_ms", "expires_ms"),
)


def create_table(engine: Engine) -> None:
    """Create the guard's table if it is missing (idempotent; run once before workers start)."""
    metadata.create_all(engine, checkfirst=True)


def key_digest(key: ReplayKey) -> str:
    """The stored form of a key: sha256 over its parts (unambiguous: each part is length-prefixed)."""
    h = hashlib.sha256()
    for part in key:
        raw = part.encode("utf-8", "surrogatepass")
        h.update(len(raw).to_bytes(4, "big"))
        h.update(raw)
    return h.hexdigest()


class DatabaseReplayGuard:
    """A guard several worker processes share through one database (PostgreSQL or SQLite).

    A claim is ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expires_ms <= now RETURNING key``: a key
    that is new, or whose entry has expired, comes back (accepted); a live entry is left alone and
    nothing comes back (refused). Concurrent claims of one key by two processes are serialised by the
    primary key: the second waits for the first to commit and is then refused.

    Claims made while a batch is on its way to the database wait and go together in the next batch
    (one transaction, keys in sorted order so two batches never deadlock). Expired entries are
    deleted every ``purge_every_s``. ``lock`` (the store's write lock on SQLite: a context manager,
    or a function that returns a fresh one) is held around each write transaction; ``run`` runs a
    batch's blocking work (default: a worker thread; a seller node passes its ``Store.run``, which
    runs it on the event loop on SQLite while the write lock is free).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        lock: AbstractContextManager[Any] | Callable[[], AbstractContextManager[Any]] | None = None,
        run: Callable[..., Awaitable[Any]] | None = None,
        max_batch: int = 256,
        purge_every_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.engine = engine
        self.lock = lock
        self.run: Callable[..., Awaitable[Any]] = run or asyncio.to_thread
        self.max_batch = max_batch
        self.purge_every_s = purge_every_s
        self.clock = clock
        self.batches = 0
        self._next_purge = 0.0
        self._pending: list[tuple[str, int, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._insert: Any = (sqlite_insert if engine.dialect.name == "sqlite" else pg_insert)(replay_table)

    def claim_many(self, items: Sequence[tuple[str, int]]) -> list[bool]:
        """Claim ``(digest, expires_ms)`` pairs in one transaction; True for each one accepted. A digest
        repeated within ``items`` is accepted at most once (its first occurrence)."""
        now = self.clock()
        now_ms = int(now * 1000)
        first: dict[str, int] = {}
        for digest, expires_ms in items:
            first.setdefault(digest, expires_ms)
        # a message whose ttl has just passed is accepted without a record (a replay of it is stale)
        accepted = {d for d, e in first.items() if e <= now_ms}
        live = {d: e for d, e in first.items() if e > now_ms}
        if live:
            rows = [{"key": d, "expires_ms": live[d]} for d in sorted(live)]
            stmt = self._insert.values(rows)
            stmt = stmt.on_conflict_do_update(
                index_elements=[replay_table.c.key],
                set_={"expires_ms": stmt.excluded.expires_ms},
                where=replay_table.c.expires_ms <= now_ms,
            ).returning(replay_table.c.key)
            with self._locked(), self.engine.begin() as conn:
                accepted.update(conn.execute(stmt).scalars())
                if now >= self._next_purge:
                    self._next_purge = now + self.purge_every_s
                    conn.execute(delete(replay_table).where(replay_table.c.expires_ms <= now_ms))
        self.batches += 1
        out: list[bool] = []
        seen: set[str] = set()
        for digest, _ in items:
            out.append(digest in accepted and digest not in seen)
            seen.add(digest)
        return out

    def _locked(self) -> AbstractContextManager[Any]:
        if self.lock is None:
            return nullcontext()
        return self.lock() if callable(self.lock) else self.lock

    def release_sync(self, digest: str) -> None:
        with self._locked(), self.engine.begin() as conn:
            conn.execute(delete(replay_table).where(replay_table.c.key == digest))

    async def claim(self, key: ReplayKey, expires_at: float) -> bool:
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((key_digest(key), math.ceil(expires_at * 1000), fut))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await fut

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            try:
                results = await self.run(self.claim_many, [(d, e) for d, e, _ in batch])
            except Exception as exc:  # the requests of this batch fail (500, retried by the sender)
                for _, _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, _, fut), ok in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(ok)

    async def release(self, key: ReplayKey) -> None:
        await self.run(self.release_sync, key_digest(key))
