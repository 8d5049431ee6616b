"""The buyer's journey in Chromium against a real local network (registry, gateway, two seller
nodes, the buyer node; each its own process): search → cart → checkout across two sellers → live
status as the merchant moves the order → rate, cancel, a seller going down. No console errors
(the ``new_page`` fixture fails the test on any); screenshots for docs/web.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mercato.network.local import LocalNetwork, NetworkPlan
from tests.web.conftest import free_port_block

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNetwork]:
    base = free_port_block(20)
    plan = NetworkPlan(
        tmp_path_factory.mktemp("net"),
        sellers=2,
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
    grocer, electronics = (n.shop.name for n in net.plan.seller_nodes)
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


def test_screenshots_are_where_the_docs_expect_them() -> None:
    images = Path(__file__).resolve().parents[2] / "docs" / "images"
    for name in ("search", "cart", "placed", "orders", "order"):
        assert (images / f"web-storefront-{name}.png").exists(), name
