"""The buyer's journey in Chromium against a real local network (registry, gateway, two seller
nodes, the buyer node; each its own process): search → cart → checkout across two sellers → live
status as the merchant moves the order → rate, cancel, a seller going down. No console errors
(the ``new_page`` fixture fails the test on any); screenshots for docs/web.md.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mercato.network import seeds
from mercato.network.local import LocalNetwork, NetworkPlan
from mercato.pools.signed import rfc3339
from tests.ports import free_port_block

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNetwork]:
    base = free_port_block(20)
    plan = NetworkPlan(
        tmp_path_factory.mktemp("net"),
        sellers=4,  # grocer, electronics, fashion, the manufacturer (group runs)
        buyer_port=base,
        registry_port=base + 1,
        gateway_port=base + 2,
        first_seller_port=base + 11,
    )
    with LocalNetwork(plan, say=lambda _line: None) as net:
        yield net


def seller_admin(net: LocalNetwork, index: int, order_id: str, action: str) -> None:
    node = net.plan.seller_nodes[index]
    r = httpx.post(
        f"{node.url}/admin/orders/{order_id}/{action}",
        headers={"Authorization": f"Bearer {node.admin_token()}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text


def buyer_orders(net: LocalNetwork) -> list[dict[str, Any]]:
    r = httpx.get(
        f"{net.plan.buyer_url}/api/orders",
        headers={"Authorization": f"Bearer {net.plan.buyer_token()}"},
        timeout=10,
    )
    return [o for o in r.json()["orders"] if o["stage"] == "confirmed"]


def test_buyer_journey_across_two_sellers(network: LocalNetwork, new_page: Any, shoot: Any) -> None:
    net = network
    grocer, electronics = (n.shop.name for n in net.plan.seller_nodes[:2])
    page, _watch = new_page()
    url = net.plan.buyer_url

    # search across the network: both sellers answer
    page.goto(url + "/")
    page.get_by_label("What are you looking for?").fill("1")
    page.get_by_label("Sort by").select_option("price")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("#results-heading")
    cards = page.locator("li.card")
    assert cards.count() >= 4
    sellers_shown = set(page.locator("li.card .meta strong").all_inner_texts())
    assert {grocer, electronics} <= sellers_shown
    prices = [int(re.sub(r"[^0-9]", "", t)) for t in page.locator("li.card .price").all_inner_texts()]
    assert prices == sorted(prices)  # sorted by price, across sellers
    shoot(page, "storefront-search")

    # the first seller's rice straight from the results
    page.get_by_label("What are you looking for?").fill("rice")
    page.get_by_label("Sort by").select_option("relevance")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name=re.compile(f"Add .*Rice.* from {grocer} to cart")).first.click()
    page.wait_for_url(url + "/cart")
    assert page.get_by_role("status").filter(has_text="to your cart").count() == 1

    # the second seller's charger through its item page, two of them
    page.goto(url + "/?q=charger")
    page.get_by_role("link", name=re.compile("Charger")).first.click()
    page.wait_for_selector("h1")
    assert electronics in page.inner_text("main")
    shoot(page, "storefront-item")
    page.get_by_label("Quantity").fill("0")
    page.get_by_role("button", name="Add to cart").click()
    assert "whole number" in page.inner_text("#e-quantity")  # the server's error, next to the field
    assert page.get_by_label("Quantity").input_value() == "0"  # what was typed stays
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(url + "/cart")

    # the cart, split per seller
    sections = page.locator("section[data-seller]")
    assert sections.count() == 2
    assert page.locator("nav .badge").inner_text() == "3"
    shoot(page, "storefront-cart")

    # checkout: the server's validation first, then the orders
    page.get_by_role("link", name="Check out").click()
    page.get_by_role("button", name="Place 2 orders").click()
    page.wait_for_selector("#error-summary")
    assert "PIN" in page.inner_text("#e-area_code")
    assert page.get_by_label("Full name").get_attribute("aria-invalid") == "true"
    shoot(page, "storefront-checkout-errors")
    page.get_by_label("Full name").fill("Asha Rao")
    page.get_by_label("Phone").fill("+91 98450 12345")
    page.get_by_label("Email (optional)").fill("asha@example.com")
    page.get_by_label("Address (house, street, area)").fill("12, 4th Cross, Jayanagar 4th Block")
    page.get_by_label("PIN code").fill("560041")
    page.get_by_label("Pay on delivery").check()
    page.get_by_role("button", name="Place 2 orders").click()
    page.wait_for_url(re.compile(r".*/checkout/[0-9a-f-]{36}$"))
    assert page.locator('[data-result="ok"]').count() == 2
    assert page.locator("nav .badge").count() == 0  # the cart is empty now
    shoot(page, "storefront-placed")

    orders = buyer_orders(net)
    assert len(orders) == 2
    by_seller = {o["bpp_id"]: o for o in orders}
    mine = by_seller[net.plan.seller_nodes[0].subscriber_id]
    theirs = by_seller[net.plan.seller_nodes[1].subscriber_id]

    # live status: the merchant accepts, packs and ships; the open page follows without a reload
    page.goto(url + "/orders")
    row = page.locator(f'tr[data-order="{mine["id"]}"]')
    seller_admin(net, 0, mine["order_id"], "accept")
    row.locator('[data-field="status"]', has_text="Accepted").wait_for()
    shoot(page, "storefront-orders")
    page.goto(url + f"/orders/{mine['id']}")
    seller_admin(net, 0, mine["order_id"], "pack")
    page.locator('[data-field="fulfillment_state"]', has_text="Packed").wait_for()
    seller_admin(net, 0, mine["order_id"], "ship")
    page.locator('[data-field="fulfillment_state"]', has_text="Order-picked-up").wait_for()
    page.get_by_role("button", name="Track").click()
    page.wait_for_selector("text=Tracking")
    page.get_by_label("Your rating").select_option("5")
    page.get_by_role("button", name="Send rating").click()
    page.wait_for_selector("text=you rated this order 5 of 5")
    shoot(page, "storefront-order")

    # cancel the other order with a reason
    page.goto(url + f"/orders/{theirs['id']}")
    page.get_by_role("button", name="Cancel this order").click()
    assert "reason" in page.inner_text("#e-reason")
    page.get_by_label("Why do you cancel?").select_option("006")
    page.get_by_role("button", name="Cancel this order").click()
    page.wait_for_selector("text=The seller cancelled the order.")
    assert page.locator('[data-field="status"]').inner_text() == "Cancelled"

    # the first seller goes down while its order page is open: the page says so, nothing breaks
    page.goto(url + f"/orders/{mine['id']}")
    seller = next(c for c in net.children if c.name == net.plan.seller_nodes[0].role)
    seller.stop()
    page.get_by_role("button", name="Ask the seller for news").click()
    page.wait_for_selector("text=The seller is unavailable right now")
    assert page.locator('[data-field="fulfillment_state"]').inner_text() == "Order-picked-up"


def test_pages_fit_a_phone_screen(network: LocalNetwork, browser: Any, shoot: Any) -> None:
    """At 390 px wide nothing scrolls sideways (tables scroll inside their own box), the controls
    stay large enough to tap, every control has a label and every page one heading."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        url = network.plan.buyer_url
        for path in ("/?q=rice&sort=price", "/cart", "/orders", "/pools"):
            page.goto(url + path)
            width = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert width[0] <= width[1], (path, width)
            small = page.evaluate(
                "[...document.querySelectorAll('button, input:not([type=hidden]), select')]"
                ".filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 40).length"
            )
            assert small == 0, path
            unlabelled = page.evaluate(
                "[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]"
                ".filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.name)"
            )
            assert unlabelled == [], path
            assert page.locator("h1").count() == 1 and page.locator("main#main").count() == 1, path
            if path.startswith("/?"):
                shoot(page, "storefront-phone")
    finally:
        ctx.close()
    assert errors == []


