"""The storefront's routes without a browser: validation errors next to the fields, CSRF, carts that
outlive a session and a node restart, checkout idempotency, unavailable sellers and gateway.

The loopback network is the buyer tests' harness (a real buyer node served by uvicorn, fake sellers
and a fake gateway); page-only checks go through httpx's ASGI transport on a Storefront.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mercato.buyer.web import SESSION_COOKIE, Storefront, line_of
from mercato.buyer.web_search import offers_from_results
from tests.buyer.harness import Net, start_net

CHECKOUT = {
    "name": "Asha Rao",
    "phone": "+91 98450 12345",
    "email": "asha@example.com",
    "address": "12, 4th Cross, Jayanagar",
    "city": "std:080",
    "area_code": "560041",
    "payment": "ON-FULFILLMENT",
}


@pytest.fixture
def net(sqlite_url: str) -> Iterator[Net]:
    n = start_net(sqlite_url)
    yield n
    n.stop()


def csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def token(html: str) -> str:
    m = re.search(r'name="token" value="([^"]+)"', html)
    assert m, "no idempotency token in the checkout form"
    return m.group(1)


def error_of(html: str, field: str) -> str | None:
    """The error shown next to a field (the forms.html macro puts it in #e-<field>)."""
    m = re.search(rf'<p class="error" id="e-{re.escape(field)}">([^<]*)</p>', html)
    return m.group(1) if m else None


async def fill_cart(c: httpx.AsyncClient, net: Net) -> None:
    page = await c.get("/", params={"q": "rice"})
    assert page.status_code == 200, page.text
    for seller in net.sellers:
        assert seller.id in page.text or seller.provider_id in page.text
        r = await c.post(
            "/cart/add",
            data={
                "csrf_token": csrf(page.text),
                "bpp_id": seller.id,
                "provider_id": seller.provider_id,
                "item_id": "rice-5kg",
                "quantity": "2",
            },
        )
        assert r.status_code == 303 and r.headers["location"] == "/cart"


async def test_search_filters_are_validated_next_to_each_field(net: Net) -> None:
    async with httpx.AsyncClient(base_url=net.url) as c:
        bad = await c.get("/", params={"q": "x" * 101, "min": "abc", "max": "-3", "by": "soon", "sort": "x"})
        assert bad.status_code == 422
        assert "at most 100" in (error_of(bad.text, "q") or "")
        assert "amount" in (error_of(bad.text, "min") or "")
        assert "amount" in (error_of(bad.text, "max") or "")
        assert "date" in (error_of(bad.text, "by") or "")
        assert error_of(bad.text, "sort")
        assert 'aria-invalid="true"' in bad.text and 'href="#f-min"' in bad.text  # the summary links
        inverted = await c.get("/", params={"q": "rice", "min": "500", "max": "100"})
        assert inverted.status_code == 422 and error_of(inverted.text, "max")
        bad_city = await c.get("/", params={"q": "rice", "city": "Bengaluru"})
        assert bad_city.status_code == 422 and error_of(bad_city.text, "city")
        # the fake sellers answer any search with rice at 450.00 and dal at 160.50
        cheap = await c.get("/", params={"q": "rice", "max": "160.49"})
        assert cheap.status_code == 200 and cheap.text.count('class="card"') == 0
        assert "hidden by your filters" in cheap.text
        ok = await c.get("/", params={"q": "rice", "min": "160.50", "max": "450", "sort": "price_desc"})
        names = re.findall(r'<h2><a href="/item/[^"]+">([^<]+)</a></h2>', ok.text)
        assert names == ["Basmati rice 5 kg"] * 2 + ["Toor dal 1 kg"] * 2


async def test_a_post_without_the_session_csrf_token_is_refused_and_keeps_the_cart(net: Net) -> None:
    async with httpx.AsyncClient(base_url=net.url) as c:
        await fill_cart(c, net)
        forged = await c.post("/cart/update", data={"index": "0", "remove": "1", "csrf_token": "nope"})
        assert forged.status_code == 400 and "expired" in forged.text
        missing = await c.post("/cart/update", data={"index": "0", "remove": "1"})
        assert missing.status_code == 400
        cart = await c.get("/cart")
        assert cart.text.count("<td>Basmati rice 5 kg</td>") == len(net.sellers)
    async with httpx.AsyncClient(base_url=net.url) as stranger:  # no session: a new one, still refused
        r = await stranger.post("/cart/add", data={"csrf_token": "x", "bpp_id": "a", "provider_id": "b"})
        assert r.status_code == 400


async def test_cart_quantities_are_validated_and_the_cart_outlives_the_node(net: Net) -> None:
    async with httpx.AsyncClient(base_url=net.url) as c:
        await fill_cart(c, net)
        cart = await c.get("/cart")
        t = csrf(cart.text)
        for bad in ("0", "-1", "two", "", "1000001"):
            r = await c.post("/cart/update", data={"csrf_token": t, "index": "0", "quantity": bad})
            assert r.status_code == 422, bad
            assert "whole number" in (error_of(r.text, "quantity-0") or r.text)
        gone = await c.post("/cart/update", data={"csrf_token": t, "index": "9", "quantity": "1"})
        assert gone.status_code == 422 and "no longer in your cart" in gone.text
        r = await c.post("/cart/update", data={"csrf_token": t, "index": "0", "quantity": "5"})
        assert r.status_code == 303
        page = await c.get("/", params={"q": "rice"})
        r = await c.post(
            "/cart/add",
            data={
                "csrf_token": t,
                "bpp_id": net.sellers[0].id,
                "provider_id": net.sellers[0].provider_id,
                "item_id": "rice-5kg",
                "quantity": "many",
            },
        )
        assert r.status_code == 422 and error_of(r.text, "quantity")
        unknown = await c.post(
            "/cart/add",
            data={"csrf_token": csrf(page.text), "bpp_id": "x", "provider_id": "y", "item_id": "z"},
        )
        assert unknown.status_code == 303 and unknown.headers["location"] == "/"
        session = c.cookies[SESSION_COOKIE]
    # a restarted node (another Storefront on the same database) and a new browser with the cookie
    fresh = Storefront(net.node)
    from starlette.applications import Starlette

    app = Starlette(routes=fresh.routes())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", cookies={SESSION_COOKIE: session}
    ) as again:
        cart = await again.get("/cart")
        assert 'value="5"' in cart.text and cart.text.count("<td>Basmati rice 5 kg</td>") == len(net.sellers)
        for seller in net.sellers:
            assert f'data-seller="{seller.id}"' in cart.text


