"""The merchant admin API of a running seller node: auth, catalog CRUD, stock with reasons, order
actions with 409 naming the allowed moves, CSV export, retention report and OpenAPI."""

from __future__ import annotations

import csv
import io

import httpx

from tests.seller.node.harness import Bap, Proc, Seller, checkout, item_body

Net = tuple[Proc, Seller, Bap]


def test_every_admin_route_needs_the_token(net: Net) -> None:
    _, seller, _ = net
    spec = httpx.get(seller.url + "/openapi.json").json()
    routes = [
        (path, method) for path, ops in spec["paths"].items() for method in ops if path.startswith("/admin")
    ]
    assert len(routes) >= 14
    for path, method in routes:
        url = seller.url + path.replace("{item_id}", "FLASK").replace("{location_id}", "shop-main").replace(
            "{order_id}", "x"
        ).replace("{category_id}", "c").replace("{provider_id}", "p").replace("{return_id}", "r").replace(
            "{step}", "approve"
        ).replace("{location_id}", "l").replace("{action}", "accept")
        assert httpx.request(method, url).status_code == 401, (method, path)
        wrong = httpx.request(method, url, headers={"Authorization": "Bearer not-the-token-at-all"})
        assert wrong.status_code == 401, (method, path)
    assert seller.admin("GET", "/admin/catalog").status_code == 200
    assert seller.token not in seller.log.read_text()  # never logged


def test_openapi_lists_every_admin_route(net: Net) -> None:
    _, seller, _ = net
    spec = httpx.get(seller.url + "/openapi.json").json()
    paths = spec["paths"]
    for path, method in (
        ("/admin/catalog", "get"),
        ("/admin/items/{item_id}", "put"),
        ("/admin/items/{item_id}", "get"),
        ("/admin/items/{item_id}", "delete"),
        ("/admin/categories/{category_id}", "put"),
        ("/admin/providers/{provider_id}", "put"),
        ("/admin/locations/{location_id}", "put"),
        ("/admin/stock", "get"),
        ("/admin/stock/{item_id}/{location_id}", "post"),
        ("/admin/stock/{item_id}/ledger", "get"),
        ("/admin/orders", "get"),
        ("/admin/orders.csv", "get"),
        ("/admin/orders/{order_id}", "get"),
        ("/admin/orders/{order_id}/cancel", "post"),
        ("/admin/orders/{order_id}/refund", "post"),
        ("/admin/orders/{order_id}/{action}", "post"),
        ("/admin/retention", "get"),
    ):
        assert method in paths.get(path, {}), (path, method)
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_catalog_crud_and_stock_with_reasons(net: Net) -> None:
    _, seller, _ = net
    assert seller.admin("PUT", "/admin/categories/kitchen", json={"name": "Kitchen"}).status_code == 200
    body = item_body("Cast iron pan", 120_000, category_id="kitchen", options={"size": "26cm"})
    assert seller.admin("PUT", "/admin/items/PAN", json=body).status_code == 200
    got = seller.admin("GET", "/admin/items/PAN").json()
    assert (
        got["price"] == 120_000 and got["category_id"] == "kitchen" and got["options"] == [["size", "26cm"]]
    )
    bad = seller.admin("PUT", "/admin/items/PAN2", json={**body, "category_id": "nowhere"})
    assert bad.status_code == 404 and bad.json()["detail"]["code"] == "30005"
    assert seller.admin("PUT", "/admin/items/PAN3", json={**body, "price": -1}).status_code == 422
    r = seller.admin("POST", "/admin/stock/PAN/shop-main", json={"delta": 5, "reason": "received"})
    assert r.json()["on_hand"] == 5
    r = seller.admin("POST", "/admin/stock/PAN/shop-main", json={"delta": -2, "reason": "damaged in store"})
    assert r.json()["on_hand"] == 3
    neg = seller.admin("POST", "/admin/stock/PAN/shop-main", json={"delta": -9, "reason": "count"})
    assert neg.status_code == 409
    assert (
        seller.admin("POST", "/admin/stock/PAN/shop-main", json={"delta": 1}).status_code == 422
    )  # no reason
    ledger = seller.admin("GET", "/admin/stock/PAN/ledger").json()
    assert [(e["on_hand_delta"], e["reason"]) for e in ledger] == [(5, "received"), (-2, "damaged in store")]
    loc = {
        "provider_id": "shop",
        "street": "2 Lake Road",
        "city": "std:080",
        "area_code": "560002",
        "gps": "12.93,77.62",
        "radius_m": 5000,
    }
    assert seller.admin("PUT", "/admin/locations/annex", json=loc).status_code == 200
    assert seller.admin("PUT", "/admin/locations/bad", json={**loc, "gps": "north"}).status_code == 400
    assert seller.admin("PUT", "/admin/locations/x", json={**loc, "provider_id": "nobody"}).status_code == 404
    r = seller.admin("POST", "/admin/stock/PAN/annex", json={"delta": 4, "reason": "received"})
    assert r.status_code == 200 and r.json()["on_hand"] == 4
    assert (
        seller.admin(
            "PUT", "/admin/providers/outlet", json={"name": "Outlet", "delivery_charge": 0}
        ).status_code
        == 200
    )
    assert "outlet" in [p["id"] for p in seller.admin("GET", "/admin/catalog").json()["providers"]]
    assert seller.admin("DELETE", "/admin/items/PAN").status_code == 200
    assert "PAN" not in [i["id"] for i in seller.admin("GET", "/admin/catalog").json()["items"]]


