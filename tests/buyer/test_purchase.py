"""The buyer node end to end on loopback: search through a gateway, the whole order lifecycle with a
seller, errors mapped to typed exceptions, a cart split across sellers."""

from __future__ import annotations

import asyncio

import pytest

from mercato.buyer.sdk import (
    Cart,
    Client,
    Conflict,
    DeadlineExceeded,
    Nack,
    SellerUnavailable,
)
from tests.buyer.harness import TOKEN, Net, free_port

BILLING = {"name": "Asha Rao", "phone": "+919800000000", "address": "12 MG Road, Bengaluru"}
FULFILLMENT = {"type": "Delivery", "contact": {"phone": "+919800000000"}}
PAYMENT = {"type": "ON-FULFILLMENT", "status": "NOT-PAID"}


async def test_order_lifecycle(net: Net) -> None:
    seller = net.sellers[0]
    async with Client(net.url, TOKEN) as c:
        stream = c.search("rice", deadline=5.0, mode="index", expect=2)
        results = [r async for r in stream]
        assert stream.complete and sorted(stream.sellers) == sorted(s.id for s in net.sellers)
        assert all(m == "index" for s in net.sellers for m in s.modes) and net.sellers[0].modes
        mine = next(r for r in results if r.bpp_id == seller.id)
        assert mine.bpp_uri == seller.url and mine.provider_id == seller.provider_id
        rice = next(i for i in mine.items if i.id == "rice-5kg")
        assert (rice.price, rice.currency, rice.available) == (45000, "INR", 7)

        order = await c.select(mine.bpp_id, mine.provider_id, [{"id": "rice-5kg", "quantity": 2}], deadline=5)
        assert order.stage == "selected" and order.total == 90000 and order.currency == "INR"
        order = await c.init(order, billing=BILLING, fulfillment=FULFILLMENT, payment=PAYMENT, deadline=5)
        assert order.stage == "initialized"
        assert order.order is not None and order.order["payments"][0]["type"] == "ON-FULFILLMENT"
        order = await c.confirm(order, deadline=5)
        assert order.stage == "confirmed" and order.status == "ACTIVE" and order.order_id in seller.orders
        assert order.fulfillment_state == "Pending"

        assert (await c.status(order, deadline=5)).status == "ACTIVE"
        tracking = await c.track(order, deadline=5)
        assert tracking.url == f"{seller.url}/track/1" and tracking.status == "active"
        support = await c.support(order, deadline=5)
        assert support.phone == "+911234567890" and support.raw and support.raw["ref_id"] == order.order_id
        rated = await c.rate(order, 4, deadline=5)
        assert rated.order.id == order.id
        rating_req = next(r for r in seller.received if r.action == "rating")
        assert rating_req.request.message.ratings[0].value == "4"  # type: ignore[attr-defined]
        cancelled = await c.cancel(order, "001", deadline=5)
        assert cancelled.status == "CANCELLED" and cancelled.fulfillment_state == "Cancelled"

        # what the seller received carried our choices, in one transaction, from this buyer
        actions = [
            r.action for r in seller.received if r.request.context.transaction_id == order.transaction_id
        ]
        assert actions == ["select", "init", "confirm", "status", "track", "support", "rating", "cancel"]
        init_req = next(r for r in seller.received if r.action == "init")
        assert init_req.request.message.order.billing.name == "Asha Rao"  # type: ignore[attr-defined]

        stored = await c.order(order.id)
        assert stored.status == "CANCELLED" and stored.order_id == order.order_id
        assert [o.id for o in await c.orders()] == [order.id]
        events = [e async for e in c.events(order=order, poll_s=0.2, deadline=0.5)]
        assert [e.action for e in events] == [
            "on_select",
            "on_init",
            "on_confirm",
            "on_status",
            "on_track",
            "on_support",
            "on_rating",
            "on_cancel",
        ]
        assert all(e.solicited for e in events)


async def test_search_deadline_does_not_wait_for_a_slow_seller(sqlite_net: Net) -> None:
    fast, slow = sqlite_net.sellers
    slow.search_delay_s = 1.5
    async with Client(sqlite_net.url, TOKEN) as c:
        stream = c.search("rice", deadline=0.8)
        got = [r async for r in stream]
        assert [r.bpp_id for r in got] == [fast.id]
        assert stream.summary is not None and stream.summary["sellers"] == 1
        assert slow.received and not slow.sent  # the slow answer had not even been sent
        for _ in range(400):  # it arrives late: acknowledged, and dropped
            if slow.sent:
                break
            await asyncio.sleep(0.01)
        assert [(a, ans.ack) for a, ans in slow.sent] == [("on_search", True)]

        with pytest.raises(DeadlineExceeded) as info:
            async for _ in c.search("rice", deadline=0.8, expect=2):
                pass
        assert [r["bpp_id"] if isinstance(r, dict) else r.bpp_id for r in info.value.arrived] == [fast.id]


