"""A seller node stand-in for the crash test: confirms orders in a loop while a worker delivers the
outbox to a receiver. Run as ``python crash_node.py DB_URL RECEIVER_URL``; the test kills it with -9."""

from __future__ import annotations

import asyncio
import random
import sys
import time
import uuid
from datetime import UTC, datetime

import httpx
import orjson

from mercato.seller.domain import InsufficientStock, LineRequest, Order
from mercato.seller.store import Callback, open_store
from mercato.seller.store.checkout import Basket, ConfirmRequest, confirm
from mercato.transport.outbox import OutboxRow, OutboxWorker, WorkerConfig

LEASE_MS = 5_000


def main(db_url: str, receiver: str) -> None:
    store = open_store(db_url, migrate=False)

    def respond(order: Order) -> Callback:
        body = orjson.dumps({"order_id": order.id, "quantity": order.lines[0].quantity})
        return Callback(receiver + "/on_confirm", "on_confirm", body, "txn-" + order.id, str(uuid.uuid4()))

    def confirm_loop() -> None:
        rng = random.Random()
        while True:
            basket = Basket("P1", [LineRequest("HOT", rng.randint(1, 3))], city="std:080")
            req = ConfirmRequest("bap.example", str(uuid.uuid4()), basket)
            try:
                confirm(store, req, order_id=str(uuid.uuid4()), now=datetime.now(UTC), respond=respond)
            except InsufficientStock:
                pass
            time.sleep(0.002)  # a stream of buyers, not one tight loop holding SQLite's write lock

    async def run() -> None:
        async with httpx.AsyncClient(timeout=5) as client:

            async def send(row: OutboxRow) -> bool:
                r = await client.post(row.destination_url, content=row.body,
                                      headers={"X-Message-Id": row.message_id})  # fmt: skip
                return r.status_code == 200

            worker = OutboxWorker(store.engine, send, config=WorkerConfig(lease_ms=LEASE_MS, batch=5,
                                                                          poll_interval_s=0.01))  # fmt: skip
            stop = asyncio.Event()
            delivering = asyncio.create_task(worker.run(stop))
            await asyncio.to_thread(confirm_loop)
            await delivering

    asyncio.run(run())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
