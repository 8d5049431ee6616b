"""300 buyers at once on a hot item with 100 units over two locations: exactly the stock is sold."""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import dataclass

from mercato.seller.domain import InsufficientStock
from mercato.seller.store import Store, orders, stock

from .helpers import buy, check_invariants, make_shop

BUYERS = 300


@dataclass
class Outcome:
    wanted: int
    order_id: str | None = None
    bought: int = 0
    refusals: list[tuple[int, int]] | None = None  # (requested, left) for each refusal
    error: BaseException | None = None


def _buyer(store: Store, outcome: Outcome, start: threading.Barrier) -> None:
    start.wait()
    want = outcome.wanted
    outcome.refusals = []
    try:
        while True:
            try:
                res = buy(store, {"HOT": want}, txn=str(uuid.uuid4()))
            except InsufficientStock as e:
                requested, left = e.shortages["HOT"]
                assert requested == want and 0 <= left < want
                outcome.refusals.append((requested, left))
                if left == 0:
                    return  # a clear "out of stock": nothing left at all
                want = left  # a real buyer takes what is left
                continue
            outcome.order_id, outcome.bought = res.order_id, want
            return
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        outcome.error = exc


def test_300_concurrent_buyers_never_oversell(store: Store) -> None:
    make_shop(store, hot=(60, 40))
    rng = random.Random(7)
    outcomes = [Outcome(rng.randint(1, 3)) for _ in range(BUYERS)]
    assert sum(o.wanted for o in outcomes) > 100  # demand exceeds stock
    start = threading.Barrier(BUYERS)
    threads = [threading.Thread(target=_buyer, args=(store, o, start)) for o in outcomes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not any(t.is_alive() for t in threads)
    errors = [o.error for o in outcomes if o.error is not None]
    assert errors == []
    # Every buyer got an order or a clear out-of-stock answer (zero left).
    for o in outcomes:
        assert o.order_id is not None or (o.refusals and o.refusals[-1][1] == 0)
    sold = sum(o.bought for o in outcomes)
    assert sold == 100
    # The orders in the database are exactly the ones the buyers were told about.
    ids = {o.order_id for o in outcomes if o.order_id}
    assert set(orders.list_ids(store, limit=10_000)) == ids
    in_db = sum(orders.get(store, i).line("HOT").quantity for i in ids)
    assert in_db == 100
    lv = stock.levels(store, ["HOT"])
    assert lv[("HOT", "L1")].reserved == 60 and lv[("HOT", "L2")].reserved == 40
    assert all(level.available == 0 for level in lv.values())
    check_invariants(store)