async def test_nack_and_callback_error_become_nack(sqlite_net: Net) -> None:
    seller = sqlite_net.sellers[0]
    seller.nack["select"] = "40002"
    async with Client(sqlite_net.url, TOKEN) as c:
        with pytest.raises(Nack) as info:
            await c.select(
                seller.id, seller.provider_id, [{"id": "rice-5kg"}], bpp_uri=seller.url, deadline=5
            )
        assert info.value.code == "40002" and info.value.bpp_id == seller.id and not info.value.in_callback
        del seller.nack["select"]
        seller.callback_error["init"] = "30008"
        order = await c.select(
            seller.id, seller.provider_id, [{"id": "rice-5kg"}], bpp_uri=seller.url, deadline=5
        )
        with pytest.raises(Nack) as info:
            await c.init(order, billing=BILLING, deadline=5)
        assert info.value.code == "30008" and info.value.in_callback
        assert (await c.order(order)).stage == "selected"
        with pytest.raises(Conflict):
            await c.confirm(order, deadline=5)


async def test_seller_gone_or_silent(sqlite_net: Net) -> None:
    seller = sqlite_net.sellers[0]
    async with Client(sqlite_net.url, TOKEN) as c:
        gone = f"http://127.0.0.1:{free_port()}"
        with pytest.raises(SellerUnavailable) as info:
            await c.select(seller.id, seller.provider_id, [{"id": "rice-5kg"}], bpp_uri=gone, deadline=5)
        assert info.value.bpp_id == seller.id
        seller.silent.add("select")
        with pytest.raises(DeadlineExceeded):
            await c.select(
                seller.id, seller.provider_id, [{"id": "rice-5kg"}], bpp_uri=seller.url, deadline=0.5
            )
        # a seller that stops listening after the search
        seller.silent.clear()
        order = await c.select(
            seller.id, seller.provider_id, [{"id": "rice-5kg"}], bpp_uri=seller.url, deadline=5
        )
        seller.served.stop()
        with pytest.raises(SellerUnavailable):
            await c.init(order, billing=BILLING, deadline=5)


async def test_cart_becomes_one_order_per_seller(sqlite_net: Net) -> None:
    a, b = sqlite_net.sellers
    b.nack["confirm"] = "40002"
    async with Client(sqlite_net.url, TOKEN) as c:
        stream = c.search("rice", deadline=5, expect=2)
        results = {r.bpp_id: r async for r in stream}
        cart = Cart().add(results[a.id], "rice-5kg", 1).add(results[b.id], "dal-1kg", 3)
        cart.add(results[a.id], "dal-1kg", 2).add(results[a.id], "rice-5kg", 1)
        assert cart.sellers() == [a.id, b.id]
        out = await c.checkout(cart, billing=BILLING, fulfillment=FULFILLMENT, payment=PAYMENT, deadline=10)
    by_seller = {r.bpp_id: r for r in out}
    assert set(by_seller) == {a.id, b.id}
    ok, failed = by_seller[a.id], by_seller[b.id]
    assert ok.ok and ok.error is None and ok.order is not None and ok.order.stage == "confirmed"
    assert sorted((i["id"], i["quantity"]) for i in ok.order.items) == [("dal-1kg", 2), ("rice-5kg", 2)]
    assert ok.order.total == 2 * 45000 + 2 * 16050
    assert not failed.ok and isinstance(failed.error, Nack) and failed.error.code == "40002"
    assert failed.order is not None and failed.order.stage == "initialized"
    assert ok.order.transaction_id != failed.order.transaction_id
    assert [r.action for r in b.received if r.action != "search"] == ["select", "init", "confirm"]


async def test_calls_run_concurrently(sqlite_net: Net) -> None:
    seller = sqlite_net.sellers[0]
    async with Client(sqlite_net.url, TOKEN) as c:
        orders = await asyncio.gather(
            *(
                c.select(
                    seller.id, seller.provider_id, [{"id": "rice-5kg", "quantity": n}], bpp_uri=seller.url
                )
                for n in range(1, 11)
            )
        )
    assert sorted(o.total or 0 for o in orders) == [45000 * n for n in range(1, 11)]
    assert len({o.transaction_id for o in orders}) == 10
