"""The local API: the bearer token, and every bad input answered with a clear 4xx."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest

from mercato.buyer.errors import BadRequest
from mercato.buyer.sdk import (
    BuyerError,
    Client,
    Conflict,
    DeadlineExceeded,
    GatewayUnavailable,
    Nack,
    NotFound,
    Unauthorized,
    Unavailable,
)
from tests.buyer.harness import TOKEN, Net, free_port


async def test_token_is_required(sqlite_net: Net) -> None:
    async with httpx.AsyncClient(base_url=sqlite_net.url) as http:
        assert (await http.get("/api/health")).json()["subscriber_id"] == "buyer.test"
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": TOKEN},
        ):
            for method, path in (("GET", "/api/orders"), ("POST", "/api/search"), ("GET", "/api/events")):
                resp = await http.request(method, path, headers=headers, content=b'{"text": "rice"}')
                assert resp.status_code == 401, (headers, path)
                assert resp.json()["error"]["kind"] == "unauthorized"
                assert resp.headers["www-authenticate"].startswith("Bearer")
        ok = await http.get("/api/orders", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.json() == {"orders": []}
    async with Client(sqlite_net.url, "not-the-token") as c:
        with pytest.raises(Unauthorized):
            await c.orders()
    assert not any(s.received for s in sqlite_net.sellers)  # nothing reached the network


async def test_bad_input_is_refused(sqlite_net: Net) -> None:
    seller = sqlite_net.sellers[0]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    good = {
        "bpp_id": seller.id,
        "bpp_uri": seller.url,
        "provider_id": seller.provider_id,
        "items": [{"id": "rice-5kg", "quantity": 1}],
    }
    bad_selects: list[dict[str, Any]] = [
        {**good, "deadline": -1},
        {**good, "deadline": 0},
        {**good, "deadline": "soon"},
        {**good, "deadline": 1e9},
        {**good, "deadline": True},
        {**good, "items": []},
        {**good, "items": [{"id": "x", "quantity": 0}]},
        {**good, "items": [{"quantity": 1}]},
        {**good, "items": "rice"},
        {**good, "bpp_id": ""},
        {**good, "provider_id": 5},
        {**good, "bpp_uri": "ftp://x"},
        {**good, "transaction_id": "not-a-uuid"},
        {**good, "fulfillment": []},
    ]
    async with httpx.AsyncClient(base_url=sqlite_net.url, headers=auth) as http:
        for body in bad_selects:
            resp = await http.post("/api/select", json=body)
            assert resp.status_code == 400, body
            assert resp.json()["error"]["kind"] == "bad_request" and resp.json()["error"]["message"]
        for raw in (b"{", b"[1, 2]", b'"text"', b"\xff\xfe"):
            resp = await http.post("/api/select", content=raw)
            assert resp.status_code == 400
        resp = await http.post("/api/select", content=b"{" + b" " * (1024 * 1024 + 1) + b"}")
        assert resp.status_code == 400
        for body in (
            {},
            {"text": "rice", "mode": "everything"},
            {"text": 5},
            {"text": "rice", "expect": 0},
            {"text": "rice", "deadline": 500},
        ):
            resp = await http.post("/api/search", json=body)
            assert resp.status_code == 400, body
        for query in ("after=-1", "after=x", "wait=100", "wait=nan"):
            assert (await http.get(f"/api/events?{query}")).status_code == 400, query
        assert (await http.get("/api/orders?limit=0")).status_code == 400
        for body in (
            {"lines": []},
            {"lines": "x"},
            {"lines": [{"bpp_id": "a"}], "billing": {}},
            {"lines": [{**good, "item_id": "rice-5kg"}]},
        ):
            resp = await http.post("/api/checkout", json=body)
            assert resp.status_code == 400, body
        assert (await http.post("/api/orders/nope/status", json={})).status_code == 404
        assert not any(s.received for s in sqlite_net.sellers)

        order = (await http.post("/api/select", json=good)).json()
        assert (await http.post(f"/api/orders/{order['id']}/fly", json={})).status_code == 404
        for action, body in (
            ("confirm", {}),
            ("status", {}),
            ("cancel", {"reason_id": "001"}),
            ("rating", {"value": 5}),
            ("track", {}),
            ("support", {}),
        ):
            resp = await http.post(f"/api/orders/{order['id']}/{action}", json=body)
            assert resp.status_code == 409 and resp.json()["error"]["kind"] == "conflict", action
        for body in ({}, {"billing": "me"}, {"billing": {"name": "A"}, "payment": [1]}):
            assert (await http.post(f"/api/orders/{order['id']}/init", json=body)).status_code == 400
        assert (await http.post(f"/api/orders/{order['id']}/rating", json={"value": 9})).status_code == 400
        assert (await http.post(f"/api/orders/{order['id']}/cancel", json={})).status_code == 400
        assert (await http.post(f"/api/orders/{order['id']}/update", json={"target": "x"})).status_code == 400
    assert [r.action for r in seller.received] == ["select"]
    async with Client(sqlite_net.url, TOKEN) as c:
        with pytest.raises(NotFound):
            await c.order("missing")
        with pytest.raises(Conflict):
            await c.status(order["id"])
        with pytest.raises(BadRequest):
            await c.select(seller.id, seller.provider_id, [], deadline=1)


async def test_gateway_refusal_and_absence(sqlite_net: Net) -> None:
    sqlite_net.gateway.nack = "10002"
    async with Client(sqlite_net.url, TOKEN) as c:
        with pytest.raises(Nack) as info:
            await c.search("rice", deadline=2).collect()
        assert info.value.code == "10002"
        sqlite_net.gateway.served.stop()
        with pytest.raises(GatewayUnavailable):
            await c.search("rice", deadline=2).collect()


async def test_the_sdk_never_hangs() -> None:
    """A buyer node that accepts connections and never answers, and one that is not there."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    try:
        async with Client(f"http://127.0.0.1:{port}", TOKEN, grace_s=0.2) as c:
            calls = [
                c.status("o1", deadline=0.3),
                c.select("s", "p", [{"id": "i"}], deadline=0.3),
                c.search("rice", deadline=0.3).collect(),
                c.orders(deadline=0.3),
            ]
            for call in calls:
                with pytest.raises(DeadlineExceeded):
                    await asyncio.wait_for(call, 5)  # the outer bound only guards the test itself
            events = c.events(deadline=0.3, poll_s=0.2)
            with pytest.raises(DeadlineExceeded):
                await asyncio.wait_for(events.__anext__(), 5)
    finally:
        listener.close()
    async with Client(f"http://127.0.0.1:{free_port()}", TOKEN) as c:
        with pytest.raises(Unavailable):
            await c.status("o1", deadline=1)
        with pytest.raises(BuyerError):
            await c.search("rice", deadline=1).collect()