async def test_checkout_form_errors_are_shown_next_to_the_fields(net: Net) -> None:
    async with httpx.AsyncClient(base_url=net.url) as c:
        empty = await c.get("/checkout")
        assert empty.status_code == 303 and empty.headers["location"] == "/cart"
        await fill_cart(c, net)
        form = await c.get("/checkout")
        data = {"csrf_token": csrf(form.text), "token": token(form.text)}
        bad = await c.post(
            "/checkout",
            data={**data, "name": "A", "phone": "12", "email": "no-at", "address": "x", "city": "Paris",
                  "area_code": "12", "payment": "BARTER"},
        )  # fmt: skip
        assert bad.status_code == 422
        for field in ("name", "phone", "email", "address", "city", "area_code", "payment"):
            assert error_of(bad.text, field), field
        assert 'value="no-at"' in bad.text  # what was typed is kept
        assert token(bad.text) == data["token"]
        assert net.store.list_orders() == []  # nothing was sent to any seller


async def test_a_double_submitted_checkout_places_one_order_per_seller(net: Net) -> None:
    async with httpx.AsyncClient(base_url=net.url, timeout=60) as c:
        await fill_cart(c, net)
        form = await c.get("/checkout")
        data = {**CHECKOUT, "csrf_token": csrf(form.text), "token": token(form.text)}
        first, second = await asyncio.gather(c.post("/checkout", data=data), c.post("/checkout", data=data))
        assert first.status_code == second.status_code == 303
        assert first.headers["location"] == second.headers["location"] == f"/checkout/{data['token']}"
        third = await c.post("/checkout", data=data)  # the back button and send again, later
        assert third.headers["location"] == first.headers["location"]
        placed = await c.get(first.headers["location"])
        assert placed.text.count('data-result="ok"') == len(net.sellers)
        orders = net.store.list_orders()
        assert len(orders) == len(net.sellers)
        assert {o["bpp_id"] for o in orders} == {s.id for s in net.sellers}
        assert all(o["stage"] == "confirmed" for o in orders)
        assert sum(len(s.orders) for s in net.sellers) == len(net.sellers)
        cart = await c.get("/cart")
        assert "Your cart is empty" in cart.text
        # the seller got the address and the payment terms
        init = next(i for i in net.sellers[0].received if i.action == "init")
        order: Any = init.request.message.order
        assert order.billing.name == "Asha Rao" and order.payments[0].type == "ON-FULFILLMENT"
        assert order.fulfillments[0].stops[0].location.area_code == "560041"
        # the orders page lists them, with a live status endpoint
        listing = await c.get("/orders")
        assert listing.text.count("data-poll=") == len(net.sellers)
        live = await c.get(f"/orders/{orders[0]['id']}/live")
        assert live.json()["fields"]["status"] == "Active" and live.json()["final"] is False
    async with httpx.AsyncClient(base_url=net.url) as other:  # another buyer on the same node
        assert "No orders yet" in (await other.get("/orders")).text
        assert (await other.get(f"/orders/{orders[0]['id']}")).status_code == 404
        assert (await other.get(f"/orders/{orders[0]['id']}/live")).status_code == 404
        assert (await other.get(f"/checkout/{data['token']}")).status_code == 404


