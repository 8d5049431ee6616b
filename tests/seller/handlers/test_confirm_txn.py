"""The confirm handler's one write transaction, called directly (SQLite and PostgreSQL): a first
confirm makes the order and commits its on_confirm; a repeat answers from the stored response; a
duplicate that got past the repeat check (a concurrent one) meets the key and answers the same; a
basket whose stock is gone stores nothing; the draft precheck parsed is the one the work uses."""

from __future__ import annotations

import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from mercato.protocol.models import ConfirmRequest, StatusRequest
from mercato.seller.handlers import checkout, precheck
from mercato.seller.handlers.env import Env
from mercato.seller.handlers.reply import Identity
from mercato.seller.store import Callback, Store, orders
from mercato.seller.store import checkout as store_checkout
from mercato.transport.outbox import outbox_table
from tests.seller.store.conftest import db_url, store  # noqa: F401 -- the fixtures
from tests.seller.store.helpers import T0, make_shop

ME = Identity("shop.example", "http://127.0.0.1:9/bpp")
T1, T2 = str(uuid.uuid4()), str(uuid.uuid4())
BILLING = {"name": "A Buyer", "phone": "9886012345", "email": "a@example.org"}


def _request(txn: str, qty: int) -> ConfirmRequest:
    where = {"gps": "12.975,77.6", "area_code": "560001", "city": {"code": "std:080"}}
    stop = {"type": "end", "location": where}
    ctx = {
        "domain": "ONDC:RET10", "action": "confirm", "version": "1.1.0",
        "location": {"country": {"code": "IND"}, "city": {"code": "std:080"}},
        "bap_id": "bap.example", "bap_uri": "http://127.0.0.1:9/bap",
        "bpp_id": ME.subscriber_id, "bpp_uri": ME.subscriber_url,
        "transaction_id": txn, "message_id": str(uuid.uuid4()),
        "timestamp": "2025-03-01T09:00:00.000Z", "ttl": "PT30S",
    }  # fmt: skip
    order = {
        "provider": {"id": "P1"},
        "items": [{"id": "HOT", "quantity": {"selected": {"count": qty}}}],
        "fulfillments": [{"type": "Delivery", "stops": [stop]}],
        "billing": BILLING,
        "payments": [{"type": "ON-ORDER"}],
    }
    return ConfirmRequest.model_validate({"context": ctx, "message": {"order": order}})


def _outbox(shop: Store) -> list[dict[str, Any]]:
    t = outbox_table
    with shop.engine.connect() as conn:
        return [orjson.loads(r.body) for r in conn.execute(select(t.c.body).order_by(t.c.id))]


def _orders(shop: Store) -> int:
    return int(orders.count(shop))


@pytest.fixture
def env(store: Store) -> Env:  # noqa: F811 -- the imported fixture
    make_shop(store, hot=(3, 2))
    return Env(store, ME, now=lambda: T0)


def test_first_confirm_commits_order_and_on_confirm_together(env: Env) -> None:
    assert checkout.confirm(env, _request(T1, 2)) is None  # the on_confirm went to the outbox
    [body] = _outbox(env.store)
    assert body["context"]["action"] == "on_confirm" and "error" not in body
    assert orders.find(env.store, "bap.example", T1) == body["message"]["order"]["id"]


def test_a_repeat_answers_from_the_stored_response(env: Env) -> None:
    checkout.confirm(env, _request(T1, 2))
    assert checkout.confirm(env, _request(T1, 2)) is None  # its answer committed in its transaction
    first, again = _outbox(env.store)
    assert again["message"] == first["message"] and "error" not in again
    assert again["context"]["message_id"] != first["context"]["message_id"]  # the repeat's own id
    assert _orders(env.store) == 1


def test_a_duplicate_past_the_repeat_check_meets_the_key(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    checkout.confirm(env, _request(T1, 2))
    # as if a concurrent confirm of t1 committed between this one's read and its key insert
    monkeypatch.setattr(store_checkout, "before_confirm_in", lambda *_a: (None, None))
    again = checkout.confirm(env, _request(T1, 2))
    assert again is not None
    assert orjson.loads(again.body)["message"] == _outbox(env.store)[0]["message"]
    assert _orders(env.store) == 1 and len(_outbox(env.store)) == 1
    assert sum(orders.open_reservations(env.store).values()) == 2  # the loser reserved nothing


def test_stock_gone_answers_the_quantity_left_and_stores_nothing(env: Env) -> None:
    checkout.confirm(env, _request(T1, 4))
    out = checkout.confirm(env, _request(T2, 2))
    assert out is not None
    body = orjson.loads(out.body)
    assert body["error"]["code"] == "40002"
    assert body["message"]["order"]["items"][0]["quantity"]["available"]["count"] == 1
    assert _orders(env.store) == 1 and orders.find(env.store, "bap.example", T2) is None


def test_precheck_parses_the_draft_once_for_the_work(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    req = _request(T1, 2)
    parsed = precheck("confirm", req)
    assert parsed is not None and [(ln.item_id, ln.quantity) for ln in parsed.basket.lines] == [("HOT", 2)]
    assert precheck("status", StatusRequest.model_validate(_status(req))) is None

    def again(*_a: object) -> None:
        raise AssertionError("the draft was parsed a second time")

    monkeypatch.setattr(checkout, "draft", again)
    assert checkout.confirm(env, req, parsed) is None
    [body] = _outbox(env.store)
    assert body["message"]["order"]["items"][0]["quantity"]["selected"]["count"] == 2


def _status(req: ConfirmRequest) -> dict[str, Any]:
    ctx = req.context.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {"context": {**ctx, "action": "status"}, "message": {"order_id": "O1"}}


def test_concurrent_confirms_sell_the_stock_once_and_duplicates_make_one_order(env: Env) -> None:
    """Threads confirm at once (on PostgreSQL really in parallel): 8 copies of one confirm released
    together (they race to the idempotency key), then 40 buyers of 1-3 units for the 4 units left."""
    dup = str(uuid.uuid4())
    start = threading.Barrier(8)

    def racing(_: int) -> Callback | None:
        start.wait()
        return checkout.confirm(env, _request(dup, 1))

    with ThreadPoolExecutor(8) as pool:
        copies = list(pool.map(racing, range(8)))
    order_id = orders.find(env.store, "bap.example", dup)
    assert order_id is not None and _orders(env.store) == 1
    # each copy's answer is in the outbox (the winner's, and a repeat's) or handed back (a copy that
    # met the key: the handlers' caller commits it); all eight carry the one order
    bodies = _outbox(env.store) + [orjson.loads(out.body) for out in copies if out is not None]
    assert [b["message"]["order"]["id"] for b in bodies] == [order_id] * 8

    rng = random.Random(7)
    wants = {str(uuid.uuid4()): rng.randint(1, 3) for _ in range(40)}
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda job: checkout.confirm(env, _request(*job)), wants.items()))
    made = [t for t in wants if orders.find(env.store, "bap.example", t) is not None]
    units = sum(wants[t] for t in made)
    assert units <= 4 and sum(orders.open_reservations(env.store).values()) == units + 1
    assert _orders(env.store) == len(made) + 1
    refused = [orjson.loads(out.body) for out in answers if out is not None]
    assert len(refused) == 40 - len(made)  # everyone else gets a clear out-of-stock answer
    assert all(b["error"]["code"] == "40002" for b in refused)
