from __future__ import annotations

import pytest

from mercato.protocol.errors import Code
from mercato.seller.domain import (
    Action,
    CancellationRefused,
    FulfillmentState,
    FulfillmentType,
    InvalidCancellationReason,
    InvalidInput,
    LineRequest,
    OrderState,
    PaymentType,
    StockLevel,
)
from mercato.seller.domain.cancellation import (
    REASONS,
    Party,
    Phase,
    cancel_lines,
    cancel_order,
    reason,
    reasons_for,
)
from mercato.seller.domain.orders import apply, create_order
from mercato.seller.domain.quotes import build_quote

from .shop import DELIVERY, T0, WELCOME, inr, make_catalog, make_stock

BNP, SNP, LSP = Party.BUYER_APP, Party.SELLER, Party.LOGISTICS


def new_order(lines=(("A", 2),), payment=PaymentType.ON_ORDER, offers=()):  # type: ignore[no-untyped-def]
    cat, stock = make_catalog(), make_stock()
    q = build_quote(
        cat, stock, "P1", [LineRequest(i, n) for i, n in lines], FulfillmentType.DELIVERY, DELIVERY, offers
    )
    order, _ = create_order(cat, stock, "O1", q, T0, payment_type=payment)
    return cat, stock, order


def ship(order, stock) -> None:  # type: ignore[no-untyped-def]
    for a in (Action.ACCEPT, Action.PACK, Action.PICK_UP):
        apply(order, a, stock, T0)


def test_reason_codes_encode_the_ondc_table() -> None:
    assert sorted(REASONS) == [
        f"{n:03d}"
        for n in [
            1,
            2,
            3,
            5,
            6,
            7,
            8,
            9,
            10,
            11,
            12,
            13,
            14,
            15,
            16,
            17,
            18,
            19,
            20,
            21,
            22,
            996,
            997,
            998,
            999,
        ]
    ]
    assert reason("002").part_cancel and reason("012").part_cancel
    assert [c for c, r in REASONS.items() if r.part_cancel] == ["002", "012"]
    assert reason("006").cost_to == {SNP, LSP}
    assert reason("013").used_by == {LSP, SNP} and reason("013").buyer_pays and reason("013").triggers_rto
    assert reason("005").used_by == {SNP} and not reason("005").triggers_rto
    assert reason("007").used_by == {Party.LOGISTICS_BUYER}
    assert all(r.internal for c, r in REASONS.items() if c.startswith("99"))
    with pytest.raises(InvalidCancellationReason) as e:
        reason("004")
    assert e.value.code is Code.INVALID_CANCELLATION_REASON


def test_seller_cancels_before_shipping_releases_stock_and_refunds_all() -> None:
    cat, stock, order = new_order()
    c = cancel_order(order, cat, stock, "005", SNP, T0)
    assert order.status == (OrderState.CANCELLED, FulfillmentState.CANCELLED)
    assert stock.level("A", "L1") == StockLevel(5, 0)
    assert c.refund == order.quote.total == order.refunded and c.full and c.cost_to == {SNP}
    assert [e.reserved_delta for e in c.event.stock] == [-2]


def test_cancel_of_a_delivered_or_cancelled_order_is_refused() -> None:
    cat, stock, order = new_order()
    ship(order, stock)
    apply(order, Action.DELIVER, stock, T0)
    with pytest.raises(CancellationRefused) as e:
        cancel_order(order, cat, stock, "003", BNP, T0)
    assert e.value.code is Code.CANCELLATION_NOT_POSSIBLE and "return" in str(e.value)
    cat, stock, order = new_order()
    cancel_order(order, cat, stock, "005", SNP, T0)
    with pytest.raises(CancellationRefused):
        cancel_order(order, cat, stock, "005", SNP, T0)


@pytest.mark.parametrize(
    ("code", "party"), [("005", BNP), ("010", SNP), ("999", BNP), ("998", SNP), ("x", SNP)]
)
def test_wrong_party_internal_or_unknown_codes(code: str, party: Party) -> None:
    cat, stock, order = new_order()
    with pytest.raises(InvalidCancellationReason):
        cancel_order(order, cat, stock, code, party, T0)
    assert order.state is OrderState.CREATED


