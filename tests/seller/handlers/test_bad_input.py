"""Every bad input the seller node refuses, and how: a NACK with the field's path when the request
itself is unusable, else the on_* callback carrying the Beckn error code (and nothing stored)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson

from tests.protocol.test_schemas import schema_errors
from tests.seller.node.harness import (
    BILLING,
    DELIVERY,
    Bap,
    Proc,
    Seller,
    basket,
    checkout,
    item_body,
    stock_up,
)

Net = tuple[Proc, Seller, Bap]


def error_of(cb: dict[str, Any]) -> dict[str, str]:
    assert not schema_errors(cb["context"]["action"], cb), schema_errors(cb["context"]["action"], cb)
    assert "error" in cb, cb
    err: dict[str, str] = cb["error"]
    return err


def orders_of(seller: Seller, txn: str) -> int:
    return seller.admin("GET", "/admin/orders.csv").text.count(txn)


def test_unknown_item_and_bad_quantities(net: Net) -> None:
    _, seller, bap = net
    assert error_of(bap.send(seller, "select", basket("NOPE", 1), str(uuid.uuid4())))["code"] == "30004"
    zero = error_of(bap.send(seller, "select", basket("FLASK", 0), str(uuid.uuid4())))
    assert zero["code"] == "30000" and "between 1 and 10" in zero["message"]
    over = error_of(bap.send(seller, "select", basket("FLASK", 11), str(uuid.uuid4())))
    assert over["code"] == "30000" and "11" in over["message"]
    assert error_of(bap.send(seller, "select", basket("FLASK", 1, provider="elsewhere"), str(uuid.uuid4())))[
        "code"
    ] in ("30001", "30000")


def test_malformed_requests_are_nacked_with_the_path(net: Net) -> None:
    _, seller, bap = net
    txn = str(uuid.uuid4())
    for message, path in (
        (
            {"order": {"items": [{"id": "FLASK", "quantity": {"selected": {"count": 1}}}]}},
            "message.order.provider.id",
        ),
        (
            {"order": {"provider": {"id": "shop"}, "items": [{"id": "FLASK"}]}},
            "message.order.items[0].quantity",
        ),
        ({"order": {"provider": {"id": "shop"}}}, "message.order.items"),
    ):
        r = bap.post(seller, "select", {"context": bap.context("select", seller, txn), "message": message})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "30000" and r.json()["error"]["paths"].startswith(path)
    r = bap.post(seller, "status", {"context": bap.context("status", seller, txn), "message": {}})
    assert r.status_code == 400 and r.json()["error"]["paths"] == "message.order_id"
    body = orjson.dumps({"context": bap.context("select", seller, txn), "message": basket("FLASK", 1)})
    unsigned = httpx.post(f"{seller.url}/select", content=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401


def test_stale_quote_is_answered_with_the_new_quote_and_no_order(net: Net) -> None:
    _, seller, bap = net
    assert (
        seller.admin("PUT", "/admin/items/PRICEY", json=item_body("Pricey lamp", 100_000)).status_code == 200
    )
    stock_up(seller, "PRICEY", 5)
    txn = str(uuid.uuid4())
    bap.send(seller, "select", basket("PRICEY", 1, fulfillments=[DELIVERY]), txn)
    assert (
        seller.admin("PUT", "/admin/items/PRICEY", json=item_body("Pricey lamp", 120_000)).status_code == 200
    )
    init = basket("PRICEY", 1, fulfillments=[DELIVERY], billing=BILLING)
    on_init = bap.send(seller, "init", init, txn)
    assert error_of(on_init)["code"] == "40003"
    assert on_init["message"]["order"]["quote"]["price"]["value"] == "1200.00"
    on_confirm = bap.send(seller, "confirm", init, txn)
    assert error_of(on_confirm)["code"] == "40003"
    assert on_confirm["message"]["order"]["quote"]["price"]["value"] == "1200.00"
    assert orders_of(seller, txn) == 0
    # taking the new quote (select again) then works
    _, _, _, ok = checkout(bap, seller, "PRICEY", 1, txn=txn)
    assert "error" not in ok and orders_of(seller, txn) == 1


def test_stock_gone_between_select_and_confirm(net: Net) -> None:
    _, seller, bap = net
    slow = str(uuid.uuid4())
    sel = bap.send(seller, "select", basket("RARE", 2, fulfillments=[DELIVERY]), slow)
    assert "error" not in sel and sel["message"]["order"]["items"][0]["quantity"]["available"]["count"] == 2
    _, _, _, fast = checkout(bap, seller, "RARE", 2)
    assert "error" not in fast
    on_confirm = bap.send(seller, "confirm", basket("RARE", 2, billing=BILLING), slow)
    err = error_of(on_confirm)
    assert err["code"] == "40002" and "0 left" in err["message"]
    assert on_confirm["message"]["order"]["items"][0]["quantity"]["available"]["count"] == 0
    assert orders_of(seller, slow) == 0
    again = bap.send(seller, "select", basket("RARE", 1), str(uuid.uuid4()))
    assert error_of(again)["code"] == "40002"  # on_select still quotes, with 0 available and the error


def test_orders_of_others_ratings_cancellations_updates(net: Net) -> None:
    _, seller, bap = net
    txn, _, _, conf = checkout(bap, seller, "TEA", 1)
    order_id = conf["message"]["order"]["id"]
    unknown = str(uuid.uuid4())
    assert error_of(bap.send(seller, "status", {"order_id": unknown}, txn))["code"] == "30010"
    assert error_of(bap.send(seller, "track", {"order_id": unknown}, txn))["code"] == "30010"
    rate = {"ratings": [{"id": unknown, "rating_category": "Order", "value": "5"}]}
    assert error_of(bap.send(seller, "rating", rate, txn))["code"] == "30014"
    lone = {"ratings": [{"id": "TEA", "rating_category": "Item", "value": "5"}]}
    assert error_of(bap.send(seller, "rating", lone, str(uuid.uuid4())))["code"] == "30010"
    created = {"ratings": [{"id": order_id, "rating_category": "Order", "value": "5"}]}
    assert error_of(bap.send(seller, "rating", created, txn))["code"] == "30015"  # not accepted yet
    bad_code = {"order_id": order_id, "cancellation_reason_id": "999"}
    assert error_of(bap.send(seller, "cancel", bad_code, txn))["code"] == "30011"
    seller_code = {"order_id": order_id, "cancellation_reason_id": "002"}  # only the seller may use 002
    assert error_of(bap.send(seller, "cancel", seller_code, txn))["code"] == "30011"
    target = {"order": {"id": order_id}, "update_target": "order.quote"}
    assert error_of(bap.send(seller, "update", target, txn))["code"] == "30012"
    one = [{"id": "TEA", "quantity": {"selected": {"count": 1}}}]
    early_return = {"order": {"id": order_id, "items": one}, "update_target": "order.items"}
    assert error_of(bap.send(seller, "update", early_return, txn))["code"] == "50002"
    assert error_of(bap.send(seller, "support", {"support": {"ref_id": "nothing"}}, txn))["code"] == "50004"
    r = seller.admin("GET", f"/admin/orders/{order_id}")
    assert r.json()["state"] == "Created"  # none of the refusals changed the order
