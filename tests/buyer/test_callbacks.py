"""Callbacks the buyer did not ask for (a seller's own on_status), and callbacks delivered twice."""

from __future__ import annotations

import asyncio
import uuid

from mercato.buyer.node import BuyerNode
from mercato.buyer.sdk import Client, Event, Order
from mercato.buyer.server import build_app
from mercato.transport.lookup import LookupCache
from tests.buyer.harness import TOKEN, Net, Served
from tests.buyer.test_purchase import BILLING


async def _confirmed(c: Client, net: Net) -> Order:
    s = net.sellers[0]
    order = await c.select(s.id, s.provider_id, [{"id": "rice-5kg"}], bpp_uri=s.url, deadline=5)
    await c.init(order, billing=BILLING, deadline=5)
    return await c.confirm(order, deadline=5)


async def test_unsolicited_status_updates_the_order_and_is_streamed(net: Net) -> None:
    seller = net.sellers[0]
    async with Client(net.url, TOKEN) as c:
        order = await _confirmed(c, net)
        assert order.order_id is not None
        after = max(e.seq for e in [e async for e in c.events(deadline=0.2, poll_s=0.1)])
        seen: list[Event] = []

        async def watch() -> None:
            async for e in c.events(after, poll_s=5.0, deadline=10.0):
                seen.append(e)
                if len(seen) == 2:
                    return

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0.1)
        ans = await seller.push_status(
            order.order_id, "Order-picked-up", transaction_id=order.transaction_id, bap_uri=net.url
        )
        assert ans.ack
        ans = await seller.push_status(
            order.order_id,
            "Order-delivered",
            transaction_id=order.transaction_id,
            bap_uri=net.url,
            action="on_update",
        )
        assert ans.ack
        await asyncio.wait_for(watcher, 10)
        assert [(e.action, e.fulfillment_state, e.solicited, e.order) for e in seen] == [
            ("on_status", "Order-picked-up", False, order.id),
            ("on_update", "Order-delivered", False, order.id),
        ]
        now = await c.order(order)
        assert (now.status, now.fulfillment_state, now.stage) == ("COMPLETED", "Order-delivered", "confirmed")


async def test_status_for_an_unknown_order_is_refused(sqlite_net: Net) -> None:
    seller = sqlite_net.sellers[0]
    async with Client(sqlite_net.url, TOKEN) as c:
        order = await _confirmed(c, sqlite_net)
    assert order.order_id is not None
    seller.orders["ord-unknown"] = {**seller.orders[order.order_id], "id": "ord-unknown"}
    ans = await seller.push_status(
        "ord-unknown", "Packed", transaction_id=str(uuid.uuid4()), bap_uri=sqlite_net.url
    )
    assert not ans.ack and ans.error_code == "30010"
    # the seller's order id is enough to find the order when the transaction id differs
    ans = await seller.push_status(
        order.order_id, "Packed", transaction_id=str(uuid.uuid4()), bap_uri=sqlite_net.url
    )
    assert ans.ack
    # another seller cannot report on this buyer's order with the first seller
    other = sqlite_net.sellers[1]
    other.orders[order.order_id] = seller.orders[order.order_id]
    ans = await other.push_status(
        order.order_id, "Cancelled", transaction_id=order.transaction_id, bap_uri=sqlite_net.url
    )
    assert not ans.ack and ans.error_code == "30010"
    assert sqlite_net.store.get_order(order.id)["fulfillment_state"] == "Packed"  # type: ignore[index]


async def test_callbacks_are_deduplicated_by_message_id(net: Net) -> None:
    seller = net.sellers[0]
    async with Client(net.url, TOKEN) as c:
        order = await _confirmed(c, net)
    assert order.order_id is not None
    mid = str(uuid.uuid4())
    first = await seller.push_status(
        order.order_id, "Packed", transaction_id=order.transaction_id, bap_uri=net.url, message_id=mid
    )
    assert first.ack
    again = await seller.push_status(
        order.order_id, "Packed", transaction_id=order.transaction_id, bap_uri=net.url, message_id=mid
    )
    assert not again.ack and again.error_code == "20002"  # the receiver's replay guard, within the ttl

    # after a restart the in-memory guard is empty: the database still knows the message
    port = net.served.port
    net.served.stop()
    node = BuyerNode(net.node.config, net.store, LookupCache(net.source))
    net.served = Served(build_app(node, TOKEN), port).start()
    third = await seller.push_status(
        order.order_id,
        "Order-delivered",
        transaction_id=order.transaction_id,
        bap_uri=net.url,
        message_id=mid,
    )
    assert third.ack  # acknowledged (the seller may stop retrying) but not applied twice
    statuses = [e for e in net.store.events() if e["action"] == "on_status"]
    assert [(e["message_id"], e["fulfillment_state"]) for e in statuses] == [(mid, "Packed")]
    assert net.store.get_order(order.id)["fulfillment_state"] == "Packed"  # type: ignore[index]
