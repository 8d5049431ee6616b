"""kill -9 a node in the middle of confirming and delivering; a restarted worker finishes the job.

Every order that exists gets its on_confirm delivered (at least once; the receiver dedupes by
message_id), no on_confirm ever names an order that does not exist, and stock and reservations add up."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import orjson
import pytest

from mercato.seller.store import Store, orders, stock
from mercato.transport.outbox import OutboxRow, OutboxWorker, counts, now_ms

from .helpers import check_invariants, make_shop

NODE = Path(__file__).with_name("crash_node.py")
LEASE_MS = 5_000  # as in crash_node.py


class Receiver:
    """A buyer's callback endpoint on loopback: records every delivery, dedupes by message_id."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_message: dict[str, str] = {}  # message_id -> order_id
        self.deliveries = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.deliveries += 1
                    receiver.by_message[self.headers["X-Message-Id"]] = orjson.loads(body)["order_id"]
                payload = b'{"message":{"ack":{"status":"ACK"}}}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # a worker sends a whole batch at once

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def orders(self) -> set[str]:
        with self.lock:
            return set(self.by_message.values())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Clock:
    def __init__(self, offset: int) -> None:
        self.offset = offset

    def __call__(self) -> int:
        return now_ms() + self.offset


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_kill_9_mid_stream_then_restart_delivers_every_committed_on_confirm(
    store: Store, db_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    make_shop(store, hot=(600, 400))
    errors = tmp_path / "node.err"
    with errors.open("wb") as err:
        proc = subprocess.Popen([sys.executable, str(NODE), db_url, receiver.url],
                                stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(receiver.orders()) < 30 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, errors.read_text()
        assert len(receiver.orders()) >= 30
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before_restart = receiver.orders()
    existing = set(orders.list_ids(store, limit=100_000))
    # Nothing was delivered for an order that does not exist (the callback commits with the order).
    assert before_restart <= existing
    assert len(existing) >= len(before_restart)

    async def restart() -> int:
        async with httpx.AsyncClient(timeout=5) as client:

            async def send(row: OutboxRow) -> bool:
                r = await client.post(row.destination_url, content=row.body,
                                      headers={"X-Message-Id": row.message_id})  # fmt: skip
                return r.status_code == 200

            # The dead process's leases have run out by the time this worker looks (clock moved on).
            clock = Clock(LEASE_MS + 1)
            worker = OutboxWorker(store.engine, send, clock=clock)
            tried = await worker.drain()
            for _ in range(5):  # a failed send waits for its backoff: let that time pass too
                if counts(store.engine)["pending"] == 0:
                    break
                clock.offset += 3_600_000
                tried += await worker.drain()
            return tried

    asyncio.run(restart())
    assert counts(store.engine)["pending"] == 0 and counts(store.engine)["dead"] == 0
    assert receiver.orders() == existing  # every order's on_confirm arrived, and nothing else
    assert len(receiver.by_message) == len(existing)  # one message per order (duplicates deduped)
    sold = sum(orders.get(store, o).line("HOT").quantity for o in existing)
    lv = stock.levels(store, ["HOT"])
    assert sum(level.reserved for level in lv.values()) == sold
    assert sum(level.on_hand for level in lv.values()) == 1000
    check_invariants(store)