def test_codes_apply_only_in_their_phase() -> None:
    cat, stock, order = new_order()
    with pytest.raises(CancellationRefused):
        cancel_order(order, cat, stock, "013", SNP, T0)  # buyer refused delivery: not before shipping
    ship(order, stock)
    with pytest.raises(CancellationRefused):
        cancel_order(order, cat, stock, "005", SNP, T0)  # merchant rejection: not in transit
    assert {r.code for r in reasons_for(SNP, order)} == {"011", "012", "013", "014", "015", "020"}
    assert all(r.phase is not Phase.BEFORE_SHIPPING for r in reasons_for(BNP, order))


def test_in_transit_cancel_goes_to_rto_and_buyer_pays_delivery() -> None:
    cat, stock, order = new_order()
    ship(order, stock)
    assert stock.level("A", "L1") == StockLevel(3, 0)
    c = cancel_order(order, cat, stock, "013", SNP, T0)  # buyer refused delivery: cost to the buyer
    assert order.status == (OrderState.CANCELLED, FulfillmentState.RTO_INITIATED)
    assert c.refund == order.quote.total - order.quote.delivery - order.quote.delivery_tax
    assert c.event.stock == ()
    apply(order, Action.RTO_DELIVER, stock, T0)
    assert stock.level("A", "L1") == StockLevel(5, 0)
    assert order.allowed_actions() == []


def test_in_transit_seller_fault_refunds_all_and_lost_parcel_is_disposed() -> None:
    cat, stock, order = new_order()
    ship(order, stock)
    c = cancel_order(order, cat, stock, "003", BNP, T0)
    assert c.refund == order.quote.total
    apply(order, Action.RTO_DISPOSE, stock, T0)
    assert stock.level("A", "L1") == StockLevel(3, 0)


def test_cash_on_delivery_cancel_refunds_nothing() -> None:
    cat, stock, order = new_order(payment=PaymentType.ON_FULFILLMENT)
    c = cancel_order(order, cat, stock, "005", SNP, T0)
    assert c.refund == inr(0) and order.refunded == inr(0)


def test_buyer_cannot_cancel_non_cancellable_items_at_own_cost() -> None:
    cat, stock, order = new_order(lines=(("A", 1), ("B", 1)))
    with pytest.raises(CancellationRefused) as e:
        cancel_order(order, cat, stock, "010", BNP, T0)
    assert "B" in str(e.value)
    cancel_order(order, cat, stock, "001", BNP, T0)  # the price changed: the seller's fault
    assert order.state is OrderState.CANCELLED


def test_partial_cancellation_reprices_releases_and_refunds_the_difference() -> None:
    cat, stock, order = new_order(lines=(("A", 5), ("B", 2)), offers=(WELCOME,))
    before = order.quote.total
    assert stock.level("A", "L1").reserved == 5
    c = cancel_lines(order, cat, stock, {"A": 2}, "002", SNP, T0)
    assert not c.full and order.state is OrderState.CREATED and order.history == []
    assert order.line("A").quantity == 3 and order.line("A").cancelled == 2
    assert stock.level("A", "L1") == StockLevel(5, 3)
    assert order.quote.line("A").unit_price == inr(9_000)
    assert c.refund == before - order.quote.total and order.refunded == c.refund
    assert order.paid - order.refunded == order.quote.total
    # cancelling every remaining unit cancels the order, refunding the rest
    c2 = cancel_lines(order, cat, stock, {"A": 3, "B": 2}, "002", SNP, T0)
    assert c2.full and order.state is OrderState.CANCELLED
    assert order.refunded == order.paid
    assert stock.level("A", "L1").reserved == 0 and stock.level("B", "L1").reserved == 0


def test_partial_cancellation_rules() -> None:
    cat, stock, order = new_order(lines=(("A", 5), ("B", 2)))
    with pytest.raises(CancellationRefused):
        cancel_lines(order, cat, stock, {"A": 1}, "005", SNP, T0)  # not a part-cancel code
    for bad in ({}, {"A": 0}, {"A": 6}, {"A": True}, {"X": 1}):
        with pytest.raises(InvalidInput):
            cancel_lines(order, cat, stock, bad, "002", SNP, T0)
    ship(order, stock)
    with pytest.raises(CancellationRefused):
        cancel_lines(order, cat, stock, {"A": 1}, "012", SNP, T0)
    assert order.line("A").quantity == 5
