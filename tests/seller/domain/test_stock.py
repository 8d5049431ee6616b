from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.seller.domain import (
    Allocation,
    InsufficientStock,
    InvalidInput,
    Movement,
    NegativeStock,
    StockBook,
    StockLevel,
)

from .shop import T0


def test_operations_and_ledger() -> None:
    s = StockBook()
    s.receive("A", "L1", 10, T0, ref="PO-1")
    s.reserve("A", "L1", 4, T0, ref="O1")
    assert s.level("A", "L1") == StockLevel(10, 4) and s.level("A", "L1").available == 6
    s.commit("A", "L1", 3, T0, ref="O1")
    s.release("A", "L1", 1, T0, ref="O1")
    s.return_("A", "L1", 2, T0, ref="R1")
    s.adjust("A", "L1", -1, T0, reason="damaged")
    assert s.level("A", "L1") == StockLevel(8, 0)
    assert [e.movement for e in s.ledger] == [
        Movement.RECEIVE,
        Movement.RESERVE,
        Movement.COMMIT,
        Movement.RELEASE,
        Movement.RETURN,
        Movement.ADJUST,
    ]
    assert [e.seq for e in s.ledger] == [1, 2, 3, 4, 5, 6]
    assert s.ledger[-1].reason == "damaged" and s.ledger[1].ref == "O1"
    assert StockBook.replay(s.ledger).levels == s.levels


def test_refuses_to_go_negative_and_leaves_nothing_behind() -> None:
    s = StockBook()
    s.receive("A", "L1", 2, T0)
    s.reserve("A", "L1", 2, T0)
    before = (dict(s.levels), len(s.ledger))
    attempts = [
        lambda: s.reserve("A", "L1", 1, T0),  # nothing available
        lambda: s.release("A", "L1", 3, T0),  # more than reserved
        lambda: s.commit("A", "L1", 3, T0),
        lambda: s.adjust("A", "L1", -1, T0, reason="count"),  # would leave reserved units unbacked
        lambda: s.adjust("B", "L1", -1, T0, reason="count"),
    ]
    for attempt in attempts:
        with pytest.raises(NegativeStock):
            attempt()
    assert (dict(s.levels), len(s.ledger)) == before


@pytest.mark.parametrize("qty", [0, -1, True, 1.5])
def test_quantities_must_be_positive_integers(qty: object) -> None:
    s = StockBook()
    for op in (s.receive, s.reserve, s.release, s.commit, s.return_):
        with pytest.raises(InvalidInput):
            op("A", "L1", qty, T0)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        s.adjust("A", "L1", 0, T0, reason="nothing")
    with pytest.raises(InvalidInput):
        s.receive("A", "L1", 1, T0, reason=" ")


def test_allocation_prefers_one_location_then_most_available() -> None:
    s = StockBook()
    s.receive("A", "L1", 5, T0)
    s.receive("A", "L2", 3, T0)
    s.receive("A", "L3", 5, T0)
    assert s.allocate("A", 4, ["L2", "L3", "L1"]) == (Allocation("L1", 4),)  # tie 5/5 -> id order
    assert s.allocate("A", 3, ["L2"]) == (Allocation("L2", 3),)
    assert s.allocate("A", 12, ["L3", "L2", "L1"]) == (
        Allocation("L1", 5),
        Allocation("L2", 2),
        Allocation("L3", 5),
    )
    with pytest.raises(InsufficientStock) as e:
        s.allocate("A", 14, ["L1", "L2", "L3"])
    assert e.value.shortages == {"A": (14, 13)} and e.value.quantity_left("A") == 13


def test_backorder_takes_the_shortfall_but_not_shipping() -> None:
    s = StockBook()
    s.receive("K", "L1", 1, T0)
    s.set_backorder("K", "L1", True, T0)
    assert s.allocate("K", 3, ["L1"]) == (Allocation("L1", 3),)
    s.reserve("K", "L1", 3, T0)
    assert s.level("K", "L1") == StockLevel(1, 3, True)
    with pytest.raises(NegativeStock):
        s.commit("K", "L1", 2, T0)
    with pytest.raises(NegativeStock):  # cannot stop backordering while short
        s.set_backorder("K", "L1", False, T0)
    s.receive("K", "L1", 2, T0)
    s.commit("K", "L1", 3, T0)
    s.set_backorder("K", "L1", False, T0)
    assert s.level("K", "L1") == StockLevel(0, 0, False)
    assert StockBook.replay(s.ledger).levels == s.levels


def test_reserve_lines_is_all_or_nothing() -> None:
    s = StockBook()
    s.receive("A", "L1", 2, T0)
    s.receive("B", "L1", 1, T0)
    with pytest.raises(InsufficientStock) as e:
        s.reserve_lines([("A", 2, ["L1"]), ("B", 2, ["L1"]), ("C", 1, ["L1"])], T0, "O1")
    assert e.value.shortages == {"B": (2, 1), "C": (1, 0)}
    assert "B: requested 2, 1 left" in str(e.value)
    assert s.level("A", "L1").reserved == 0 and len(s.ledger) == 2
    plan, entries = s.reserve_lines([("A", 1, ["L1"]), ("A", 1, ["L1"]), ("B", 1, ["L1"])], T0, "O2")
    assert plan == {"A": (Allocation("L1", 2),), "B": (Allocation("L1", 1),)}
    assert [(e.item_id, e.reserved_delta, e.ref) for e in entries] == [("A", 2, "O2"), ("B", 1, "O2")]


def test_replay_refuses_a_gap() -> None:
    s = StockBook()
    s.receive("A", "L1", 2, T0)
    s.receive("A", "L1", 2, T0)
    with pytest.raises(InvalidInput):
        StockBook.replay(s.ledger[1:])


ops = st.lists(
    st.tuples(
        st.sampled_from(["receive", "adjust", "reserve", "release", "commit", "return", "backorder"]),
        st.sampled_from(["A", "B"]),
        st.sampled_from(["L1", "L2"]),
        st.integers(-3, 6),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_random_operations_never_go_negative_and_replay(seq: list[tuple[str, str, str, int]]) -> None:
    s = StockBook()
    for op, item, loc, n in seq:
        try:
            if op == "adjust":
                s.adjust(item, loc, n, T0, reason="count")
            elif op == "backorder":
                s.set_backorder(item, loc, n % 2 == 0, T0)
            elif op == "return":
                s.return_(item, loc, n, T0)
            else:
                getattr(s, op)(item, loc, n, T0)
        except (NegativeStock, InvalidInput):
            pass
        for lvl in s.levels.values():
            assert lvl.on_hand >= 0 and lvl.reserved >= 0
            assert lvl.backorder or lvl.on_hand >= lvl.reserved
    assert StockBook.replay(s.ledger).levels == s.levels
