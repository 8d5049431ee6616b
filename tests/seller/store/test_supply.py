"""The supply twin in the seller's database: stored validated, quotes promised from it, confirm reserves
capacity in the order's transaction, production orders start and complete through the ledger, and a
disruption flags late orders and tells their buyers."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from mercato.seller.domain import InsufficientStock, InvalidInput, LineRequest, UnknownEntity
from mercato.seller.store import Callback, Store, stock, supply_late
from mercato.seller.store import supply as store_supply
from mercato.seller.store.checkout import Basket, ConfirmRequest, confirm
from mercato.seller.store.supply import SupplyPromiseRow
from mercato.seller.store.twin import SupplyTwinRow
from mercato.supply.errors import PromiseUnavailable, SupplyInputError
from mercato.transport.outbox import outbox_table
from tests.seller.store.helpers import BAP_URI, T0, make_shop, on_confirm

TODAY = T0.date()  # Saturday 2025-03-01


def twin_doc() -> dict[str, Any]:
    return {
        "calendars": [{"id": "default", "weekdays": ["mon", "tue", "wed", "thu", "fri"]}],
        "locations": [
            {"id": "L1", "kind": "factory", "city": "std:080"},
            {"id": "L2", "kind": "warehouse", "city": "std:080"},  # explicit lanes below win
        ],
        "lanes": [{"from": "L1", "city": "std:080", "days": 3}, {"from": "L2", "city": "std:080", "days": 2}],
        "items": [{"id": "MUG"}, {"id": "HOT"}, {"id": "CLAY"}],
        "stock": [{"item": "CLAY", "location": "L1", "quantity": 100}],
        "receipts": [{"item": "CLAY", "location": "L1", "quantity": 50, "date": "2025-03-10",
                      "ref": "PO-CLAY"}],
        "lines": [{"id": "M1", "location": "L1", "capacity_per_day": 100,
                   "rates": [{"item": "MUG", "per_unit": 10, "setup": 20}]}],
        "bom": [{"item": "MUG", "component": "CLAY", "quantity": 2}],
    }  # fmt: skip


@pytest.fixture
def shop(store: Store) -> Store:
    make_shop(store)
    store_supply.put_twin(store, twin_doc(), T0)
    return store


def _confirm(store: Store, item: str, qty: int, city: str = "std:080") -> tuple[str, Any]:
    from mercato.seller.handlers.supply import ConfirmHold  # the hold the handler passes

    class _Env:
        pass

    env: Any = _Env()
    env.store = store
    basket = Basket("P1", [LineRequest(item, qty)], city=city)
    order_id = str(uuid.uuid4())
    hold = ConfirmHold(env, basket, order_id, T0)
    req = ConfirmRequest("bap.example", "txn-" + order_id, basket, bap_uri=BAP_URI)
    confirm(store, req, order_id=order_id, now=T0, respond=on_confirm, hold=hold)
    return order_id, hold.promise


def test_bad_twin_is_refused_and_nothing_is_stored(store: Store) -> None:
    doc = twin_doc()
    doc["lines"][0]["capacity_per_day"] = 0
    doc["bom"].append({"item": "CLAY", "component": "MUG", "quantity": 1})
    with pytest.raises(SupplyInputError) as info:
        store_supply.put_twin(store, doc, T0)
    assert any("capacity > 0" in p for p in info.value.problems)
    assert any("cycle" in p for p in info.value.problems)
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(SupplyTwinRow)) == 0
    assert store_supply.twin_of(store) is None and store_supply.twin_document(store) is None


def test_twin_makes_line_items_made_to_order(shop: Store) -> None:
    levels = stock.levels(shop, ["MUG"])
    assert levels[("MUG", "L1")].backorder  # the line stands at L1
    assert not levels[("MUG", "L2")].backorder
    assert store_supply.twin_document(shop)["lines"][0]["id"] == "M1"


def test_stock_promise_then_capacity_promise(shop: Store) -> None:
    p = store_supply.promise(shop, [("MUG", 5)], "std:080", T0)
    assert p is not None and p.lines[0].source.value == "stock" and p.lines[0].location == "L2"
    assert p.delivery_date == TODAY + timedelta(days=2)
    p = store_supply.promise(shop, [("MUG", 15)], "std:080", T0)
    assert p is not None and p.lines[0].source.value == "production"
    # Mon: 20 + 15 × 10 = 170 > 100 → done Tue, ship Wed, +3 days
    assert p.lines[0].ship_date == date(2025, 3, 5) and p.delivery_date == date(2025, 3, 8)
    assert store_supply.promise(shop, [("TEA", 1)], "std:080", T0) is None  # not in the twin
    with pytest.raises(PromiseUnavailable):
        store_supply.promise(shop, [("MUG", 1)], "std:999", T0)


def test_confirm_reserves_capacity_and_components_with_the_order(shop: Store) -> None:
    order_id, p = _confirm(shop, "MUG", 15)
    assert p.lines[0].source.value == "production"
    pos = store_supply.production_orders(shop, open_only=True)
    assert [(po.item_id, po.quantity, po.order_id, po.line_id) for po in pos] == [("MUG", 15, order_id, "M1")]
    promised = supply_late.promise_of(shop, order_id)
    assert promised is not None and promised["deliver_on"] == "2025-03-08"
    # the same capacity is not promised twice: the next 15 finish later
    p2 = store_supply.promise(shop, [("MUG", 15)], "std:080", T0)
    assert p2 is not None and p2.delivery_date > p.delivery_date
    # the seller's ledger reserved the units (backorder at the factory)
    assert (
        stock.levels(shop, ["MUG"])[("MUG", "L2")].reserved
        + stock.levels(shop, ["MUG"])[("MUG", "L1")].reserved
        == 15
    )


def test_confirm_refuses_what_the_twin_cannot_keep_and_stores_nothing(shop: Store) -> None:
    doc = twin_doc()
    doc["stock"] = []
    doc["receipts"] = []
    store_supply.put_twin(shop, doc, T0)
    with pytest.raises(InsufficientStock):
        _confirm(shop, "MUG", 15)  # no CLAY for 30
    assert store_supply.production_orders(shop) == []
    with shop.read() as s:
        assert s.scalar(select(func.count()).select_from(SupplyPromiseRow)) == 0


def test_production_order_start_and_complete(shop: Store) -> None:
    po = store_supply.create_production_order(
        shop, "PO-1", "MUG", 4, date(2025, 3, 7), T0, source="replenishment"
    )
    assert (po.state, po.line_id, po.location_id) == ("planned", "M1", "L1")
    assert (
        store_supply.create_production_order(shop, "PO-1", "MUG", 99, date(2025, 3, 7), T0) == po
    )  # idempotent
    started = store_supply.start_production(shop, "PO-1", T0)
    assert started.state == "started"
    with pytest.raises(InvalidInput, match="only a planned one"):
        store_supply.start_production(shop, "PO-1", T0)
    before = stock.levels(shop, ["MUG"])[("MUG", "L1")].on_hand
    done = store_supply.complete_production(shop, "PO-1", T0)
    assert done.state == "completed" and done.completed_at is not None
    assert stock.levels(shop, ["MUG"])[("MUG", "L1")].on_hand == before + 4
    entry = stock.ledger(shop, "MUG", ref="PO-1")[-1]
    assert entry.on_hand_delta == 4 and "production order PO-1 completed" in entry.reason
    with pytest.raises(InvalidInput, match="cannot complete"):
        store_supply.complete_production(shop, "PO-1", T0)


def test_production_order_bad_input(shop: Store) -> None:
    for args, needle in [
        (("PO-2", "MUG", 0, date(2025, 3, 7)), "quantity"),
        (("PO-2", "TEA", 1, date(2025, 3, 7)), "no item 'TEA'"),
        (("PO-2", "MUG", 1, date(2025, 2, 7)), "before the release day"),
        (("PO-2", "MUG", 1000, date(2025, 3, 7)), "not enough 'CLAY'"),
    ]:
        with pytest.raises(InvalidInput, match=needle):
            store_supply.create_production_order(shop, *args, T0)
    with pytest.raises(InvalidInput, match="no line"):
        store_supply.create_production_order(shop, "PO-2", "MUG", 1, date(2025, 3, 7), T0, line_id="M9")
    with pytest.raises(UnknownEntity):
        store_supply.start_production(shop, "nope", T0)
    assert store_supply.production_orders(shop) == []


def _notify(order_id: str, new: date) -> Callback:
    body = orjson.dumps({"action": "on_update", "order_id": order_id, "deliver_on": new.isoformat()})
    return Callback(BAP_URI + "/on_update", "on_update", body, "txn-" + order_id, str(uuid.uuid4()))


def _outbox(store: Store, action: str) -> list[dict[str, Any]]:
    t = outbox_table
    with store.read() as s:
        rows = s.execute(select(t.c.body).where(t.c.action == action)).all()
    return [orjson.loads(r[0]) for r in rows]


def test_a_line_down_flags_the_order_late_and_tells_the_buyer(shop: Store) -> None:
    order_id, p = _confirm(shop, "MUG", 15)
    assert supply_late.check_late(shop, T0, _notify) == []
    risks = supply_late.add_downtime(shop, "M1", date(2025, 3, 3), date(2025, 3, 6), "motor", T0, _notify)
    assert [r.order_id for r in risks] == [order_id]
    new = risks[0].new_delivery
    assert new is not None and new > p.delivery_date
    promised = supply_late.promise_of(shop, order_id)
    assert promised is not None and promised["late"] and promised["deliver_on"] == new.isoformat()
    assert promised["promised_on"] == p.delivery_date.isoformat()
    sent = _outbox(shop, "on_update")
    assert [(m["order_id"], m["deliver_on"]) for m in sent] == [(order_id, new.isoformat())]
    assert [po.id for po in store_supply.production_orders(shop) if po.late] == [risks[0].production_order_id]
    # checking again tells nobody twice
    supply_late.check_late(shop, T0, _notify)
    assert len(_outbox(shop, "on_update")) == 1
    with pytest.raises(SupplyInputError, match="unknown line"):
        supply_late.add_downtime(shop, "M9", date(2025, 3, 3), date(2025, 3, 6), "", T0, _notify)


def test_a_late_component_receipt_flags_the_order(shop: Store) -> None:
    doc = twin_doc()
    doc["stock"] = [{"item": "CLAY", "location": "L1", "quantity": 10}]
    store_supply.put_twin(shop, doc, T0)
    order_id, p = _confirm(shop, "MUG", 15)  # 30 CLAY: 10 now, 50 on Mar 10
    assert p.lines[0].ship_date > date(2025, 3, 10)
    risks = supply_late.move_receipt(shop, "PO-CLAY", date(2025, 3, 20), T0, _notify)
    assert [r.order_id for r in risks] == [order_id]
    assert risks[0].expected_on >= date(2025, 3, 20)
    stored = store_supply.twin_document(shop)  # the new date is in the database, not only in the answer
    assert stored is not None and [r["date"] for r in stored["receipts"]] == ["2025-03-20"]
    with pytest.raises(SupplyInputError, match="no scheduled receipt"):
        supply_late.move_receipt(shop, "nope", date(2025, 3, 20), T0, _notify)


def test_pool_production_orders_are_scheduled_from_their_dates(shop: Store) -> None:
    from datetime import UTC, datetime

    from mercato.seller.store import pools as store_pools

    start = datetime(2025, 3, 3, tzinfo=UTC)
    run = store_pools.ProductionOrder("pool-run-1", "MUG", 20, start, start + timedelta(days=5),
                                      start + timedelta(days=8), "pool:summer")  # fmt: skip
    store_pools.record_production(shop, run, T0)
    stock.receive(shop, "MUG", "L1", 20, T0, "pool summer run (made to order)", "pool-run-1")
    (slot,) = store_supply.schedule(shop, T0)
    assert slot.job.id == "pool-run-1" and slot.job.release == date(2025, 3, 3)
    assert slot.job.due == date(2025, 3, 7) and slot.late_days == 0
    assert supply_late.check_late(shop, T0, _notify) == []
    before = stock.levels(shop, ["MUG"])[("MUG", "L1")].on_hand
    store_supply.start_production(shop, "pool-run-1", T0)
    store_supply.complete_production(shop, "pool-run-1", T0)
    assert stock.levels(shop, ["MUG"])[("MUG", "L1")].on_hand == before  # received when the pool cleared