async def test_a_seller_that_is_down_is_reported_and_its_items_stay_in_the_cart(net: Net) -> None:
    async with httpx.AsyncClient(base_url=net.url, timeout=60) as c:
        await fill_cart(c, net)
        net.sellers[1].served.stop()  # the seller's node goes down after the search
        form = await c.get("/checkout")
        data = {**CHECKOUT, "csrf_token": csrf(form.text), "token": token(form.text)}
        r = await c.post("/checkout", data=data)
        placed = await c.get(r.headers["location"])
        assert placed.status_code == 200
        assert placed.text.count('data-result="ok"') == 1
        assert "Seller unavailable" in placed.text and "still in your cart" in placed.text
        cart = await c.get("/cart")
        assert f'data-seller="{net.sellers[1].id}"' in cart.text
        assert f'data-seller="{net.sellers[0].id}"' not in cart.text
        # an action on an order of a seller that is down says so
        down = next(o for o in net.store.list_orders() if o["bpp_id"] == net.sellers[1].id)
        assert down["stage"] != "confirmed"
        up = next(o for o in net.store.list_orders() if o["bpp_id"] == net.sellers[0].id)
        net.sellers[0].served.stop()
        page = await c.get(f"/orders/{up['id']}")
        r = await c.post(f"/orders/{up['id']}/status", data={"csrf_token": csrf(page.text)})
        assert r.status_code == 303
        shown = await c.get(r.headers["location"])
        assert "seller is unavailable" in shown.text


