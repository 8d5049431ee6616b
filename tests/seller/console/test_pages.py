"""Console pages over HTTP: dashboard figures, the orders board and its moves (each one queued as a
signed callback to the buyer app, as the admin API does), cancel and refund, catalog and stock
editing, catalog import with its errors, customers and retention. Bad forms answer 4xx with the
error next to the field and change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from mercato.seller.console import data
from mercato.seller.store import catalog, orders, stock
from mercato.transport.outbox import outbox_table

from .conftest import Shop, make_shop, seed_history

FIXTURES = Path(__file__).resolve().parents[1] / "importers" / "data"


def callbacks(shop: Shop, action: str) -> list[dict[str, object]]:
    with shop.node.store.engine.connect() as c:
        rows = c.execute(select(outbox_table.c.body).where(outbox_table.c.action == action)).all()
    return [orjson.loads(r[0]) for r in rows]


def fulfillment_state(body: dict[str, object]) -> str:
    order = body["message"]["order"]  # type: ignore[index]
    return next(
        x["value"] for t in order["tags"] for x in t["list"] if x["descriptor"]["code"] == "fulfillment_state"
    )


def act(shop: Shop, oid: str, action: str, token: str, **extra: str) -> object:
    return shop.client.post(
        f"/console/orders/{oid}/act",
        data={"action": action, "csrf_token": token, **extra},
        follow_redirects=False,
    )


def run_journey(shop: Shop) -> None:
    oid = shop.order("KETTLE", 2)
    shop.login()
    board = shop.client.get("/console/orders").text
    assert f'data-order="{oid}"' in board and "2 × Brass kettle" in board
    page = shop.client.get(f"/console/orders/{oid}").text
    assert 'data-action="accept"' in page and 'data-action="deliver"' not in page
    token = shop.csrf(f"/console/orders/{oid}")
    expected = ["Pending", "Packed", "Order-picked-up", "Order-delivered"]
    for n, action in enumerate(("accept", "pack", "ship", "deliver")):
        r = act(shop, oid, action, token)
        assert r.status_code == 303 and r.headers["location"] == f"/console/orders/{oid}"  # type: ignore[attr-defined]
        sent = callbacks(shop, "on_status")
        assert [fulfillment_state(b) for b in sent] == expected[: n + 1]
    order = orders.get(shop.node.store, oid)
    assert (order.state.value, order.fulfillment_state.value) == ("Completed", "Order-delivered")
    assert data.column_of(order.state.value, order.fulfillment_state.value) == "delivered"
    lv = stock.levels(shop.node.store, ["KETTLE"])[("KETTLE", "shop-main")]
    assert (lv.on_hand, lv.reserved) == (18, 0)
    assert "Nothing more to do" in shop.client.get(f"/console/orders/{oid}").text


def test_merchant_moves_an_order_and_the_buyer_app_is_told(shop: Shop) -> None:
    run_journey(shop)


@pytest.mark.postgres
def test_merchant_journey_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    shop = make_shop(tmp_path, pg_url)
    try:
        run_journey(shop)
    finally:
        shop.client.close()
        shop.node.store.engine.dispose()


def test_the_board_version_changes_with_orders(shop: Shop) -> None:
    shop.login()
    page = shop.client.get("/console/orders").text
    v0 = shop.client.get("/console/orders/version.json").json()["version"]
    assert f'data-version="{v0}"' in page and 'id="board-changed"' in page
    oid = shop.order()
    v1 = shop.client.get("/console/orders/version.json").json()["version"]
    assert v1 != v0
    act(shop, oid, "accept", shop.csrf("/console/orders"))
    assert shop.client.get("/console/orders/version.json").json()["version"] not in (v0, v1)
    shop.client.cookies.clear()
    assert shop.client.get("/console/orders/version.json", follow_redirects=False).status_code == 303


def test_the_board_offers_the_next_move_and_comes_back(shop: Shop) -> None:
    oid = shop.order()
    shop.login()
    board = shop.client.get("/console/orders").text
    assert 'name="back" value="board"' in board and 'data-action="accept"' in board
    r = act(shop, oid, "accept", shop.csrf("/console/orders"), back="board")
    assert r.status_code == 303 and r.headers["location"] == "/console/orders"  # type: ignore[attr-defined]
    assert 'data-action="pack"' in shop.client.get("/console/orders").text
    assert [fulfillment_state(b) for b in callbacks(shop, "on_status")] == ["Pending"]


def test_actions_follow_the_transition_table() -> None:
    from mercato.seller.domain import Action, FulfillmentType
    from mercato.seller.domain.orders import TRANSITIONS, allowed_actions

    buttons = {name: a for name, _, a in data.BUTTONS}
    for status in TRANSITIONS:
        for ftype in FulfillmentType:
            got = [
                buttons[name] for name, _ in data.actions_for(status[0].value, status[1].value, ftype.value)
            ]
            assert got == [a for a in buttons.values() if a in allowed_actions(status, ftype)]
            assert set(allowed_actions(status, ftype)) - set(got) <= {
                Action.CANCEL
            }  # cancel has its own form
    assert [n for n, _ in data.actions_for("Created", "Pending", "Delivery")] == ["accept"]
    assert data.actions_for("Completed", "Order-delivered", "Delivery") == []
    assert data.actions_for("Nonsense", "Pending", "Delivery") == []


def test_moves_the_order_does_not_allow_change_nothing(shop: Shop) -> None:
    oid = shop.order()
    shop.login()
    token = shop.csrf()
    r = act(shop, oid, "deliver", token)
    assert r.status_code == 409 and "Cannot deliver now" in r.text  # type: ignore[attr-defined]
    r = act(shop, oid, "explode", token)
    assert r.status_code == 400 and "Unknown action" in r.text  # type: ignore[attr-defined]
    r = act(shop, oid, "accept", "not-the-token")
    assert r.status_code == 403  # type: ignore[attr-defined]
    r = act(shop, "no-such-order", "accept", token)
    assert r.status_code == 404  # type: ignore[attr-defined]
    assert orders.get(shop.node.store, oid).state.value == "Created"
    assert callbacks(shop, "on_status") == []
    assert shop.client.get("/console/orders/no-such-order").status_code == 404


def test_cancel_with_a_reason_and_refund(shop: Shop) -> None:
    oid = shop.order("KETTLE", 1)
    shop.login()
    token = shop.csrf()
    url = f"/console/orders/{oid}"
    page = shop.client.get(url).text
    assert "005 · Merchant rejected the order" in page and "009" not in page  # only the seller's codes
    r = shop.client.post(url + "/cancel", data={"csrf_token": token, "code": ""})
    assert r.status_code == 400 and 'id="e-code"' in r.text
    r = shop.client.post(url + "/cancel", data={"csrf_token": token, "code": "999"})
    assert r.status_code == 409 and 'id="e-code"' in r.text
    for bad, why in (("", "required"), ("abc", "not an amount"), ("0", "more than zero"), ("99999", "")):
        r = shop.client.post(url + "/refund", data={"csrf_token": token, "amount": bad, "reason": "dent"})
        assert r.status_code in (400, 409) and 'id="e-amount"' in r.text and why in r.text
    assert orders.get(shop.node.store, oid).refunded.amount == 0
    r = shop.client.post(url + "/refund", data={"csrf_token": token, "amount": "100.50", "reason": "dent"})
    assert r.status_code == 200 and "Refund recorded" in r.text
    assert orders.get(shop.node.store, oid).refunded.amount == 10_050
    assert len(callbacks(shop, "on_update")) == 1
    r = shop.client.post(url + "/cancel", data={"csrf_token": token, "code": "005"})
    assert r.status_code == 200 and "Order cancelled" in r.text
    assert orders.get(shop.node.store, oid).state.value == "Cancelled"
    assert len(callbacks(shop, "on_cancel")) == 1
    assert stock.levels(shop.node.store, ["KETTLE"])[("KETTLE", "shop-main")].reserved == 0


def test_dashboard_figures(shop: Shop) -> None:
    now = datetime.now(UTC)
    shop.order("KETTLE", 2)
    shop.order("CUP", 1)
    old = shop.order("KETTLE", 1, when=now - timedelta(days=3))  # 24 h to ship: late
    d = data.dashboard(shop.node.store, now)
    assert d.orders_today == 2 and d.revenue_today["INR"] > 2 * 250_000
    assert [r.order_id for r in d.late_risk] == [old] and d.late_risk[0].late
    assert [s["item_id"] for s in d.low_stock] == ["CUP"] and d.low_stock[0]["available"] == 2
    assert d.open_by_state == {"Created": 3}
    shop.login()
    page = shop.client.get("/console/").text
    assert 'data-kpi="orders-today">2<' in page and "late" in page and "Clay cup" in page


def test_board_columns_follow_the_status() -> None:
    assert data.column_of("Created", "Pending") == "new"
    assert data.column_of("Accepted", "Pending") == "accepted"
    assert data.column_of("In-progress", "Packed") == "packed"
    assert data.column_of("In-progress", "Order-picked-up") == "shipping"
    assert data.column_of("Completed", "Order-delivered") == "delivered"
    assert data.column_of("Cancelled", "Cancelled") == "cancelled"
    assert data.column_of("Cancelled", "RTO-Initiated") == "cancelled"


def test_edit_an_item_and_its_stock(shop: Shop) -> None:
    shop.login()
    token = shop.csrf("/console/catalog/KETTLE")
    url = "/console/catalog/KETTLE"
    form = {
        "csrf_token": token,
        "name": "Brass kettle 2L",
        "price": "2,750.5",
        "max_quantity": "4",
        "active": "on",
    }
    for field, bad in (("name", ""), ("price", "12.345"), ("price", "-1"), ("max_quantity", "0")):
        r = shop.client.post(url, data={**form, field: bad})
        assert r.status_code == 400 and f'id="e-{field}"' in r.text
    assert catalog.load_all(shop.node.store).items["KETTLE"].price.amount == 250_000
    r = shop.client.post(url, data=form)
    assert r.status_code == 200 and "Saved Brass kettle 2L" in r.text
    item = catalog.load_all(shop.node.store).items["KETTLE"]
    assert (item.descriptor.name, item.price.amount, item.max_quantity) == ("Brass kettle 2L", 275_050, 4)
    r = shop.client.post(url, data={**form, "active": ""})
    assert "KETTLE" not in catalog.load_all(shop.node.store).items  # taken off sale
    stock_form = {
        "csrf_token": token,
        "location_id": "shop-main",
        "delta": "5",
        "reason": "received",
        "note": "",
    }
    for field, bad in (("delta", "0"), ("delta", "x"), ("reason", "theft?"), ("location_id", "nowhere")):
        r = shop.client.post(url + "/stock", data={**stock_form, field: bad})
        assert r.status_code == 400, (field, bad)
    r = shop.client.post(url + "/stock", data={**stock_form, "delta": "-100", "reason": "damage"})
    assert r.status_code == 400 and 'id="e-delta"' in r.text  # more than on hand
    assert stock.levels(shop.node.store, ["KETTLE"])[("KETTLE", "shop-main")].on_hand == 20
    r = shop.client.post(url + "/stock", data={**stock_form, "note": "PO 17"})
    assert r.status_code == 200 and "+5" in r.text
    r = shop.client.post(url + "/stock", data={**stock_form, "delta": "-2", "reason": "damage"})
    assert stock.levels(shop.node.store, ["KETTLE"])[("KETTLE", "shop-main")].on_hand == 23
    reasons = [e.reason for e in stock.ledger(shop.node.store, "KETTLE")]
    assert reasons[-2:] == ["received: PO 17", "damage"]
    assert shop.client.get("/console/catalog/NOPE").status_code == 404
    assert "Brass kettle 2L" in shop.client.get("/console/catalog").text


def upload(shop: Shop, name: str, content: bytes, fmt: str = "auto", token: str | None = None) -> object:
    return shop.client.post(
        "/console/import",
        data={"csrf_token": token or shop.csrf("/console/import"), "format": fmt},
        files={"file": (name, content, "text/csv")},
    )


def test_import_shows_file_line_and_column_and_stores_nothing(shop: Shop) -> None:
    shop.login()
    bad = b"id,name,price,stock\nTEA,Assam tea,120.00,10\nJAM,Mango jam,twelve,5\n"
    r = upload(shop, "products.csv", bad)
    assert r.status_code == 422  # type: ignore[attr-defined]
    text = r.text  # type: ignore[attr-defined]
    assert 'data-problem="file">products.csv<' in text and 'data-problem="line">3<' in text
    assert 'data-problem="column">price<' in text and 'id="e-file"' in text
    assert "TEA" not in catalog.load_all(shop.node.store).items
    for name, content, why in (
        ("", b"x", "choose a file"),
        ("products.xlsx", b"x", "use a .csv or .json"),
        ("empty.csv", b"", "empty"),
    ):
        r = upload(shop, name, content)
        assert r.status_code == 400 and why in r.text  # type: ignore[attr-defined]
    r = upload(shop, "p.csv", bad, fmt="excel")
    assert r.status_code == 400 and 'id="e-format"' in r.text  # type: ignore[attr-defined]
    r = upload(shop, "p.csv", bad, token="forged")
    assert r.status_code == 403  # type: ignore[attr-defined]


def test_import_native_and_shopify_files(shop: Shop) -> None:
    shop.login()
    good = b"id,name,price,stock\nTEA,Assam tea,120.00,10\nJAM,Mango jam,85.50,5\n"
    r = upload(shop, "products.csv", good)
    assert r.status_code == 200 and "Imported products.csv: 2 items" in r.text  # type: ignore[attr-defined]
    items = catalog.load_all(shop.node.store).items
    assert items["JAM"].price.amount == 8_550
    assert stock.levels(shop.node.store, ["TEA"])[("TEA", "shop-main")].on_hand == 10
    long_name = "../" + "ü" * 300 + " list.csv"  # any name the browser sends: stored under a safe one
    r = upload(shop, long_name, b"id,name,price\nJAM,Mango jam,90\n")
    assert r.status_code == 200 and "Imported " + "ü" * 60 + "…" + "ü" * 31 + " list.csv:" in r.text  # type: ignore[attr-defined]
    r = upload(shop, "shopify_products.csv", (FIXTURES / "shopify_products.csv").read_bytes())
    assert r.status_code == 200 and "Imported shopify_products.csv" in r.text  # type: ignore[attr-defined]
    assert len(catalog.load_all(shop.node.store).items) > 4


def test_customers_without_orders_and_with_a_history(tmp_path: Path) -> None:
    shop = make_shop(tmp_path)
    shop.login()
    page = shop.client.get("/console/customers")
    assert page.status_code == 200 and "No orders yet" in page.text
    assert shop.client.get("/console/customers/churn.csv").status_code == 404
    assert shop.client.get("/console/customers/charts/p_alive.png").status_code == 404
    seed_history(shop)
    page = shop.client.get("/console/customers")
    assert page.status_code == 200 and "Churn-risk list" in page.text
    assert "/console/customers/charts/retention_curves.png" in page.text
    png = shop.client.get("/console/customers/charts/retention_curves.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert shop.client.get("/console/customers/charts/../../etc/passwd").status_code == 404
    assert shop.client.get("/console/customers/charts/nope.png").status_code == 404
    csv = shop.client.get("/console/customers/churn.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("customer_id,") and len(lines) == 61
    assert {ln.split(",")[0] for ln in lines[1:]} == {f"cust-{c}" for c in range(60)}
    shop.client.close()


def test_model_figures_that_are_not_numbers_show_as_a_dash() -> None:
    from mercato.seller.console.customers import finite

    assert finite(float("nan")) is None and finite(float("inf")) is None and finite(None) is None
    assert finite(0.25) == 0.25 and finite(3) == 3.0


def test_add_an_item(shop: Shop) -> None:
    shop.login()
    token = shop.csrf("/console/catalog")
    form = {"csrf_token": token, "item_id": "LAMP", "name": "Brass lamp", "price": "1,499.00", "stock": "7"}
    for field, bad in (("item_id", ""), ("item_id", "no spaces"), ("name", ""), ("price", "cheap"),
                       ("stock", "-1"), ("item_id", "KETTLE")):  # fmt: skip
        r = shop.client.post("/console/catalog/new", data={**form, field: bad})
        assert r.status_code == 400 and f'id="e-{field}"' in r.text, (field, bad)
    assert "LAMP" not in catalog.load_all(shop.node.store, active_only=False).items
    r = shop.client.post("/console/catalog/new", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/catalog/LAMP"
    item = catalog.load_all(shop.node.store).items["LAMP"]
    assert (item.descriptor.name, item.price.amount, item.provider_id) == ("Brass lamp", 149_900, "shop")
    assert stock.levels(shop.node.store, ["LAMP"])[("LAMP", "shop-main")].on_hand == 7
    r = shop.client.post("/console/catalog/new", data={**form, "item_id": "LAMP2", "stock": ""})
    assert r.status_code == 200 and stock.levels(shop.node.store, ["LAMP2"]) == {}


def test_returns_approve_receive_and_refund(shop: Shop) -> None:
    from datetime import timedelta as td

    from mercato.seller.domain import Descriptor, Item, Money
    from mercato.seller.store import aftersales

    now = datetime.now(UTC)
    catalog.put_item(shop.node.store, Item("MUG", "shop", Descriptor("Clay mug"), Money(30_000, "INR"),
                                           returnable=True, return_window=td(days=7)), now)  # fmt: skip
    stock.receive(shop.node.store, "MUG", "shop-main", 5, now, "received")
    oid = shop.order("MUG", 2)
    shop.login()
    token = shop.csrf()
    for action in ("accept", "pack", "ship", "deliver"):
        assert act(shop, oid, action, token).status_code == 303  # type: ignore[attr-defined]
    aftersales.request_return(shop.node.store, oid, "ret-1", "MUG", 1, "chipped", datetime.now(UTC))
    page = shop.client.get(f"/console/orders/{oid}").text
    assert 'data-return="ret-1"' in page and 'data-return-step="approve"' in page and "chipped" in page
    url = "/console/returns/ret-1/"
    r = shop.client.post(url + "refund", data={"csrf_token": token, "order_id": oid})
    assert r.status_code == 409 and "ret-1" in r.text  # not received yet: refused, shown on the order
    assert shop.client.post(url + "explode", data={"csrf_token": token, "order_id": oid}).status_code == 404
    assert shop.client.post(url + "approve", data={"csrf_token": "x", "order_id": oid}).status_code == 403
    before = len(callbacks(shop, "on_update"))
    for step in ("approve", "receive", "refund"):
        r = shop.client.post(url + step, data={"csrf_token": token, "order_id": oid, "restock": "on"})
        assert r.status_code == 200 and "the buyer app is told" in r.text, step
    assert len(callbacks(shop, "on_update")) == before + 3
    assert aftersales.get_return(shop.node.store, "ret-1").state.value == "Refunded"
    assert orders.get(shop.node.store, oid).refunded.amount > 0
    assert stock.levels(shop.node.store, ["MUG"])[("MUG", "shop-main")].on_hand == 4  # 2 shipped, 1 back
