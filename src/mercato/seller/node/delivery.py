"""Delivering the outbox from a node: one claiming loop, sends in flight concurrently, ACKs recorded
in batches. Claims and records are store work (:meth:`~mercato.seller.store.Store.run`: on the event
loop on SQLite while the write lock is free, in a thread otherwise).

The durable outbox (:mod:`mercato.transport.outbox`) decides what is due (ordered within a
transaction, leased while in flight). Here a single loop claims due rows whenever a handler commits
a callback (or every ``poll_s``), starts a send for each without waiting for the batch, and a
recorder marks the ACKed rows delivered together in one short transaction, then wakes the claimer
(the next row of the same transaction may be due now). On SQLite every write takes the store's
in-process write lock, so handler threads and delivery never wait in SQLite's busy handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from mercato.seller.store import Store
from mercato.transport import outbox

log = logging.getLogger("mercato.seller.delivery")


class LockedOutboxWorker(outbox.OutboxWorker):
    """The outbox worker with the store's write lock around its short write transactions."""

    def __init__(self, store: Store, send: outbox.Sender, **kwargs: Any) -> None:
        super().__init__(store.engine, send, **kwargs)
        self.store = store

    def claim(self) -> list[outbox.OutboxRow]:
        with self.store.locked():
            return super().claim()

    def mark_delivered(self, row: outbox.OutboxRow) -> None:
        self.mark_all_delivered([row])

    def mark_failed(self, row: outbox.OutboxRow, error: str) -> None:
        with self.store.locked():
            super().mark_failed(row, error)

    def mark_all_delivered(self, rows: list[outbox.OutboxRow]) -> None:
        """Mark rows delivered in one short transaction."""
        with self.store.locked(), self.engine.begin() as conn:
            outbox.mark_delivered_in(conn, [r.id for r in rows], self.clock())


class Delivery:
    """Runs the pipeline until ``stop`` is set; ``wake()`` says a callback was committed.

    It is also the store's :class:`~mercato.seller.store.callbacks.Handoff`: while it is
    :meth:`idle`, a callback is committed already leased to this worker, arrives through
    :meth:`committed` and is sent at once (no claim: a lone buyer's callbacks leave sooner). The ids
    of the other callbacks (under load, or waiting for an earlier one of their transaction) are kept;
    the claimer runs when they are committed and after each recorded batch of deliveries while any of
    them is still unclaimed."""

    def __init__(
        self,
        worker: LockedOutboxWorker,
        *,
        max_in_flight: int = 512,
        poll_s: float = 0.5,
        gather_s: float = 0.002,
    ) -> None:
        self.worker = worker
        self.poll_s = poll_s
        # Under load (the last claim found several rows), wait this long after a wake so that one claim
        # takes the commits of several handlers; a lone callback is claimed at once.
        self.gather_s = gather_s
        self.claims = 0
        self.wake_event = asyncio.Event()
        self.record_event = asyncio.Event()
        self.to_record: list[outbox.OutboxRow] = []
        self.in_flight: set[asyncio.Task[None]] = set()
        self.slots = asyncio.Semaphore(max_in_flight)
        self.delivered = 0
        self.handed = 0  # callbacks sent without a claim
        self.worker_id = worker.worker_id
        self.lease_ms = worker.config.lease_ms
        self.acked_ids: set[int] = set()  # ACKed here, not recorded yet (read by handler threads)
        self.waiting: set[int] = set()  # committed here unleased, not claimed yet
        self.stopping = False
        self._handed: list[outbox.OutboxRow] = []
        self._flush_due = False
        self._loop: asyncio.AbstractEventLoop | None = None
        with contextlib.suppress(RuntimeError):
            self._loop = asyncio.get_running_loop()

    def wake(self) -> None:
        self.wake_event.set()

    # -- the store's handoff (called from handler threads) -------------------------------------

    def acked(self, row_id: int) -> bool:
        return row_id in self.acked_ids

    def idle(self) -> bool:
        """True: a callback committed now is handed off. On SQLite, where store work runs on the event
        loop (``Store.run``), always: a claim transaction per batch cost more than it saved (node CPU
        per checkout 6.8-7.2 ms with claims under load, 6.1-6.4 handing off). With store work in
        threads (PostgreSQL) only when nothing is in flight or waiting to be recorded: under load
        the claims gather several commits into one batch of sends, ACKs and records, which measured
        cheaper than handing them off one by one from the threads."""
        if self.worker.store.inline:
            return True
        return not self.in_flight and not self.to_record and not self._handed

    def committed(self, handed: Sequence[outbox.OutboxRow], queued: Sequence[int]) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._committed, list(handed), list(queued))

    def _committed(self, handed: list[outbox.OutboxRow], queued: list[int]) -> None:
        if queued:
            self.waiting.update(queued)
            self.wake_event.set()
        if self.stopping:  # leased rows left here are claimed again when their lease ends
            return
        self._handed.extend(handed)
        if handed and not self._flush_due:
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self._flush_handed)

    def _flush_handed(self) -> None:
        rows, self._handed, self._flush_due = self._handed, [], False
        for row in rows:
            self.handed += 1
            task = asyncio.create_task(self._send_when_free(row))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)

    async def _send_when_free(self, row: outbox.OutboxRow) -> None:
        await self.slots.acquire()
        await self._send(row)

    async def _send(self, row: outbox.OutboxRow) -> None:
        try:
            try:
                ok = await asyncio.wait_for(self.worker.send(row), timeout=self.worker.config.send_timeout_s)
                error = None if ok else "not acknowledged"
            except Exception as exc:  # a failed attempt, retried later; never a crash
                error = f"{type(exc).__name__}: {exc}"
            if error is None:
                self.to_record.append(row)
                self.acked_ids.add(row.id)
                self.record_event.set()
            else:
                await self.worker.store.run(self.worker.mark_failed, row, error)
        finally:
            self.slots.release()

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        rows: list[outbox.OutboxRow] = []
        while not stop.is_set():
            if self.gather_s > 0 and len(rows) > 1:
                await asyncio.sleep(self.gather_s)
            self.wake_event.clear()
            self.claims += 1
            try:
                rows = await self.worker.store.run(self.worker.claim)
            except Exception:
                log.exception("outbox: claim failed; retrying")
                rows = []
            self.waiting.difference_update(r.id for r in rows)
            if len(self.waiting) > 10_000:  # ids another worker process claimed: forget them
                self.waiting.clear()
            for row in rows:
                await self.slots.acquire()
                task = asyncio.create_task(self._send(row))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)
            if len(rows) < self.worker.config.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake_event.wait(), timeout=self.poll_s)

    async def _record_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set() or self.to_record:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.record_event.wait(), timeout=self.poll_s)
            self.record_event.clear()
            if not self.to_record:
                continue
            rows, self.to_record = self.to_record, []
            try:
                await self.worker.store.run(self.worker.mark_all_delivered, rows)
                self.delivered += len(rows)
            except Exception:  # the rows stay leased and are sent again later: at least once
                log.exception("outbox: recording %d deliveries failed", len(rows))
            self.acked_ids.difference_update(r.id for r in rows)
            if self.waiting or not self.idle():  # the next callback of those transactions may be due now
                self.wake_event.set()

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        recorder = asyncio.create_task(self._record_loop(stop))
        try:
            await self._claim_loop(stop)
        finally:
            if self.in_flight:
                await asyncio.wait(list(self.in_flight), timeout=5)
            self.record_event.set()
            await recorder
