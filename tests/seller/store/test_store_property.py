"""Random sequences of checkouts, order actions, cancellations and stock changes against a real
SQLite database: after every step reserved equals open orders, nothing is negative, and replaying
the ledger gives the stored levels. Refused operations change nothing."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mercato.seller.domain import DomainError
from mercato.seller.domain.cancellation import Party
from mercato.seller.store import open_store, orders, stock

from .helpers import T0, buy, check_invariants, counts, make_shop

ops = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.sampled_from(["HOT", "TEA", "MUG"]), st.integers(-1, 40)),
        st.tuples(
            st.just("act"),
            st.integers(0, 30),
            st.sampled_from(["accept", "pack", "pick-up", "deliver", "collect", "rto-deliver"]),
        ),  # fmt: skip
        st.tuples(st.just("cancel"), st.integers(0, 30), st.sampled_from(["002", "005", "012", "013"])),
        st.tuples(st.just("part"), st.integers(0, 30), st.integers(0, 3)),
        st.tuples(st.just("adjust"), st.sampled_from(["HOT", "MUG"]), st.integers(-15, 15)),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_random_operations_keep_stock_and_orders_consistent(steps: list[tuple[Any, Any, Any]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        store = open_store(f"sqlite:///{Path(d) / 'p.db'}")
        try:
            make_shop(store, hot=(15, 5))
            made: list[str] = []
            for n, (op, a, b) in enumerate(steps):
                now = T0 + timedelta(minutes=n + 1)
                before = counts(store), stock.levels(store)
                try:
                    if op == "buy":
                        made.append(buy(store, {str(a): int(b)}, now=now).order_id)
                    elif made and op == "act":
                        orders.act(store, made[int(a) % len(made)], str(b), now)
                    elif made and op == "cancel":
                        orders.cancel(store, made[int(a) % len(made)], str(b), Party.SELLER, now)
                    elif made and op == "part":
                        oid = made[int(a) % len(made)]
                        item = orders.get(store, oid).lines[0].item_id
                        orders.cancel(store, oid, "002", Party.SELLER, now, quantities={item: int(b)})
                    elif op == "adjust":
                        loc = "L1" if a == "HOT" else "L2"
                        stock.adjust(store, str(a), loc, int(b), now, "count")
                except DomainError:
                    assert (counts(store), stock.levels(store)) == before  # refused: nothing stored
                check_invariants(store)
        finally:
            store.engine.dispose()
