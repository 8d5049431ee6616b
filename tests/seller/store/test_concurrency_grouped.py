"""The concurrency tests again, with the confirms as the node runs them: ``Store.run_grouped`` from
the event loop, so that on SQLite many buyers' confirms share a group transaction (store/group.py)
and a refusal inside the group must leave the others' orders standing."""

from __future__ import annotations

import asyncio
import random
import uuid
from functools import partial

from mercato.seller.domain import InsufficientStock
from mercato.seller.store import Store, orders, stock
from mercato.seller.store.checkout import Confirmed

from .helpers import buy, check_invariants, make_shop

BUYERS = 300


async def _buyer(store: Store, want: int) -> tuple[str | None, int, list[tuple[int, int]]]:
    refusals: list[tuple[int, int]] = []
    while True:
        try:
            res: Confirmed = await store.run_grouped(
                partial(buy, store, {"HOT": want}, txn=str(uuid.uuid4()))
            )
        except InsufficientStock as e:
            requested, left = e.shortages["HOT"]
            assert requested == want and 0 <= left < want
            refusals.append((requested, left))
            if left == 0:
                return None, 0, refusals
            want = left
            continue
        return res.order_id, want, refusals


def test_300_buyers_confirming_in_groups_never_oversell(store: Store) -> None:
    make_shop(store, hot=(60, 40))
    rng = random.Random(11)
    wants = [rng.randint(1, 3) for _ in range(BUYERS)]

    async def main() -> list[tuple[str | None, int, list[tuple[int, int]]]]:
        return await asyncio.gather(*(_buyer(store, w) for w in wants))

    outcomes = asyncio.run(main())
    for order_id, _, refusals in outcomes:
        assert order_id is not None or (refusals and refusals[-1][1] == 0)
    assert sum(bought for _, bought, _ in outcomes) == 100
    ids = {order_id for order_id, _, _ in outcomes if order_id}
    assert set(orders.list_ids(store, limit=10_000)) == ids
    lv = stock.levels(store, ["HOT"])
    assert lv[("HOT", "L1")].reserved == 60 and lv[("HOT", "L2")].reserved == 40
    check_invariants(store)
    if store.group is not None:  # SQLite: the confirms really did share transactions
        assert store.group.groups < store.group.pieces


def test_the_same_confirm_many_times_in_one_group_makes_one_order(store: Store) -> None:
    make_shop(store)
    n = 12

    async def main() -> list[Confirmed | BaseException]:
        return await asyncio.gather(
            *(
                store.run_grouped(partial(buy, store, {"HOT": 2}, txn="one-txn", order_id=f"o-{i}"))
                for i in range(n)
            ),
            return_exceptions=True,
        )

    answers = asyncio.run(main())
    assert all(isinstance(a, Confirmed) for a in answers), answers
    got = [a for a in answers if isinstance(a, Confirmed)]
    assert len({a.order_id for a in got}) == 1 and len({a.response for a in got}) == 1
    assert sum(not a.replayed for a in got) == 1
    assert orders.count(store) == 1
    assert sum(level.reserved for level in stock.levels(store, ["HOT"]).values()) == 2
    check_invariants(store)