async def test_order_actions_validate_and_unknown_orders_are_404(net: Net) -> None:
    async with httpx.AsyncClient(base_url=net.url, timeout=60) as c:
        await fill_cart(c, net)
        form = await c.get("/checkout")
        data = {**CHECKOUT, "csrf_token": csrf(form.text), "token": token(form.text)}
        await c.post("/checkout", data=data)
        ref = net.store.list_orders()[0]["id"]
        page = await c.get(f"/orders/{ref}")
        t = csrf(page.text)
        for value in ("", "0", "6", "five"):
            r = await c.post(f"/orders/{ref}/rate", data={"csrf_token": t, "value": value})
            assert r.status_code == 422 and error_of(r.text, "value"), value
        r = await c.post(f"/orders/{ref}/cancel", data={"csrf_token": t, "reason": "012"})
        assert r.status_code == 422 and error_of(r.text, "reason")  # 012 is the seller's reason
        r = await c.post(f"/orders/{ref}/rate", data={"csrf_token": t, "value": "4"})
        assert r.status_code == 303 and "rated this order 4 of 5" in (await c.get(f"/orders/{ref}")).text
        assert '<option value="4" selected>' in (await c.get(f"/orders/{ref}")).text
        # the rating shows with that seller's offers (the fake sellers publish none) and sorts first
        rated = net.store.get_order(ref)["bpp_id"]  # type: ignore[index]
        found = await c.get("/", params={"q": "rice", "sort": "rating"})
        assert found.text.count("Rated 4.0 of 5 by 1 buyer here") == 2  # rice and dal of that seller
        first = re.search(r'name="bpp_id" value="([^"]+)"', found.text)
        assert first and first.group(1) == rated
        r = await c.post(f"/orders/{ref}/track", data={"csrf_token": t})
        assert r.status_code == 200 and "/track/1" in r.text
        r = await c.post(f"/orders/{ref}/cancel", data={"csrf_token": t, "reason": "006"})
        assert r.status_code == 303
        live = (await c.get(f"/orders/{ref}/live")).json()
        assert live["fields"]["status"] == "Cancelled" and live["final"] is True
        cancelled = await c.get(f"/orders/{ref}")
        assert "data-poll" not in cancelled.text and "Cancel this order" not in cancelled.text
        for url in (
            f"/orders/{uuid.uuid4()}",
            "/orders/not-a-uuid",
            f"/checkout/{uuid.uuid4()}",
            "/item/a/b/c",
        ):
            assert (await c.get(url)).status_code == 404, url
        assert (await c.get(f"/orders/{uuid.uuid4()}/live")).status_code == 404
        r = await c.post(f"/orders/{ref}/explode", data={"csrf_token": t})
        assert r.status_code == 404


async def test_search_without_a_gateway_says_it_is_unavailable(net: Net) -> None:
    net.gateway.served.stop()
    async with httpx.AsyncClient(base_url=net.url, timeout=30) as c:
        r = await c.get("/", params={"q": "rice"})
        assert r.status_code == 503 and "Search is unavailable" in r.text


def test_offers_keep_the_sellers_own_answer_over_the_index_copy() -> None:
    base = {"bpp_id": "s", "bpp_uri": "http://s", "provider_id": "p", "provider_name": "P"}
    item = {"id": "i", "name": "I", "price": 100, "currency": "INR", "time_to_ship": "PT4H"}
    results = [
        {**base, "source": "index", "items": [item]},
        {**base, "source": "seller", "items": [{**item, "price": 90}]},
        {**base, "source": "index", "items": [{**item, "price": 80}]},
    ]
    offers = offers_from_results(results, datetime(2026, 11, 25, 22, 0, tzinfo=UTC))
    assert len(offers) == 1 and offers[0].price == 90 and offers[0].source == "seller"
    assert str(offers[0].promise) == "2026-11-27"  # 22:00 + 4 h ships, + 1 day transit
    assert line_of(offers[0])["price"] == 90


async def test_group_runs_only_talk_to_coordinators_sellers_named(net: Net) -> None:
    async with httpx.AsyncClient(base_url=net.url, timeout=30) as c:
        listing = await c.get("/pools")  # the fake sellers offer no group run
        assert listing.status_code == 200 and "No open group run matches" in listing.text
        t = csrf((await c.get("/", params={"q": "rice"})).text)
        evil = {"c": "http://169.254.169.254"}  # a link naming any URL is not followed
        page = await c.get("/pools/run-1", params=evil)
        assert page.status_code == 404 and "has not seen this group run" in page.text
        assert (await c.get("/pools/run-1/live", params=evil)).status_code == 404
        for action in ("join", "revoke", "settle"):
            r = await c.post(f"/pools/run-1/{action}", params=evil, data={"csrf_token": t, "commitment": "x"})
            assert r.status_code == 303 and r.headers["location"] == "/pools", action
        gone = await c.post("/pools/run-1/join", params=evil, data={"quantity": "1"})  # no CSRF token
        assert gone.status_code == 400
