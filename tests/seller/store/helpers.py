"""A small shop in a real database, a callback builder, and the invariants every test checks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import func, select

from mercato.seller.domain import (
    Address,
    Category,
    DeliveryPolicy,
    Descriptor,
    FulfillmentType,
    GeoPoint,
    Item,
    LineRequest,
    Location,
    Money,
    Order,
    Provider,
)
from mercato.seller.store import Callback, Store, catalog, orders, stock
from mercato.seller.store.checkout import Basket, Confirmed, ConfirmRequest, confirm
from mercato.seller.store.tables import IdempotencyRow, LedgerRow, OrderRow
from mercato.transport.outbox import outbox_table

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
BAP_URI = "http://127.0.0.1:9/bap"
BLR = Address("1 MG Road", "std:080", "560001", "Karnataka")


def inr(paise: int) -> Money:
    return Money(paise, "INR")


def make_shop(store: Store, hot: tuple[int, int] = (60, 40)) -> None:
    """Provider P1 with locations L1 and L2 in Bengaluru; HOT stocked ``hot`` units at L1/L2;
    TEA (returnable, 7 days) with 50 at L1; MUG (not cancellable by the buyer) with 10 at L2."""
    catalog.put_provider(store, Provider("P1", Descriptor("Corner Store")), T0,
                         DeliveryPolicy(inr(4_000), free_from=inr(100_000), tax_rate_bp=1800))  # fmt: skip
    for loc_id, gps in (("L1", "12.975000,77.606000"), ("L2", "12.935000,77.624000")):
        catalog.put_location(
            store, Location(loc_id, "P1", BLR, GeoPoint.parse(gps), frozenset({"std:080"})), T0
        )
    catalog.put_category(store, Category("grocery", "Grocery"))
    catalog.put_category(store, Category("tea", "Tea", "grocery"))
    both = frozenset({FulfillmentType.DELIVERY, FulfillmentType.PICKUP})
    catalog.put_item(store, Item("HOT", "P1", Descriptor("Hot sauce"), inr(25_000), tax_rate_bp=1200,
                                 fulfillment_types=both), T0)  # fmt: skip
    catalog.put_item(store, Item("TEA", "P1", Descriptor("Assam tea"), inr(10_000), category_id="tea",
                                 tax_rate_bp=500, returnable=True, return_window=timedelta(days=7),
                                 fulfillment_types=both), T0)  # fmt: skip
    catalog.put_item(store, Item("MUG", "P1", Descriptor("Mug"), inr(30_000), cancellable=False), T0)
    if hot[0]:
        stock.receive(store, "HOT", "L1", hot[0], T0, "opening stock")
    if hot[1]:
        stock.receive(store, "HOT", "L2", hot[1], T0, "opening stock")
    stock.receive(store, "TEA", "L1", 50, T0, "opening stock")
    stock.receive(store, "MUG", "L2", 10, T0, "opening stock")


def on_confirm(order: Order) -> Callback:
    """The callback a confirm sends (a stand-in for the protocol handlers' on_confirm body)."""
    body = orjson.dumps({"action": "on_confirm", "order_id": order.id, "state": order.state.value,
                         "total": order.quote.total.amount})  # fmt: skip
    return Callback(BAP_URI + "/on_confirm", "on_confirm", body, "txn-" + order.id, str(uuid.uuid4()))


def notifier(action: str = "on_status", transaction_id: str | None = None):  # type: ignore[no-untyped-def]
    def build(order: Order) -> Callback:
        body = orjson.dumps({"action": action, "order_id": order.id, "state": order.state.value,
                             "fulfillment": order.fulfillment_state.value})  # fmt: skip
        return Callback(BAP_URI + "/" + action, action, body, transaction_id or "txn-" + order.id,
                        str(uuid.uuid4()))  # fmt: skip

    return build


def buy(store: Store, lines: dict[str, int], *, txn: str | None = None, bap: str = "bap.example",
        fulfillment: FulfillmentType = FulfillmentType.DELIVERY, now: datetime = T0,
        order_id: str | None = None) -> Confirmed:  # fmt: skip
    basket = Basket("P1", [LineRequest(i, q) for i, q in lines.items()], fulfillment, city="std:080")
    req = ConfirmRequest(bap, txn or str(uuid.uuid4()), basket, bap_uri=BAP_URI)
    return confirm(store, req, order_id=order_id or str(uuid.uuid4()), now=now, respond=on_confirm)


def counts(store: Store) -> dict[str, int]:
    with store.read() as s:
        return {
            "orders": s.scalar(select(func.count()).select_from(OrderRow)) or 0,
            "outbox": s.scalar(select(func.count()).select_from(outbox_table)) or 0,
            "idempotency": s.scalar(select(func.count()).select_from(IdempotencyRow)) or 0,
            "ledger": s.scalar(select(func.count()).select_from(LedgerRow)) or 0,
        }


def check_invariants(store: Store) -> None:
    """reserved = units of open orders; on hand never below reserved; the ledger replays to the levels."""
    lv = stock.levels(store)
    held = orders.open_reservations(store)
    for key, level in lv.items():
        assert level.reserved == held.get(key, 0), (key, level, held.get(key, 0))
        assert level.on_hand >= 0 and level.reserved >= 0
        if not level.backorder:
            assert level.on_hand >= level.reserved, (key, level)
    assert set(held) <= set(lv)
    assert stock.replay_matches(store)
