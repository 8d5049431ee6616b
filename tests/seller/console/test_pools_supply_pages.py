"""Console pages for demand pools (progress, clear now, result) and supply (production orders start
and complete, schedule, downtime that flags late work), through the same functions as the admin API."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from mercato.seller.store import stock, supply_late
from mercato.seller.store import supply as store_supply
from mercato.transport.lookup import StaticKeySource, SubscriberKey
from tests.pools.test_seller_pools import BUYER, commitment, send, setup_pool

from .conftest import Shop


def test_pools_page_progress_clear_and_result(shop: Shop) -> None:
    n = shop.node
    n.lookup.source = StaticKeySource(
        [SubscriberKey("buyer.test", "k1", BUYER.signing_public_key, type="BAP")]
    )
    admin = {"Authorization": f"Bearer {n.config.admin_token}"}
    shop.login()
    assert "No demand pools on this node yet" in shop.client.get("/console/pools").text
    setup_pool(shop.client, admin)
    for qty, price, items in (
        (12, 95_000, ["bottle"]),
        (10, 85_000, ["bottle", "flask"]),
        (4, 70_000, ["bottle"]),
    ):
        assert send(shop.client, "/pool/commitments", commitment(n, qty, price, items)).status_code == 200
    page = shop.client.get("/console/pools").text
    assert 'data-pool="p1"' in page and "Insulated bottle 1 L" in page and "3 live commitments" in page
    assert "Clear now" in page and "₹800.00" in page  # 26 units committed reach the 20-unit tier
    assert page.count('data-commitment-state="open"') == 3 and "bottle › flask" in page
    token = shop.csrf("/console/pools")
    assert shop.client.post("/console/pools/p1/clear", data={"csrf_token": "x"}).status_code == 403
    assert shop.client.post("/console/pools/p1/explode", data={"csrf_token": token}).status_code == 404
    r = shop.client.post("/console/pools/nope/clear", data={"csrf_token": token})
    assert r.status_code == 404 and "nope" in r.text
    r = shop.client.post("/console/pools/p1/settle", data={"csrf_token": token})
    assert r.status_code == 409 and "clear it instead" in r.text
    r = shop.client.post("/console/pools/p1/clear", data={"csrf_token": token})
    assert r.status_code == 200 and "Pool p1 cleared: 2 commitments accepted" in r.text
    assert "2 commitments accepted, 1 rejected" in r.text and "Clear now" not in r.text
    assert r.text.count('data-commitment-state="accepted"') == 2 and "₹800.00 a unit" in r.text
    assert r.text.count('data-commitment-state="rejected"') == 1 and "price not reached" in r.text
    r = shop.client.post("/console/pools/p1/clear", data={"csrf_token": token})
    assert r.status_code == 409 and "already" in r.text


def twin_doc() -> dict[str, Any]:
    return {
        "calendars": [{"id": "default", "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}],
        "locations": [{"id": "shop-main", "kind": "factory", "city": "std:080"}],
        "lanes": [{"from": "shop-main", "city": "std:080", "days": 1}],
        "items": [{"id": "KETTLE"}, {"id": "CUP"}],
        "lines": [{"id": "M1", "location": "shop-main", "capacity_per_day": 100,
                   "rates": [{"item": "KETTLE", "per_unit": 10, "setup": 0}]}],
    }  # fmt: skip


def test_supply_page_production_orders_and_downtime(shop: Shop) -> None:
    shop.login()
    assert "no supply twin yet" in shop.client.get("/console/supply").text
    now = datetime.now(UTC)
    store_supply.put_twin(shop.node.store, twin_doc(), now)
    today = now.date()
    store_supply.create_production_order(
        shop.node.store, "PO-1", "KETTLE", 10, today + timedelta(days=3), now
    )
    page = shop.client.get("/console/supply").text
    assert "PO-1" in page and "Start" in page and "Every promise still holds" in page
    assert "Schedule" in page and "M1" in page
    token = shop.csrf("/console/supply")
    url = "/console/supply/production-orders/PO-1"
    assert shop.client.post(url + "/explode", data={"csrf_token": token}).status_code == 404
    r = shop.client.post("/console/supply/production-orders/NOPE/start", data={"csrf_token": token})
    assert r.status_code >= 400
    r = shop.client.post(url + "/start", data={"csrf_token": token})
    assert r.status_code == 200 and "PO-1 started" in r.text and "Complete" in r.text
    before = stock.levels(shop.node.store, ["KETTLE"])[("KETTLE", "shop-main")].on_hand
    r = shop.client.post(url + "/complete", data={"csrf_token": token})
    assert r.status_code == 200 and "completed" in r.text
    assert stock.levels(shop.node.store, ["KETTLE"])[("KETTLE", "shop-main")].on_hand == before + 10

    store_supply.create_production_order(
        shop.node.store, "PO-2", "KETTLE", 30, today + timedelta(days=1), now
    )
    form = {
        "csrf_token": token,
        "line": "M1",
        "start": today.isoformat(),
        "end": (today + timedelta(days=4)).isoformat(),
    }
    for field, bad, why in (
        ("line", "", "required"),
        ("start", "tomorrow", "a date like"),
        ("end", (today - timedelta(days=1)).isoformat(), "before the start"),
        ("line", "NOPE", "NOPE"),
    ):
        r = shop.client.post("/console/supply/downtime", data={**form, field: bad})
        assert r.status_code in (400, 422) and f'id="e-{field}"' in r.text and why in r.text, (field, bad)
    assert not any(p.late for p in store_supply.production_orders(shop.node.store))
    r = shop.client.post("/console/supply/downtime", data=form)
    assert r.status_code == 200 and "1 production orders late" in r.text
    late = [p for p in store_supply.production_orders(shop.node.store) if p.late]
    assert [p.id for p in late] == ["PO-2"] and late[0].expected_on and late[0].expected_on > date.today()


def simulate_post(shop: Shop, name: str, content: bytes, days: str = "", token: str | None = None) -> Any:
    return shop.client.post(
        "/console/supply/simulate",
        data={"csrf_token": token or shop.csrf("/console/supply/simulate"), "days": days},
        files={"scenario": (name, content, "application/json")},
    )


def test_whatif_simulation_as_planned_and_with_events(shop: Shop) -> None:
    from tests.supply.test_scenario import base

    shop.login()
    page = shop.client.get("/console/supply/simulate")
    assert page.status_code == 200 and 'id="f-scenario"' in page.text
    r = simulate_post(shop, "plan.json", json.dumps(base()).encode(), days="40")
    assert r.status_code == 200 and "Results for plan.json" in r.text
    assert "As planned" in r.text and "With line down" in r.text
    assert r.text.count("data:image/png;base64,") == 4 and r.text.count('data-figure="fill_rate"') == 2
    calm = base()
    del calm["event"]
    r = simulate_post(shop, "calm.json", json.dumps(calm).encode())
    assert r.status_code == 200 and "With " not in r.text and r.text.count("data:image/png;base64,") == 2


def test_whatif_bad_input_is_named_next_to_the_field(shop: Shop) -> None:
    from tests.supply.test_scenario import base

    shop.login()
    broken = base()
    broken["twin"]["lines"][0]["capacity_per_day"] = 0
    r = simulate_post(shop, "broken.json", json.dumps(broken).encode())
    assert r.status_code == 422 and 'id="e-scenario"' in r.text and "broken.json" in r.text
    assert "capacity" in r.text
    broken = base()
    broken["demand"][0]["item"] = "ghost"
    broken["policy"][0]["location"] = "nowhere"
    r = simulate_post(shop, "broken.json", json.dumps(broken).encode())
    assert r.status_code == 422 and "ghost" in r.text and "nowhere" in r.text
    for name, content, days, field, why in (
        ("plan.csv", b"{}", "", "scenario", "use a .toml or .json"),
        ("plan.json", b"", "", "scenario", "empty"),
        ("plan.json", b"{}", "0", "days", "at least 1"),
        ("plan.json", b"{}", "9999", "days", "at most"),
        ("plan.toml", b"not = [toml", "", "scenario", "not valid TOML"),
        ("plan.json", b"{nope", "", "scenario", "not valid JSON"),
    ):
        r = simulate_post(shop, name, content, days)
        assert r.status_code in (400, 422) and f'id="e-{field}"' in r.text and why in r.text, (name, days)
    assert simulate_post(shop, "plan.json", b"{}", token="forged").status_code == 403


def test_replenishment_suggestions_from_recent_sales(shop: Shop) -> None:
    from mercato.seller.console import replenishment

    now = datetime.now(UTC)
    assert replenishment.suggestions(shop.node.store, now) == []
    stock.receive(shop.node.store, "CUP", "shop-main", 40, now, "received")  # 43 on hand
    for day in range(1, 15):  # 3 cups a day for two weeks: about 1.5 a day over four weeks
        shop.order("CUP", 3, when=now - timedelta(days=day, hours=1))
    got = replenishment.suggestions(shop.node.store, now)
    assert [(s["item_id"], s["location_id"]) for s in got] == [("CUP", "shop-main")]
    s = got[0]
    assert s["available"] == 43 - 42 and s["lead_time_days"] == replenishment.DEFAULT_LEAD_DAYS
    assert abs(s["daily_mean"] - 1.5) < 1e-9
    assert s["order_quantity"] == int(-(-(s["order_up_to"] - s["available"]) // 1))  # up to the target
    assert s["order_quantity"] > 1.5 * 8  # at least the mean demand over lead time + review
    shop.login()
    page = shop.client.get("/console/supply").text
    assert f'data-suggest="CUP"><strong>{s["order_quantity"]}<' in page
    # with a twin, its lead time counts; open production counts as on order
    store_supply.put_twin(
        shop.node.store, {**twin_doc(), "items": [{"id": "KETTLE"}, {"id": "CUP", "lead_time_days": 2}]}, now
    )
    shorter = replenishment.suggestions(shop.node.store, now)[0]
    assert shorter["lead_time_days"] == 2 and shorter["order_quantity"] < s["order_quantity"]


def test_an_order_page_shows_its_supply_promise(shop: Shop) -> None:
    import uuid

    from mercato.seller.domain import LineRequest
    from mercato.seller.handlers.supply import ConfirmHold
    from mercato.seller.store.checkout import Basket, ConfirmRequest, confirm
    from tests.seller.store.helpers import on_confirm

    now = datetime.now(UTC)
    store_supply.put_twin(shop.node.store, twin_doc(), now)
    basket = Basket("shop", [LineRequest("KETTLE", 2)], city="std:080")
    oid = str(uuid.uuid4())
    hold = ConfirmHold(shop.node.env, basket, oid, now)
    req = ConfirmRequest("bap.example", "txn-" + oid, basket, bap_uri="http://127.0.0.1:9")
    confirm(shop.node.store, req, order_id=oid, now=now, respond=on_confirm, hold=hold)
    promise = supply_late.promise_of(shop.node.store, oid)
    assert promise is not None
    shop.login()
    page = shop.client.get(f"/console/orders/{oid}").text
    assert 'id="order-promise"' in page and "Promised: ship by" in page
    assert date.fromisoformat(promise["deliver_on"]).strftime("%d %b %Y") in page
    plain = shop.order()  # confirmed without a supply promise: no promise line
    store_supply.clear_twin(shop.node.store)
    assert 'id="order-promise"' not in shop.client.get(f"/console/orders/{plain}").text


def test_make_a_pool_and_an_offer_from_the_console(shop: Shop) -> None:
    from mercato.seller.store import catalog
    from tests.pools.test_seller_pools import DEADLINE

    shop.login()
    token = shop.csrf("/console/pools")
    deadline = DEADLINE.strftime("%Y-%m-%dT%H:%M")
    pool = {
        "csrf_token": token,
        "pool_id": "jars",
        "deadline": deadline,
        "capacity": "500",
        "coordinator": "",
    }
    for field, bad, status in (
        ("pool_id", "", 400),
        ("pool_id", "no spaces please", 400),
        ("deadline", "soon", 400),
        ("capacity", "0", 400),
        ("deadline", "2020-01-01T10:00", 422),  # passed
        ("coordinator", "ftp://x", 422),
    ):
        r = shop.client.post("/console/pools/new", data={**pool, field: bad})
        assert r.status_code == status, (field, bad, r.status_code)
        assert (f'id="e-{field}"' in r.text) if status == 400 else ('role="alert"' in r.text)
    assert "New offer in a pool" not in shop.client.get("/console/pools").text  # no pool yet
    r = shop.client.post("/console/pools/new", data=pool)
    assert r.status_code == 200 and "Pool jars created" in r.text and 'data-pool="jars"' in r.text
    day = DEADLINE.date()
    offer = {
        "csrf_token": token, "offer_pool": "jars", "item_id": "JAR-1L", "name": "Glass jar 1 L",
        "tiers": "1: 250\n100: 199.50", "moq": "50", "offer_capacity": "400",
        "production_start": (day + timedelta(days=1)).isoformat(),
        "delivery_start": (day + timedelta(days=5)).isoformat(),
        "delivery_end": (day + timedelta(days=9)).isoformat(),
    }  # fmt: skip
    for field, bad in (("tiers", ""), ("tiers", "100 for 199"), ("tiers", "1: -5"), ("moq", "x"),
                       ("delivery_end", "next week"), ("item_id", "bad id!")):  # fmt: skip
        r = shop.client.post("/console/pools/offers/new", data={**offer, field: bad})
        assert r.status_code == 400 and f'id="e-{field}"' in r.text, (field, bad)
    r = shop.client.post(
        "/console/pools/offers/new", data={**offer, "delivery_end": offer["production_start"]}
    )
    assert r.status_code == 422 and 'role="alert"' in r.text  # the pool's own rules: dates out of order
    r = shop.client.post("/console/pools/offers/new", data=offer)
    assert r.status_code == 200 and "Offer JAR-1L is in pool jars" in r.text
    assert "Glass jar 1 L" in r.text and "100: ₹199.50" in r.text
    assert catalog.load_all(shop.node.store).items["JAR-1L"].price.amount == 25_000
