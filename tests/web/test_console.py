"""The merchant's journey in Chromium against real processes on loopback (registry and seller node
as subprocesses, a buyer app in this process placing the order through the signed protocol):
log in → orders board → accept → pack → ship → deliver, each move reaching the buyer app as a
signed on_status; then the dashboard, catalog, a failed import and customers. No console errors
(the ``new_page`` fixture fails the test on any); screenshots for docs/console.md.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mercato.seller.config import set_console_password, write_starter
from mercato.seller.console.passwords import hash_password
from tests.ports import free_port_block
from tests.seller.node.harness import CLI, Bap, Proc, Seller, checkout, item_body, stock_up, wait_http
from tests.supply.test_scenario import base

pytestmark = pytest.mark.e2e
USER, PASSWORD = "meera", "brass kettles 4 all"


def start(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Seller, Bap]]:
    tmp = tmp_path_factory.mktemp("console")
    base = free_port_block(2)
    reg_url = f"http://127.0.0.1:{base}"
    reg = start(
        [*CLI, "registry", "serve", "--db", f"sqlite:///{tmp / 'registry.db'}", "--port", str(base),
         "--key-file", str(tmp / "registry.key.json")],
        tmp / "registry.log",
    )  # fmt: skip
    procs = [Proc(reg, reg_url, tmp / "registry.log")]
    try:
        wait_http(reg_url + "/keys", proc=reg)
        sid = f"kettles-{uuid.uuid4().hex[:8]}.example"
        cfg, _ = write_starter(tmp / "seller", subscriber_id=sid, port=base + 1, registry_url=reg_url)
        cfg.write_text(cfg.read_text().replace('name = "My shop"', 'name = "Meera\'s Kettles"'))
        set_console_password(cfg, USER, hash_password(PASSWORD))
        log = tmp / "seller" / "seller.log"
        proc = start([*CLI, "seller", "serve", "--config", str(cfg)], log)
        url = f"http://127.0.0.1:{base + 1}"
        procs.append(Proc(proc, url, log))
        wait_http(url + "/health", lambda r: r.status_code == 200 and r.json()["subscribed"], proc=proc)
        token = tomllib.loads(cfg.read_text())["admin"]["token"]
        seller = Seller(proc, url, log, cfg, token, sid)
        for item_id, name, price, units in (
            ("KETTLE", "Brass kettle", 250_000, 12),
            ("TUMBLER", "Copper tumbler", 45_000, 3),
            ("TRAY", "Teak serving tray", 120_000, 8),
        ):
            assert (
                seller.admin("PUT", f"/admin/items/{item_id}", json=item_body(name, price)).status_code == 200
            )
            stock_up(seller, item_id, units)
        with Bap(reg_url) as bap:
            yield seller, bap
    finally:
        for p in reversed(procs):
            p.stop()


def make_pool(seller: Seller, bap: Bap) -> None:
    from datetime import UTC, datetime, timedelta

    from mercato.pools.signed import rfc3339, sign_doc

    deadline = datetime.now(UTC) + timedelta(hours=2)
    r = seller.admin("PUT", "/admin/pools/bottles", json={"deadline": rfc3339(deadline), "capacity": 300})
    assert r.status_code == 200, r.text
    for item, name, moq in (("BOTTLE", "Insulated bottle 1 L", 10), ("FLASK", "Steel flask 500 ml", 30)):
        spec = {
            "name": name,
            "tiers": [{"min_quantity": 1, "unit_price": 100_000}, {"min_quantity": 20, "unit_price": 80_000}],
            "moq": moq,
            "capacity": 200,
            "production_start": rfc3339(deadline + timedelta(days=1)),
            "delivery_start": rfc3339(deadline + timedelta(days=6)),
            "delivery_end": rfc3339(deadline + timedelta(days=9)),
        }
        r = seller.admin("PUT", f"/admin/pools/bottles/offers/{item}", json=spec)
        assert r.status_code == 200, r.text
    for qty, price, items in (
        (12, 95_000, ["BOTTLE"]),
        (10, 85_000, ["BOTTLE", "FLASK"]),
        (4, 70_000, ["BOTTLE"]),
    ):
        doc = {
            "kind": "commitment", "id": str(uuid.uuid4()), "pool": "bottles", "bap_id": bap.subscriber_id,
            "quantity": qty, "max_unit_price": price, "currency": "INR",
            "offers": [f"{seller.subscriber_id}/{i}" for i in items],
            "expires_at": rfc3339(deadline + timedelta(days=2)), "created_at": rfc3339(datetime.now(UTC)),
        }  # fmt: skip
        signed = sign_doc(
            doc, bap.keys.signing, bap.subscriber_id, bap.ukid, valid_until=deadline + timedelta(days=2)
        )
        r = httpx.post(seller.url + "/pool/commitments", content=signed.body,
                       headers={"Authorization": signed.signature}, timeout=10)  # fmt: skip
        assert r.status_code == 200, r.text


def log_in(page: Any, url: str) -> None:
    page.get_by_label("User name").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert url in page.url


def test_merchant_journey(net: tuple[Seller, Bap], new_page: Any, shoot: Any) -> None:
    seller, bap = net
    txn, _, _, on_confirm = checkout(bap, seller, "KETTLE", 2)
    order_id = on_confirm["message"]["order"]["id"]
    txn2, *_ = checkout(bap, seller, "TUMBLER", 1)  # a second order, accepted later from the board

    page, watch = new_page()
    page.goto(seller.url + "/console/orders")
    assert "/console/login?next=/console/orders" in page.url  # not logged in: to the login page
    assert page.get_by_role("heading", name="Log in to the merchant console").is_visible()
    shoot(page, "console-login")
    page.get_by_label("User name").fill(USER)
    page.get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Log in").click()
    assert page.locator("#e-password").inner_text() == "wrong user name or password"
    watch.clear()  # the 401 page logs "failed to load resource"; it is the page we meant to show
    log_in(page, "/console/orders")  # back where it was going

    card = page.locator(f'article[data-order="{order_id}"]')
    assert card.is_visible() and "2 × Brass kettle" in card.inner_text()
    assert page.locator('section[data-column="new"] article').count() == 2
    shoot(page, "console-orders")
    card.get_by_role("link").click()
    page.wait_for_url(f"**/console/orders/{order_id}")
    shoot(page, "console-order")

    expected = ["Pending", "Packed", "Order-picked-up", "Order-delivered"]
    for n, (action, label) in enumerate(
        (
            ("accept", "Accept"),
            ("pack", "Mark packed"),
            ("ship", "Ship (picked up)"),
            ("deliver", "Mark delivered"),
        )
    ):
        page.get_by_role("button", name=label, exact=True).click()
        page.wait_for_load_state()
        assert page.locator(".flash-ok").count() == 1
        assert page.locator("#order-status").inner_text().endswith(expected[n])
        body = bap.wait("on_status", transaction_id=txn, skip=n)  # the buyer app hears of it, signed
        order = body["message"]["order"]
        state = next(
            x["value"]
            for t in order["tags"]
            for x in t["list"]
            if x["descriptor"]["code"] == "fulfillment_state"
        )
        assert state == expected[n], action
    assert "Nothing more to do" in page.content()
    assert bap.receiver.stats.rejected == {}
    assert seller.admin("GET", f"/admin/orders/{order_id}").json()["state"] == "Completed"

    page.get_by_role("link", name="Orders", exact=True).click()
    assert page.locator(f'section[data-column="delivered"] article[data-order="{order_id}"]').count() == 1
    other = page.locator('section[data-column="new"] article')
    other.get_by_role("button").click()  # the board's own button: accept the second order there
    page.wait_for_url("**/console/orders")
    assert page.locator('section[data-column="accepted"] article').count() == 1
    bap.wait("on_status", transaction_id=txn2)
    assert page.locator("#board-changed").is_hidden()
    checkout(bap, seller, "TRAY", 1)  # a new order while the board is open: it says so, and offers a reload
    page.locator("#board-changed").wait_for(state="visible", timeout=20_000)
    page.get_by_role("link", name="Reload the board").click()
    assert page.locator('section[data-column="new"] article').count() == 1

    make_pool(seller, bap)  # a pool with two offers and three signed commitments from the buyer app
    page.get_by_role("link", name="Pools", exact=True).click()
    pool = page.locator('section[data-pool="bottles"]')
    assert "3 live commitments" in pool.inner_text()
    pool.locator("summary").click()  # the commitments, folded by default
    assert pool.locator('tr[data-commitment-state="open"]').count() == 3
    shoot(page, "console-pools")
    pool.get_by_role("button", name="Clear now").click()
    assert "Pool bottles cleared: 2 commitments accepted" in page.locator(".flash-ok").inner_text()
    assert "2 commitments accepted, 1 rejected" in page.locator('section[data-pool="bottles"]').inner_text()

    page.get_by_role("link", name="Supply", exact=True).click()
    assert page.get_by_role("heading", name="Supply", exact=True).is_visible()
    page.get_by_role("link", name="What-if simulation").click()
    doc = base()  # a factory, a warehouse, a store, 15 tee-shirts a day; what if line L1 is down 20 days?
    doc["demand"][0]["mean"], doc["event"][0]["days"] = 15.0, 20
    scenario = json.dumps(doc).encode()
    page.get_by_label("Scenario file (.toml or .json)").set_input_files(
        {"name": "tee-shirts.json", "mimeType": "application/json", "buffer": scenario}
    )
    page.get_by_label("Days to simulate (optional)").fill("90")
    page.get_by_role("button", name="Simulate").click()
    assert page.locator("#whatif-figures").is_visible()
    assert page.locator(".chart img").count() == 4
    planned, disrupted = (
        float(x.rstrip("%")) for x in page.locator('[data-figure="fill_rate"]').all_inner_texts()
    )
    assert disrupted < planned  # the line going down costs service
    shoot(page, "console-whatif")

    page.get_by_role("link", name="Dashboard").click()
    assert page.locator('[data-kpi="orders-today"]').inner_text() == "3"
    assert (
        "Copper tumbler" in page.locator("#low-title + *").inner_text() or "Copper tumbler" in page.content()
    )
    shoot(page, "console-dashboard")

    page.get_by_role("link", name="Catalog").click()
    page.get_by_role("link", name="Teak serving tray").click()
    page.get_by_label("Price (INR)").fill("1,150.5")
    page.get_by_role("button", name="Save").click()
    assert page.locator(".flash-ok").inner_text().startswith("Saved")
    page.get_by_label("Change in units").fill("-500")
    page.get_by_label("Reason").select_option("damage")
    page.get_by_role("button", name="Adjust stock").click()
    assert page.locator("#e-delta").is_visible()  # more than on hand: the error next to the field
    watch.clear()
    shoot(page, "console-item")
    assert seller.admin("GET", "/admin/items/TRAY").json()["price"] == 115_050

    page.get_by_role("link", name="Import").click()
    bad = b"id,name,price,stock\nJAM,Mango jam,85.50,5\nPICKLE,Lime pickle,lots,4\n"
    page.get_by_label("Catalog file (.csv or .json)").set_input_files(
        {"name": "new-items.csv", "mimeType": "text/csv", "buffer": bad}
    )
    page.get_by_role("button", name="Import").click()
    problem = page.locator("#import-problem")
    assert problem.is_visible()
    assert page.locator('[data-problem="line"]').inner_text() == "3"
    assert page.locator('[data-problem="column"]').inner_text() == "price"
    watch.clear()  # 422: the page we meant to show
    shoot(page, "console-import-error")

    page.get_by_role("link", name="Customers").click()
    assert page.get_by_role("heading", name="Customers and retention").is_visible()

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.get_by_role("link", name="Orders", exact=True).click()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shoot(page, "console-orders-phone")

    page.get_by_role("button", name="Log out").click()
    assert "/console/login" in page.url
    page.goto(seller.url + "/console/")
    assert "/console/login" in page.url
    page.get_by_label("User name").focus()  # back in with the keyboard alone
    page.keyboard.type(USER)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"^http://[^/?]+/console/$"))
    assert page.get_by_role("heading", name=re.compile("^Today")).is_visible()


def test_customers_and_retention(tmp_path: Path, new_page: Any, shoot: Any) -> None:
    """The retention report's charts and the churn-risk list over a node with 14 months of orders
    (console pages served in a thread; no network needed for this page)."""
    from fastapi import FastAPI

    from mercato.seller.console import mount_console
    from tests.seller.console.conftest import PASSWORD as SHOP_PASSWORD
    from tests.seller.console.conftest import USER as SHOP_USER
    from tests.seller.console.conftest import make_shop, seed_history
    from tests.web.conftest import ThreadServer

    shop = make_shop(tmp_path)
    seed_history(shop)
    app = FastAPI()
    mount_console(app, shop.node)
    with ThreadServer(app) as server:
        page, _ = new_page()
        page.goto(server.url + "/console/customers")
        page.get_by_label("User name").fill(SHOP_USER)
        page.get_by_label("Password").fill(SHOP_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/console/customers")
        charts = page.locator(".chart img")
        assert charts.count() >= 5
        for i in range(charts.count()):
            charts.nth(i).scroll_into_view_if_needed()
            assert (
                charts.nth(i).evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
            )  # a real PNG
        assert " nan" not in page.locator("main").inner_text().lower()
        rows = page.locator("section[aria-labelledby=churn-title] tbody tr")
        assert rows.count() == 50
        with page.expect_download() as info:
            page.get_by_role("link", name="Download the full list (CSV)").click()
        lines = Path(info.value.path()).read_text().strip().splitlines()
        assert lines[0].startswith("customer_id,") and len(lines) == 61
        shoot(page, "console-customers")
    shop.node.store.engine.dispose()
