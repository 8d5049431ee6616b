from __future__ import annotations

from datetime import timedelta

import pytest

from mercato.protocol.errors import Code
from mercato.seller.domain import (
    Action,
    CurrencyMismatch,
    FulfillmentType,
    IllegalTransition,
    InvalidInput,
    LineRequest,
    Money,
    PaymentType,
    RefundTooLarge,
    ReturnRefused,
    StockLevel,
)
from mercato.seller.domain.orders import apply, create_order
from mercato.seller.domain.quotes import build_quote
from mercato.seller.domain.returns import (
    ReturnState,
    approve,
    issue_refund,
    mark_picked,
    receive,
    refund,
    refund_for,
    reject,
    request_return,
)

from .shop import DELIVERY, T0, WELCOME, inr, make_catalog, make_stock

DAY = timedelta(days=1)


def delivered(lines=(("A", 5), ("B", 2)), payment=PaymentType.ON_ORDER):  # type: ignore[no-untyped-def]
    cat, stock = make_catalog(), make_stock()
    q = build_quote(
        cat, stock, "P1", [LineRequest(i, n) for i, n in lines], FulfillmentType.DELIVERY, DELIVERY, [WELCOME]
    )
    order, _ = create_order(cat, stock, "O1", q, T0, payment_type=payment)
    for a in (Action.ACCEPT, Action.PACK, Action.PICK_UP, Action.DELIVER):
        apply(order, a, stock, T0)
    return cat, stock, order


def test_full_return_flow_restocks_and_refunds() -> None:
    cat, stock, order = delivered()
    r = request_return(order, cat, "R1", "A", 2, "damaged box", T0 + 3 * DAY)
    line = order.quote.line("A")
    assert r.refund == Money(line.total.amount * 2 // 5, "INR") == refund_for(order, "A", 2)
    approve(r, T0 + 3 * DAY)
    mark_picked(r, T0 + 4 * DAY)
    entries = receive(r, order, stock, T0 + 5 * DAY)
    assert [(e.location_id, e.on_hand_delta) for e in entries] == [("L1", 2)]
    assert stock.level("A", "L1") == StockLevel(2, 0)
    assert refund(r, order, T0 + 5 * DAY) == r.refund
    assert order.refunded == r.refund and r.state is ReturnState.REFUNDED
    assert [to for _, _, to in r.history] == [
        ReturnState.APPROVED,
        ReturnState.PICKED,
        ReturnState.RECEIVED,
        ReturnState.REFUNDED,
    ]


def test_refunds_of_all_units_never_exceed_the_line() -> None:
    cat, stock, order = delivered()
    rets = []
    for i in range(5):
        r = request_return(order, cat, f"R{i}", "A", 1, "no", T0, rets)
        rets.append(r)
    assert sum(r.refund.amount for r in rets) <= order.quote.line("A").total.amount
    with pytest.raises(ReturnRefused):
        request_return(order, cat, "R9", "A", 1, "no", T0, rets)
    reject(rets[0], T0)  # a rejected return frees its units
    request_return(order, cat, "R9", "A", 1, "no", T0, rets)


def test_return_rules() -> None:
    cat, stock, order = delivered()
    with pytest.raises(ReturnRefused) as e:
        request_return(order, cat, "R1", "A", 1, "late", T0 + 7 * DAY + timedelta(seconds=1))
    assert "window" in str(e.value) and e.value.code is Code.UPDATION_NOT_POSSIBLE
    request_return(order, cat, "R1", "A", 1, "just in time", T0 + 7 * DAY)
    with pytest.raises(ReturnRefused):
        request_return(order, cat, "R1", "B", 1, "milk", T0)  # not returnable
    with pytest.raises(ReturnRefused):
        request_return(order, cat, "R1", "A", 6, "too many", T0)
    for bad in (0, -1, True):
        with pytest.raises(InvalidInput):
            request_return(order, cat, "R1", "A", bad, "x", T0)
    with pytest.raises(InvalidInput):
        request_return(order, cat, "R1", "A", 1, " ", T0)
    with pytest.raises(InvalidInput):
        request_return(order, cat, "R1", "C-M", 1, "not ordered", T0)


def test_undelivered_orders_cannot_be_returned() -> None:
    cat, stock = make_catalog(), make_stock()
    q = build_quote(cat, stock, "P1", [LineRequest("A", 1)])
    order, _ = create_order(cat, stock, "O1", q, T0)
    with pytest.raises(ReturnRefused):
        request_return(order, cat, "R1", "A", 1, "x", T0)


def test_return_transitions_are_checked() -> None:
    cat, stock, order = delivered()
    r = request_return(order, cat, "R1", "A", 1, "x", T0)
    with pytest.raises(IllegalTransition) as e:
        receive(r, order, stock, T0)
    assert e.value.allowed == ("Approved", "Rejected")
    with pytest.raises(IllegalTransition):
        refund(r, order, T0)
    approve(r, T0)
    receive(r, order, stock, T0, restock=False)  # dropped at the store, written off
    assert stock.level("A", "L1") == StockLevel(0, 0) and not r.restocked
    refund(r, order, T0)
    with pytest.raises(IllegalTransition):
        reject(r, T0)


def test_refund_above_what_was_paid_is_refused() -> None:
    cat, stock, order = delivered()
    with pytest.raises(RefundTooLarge) as e:
        issue_refund(order, order.paid + inr(1))
    assert e.value.code is Code.POLICY_ERROR
    issue_refund(order, order.paid - inr(10))
    with pytest.raises(RefundTooLarge):
        issue_refund(order, inr(11))
    with pytest.raises(CurrencyMismatch):
        issue_refund(order, Money(1, "USD"))
    with pytest.raises(InvalidInput):
        issue_refund(order, inr(0))


def test_unpaid_order_return_cannot_be_refunded() -> None:
    cat, stock, order = delivered(payment=PaymentType.POST_FULFILLMENT)
    r = request_return(order, cat, "R1", "A", 1, "x", T0)
    approve(r, T0)
    receive(r, order, stock, T0)
    with pytest.raises(RefundTooLarge):
        refund(r, order, T0)
    assert r.state is ReturnState.RECEIVED