def open_group_run(net: LocalNetwork) -> tuple[str, str]:
    """The manufacturer opens a pool with its copper bottle run (tiers 999 / 799 from 50 / 649 from
    150, MOQ 40); answers the pool id and the offer id."""
    maker = net.plan.seller_nodes[3]
    pool_id = f"web-{uuid.uuid4().hex[:8]}"
    deadline = datetime.now(UTC) + timedelta(minutes=30)
    o = seeds.POOL_OFFERS[0]
    sku = f"{o.sku}-{pool_id}"
    with httpx.Client(
        base_url=maker.url, headers={"Authorization": f"Bearer {maker.admin_token()}"}
    ) as admin:
        r = admin.put(f"/admin/pools/{pool_id}", json={"deadline": rfc3339(deadline), "capacity": 450})
        assert r.status_code == 200, r.text
        spec = {
            "name": o.name,
            "long_desc": o.description,
            "tiers": [{"min_quantity": q, "unit_price": p} for q, p in o.tiers],
            "moq": o.moq,
            "capacity": o.capacity,
            "production_start": rfc3339(deadline + timedelta(days=o.production_days)),
            "delivery_start": rfc3339(deadline + timedelta(days=o.delivery_days[0])),
            "delivery_end": rfc3339(deadline + timedelta(days=o.delivery_days[1])),
        }
        r = admin.put(f"/admin/pools/{pool_id}/offers/{sku}", json=spec)
        assert r.status_code == 200, r.text
    return pool_id, f"{maker.subscriber_id}/{sku}"


