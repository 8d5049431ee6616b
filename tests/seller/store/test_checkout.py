"""Confirm in one transaction: idempotent, all or nothing, no oversell (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from sqlalchemy.exc import IntegrityError

from mercato.protocol.errors import Code
from mercato.seller.domain import (
    FulfillmentType,
    FulfillmentUnavailable,
    InsufficientStock,
    InvalidInput,
    InvalidQuantity,
    LineRequest,
    Order,
    QuoteChanged,
    UnknownEntity,
)
from mercato.seller.store import Callback, Store, catalog, orders, stock
from mercato.seller.store.checkout import (
    Basket,
    ConfirmRequest,
    confirm,
    quote,
    save_quote,
    stored_answer,
    stored_quote,
)
from mercato.transport.outbox import rows_for

from .helpers import BAP_URI, T0, buy, check_invariants, counts, inr, make_shop, on_confirm


def test_confirm_makes_order_reservation_ledger_and_outbox_row(store: Store) -> None:
    make_shop(store)
    before = counts(store)
    res = buy(store, {"HOT": 70, "TEA": 2}, txn="t1")
    assert not res.replayed and res.order is not None
    order = orders.get(store, res.order_id)
    # 70 HOT cannot come from one location: 60 from L1 (most available) and 10 from L2.
    assert {a.location_id: a.quantity for a in order.line("HOT").allocations} == {"L1": 60, "L2": 10}
    assert order.quote.total == res.order.quote.total
    lv = stock.levels(store)
    assert (lv[("HOT", "L1")].reserved, lv[("HOT", "L2")].reserved, lv[("TEA", "L1")].reserved) == (60, 10, 2)
    after = counts(store)
    assert after["orders"] == before["orders"] + 1
    assert after["outbox"] == before["outbox"] + 1
    assert after["ledger"] == before["ledger"] + 3  # one reserve entry per (item, location)
    [row] = rows_for(store.engine, "txn-" + res.order_id)
    assert row["action"] == "on_confirm" and row["body"] == res.response and row["status"] == "pending"
    assert orders.ref_of(store, res.order_id).transaction_id == "t1"
    assert orders.find(store, "bap.example", "t1") == res.order_id
    assert orders.find(store, "bap.example", "t2") is None
    with pytest.raises(UnknownEntity):
        orders.ref_of(store, "nope")
    with pytest.raises(UnknownEntity):
        orders.details_of(store, "nope")
    with pytest.raises(UnknownEntity):
        orders.get(store, "nope")
    check_invariants(store)


def test_confirm_twice_gives_one_order_and_the_same_answer(store: Store) -> None:
    make_shop(store)
    first = buy(store, {"HOT": 3}, txn="same")
    second = buy(store, {"HOT": 3}, txn="same")
    third = buy(store, {"HOT": 5}, txn="same")  # even a different basket: the transaction is confirmed
    assert second.replayed and third.replayed and not first.replayed
    assert first.order_id == second.order_id == third.order_id
    assert first.response == second.response == third.response
    assert counts(store)["orders"] == 1 and counts(store)["outbox"] == 1
    assert stock.levels(store)[("HOT", "L1")].reserved == 3
    stored = stored_answer(store, "bap.example", "same")
    assert stored is not None and stored.response == first.response
    # The same transaction id from another buyer app is another transaction.
    other = buy(store, {"HOT": 1}, txn="same", bap="other.bap")
    assert not other.replayed and other.order_id != first.order_id
    check_invariants(store)


def test_stock_gone_names_quantity_left_and_stores_nothing(store: Store) -> None:
    make_shop(store, hot=(2, 1))
    buy(store, {"HOT": 2})
    before, levels = counts(store), stock.levels(store)
    with pytest.raises(InsufficientStock) as e:
        buy(store, {"TEA": 1, "HOT": 3}, txn="late")
    assert e.value.shortages == {"HOT": (3, 1)} and e.value.quantity_left("HOT") == 1
    assert e.value.code is Code.ITEM_QUANTITY_UNAVAILABLE and "1 left" in e.value.message
    assert counts(store) == before and stock.levels(store) == levels
    assert stored_answer(store, "bap.example", "late") is None
    # Nothing was stored, so the buyer may retry the same transaction with what is left.
    assert not buy(store, {"HOT": 1}, txn="late").replayed
    check_invariants(store)


def test_bad_baskets_store_nothing(store: Store) -> None:
    make_shop(store)
    before, levels = counts(store), stock.levels(store)
    with pytest.raises(UnknownEntity) as unknown:
        buy(store, {"NOPE": 1})
    assert unknown.value.code is Code.ITEM_NOT_FOUND
    with pytest.raises(InvalidQuantity):
        buy(store, {"HOT": 0})
    with pytest.raises(InvalidQuantity):
        buy(store, {"HOT": 1001})
    with pytest.raises(FulfillmentUnavailable):  # MUG is delivery only
        buy(store, {"MUG": 1}, fulfillment=FulfillmentType.PICKUP)
    with pytest.raises(InvalidInput):
        confirm(store, ConfirmRequest("bap", "t", Basket("P1", [])), order_id="o", now=T0, respond=on_confirm)
    with pytest.raises(UnknownEntity):
        confirm(store, ConfirmRequest("bap", "t", Basket("P9", [LineRequest("HOT", 1)])), order_id="o",
                now=T0, respond=on_confirm)  # fmt: skip
    with pytest.raises(InvalidInput):
        buy(store, {"HOT": 1}, now=T0.replace(tzinfo=None))
    catalog.deactivate_item(store, "TEA", T0)
    with pytest.raises(UnknownEntity):
        buy(store, {"TEA": 1})
    assert counts(store) == before and stock.levels(store) == levels


def test_failure_after_reserving_rolls_everything_back(store: Store) -> None:
    make_shop(store)
    before, levels = counts(store), stock.levels(store)

    def broken(order: Order) -> Callback:
        raise RuntimeError("serialiser failed")

    basket = Basket("P1", [LineRequest("HOT", 5)], city="std:080")
    with pytest.raises(RuntimeError):
        confirm(store, ConfirmRequest("bap", "tx", basket), order_id="o-1", now=T0, respond=broken)

    def bad_url(order: Order) -> Callback:
        return Callback("ftp://nowhere", "on_confirm", b"{}", "tx", "m1")

    with pytest.raises(ValueError):
        confirm(store, ConfirmRequest("bap", "tx", basket), order_id="o-1", now=T0, respond=bad_url)
    assert counts(store) == before and stock.levels(store) == levels
    # An order id that already exists is refused and nothing else is stored either.
    first = buy(store, {"HOT": 1}, order_id="dup")
    with pytest.raises(IntegrityError):
        buy(store, {"HOT": 1}, order_id="dup")
    assert counts(store)["orders"] == before["orders"] + 1 and first.order_id == "dup"
    check_invariants(store)


def test_stale_quote_answers_with_the_fresh_one(store: Store) -> None:
    make_shop(store)
    basket = Basket("P1", [LineRequest("HOT", 2), LineRequest("TEA", 1)], city="std:080")
    q = quote(store, basket)
    assert q.line("HOT").available_quantity == 100 and q.delivery == inr(4_000)
    save_quote(store, "bap.example", "tq", q, "init", T0, {"billing": {"name": "A"}})
    stored = stored_quote(store, "bap.example", "tq")
    assert stored is not None and stored[0] == q and stored[1] == {"billing": {"name": "A"}}
    with pytest.raises(InvalidInput):
        save_quote(store, "bap.example", "tq", q, "confirm", T0)
    # The merchant raises the price between init and confirm.
    item = catalog.load_all(store).item("HOT")
    catalog.put_item(store, replace(item, price=inr(26_000)), T0)
    before = counts(store)
    with pytest.raises(QuoteChanged) as e:
        confirm(store, ConfirmRequest("bap.example", "tq", basket, bap_uri=BAP_URI),
                order_id=str(uuid.uuid4()), now=T0, respond=on_confirm)  # fmt: skip
    assert e.value.fresh.line("HOT").unit_price == inr(26_000)
    assert counts(store) == before
    # Confirming against the fresh quote works, and the order keeps the init details.
    save_quote(store, "bap.example", "tq", e.value.fresh, "init", T0)
    res = confirm(
        store, ConfirmRequest("bap.example", "tq", basket), order_id="o-tq", now=T0, respond=on_confirm
    )
    assert res.order is not None and res.order.quote.total == e.value.fresh.total
    assert orders.details_of(store, "o-tq") == {"billing": {"name": "A"}}
