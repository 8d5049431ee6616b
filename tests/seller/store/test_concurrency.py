"""300 buyers at once on a hot item with 100 units over two locations: exactly the stock is sold."""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from mercato.seller.domain import InsufficientStock
from mercato.seller.domain.cancellation import Party
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


def test_the_same_confirm_sent_by_many_threads_at_once_makes_one_order(store: Store) -> None:
    make_shop(store)
    n = 24
    results: list[object] = [None] * n
    start = threading.Barrier(n)

    def go(i: int) -> None:
        start.wait()
        try:
            results[i] = buy(store, {"HOT": 2}, txn="one-txn", order_id=f"order-{i}")
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            results[i] = exc

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    answers = [r for r in results if not isinstance(r, BaseException)]
    assert len(answers) == n, [r for r in results if isinstance(r, BaseException)]
    assert len({a.order_id for a in answers}) == 1  # type: ignore[attr-defined]
    assert len({a.response for a in answers}) == 1  # type: ignore[attr-defined]
    assert sum(not a.replayed for a in answers) == 1  # type: ignore[attr-defined]
    assert orders.count(store) == 1
    assert sum(level.reserved for level in stock.levels(store, ["HOT"]).values()) == 2
    check_invariants(store)


def test_confirms_racing_with_cancellations_and_shipping_keep_stock_consistent(store: Store) -> None:
    make_shop(store, hot=(20, 10))
    made: list[str] = []
    lock = threading.Lock()
    done = threading.Event()
    problems: list[BaseException] = []

    def buyer(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(15):
            try:
                res = buy(store, {"HOT": rng.randint(1, 3)})
                with lock:
                    made.append(res.order_id)
            except InsufficientStock:
                pass
            except BaseException as exc:  # noqa: BLE001
                problems.append(exc)

    def merchant() -> None:
        i = 0
        while not done.is_set() or i < len(made):
            with lock:
                oid = made[i] if i < len(made) else None
            if oid is None:
                time.sleep(0.001)
                continue
            try:
                if i % 2:
                    orders.cancel(store, oid, "005", Party.SELLER, datetime.now(UTC))
                else:
                    for a in ("accept", "pack", "pick-up"):
                        orders.act(store, oid, a, datetime.now(UTC))
            except BaseException as exc:  # noqa: BLE001
                problems.append(exc)
            i += 1

    buyers = [threading.Thread(target=buyer, args=(s,)) for s in range(8)]
    seller = threading.Thread(target=merchant)
    seller.start()
    for t in buyers:
        t.start()
    for t in buyers:
        t.join(timeout=120)
    done.set()
    seller.join(timeout=120)
    assert problems == []
    lv = stock.levels(store, ["HOT"])
    shipped = sum(orders.get(store, o).line("HOT").quantity for o in made if orders.get(store, o).shipped)
    assert sum(level.on_hand for level in lv.values()) == 30 - shipped
    check_invariants(store)
