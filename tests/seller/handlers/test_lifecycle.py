"""The whole order lifecycle against a real seller node process: select → init → confirm → status →
track → update → cancel / deliver → rating → support, with every callback signed, verified by the buyer
app's receiver and valid against the Beckn 1.1 JSON Schemas."""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from tests.protocol.test_schemas import schema_errors
from tests.seller.node.harness import BILLING, Bap, Proc, Seller, basket, checkout

Net = tuple[Proc, Seller, Bap]


def valid(body: dict[str, Any]) -> dict[str, Any]:
    action = body["context"]["action"]
    errors = schema_errors(action, body)
    assert not errors, (action, errors)
    return body


def order_of(cb: dict[str, Any]) -> dict[str, Any]:
    assert "error" not in cb, cb["error"]
    order: dict[str, Any] = cb["message"]["order"]
    return order


def tags(order: dict[str, Any]) -> dict[str, str]:
    group = next(t for t in order["tags"] if t["descriptor"]["code"] == "mercato.order")
    return {x["descriptor"]["code"]: x["value"] for x in group["list"]}


def test_select_init_confirm_status_track(net: Net) -> None:
    _, seller, bap = net
    txn, on_select, on_init, on_confirm = checkout(bap, seller, "FLASK", 2)
    for cb in (on_select, on_init, on_confirm):
        valid(cb)
        assert cb["context"]["bpp_id"] == seller.subscriber_id and cb["context"]["transaction_id"] == txn
    sel = order_of(on_select)
    assert sel["items"][0]["quantity"]["available"]["count"] == 10  # capped at the item's maximum
    # 2 × 500.00 + 18% tax; delivery 40.00 (free from 500.00 subtotal → free here)
    assert sel["quote"]["price"] == {"currency": "INR", "value": "1180.00"}
    end = sel["fulfillments"][0]["stops"][0]["time"]["range"]
    assert end["start"] < end["end"]  # a delivery window: time to ship + transit by area
    init = order_of(on_init)
    assert init["billing"]["email"] == BILLING["email"]
    assert init["payments"][0]["type"] == "ON-ORDER" and init["payments"][0]["collected_by"] == "BAP"
    order = order_of(on_confirm)
    assert order["status"] == "ACTIVE" and tags(order)["state"] == "Created"
    order_id = order["id"]
    status = valid(bap.send(seller, "status", {"order_id": order_id}, txn))
    assert order_of(status)["id"] == order_id
    track = valid(bap.send(seller, "track", {"order_id": order_id}, txn))
    assert track["message"]["tracking"]["status"] == "inactive"  # not shipped yet
    r = seller.admin("GET", f"/admin/orders/{order_id}")
    assert r.json()["state"] == "Created" and r.json()["lines"] == [
        {"item_id": "FLASK", "quantity": 2, "cancelled": 0}
    ]


def test_confirm_twice_makes_one_order_with_the_same_answer(net: Net) -> None:
    _, seller, bap = net
    txn, _, _, first = checkout(bap, seller, "TEA", 1)
    before = seller.admin("GET", "/admin/orders.csv").text.count(txn)
    again = valid(bap.send(seller, "confirm", basket("TEA", 1, billing=BILLING), txn))
    assert again["message"] == first["message"]
    assert again["context"]["message_id"] != first["context"]["message_id"]
    assert seller.admin("GET", "/admin/orders.csv").text.count(txn) == before == 1


def test_merchant_moves_send_on_status_and_buyer_rates_and_returns(net: Net) -> None:
    _, seller, bap = net
    txn, _, _, conf = checkout(bap, seller, "TEA", 3)
    order_id = order_of(conf)["id"]
    states = []
    for n, action in enumerate(("accept", "pack", "ship", "deliver")):
        r = seller.admin("POST", f"/admin/orders/{order_id}/{action}")
        assert r.status_code == 200, r.text
        cb = valid(bap.wait("on_status", transaction_id=txn, skip=n))
        states.append(tags(order_of(cb))["fulfillment_state"])
    assert states == ["Pending", "Packed", "Order-picked-up", "Order-delivered"]
    rating = [{"id": order_id, "rating_category": "Order", "value": "5"},
              {"id": "TEA", "rating_category": "Item", "value": "4"}]  # fmt: skip
    on_rating = valid(bap.send(seller, "rating", {"ratings": rating}, txn))
    assert "error" not in on_rating and on_rating["message"]["feedback_form"]["form"]["url"].startswith(
        "http"
    )
    ret = {"order": {"id": order_id, "items": [{"id": "TEA", "quantity": {"selected": {"count": 1}}}]},
           "update_target": "order.items"}  # fmt: skip
    on_update = valid(bap.send(seller, "update", ret, txn))
    assert order_of(on_update)["id"] == order_id
    returns = seller.admin("GET", f"/admin/orders/{order_id}/returns").json()
    assert [(r["item_id"], r["quantity"], r["state"]) for r in returns] == [("TEA", 1, "Requested")]
    assert (
        seller.admin("POST", f"/admin/returns/{returns[0]['id']}/refund").status_code == 409
    )  # not received
    for step in ("approve", "receive", "refund"):
        r = seller.admin("POST", f"/admin/returns/{returns[0]['id']}/{step}")
        assert r.status_code == 200, r.text
    assert r.json()["state"] == "Refunded" and r.json()["refund"] == 20_000 and r.json()["restocked"]
    valid(bap.wait("on_update", transaction_id=txn, skip=3))  # each step told the buyer app
    support = valid(bap.send(seller, "support", {"support": {"ref_id": order_id}}, txn))
    assert support["message"]["support"] == {"ref_id": order_id, "email": "help@example.org"}
    # a delivered order cannot be cancelled: 50001
    cancel = valid(bap.send(seller, "cancel", {"order_id": order_id, "cancellation_reason_id": "003"}, txn))
    assert cancel["error"]["code"] == "50001"


