from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from mercato.protocol.errors import Code
from mercato.seller.domain import (
    TRANSITIONS,
    Action,
    FulfillmentState,
    FulfillmentType,
    IllegalTransition,
    InsufficientStock,
    InvalidInput,
    LineRequest,
    NegativeStock,
    OrderState,
    PaymentType,
    QuoteChanged,
    StockLevel,
)
from mercato.seller.domain.catalog import Item
from mercato.seller.domain.orders import START, allowed_actions, apply, create_order, record_payment
from mercato.seller.domain.quotes import build_quote

from .shop import DELIVERY, T0, inr, make_catalog, make_stock


def new_order(lines=(("A", 2),), fulfillment=FulfillmentType.DELIVERY, payment=PaymentType.ON_ORDER):  # type: ignore[no-untyped-def]
    cat, stock = make_catalog(), make_stock()
    q = build_quote(cat, stock, "P1", [LineRequest(i, n) for i, n in lines], fulfillment, DELIVERY)
    order, ev = create_order(cat, stock, "O1", q, T0, earlier=q, payment_type=payment)
    return cat, stock, order, ev


def test_the_table_is_closed_and_consistent() -> None:
    targets = {t.to for row in TRANSITIONS.values() for t in row.values()}
    assert START in TRANSITIONS and targets <= set(TRANSITIONS)
    for state, fstate in TRANSITIONS:
        # order state agrees with fulfillment state
        if fstate is FulfillmentState.DELIVERED:
            assert state is OrderState.COMPLETED
        if fstate in (
            FulfillmentState.CANCELLED,
            FulfillmentState.RTO_INITIATED,
            FulfillmentState.RTO_DELIVERED,
            FulfillmentState.RTO_DISPOSED,
        ):
            assert state is OrderState.CANCELLED
    final = {
        (OrderState.COMPLETED, FulfillmentState.DELIVERED),
        (OrderState.CANCELLED, FulfillmentState.CANCELLED),
        (OrderState.CANCELLED, FulfillmentState.RTO_DELIVERED),
        (OrderState.CANCELLED, FulfillmentState.RTO_DISPOSED),
    }
    assert {status for status, row in TRANSITIONS.items() if not row} == final
    # every status is reachable from the start
    seen, todo = {START}, [START]
    while todo:
        for t in TRANSITIONS[todo.pop()].values():
            if t.to not in seen:
                seen.add(t.to)
                todo.append(t.to)
    assert seen == set(TRANSITIONS)


def test_delivery_lifecycle_moves_stock() -> None:
    _, stock, order, ev = new_order()
    assert [(e.item_id, e.location_id, e.reserved_delta) for e in ev.stock] == [("A", "L1", 2)]
    assert order.paid == order.quote.total and order.refunded == inr(0)
    for action in (Action.ACCEPT, Action.PACK, Action.ASSIGN_AGENT):
        apply(order, action, stock, T0)
    assert stock.level("A", "L1") == StockLevel(5, 2)
    ev = apply(order, Action.PICK_UP, stock, T0 + timedelta(hours=2))
    assert [(e.on_hand_delta, e.reserved_delta) for e in ev.stock] == [(-2, -2)]
    assert stock.level("A", "L1") == StockLevel(3, 0)
    apply(order, Action.OUT_FOR_DELIVERY, stock, T0)
    done = T0 + timedelta(hours=5)
    apply(order, Action.DELIVER, stock, done)
    assert order.status == (OrderState.COMPLETED, FulfillmentState.DELIVERED)
    assert order.delivered_at == done
    assert [c.action for c in order.history] == [
        Action.ACCEPT,
        Action.PACK,
        Action.ASSIGN_AGENT,
        Action.PICK_UP,
        Action.OUT_FOR_DELIVERY,
        Action.DELIVER,
    ]
    assert order.allowed_actions() == []


def test_pickup_lifecycle_and_cash_on_delivery() -> None:
    _, stock, order, _ = new_order(fulfillment=FulfillmentType.PICKUP, payment=PaymentType.ON_FULFILLMENT)
    assert order.paid == inr(0) and order.quote.delivery == inr(0)
    apply(order, Action.ACCEPT, stock, T0)
    apply(order, Action.PACK, stock, T0)
    with pytest.raises(IllegalTransition) as e:
        apply(order, Action.PICK_UP, stock, T0)  # a courier step for a self-pickup order
    assert e.value.allowed == ("cancel", "collect")
    apply(order, Action.COLLECT, stock, T0)
    assert order.status == (OrderState.COMPLETED, FulfillmentState.DELIVERED)
    assert order.paid == order.quote.total
    assert stock.level("A", "L1") == StockLevel(3, 0)


