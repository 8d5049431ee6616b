"""The node's outbox pipeline: every committed callback is sent and recorded, in order within a
transaction, with claims gathered under load and a lone callback claimed at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from mercato.seller.node.delivery import Delivery, LockedOutboxWorker
from mercato.seller.store import Callback, Store, open_store
from mercato.seller.store.callbacks import send_later
from mercato.transport import outbox


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    url = str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
    s = await asyncio.to_thread(open_store, url)
    yield s
    s.engine.dispose()


def commit(store: Store, txn: str, action: str) -> None:
    with store.write() as s:
        send_later(s, Callback("http://127.0.0.1:9/bap", action, b"{}", txn, str(uuid.uuid4())))


async def test_burst_is_delivered_in_order_with_gathered_claims(store: Store) -> None:
    sent: list[tuple[str, str]] = []

    async def send(row: outbox.OutboxRow) -> bool:
        sent.append((row.transaction_id, row.action))
        return True

    delivery = Delivery(LockedOutboxWorker(store, send), poll_s=0.05, gather_s=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(delivery.run(stop))
    txns = [f"t{i}" for i in range(20)]
    for action in ("on_select", "on_init", "on_confirm"):
        for t in txns:
            await asyncio.to_thread(commit, store, t, action)
            delivery.wake()
    try:
        async with asyncio.timeout(20):
            while delivery.delivered < 60:  # noqa: ASYNC110 - a counter, not an event
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        delivery.wake()
        await task
    assert sorted(sent) == sorted((t, a) for t in txns for a in ("on_select", "on_init", "on_confirm"))
    for t in txns:  # within one transaction, the order they were committed in
        assert [a for tx, a in sent if tx == t] == ["on_select", "on_init", "on_confirm"]
    assert delivery.claims < 60  # several commits per claim
    counts = await asyncio.to_thread(outbox.counts, store.engine)
    assert counts.get("delivered") == 60 and not counts.get("pending")


async def test_lone_callback_is_claimed_without_waiting(store: Store) -> None:
    sent: list[str] = []

    async def send(row: outbox.OutboxRow) -> bool:
        sent.append(row.action)
        return True

    # a gather time far beyond the test's patience: a lone callback must not wait for it
    delivery = Delivery(LockedOutboxWorker(store, send), poll_s=30, gather_s=60)
    stop = asyncio.Event()
    task = asyncio.create_task(delivery.run(stop))
    try:
        await asyncio.sleep(0.05)
        for action in ("on_select", "on_init"):
            await asyncio.to_thread(commit, store, "lone", action)
            delivery.wake()
            async with asyncio.timeout(5):
                while action not in sent:  # noqa: ASYNC110 - polling what the sender saw
                    await asyncio.sleep(0.01)
    finally:
        stop.set()
        delivery.wake()
        await asyncio.wait_for(task, 10)
    assert sent == ["on_select", "on_init"]
