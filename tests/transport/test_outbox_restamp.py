"""A message that waited in the outbox (crash, retries) leaves with the time it is sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import Engine

from mercato.db import make_engine
from mercato.protocol.messages import format_timestamp
from mercato.transport.outbox import OutboxRow, OutboxWorker, WorkerConfig, enqueue, metadata

T = 1_795_000_000_000  # ms


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    eng = make_engine(str(url))
    metadata.create_all(eng)
    yield eng
    eng.dispose()


def body_at(ms: int) -> bytes:
    stamp = format_timestamp(datetime.fromtimestamp(ms / 1000, UTC))
    return orjson.dumps({"context": {"message_id": "m1", "timestamp": stamp, "ttl": "PT30S"}, "message": {}})


async def test_a_message_sent_late_carries_the_time_of_sending(engine: Engine) -> None:
    stored = body_at(T)
    with engine.begin() as conn:
        enqueue(conn, "http://127.0.0.1:9/", "on_confirm", stored, "t1", "m1", at_ms=T)
    sent: list[OutboxRow] = []

    async def send(row: OutboxRow) -> bool:
        sent.append(row)
        return True

    late = T + 45_000  # e.g. a restart after the sending process died holding the row's lease
    worker = OutboxWorker(engine, send, config=WorkerConfig(restamp_after_s=5.0), clock=lambda: late)
    assert await worker.drain() == 1
    doc = orjson.loads(sent[0].body)
    assert doc["context"]["timestamp"] == format_timestamp(datetime.fromtimestamp(late / 1000, UTC))
    assert doc["context"]["message_id"] == "m1"  # the same message: the receiver dedupes by it


async def test_a_fresh_message_goes_out_byte_for_byte(engine: Engine) -> None:
    stored = body_at(T)
    with engine.begin() as conn:
        enqueue(conn, "http://127.0.0.1:9/", "on_confirm", stored, "t1", "m1", at_ms=T)
    sent: list[bytes] = []

    async def send(row: OutboxRow) -> bool:
        sent.append(row.body)
        return True

    worker = OutboxWorker(engine, send, clock=lambda: T + 1_000)
    assert await worker.drain() == 1
    assert sent == [stored]