def test_illegal_transition_names_the_allowed_ones() -> None:
    _, stock, order, _ = new_order()
    with pytest.raises(IllegalTransition) as e:
        apply(order, Action.DELIVER, stock, T0)
    assert e.value.allowed == ("accept", "cancel")
    assert "allowed: accept, cancel" in str(e.value)
    assert e.value.code is Code.ACTION_NOT_APPLICABLE and e.value.http_status == 409
    assert order.status == START and order.history == []
    with pytest.raises(IllegalTransition):
        apply(order, Action.COLLECT, stock, T0)
    assert allowed_actions((OrderState.IN_PROGRESS, FulfillmentState.PACKED), FulfillmentType.DELIVERY) == [
        Action.ASSIGN_AGENT,
        Action.CANCEL,
        Action.PICK_UP,
    ]


def test_naive_times_are_refused() -> None:
    _, stock, order, _ = new_order()
    with pytest.raises(InvalidInput):
        apply(order, Action.ACCEPT, stock, datetime(2024, 1, 1))  # noqa: DTZ001


def test_confirm_with_stock_gone_creates_nothing() -> None:
    cat, stock = make_catalog(), make_stock()
    q = build_quote(cat, stock, "P1", [LineRequest("A", 6), LineRequest("B", 1)])
    stock.reserve("A", "L2", 3, T0, ref="other")  # someone else took L2's units
    ledger = len(stock.ledger)
    with pytest.raises(InsufficientStock) as e:
        create_order(
            cat,
            stock,
            "O1",
            build_quote(cat, stock, "P1", [LineRequest("A", 6), LineRequest("B", 1)]),
            T0,
            earlier=q,
        )
    assert e.value.shortages == {"A": (6, 5)}
    assert len(stock.ledger) == ledger and stock.level("B", "L1").reserved == 0


def test_confirm_with_a_stale_price_answers_with_the_new_quote() -> None:
    cat, stock = make_catalog(), make_stock()
    q = build_quote(cat, stock, "P1", [LineRequest("B", 1)])
    cat.add_item(Item(**{**cat.item("B").__dict__, "price": inr(2_600)}))
    fresh = build_quote(cat, stock, "P1", [LineRequest("B", 1)])
    with pytest.raises(QuoteChanged) as e:
        create_order(cat, stock, "O1", fresh, T0, earlier=q)
    assert e.value.fresh.lines[0].unit_price == inr(2_600)
    assert stock.level("B", "L1").reserved == 0


def test_order_spanning_two_locations_and_shipping_needs_stock() -> None:
    cat, stock = make_catalog(), make_stock()
    q = build_quote(cat, stock, "P1", [LineRequest("A", 7), LineRequest("C-L", 2)])
    order, _ = create_order(cat, stock, "O1", q, T0)
    assert [(a.location_id, a.quantity) for a in order.line("A").allocations] == [("L1", 5), ("L2", 2)]
    assert order.reserved_quantities() == {("A", "L1"): 5, ("A", "L2"): 2, ("C-L", "L1"): 2}
    for action in (Action.ACCEPT, Action.PACK):
        apply(order, action, stock, T0)
    with pytest.raises(NegativeStock):  # C-L is backordered: nothing on hand to ship
        apply(order, Action.PICK_UP, stock, T0)
    assert order.fulfillment_state is FulfillmentState.PACKED and stock.level("A", "L1").reserved == 5
    stock.receive("C-L", "L1", 2, T0)
    apply(order, Action.PICK_UP, stock, T0)
    assert order.reserved_quantities() == {}


def test_record_payment_bounds() -> None:
    _, _, order, _ = new_order(payment=PaymentType.POST_FULFILLMENT)
    record_payment(order, inr(100))
    assert order.paid == inr(100)
    with pytest.raises(InvalidInput):
        record_payment(order, order.quote.total)
    with pytest.raises(InvalidInput):
        record_payment(order, inr(0))