def test_order_actions_409_csv_and_retention(net: Net) -> None:
    _, seller, bap = net
    txn, _, _, conf = checkout(bap, seller, "TEA", 2)
    order_id = conf["message"]["order"]["id"]
    r = seller.admin("POST", f"/admin/orders/{order_id}/ship")
    assert r.status_code == 409
    assert r.json()["detail"]["allowed"] == ["accept", "cancel"]
    assert seller.admin("POST", f"/admin/orders/{order_id}/fly").status_code == 404
    for action in ("accept", "pack"):
        assert seller.admin("POST", f"/admin/orders/{order_id}/{action}").status_code == 200
    r = seller.admin("POST", f"/admin/orders/{order_id}/refund", json={"amount": 1000, "reason": "late"})
    assert r.status_code == 200 and r.json()["refunded"] == 1000
    too_much = seller.admin("POST", f"/admin/orders/{order_id}/refund", json={"amount": 10**9, "reason": "x"})
    assert too_much.status_code == 409
    r = seller.admin("POST", f"/admin/orders/{order_id}/cancel", json={"code": "005", "reason": "rejected"})
    assert r.status_code == 200 and r.json()["state"] == "Cancelled"
    cb = bap.wait("on_cancel", transaction_id=txn)
    assert cb["message"]["order"]["status"] == "CANCELLED"
    again = seller.admin("POST", f"/admin/orders/{order_id}/accept")
    assert again.status_code == 409 and again.json()["detail"]["allowed"] == []
    assert seller.admin("GET", f"/admin/orders/{'0' * 8}").status_code == 404
    _, _, _, other = checkout(bap, seller, "FLASK", 1)
    rows = list(csv.DictReader(io.StringIO(seller.admin("GET", "/admin/orders.csv").text)))
    mine = {r["order_id"]: r for r in rows}
    assert mine[order_id]["state"] == "Cancelled" and mine[order_id]["items"] == "TEA:2"
    assert (
        mine[order_id]["refunded"] == mine[order_id]["paid"] == "44000"
        and mine[order_id]["buyer_id"] == "asha@example.org"
    )
    assert other["message"]["order"]["id"] in mine
    report = seller.admin("GET", "/admin/retention")  # every order is from today: too little history
    assert report.status_code == 422 and "holdout" in report.json()["detail"]