def test_buyer_cancel_and_update_before_shipping(net: Net) -> None:
    _, seller, bap = net
    txn, _, _, conf = checkout(bap, seller, "FLASK", 1, payment="ON-FULFILLMENT")
    order = order_of(conf)
    assert order["payments"][0] == {"type": "ON-FULFILLMENT", "status": "NOT-PAID", "collected_by": "BPP",
                                    "params": {"amount": "590.00", "currency": "INR"}}  # fmt: skip
    new_stop = {
        "type": "end",
        "location": {"gps": "12.98,77.61", "area_code": "560002"},
        "contact": {"phone": "9000000001"},
    }
    upd = {
        "order": {"id": order["id"], "fulfillments": [{"stops": [new_stop]}]},
        "update_target": "order.fulfillments",
    }
    on_update = valid(bap.send(seller, "update", upd, txn))
    assert order_of(on_update)["fulfillments"][0]["stops"][0]["contact"] == {"phone": "9000000001"}
    stock_before = {(s["item_id"], s["location_id"]): s for s in seller.admin("GET", "/admin/stock").json()}
    on_cancel = valid(
        bap.send(seller, "cancel", {"order_id": order["id"], "cancellation_reason_id": "003"}, txn)
    )
    assert order_of(on_cancel)["status"] == "CANCELLED"
    after = {(s["item_id"], s["location_id"]): s for s in seller.admin("GET", "/admin/stock").json()}
    assert after[("FLASK", "shop-main")]["reserved"] == stock_before[("FLASK", "shop-main")]["reserved"] - 1


def test_search_filters_pages_and_incremental(net: Net) -> None:
    _, seller, bap = net

    def search(intent: dict[str, Any]) -> list[str]:
        cb = valid(bap.send(seller, "search", {"intent": intent}, str(uuid.uuid4())))
        assert "error" not in cb
        return [i["id"] for p in cb["message"]["catalog"]["providers"] for i in p["items"]]

    assert search({"descriptor": {"name": "flask"}}) == ["FLASK"]
    assert search({"item": {"id": "TEA"}}) == ["TEA"]
    assert search({"item": {"price": {"minimum_value": "150", "maximum_value": "600"}}}) == ["FLASK", "TEA"]
    assert search({"provider": {"id": "nobody"}}) == []
    assert search({"fulfillment": {"stops": [{"location": {"city": {"code": "std:011"}}}]}}) == []
    page = {
        "descriptor": {"code": "pagination"},
        "list": [
            {"descriptor": {"code": "page"}, "value": "2"},
            {"descriptor": {"code": "page_size"}, "value": "2"},
        ],
    }
    assert search({"tags": [page]}) == ["RARE", "TEA"]
    inc = {
        "descriptor": {"code": "catalog_inc"},
        "list": [{"descriptor": {"code": "start_time"}, "value": "2999-01-01T00:00:00Z"}],
    }
    assert search({"tags": [inc]}) == []
    inc["list"][0]["value"] = "2000-01-01T00:00:00Z"
    assert search({"tags": [inc]}) == ["FINAL", "FLASK", "RARE", "TEA"]


def test_racing_duplicate_confirms_make_one_order(net: Net) -> None:
    _, seller, bap = net
    txn = str(uuid.uuid4())
    bap.send(seller, "select", basket("TEA", 2), txn)
    bap.send(seller, "init", basket("TEA", 2, billing=BILLING), txn)
    ids = []
    for _ in range(3):  # sent back to back, answered concurrently by the node's worker threads
        ctx = bap.context("confirm", seller, txn)
        r = bap.post(seller, "confirm", {"context": ctx, "message": basket("TEA", 2, billing=BILLING)})
        assert r.status_code == 200
        ids.append(ctx["message_id"])
    answers = [valid(bap.wait("on_confirm", mid)) for mid in ids]
    assert (
        len({orjson.dumps(a["message"], option=orjson.OPT_SORT_KEYS) for a in answers}) == 1
        and "error" not in answers[0]
    )
    assert seller.admin("GET", "/admin/orders.csv").text.count(txn) == 1
