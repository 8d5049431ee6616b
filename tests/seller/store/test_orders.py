"""Order changes after confirm, each in one transaction with its ledger entries and outbox row."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mercato.protocol.errors import Code
from mercato.seller.domain import (
    CancellationRefused,
    FulfillmentType,
    IllegalTransition,
    InvalidCancellationReason,
    InvalidInput,
    InvalidRating,
    NegativeStock,
    RefundTooLarge,
    ReturnRefused,
    UnknownEntity,
)
from mercato.seller.domain.cancellation import Party
from mercato.seller.domain.orders import Action, FulfillmentState, OrderState
from mercato.seller.store import Store, aftersales, orders, stock
from mercato.transport.outbox import rows_for

from .helpers import T0, buy, check_invariants, counts, inr, make_shop, notifier

H = timedelta(hours=1)


def test_lifecycle_moves_stock_and_tells_the_buyer_in_order(store: Store) -> None:
    make_shop(store)
    res = buy(store, {"HOT": 70})
    oid = res.order_id
    note = notifier("on_status")
    for i, action in enumerate(["accept", "pack", "pick-up", "out-for-delivery", "deliver"], start=1):
        orders.act(store, oid, action, T0 + i * H, notify=note)
    order = orders.get(store, oid)
    assert order.status == (OrderState.COMPLETED, FulfillmentState.DELIVERED)
    assert order.delivered_at == T0 + 5 * H and order.paid == order.quote.total
    assert [c.action for c in order.history] == [Action.ACCEPT, Action.PACK, Action.PICK_UP,
                                                 Action.OUT_FOR_DELIVERY, Action.DELIVER]  # fmt: skip
    lv = stock.levels(store)
    assert (lv[("HOT", "L1")].on_hand, lv[("HOT", "L1")].reserved) == (0, 0)
    assert (lv[("HOT", "L2")].on_hand, lv[("HOT", "L2")].reserved) == (30, 0)
    # One on_confirm and then five on_status rows, all on the order's transaction, in order.
    rows = rows_for(store.engine, "txn-" + oid)
    assert [r["action"] for r in rows] == ["on_confirm"] + ["on_status"] * 5
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    commits = stock.ledger(store, ref=oid)
    assert [(e.movement.value, e.location_id, e.on_hand_delta) for e in commits] == [
        ("reserve", "L1", 0), ("reserve", "L2", 0), ("commit", "L1", -60), ("commit", "L2", -10)]  # fmt: skip
    check_invariants(store)


def test_illegal_transition_names_allowed_moves_and_changes_nothing(store: Store) -> None:
    make_shop(store)
    oid = buy(store, {"HOT": 2}).order_id
    before = counts(store)
    with pytest.raises(IllegalTransition) as e:
        orders.act(store, oid, "deliver", T0, notify=notifier())
    assert e.value.allowed == ("accept", "cancel") and e.value.code is Code.ACTION_NOT_APPLICABLE
    with pytest.raises(UnknownEntity):
        orders.act(store, oid, "teleport", T0)
    with pytest.raises(UnknownEntity):
        orders.act(store, oid, "cancel", T0)  # needs a reason: use orders.cancel
    with pytest.raises(UnknownEntity) as missing:
        orders.act(store, "no-such-order", "accept", T0)
    assert missing.value.code is Code.ORDER_NOT_FOUND
    with pytest.raises(InvalidInput):
        orders.act(store, oid, "accept", T0.replace(tzinfo=None))
    assert counts(store) == before
    # Self-pickup orders are collected, never picked up by a courier.
    pid = buy(store, {"TEA": 1}, fulfillment=FulfillmentType.PICKUP).order_id
    orders.act(store, pid, "accept", T0)
    orders.act(store, pid, "pack", T0)
    with pytest.raises(IllegalTransition):
        orders.act(store, pid, "pick-up", T0)
    assert orders.act(store, pid, "collect", T0).state is OrderState.COMPLETED
    check_invariants(store)


def test_full_cancel_releases_stock_and_refunds(store: Store) -> None:
    make_shop(store)
    oid = buy(store, {"HOT": 5, "TEA": 1}).order_id
    c = orders.cancel(store, oid, "005", Party.SELLER, T0 + H, notify=notifier("on_cancel"))
    order = orders.get(store, oid)
    assert c.full and order.status == (OrderState.CANCELLED, FulfillmentState.CANCELLED)
    assert c.refund == order.original_quote.total and order.refunded == c.refund
    assert aftersales.refunds(store, oid)[0][1] == c.refund.amount
    assert stock.levels(store)[("HOT", "L1")].reserved == 0
    assert rows_for(store.engine, "txn-" + oid)[-1]["action"] == "on_cancel"
    with pytest.raises(CancellationRefused):
        orders.cancel(store, oid, "005", Party.SELLER, T0 + 2 * H)
    check_invariants(store)


def test_cancel_rules_refuse_without_storing_anything(store: Store) -> None:
    make_shop(store)
    oid = buy(store, {"MUG": 1}).order_id
    before, levels = counts(store), stock.levels(store)
    with pytest.raises(InvalidCancellationReason):
        orders.cancel(store, oid, "999", Party.SELLER, T0)
    with pytest.raises(InvalidCancellationReason):
        orders.cancel(store, oid, "005", Party.BUYER_APP, T0)  # a seller's code
    with pytest.raises(CancellationRefused):
        orders.cancel(store, oid, "010", Party.BUYER_APP, T0)  # the mug is not cancellable by the buyer
    with pytest.raises(CancellationRefused):  # 013 is for parcels in transit
        orders.cancel(store, oid, "013", Party.SELLER, T0)
    assert counts(store) == before and stock.levels(store) == levels
    for a in ("accept", "pack", "pick-up", "deliver"):
        orders.act(store, oid, a, T0)
    with pytest.raises(CancellationRefused) as e:
        orders.cancel(store, oid, "003", Party.BUYER_APP, T0)
    assert "return" in e.value.message  # a delivered order is returned, not cancelled
    check_invariants(store)


def test_partial_cancel_releases_units_and_reprices(store: Store) -> None:
    make_shop(store)
    oid = buy(store, {"HOT": 70, "TEA": 2}).order_id
    before = orders.get(store, oid)
    c = orders.cancel(store, oid, "002", Party.SELLER, T0 + H, quantities={"HOT": 15})
    order = orders.get(store, oid)
    assert not c.full and order.line("HOT").quantity == 55 and order.line("HOT").cancelled == 15
    # The last location by id gives units back first: L2 had 10, so L2 goes to 0 and L1 gives 5.
    assert {a.location_id: a.quantity for a in order.line("HOT").allocations} == {"L1": 55}
    assert c.refund == before.quote.total - order.quote.total and order.refunded == c.refund
    assert order.state is OrderState.CREATED
    with pytest.raises(CancellationRefused):
        orders.cancel(store, oid, "005", Party.SELLER, T0, quantities={"HOT": 1})  # 005 is whole-order only
    with pytest.raises(InvalidInput):
        orders.cancel(store, oid, "002", Party.SELLER, T0, quantities={"HOT": 56})
    # Cancelling all that is left cancels the order.
    last = orders.cancel(store, oid, "002", Party.SELLER, T0 + 2 * H, quantities={"HOT": 55, "TEA": 2})
    assert last.full and orders.get(store, oid).state is OrderState.CANCELLED
    check_invariants(store)


def test_cancel_in_transit_goes_back_to_origin_and_restocks(store: Store) -> None:
    make_shop(store)
    oid = buy(store, {"HOT": 4}).order_id
    for a in ("accept", "pack", "pick-up"):
        orders.act(store, oid, a, T0)
    on_hand = stock.levels(store)[("HOT", "L1")].on_hand
    orders.cancel(store, oid, "013", Party.SELLER, T0 + H)
    assert orders.get(store, oid).fulfillment_state is FulfillmentState.RTO_INITIATED
    orders.act(store, oid, "rto-deliver", T0 + 2 * H)
    assert stock.levels(store)[("HOT", "L1")].on_hand == on_hand + 4
    check_invariants(store)


def test_returns_restock_and_refund_once(store: Store) -> None:
    make_shop(store)
    oid = buy(store, {"TEA": 3, "HOT": 1}).order_id
    for a in ("accept", "pack", "pick-up", "deliver"):
        orders.act(store, oid, a, T0)
    with pytest.raises(ReturnRefused):
        aftersales.request_return(store, oid, "r0", "HOT", 1, "changed mind", T0 + H)  # not returnable
    with pytest.raises(ReturnRefused):
        aftersales.request_return(store, oid, "r0", "TEA", 1, "late", T0 + timedelta(days=8))
    with pytest.raises(ReturnRefused):
        aftersales.request_return(store, oid, "r0", "TEA", 4, "too many", T0 + H)
    ret = aftersales.request_return(
        store, oid, "r1", "TEA", 2, "damaged", T0 + H, notify=notifier("on_update")
    )
    with pytest.raises(InvalidInput):
        aftersales.request_return(store, oid, "r1", "TEA", 1, "again", T0 + H)
    with pytest.raises(ReturnRefused):  # 2 of 3 are already being returned
        aftersales.request_return(store, oid, "r2", "TEA", 2, "more", T0 + H)
    with pytest.raises(IllegalTransition):
        aftersales.move_return(store, "r1", "receive", T0 + H)
    with pytest.raises(UnknownEntity):
        aftersales.move_return(store, "r1", "fly", T0 + H)
    with pytest.raises(UnknownEntity):
        aftersales.move_return(store, "nope", "approve", T0 + H)
    on_hand = stock.levels(store)[("TEA", "L1")].on_hand
    for step in ("approve", "pick", "receive", "refund"):
        ret = aftersales.move_return(store, "r1", step, T0 + 2 * H)
    assert ret.state.value == "Refunded" and ret.restocked and ret.location_id == "L1"
    assert stock.levels(store)[("TEA", "L1")].on_hand == on_hand + 2
    order = orders.get(store, oid)
    assert order.refunded == ret.refund and ret.refund.amount > 0
    assert aftersales.get_return(store, "r1").state.value == "Refunded"
    with pytest.raises(IllegalTransition):
        aftersales.move_return(store, "r1", "refund", T0 + 3 * H)
    assert orders.get(store, oid).refunded == ret.refund  # refunded once
    assert rows_for(store.engine, "txn-" + oid)[-1]["action"] == "on_update"
    with pytest.raises(RefundTooLarge):
        aftersales.refund(store, oid, order.paid.amount, "goodwill", T0 + 3 * H)
    aftersales.refund(store, oid, 100, "goodwill", T0 + 3 * H)
    assert orders.get(store, oid).refunded == ret.refund + inr(100)
    with pytest.raises(InvalidInput):
        aftersales.refund(store, oid, 100, " ", T0)
    check_invariants(store)


def test_ratings_belong_to_real_orders(store: Store) -> None:
    make_shop(store)
    oid = buy(store, {"TEA": 1}).order_id
    with pytest.raises(UnknownEntity) as e:
        aftersales.add_rating(store, "ghost", "Order", "ghost", 5, T0)
    assert e.value.code is Code.ORDER_NOT_FOUND
    with pytest.raises(InvalidRating):
        aftersales.add_rating(store, oid, "Order", oid, 5, T0)  # not accepted yet
    orders.act(store, oid, "accept", T0)
    with pytest.raises(UnknownEntity):
        aftersales.add_rating(store, oid, "Item", "HOT", 4, T0)  # not in this order
    with pytest.raises(InvalidRating):
        aftersales.add_rating(store, oid, "Item", "TEA", 6, T0)
    with pytest.raises(InvalidRating):
        aftersales.add_rating(store, oid, "Weather", "x", 3, T0)
    aftersales.add_rating(store, oid, "Item", "TEA", "4", T0, "nice")
    aftersales.add_rating(store, oid, "Provider", "P1", 5, T0)
    aftersales.add_rating(store, oid, "Item", "TEA", 3, T0 + H, "less nice")  # replaces
    assert aftersales.ratings(store, oid) == [("Item", "TEA", 3, "less nice"), ("Provider", "P1", 5, "")]


def test_payment_on_credit_orders(store: Store) -> None:
    make_shop(store)
    oid = buy(store, {"TEA": 1}).order_id
    with pytest.raises(InvalidInput):
        orders.pay(store, oid, 1, T0)  # prepaid: already paid in full
    assert orders.count(store) == 1 and orders.list_ids(store, state=OrderState.CREATED) == [oid]
    assert orders.list_ids(store, provider_id="P2") == []


def test_stock_adjustments_need_reasons_and_never_strand_reservations(store: Store) -> None:
    make_shop(store)
    buy(store, {"MUG": 8})
    with pytest.raises(NegativeStock):
        stock.adjust(store, "MUG", "L2", -3, T0, "damaged")  # 10 on hand, 8 reserved
    assert stock.adjust(store, "MUG", "L2", -2, T0, "damaged in storage").on_hand == 8
    with pytest.raises(InvalidInput):
        stock.adjust(store, "MUG", "L2", 1, T0, "  ")
    with pytest.raises(InvalidInput):
        stock.adjust(store, "MUG", "L2", 0, T0, "nothing")
    with pytest.raises(InvalidInput):
        stock.receive(store, "MUG", "L2", -1, T0)
    with pytest.raises(UnknownEntity):
        stock.receive(store, "MUG", "L9", 1, T0)
    with pytest.raises(UnknownEntity):
        stock.receive(store, "CUP", "L1", 1, T0)
    # A new (item, location) row is created on first receipt; backorders let orders go beyond stock.
    assert stock.receive(store, "MUG", "L1", 1, T0, "transfer in").on_hand == 1
    stock.set_backorder(store, "MUG", "L1", True, T0)
    res = buy(store, {"MUG": 5})
    assert res.order is not None
    assert stock.levels(store)[("MUG", "L1")].reserved > stock.levels(store)[("MUG", "L1")].on_hand
    entries = stock.ledger(store, item_id="MUG")
    assert [e.reason for e in entries][:3] == ["opening stock", "order confirmed", "damaged in storage"]
    check_invariants(store)