def place_pool_orders(page: Any, name: str) -> None:
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Phone").fill("+91 98450 00000")
    page.get_by_label("Address (house, street, area)").fill("3, Temple Street, Malleshwaram")
    page.get_by_label("PIN code").fill("560003")
    page.get_by_role("button", name="Place my orders").click()
    page.wait_for_url(re.compile(r".*/orders$"))
    page.wait_for_selector("text=1 order placed from the group run")


def test_two_buyers_join_a_group_run_and_each_gets_their_order(
    network: LocalNetwork, new_page: Any, shoot: Any
) -> None:
    net = network
    url = net.plan.buyer_url
    pool_id, offer_id = open_group_run(net)
    maker = net.plan.seller_nodes[3]
    committed = f'[data-field="committed:{offer_id}"]'

    # buyer A finds the run, is told what is wrong with the form, then joins with 30 at up to 850
    a, _ = new_page()
    a.goto(url + "/pools")
    a.get_by_role("link", name=f"Group run {pool_id}").click()
    a.wait_for_selector(f'[data-pool-offer="{offer_id}"]')
    a.get_by_label("Quantity").fill("30")
    a.get_by_role("button", name="Join this run").click()
    assert "highest unit price" in a.inner_text(".field.has-error .error")
    a.get_by_label("Quantity").fill("30")
    a.get_by_label("Highest unit price you accept (₹)").fill("850")
    a.get_by_role("button", name="Join this run").click()
    a.wait_for_selector("text=You joined with 30")
    assert a.locator(committed).inner_text() == "30"
    share = a.get_by_label("Link to this group run").input_value()

    # buyer B opens the shared link in another browser and joins with 25 at up to 820
    b, _ = new_page()
    b.goto(share)
    b.get_by_label("Quantity").fill("25")
    b.get_by_label("Highest unit price you accept (₹)").fill("820")
    b.get_by_role("button", name="Join this run").click()
    b.wait_for_selector("text=You joined with 25")

    # A's open page follows the progress by itself: 55 units, past the 50-unit tier
    a.locator(committed, has_text="55").wait_for()
    a.locator(f'[data-field="to-next:{offer_id}"]', has_text="95 more units for ₹649.00 each").wait_for()
    assert a.locator(f'[data-field="progress:{offer_id}"]').evaluate("e => [e.value, e.max]") == [55, 150]
    shoot(a, "storefront-pool")

    # the manufacturer clears; each buyer sees their commitment accepted and places their order
    r = httpx.post(
        f"{maker.url}/admin/pools/{pool_id}/clear",
        headers={"Authorization": f"Bearer {maker.admin_token()}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    for page, name in ((a, "Asha Rao"), (b, "Ravi Kumar")):
        page.reload()
        assert page.locator("[data-commitment] .status").inner_text() == "accepted"
        place_pool_orders(page, name)
        rows = page.locator("tr[data-order]")
        assert rows.count() == 1  # their own order only, not the other buyer's
        assert maker.shop.name in rows.inner_text() or maker.subscriber_id in rows.inner_text()


def test_screenshots_are_where_the_docs_expect_them() -> None:
    images = Path(__file__).resolve().parents[2] / "docs" / "images"
    for name in ("search", "cart", "placed", "orders", "order", "pool"):
        assert (images / f"web-storefront-{name}.png").exists(), name
