"""restamp: a message that waited is sent with the time of sending; everything else is unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import given
from hypothesis import strategies as st

from mercato.protocol.messages import format_timestamp, restamp

NOW = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


def message(age_s: float) -> bytes:
    sent = format_timestamp(NOW - timedelta(seconds=age_s))
    ctx = {"action": "on_confirm", "message_id": "m-1", "timestamp": sent, "ttl": "PT30S", "ü": "ü"}
    return orjson.dumps({"context": ctx, "message": {"order": {"id": "o-1"}}})


def test_old_messages_get_the_time_of_sending_and_keep_everything_else() -> None:
    old = message(120)
    new = restamp(old, NOW, older_than_s=5)
    a, b = orjson.loads(old), orjson.loads(new)
    assert b["context"]["timestamp"] == "2026-11-25T10:00:00.000Z"
    b["context"]["timestamp"] = a["context"]["timestamp"]
    assert a == b
    assert list(orjson.loads(new)["context"]) == list(orjson.loads(old)["context"])  # key order kept


def test_fresh_messages_are_the_same_object() -> None:
    fresh = message(1)
    assert restamp(fresh, NOW, older_than_s=5) is fresh


@given(st.binary(max_size=200))
def test_anything_else_comes_back_unchanged(body: bytes) -> None:
    assert restamp(body, NOW, older_than_s=0) is body


def test_bodies_without_a_usable_timestamp_are_unchanged() -> None:
    for doc in ({"context": {}}, {"context": {"timestamp": "yesterday"}}, {"context": {"timestamp": 5}},
                {"context": {"timestamp": "2026-11-25T09:00:00"}}, [1, 2], {"context": "x"}):  # fmt: skip
        body = orjson.dumps(doc)
        assert restamp(body, NOW, older_than_s=0) is body
