"""End to end on loopback: a signing client, a receiver served by uvicorn, a registry over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mercato.protocol.messages import parse_request
from mercato.protocol.signing import verify
from mercato.transport.client import BecknClient, DeliveryError, parse_answer, serialise
from mercato.transport.lookup import LookupCache, RegistryKeySource
from mercato.transport.server import BecknReceiver, Inbound
from tests.transport.transport_helpers import FakeRegistry, Party, ServerThread, body, message

pytestmark = pytest.mark.e2e


class Seller:
    def __init__(self, registry: FakeRegistry) -> None:
        self.source = RegistryKeySource(
            registry.url,  # type: ignore[attr-defined]
            registry_public_key=registry.keys.signing_public_key,
            registry_subscriber_id="registry.example",
        )
        self.received: list[Inbound] = []
        self.receiver = BecknReceiver(
            keys=LookupCache(self.source), handler=self.handle, subscriber_id="seller.example"
        )
        self.app = FastAPI(routes=[self.receiver.route("/beckn/{action}")])

    async def handle(self, inbound: Inbound) -> None:
        self.received.append(inbound)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[FakeRegistry, Seller, str, Party, Party]]:
    bap = Party("buyer.example", "BAP")
    bg = Party("gateway.example", "BG")
    registry = FakeRegistry(bap, bg, Party("seller.example", "BPP"))
    with ServerThread(registry.app) as reg_srv:
        registry.url = reg_srv.url  # type: ignore[attr-defined]
        seller = Seller(registry)
        with ServerThread(seller.app) as srv:
            yield registry, seller, srv.url + "/beckn", bap, bg


async def test_signed_search_is_acked_and_handed_over(world: Any) -> None:
    registry, seller, url, bap, _bg = world
    seller.received.clear()
    payload = message("search", bpp_id=None)
    async with BecknClient(bap.subscriber_id, bap.ukid, bap.keys.signing) as client:
        answer = await client.send(url, "search", payload)
    assert answer.ack and answer.status == 200 and answer.error is None
    (inbound,) = seller.received
    assert inbound.body == orjson.dumps(payload)
    assert inbound.request.context.message_id == payload["context"]["message_id"]


async def test_many_requests_make_one_registry_lookup(world: Any) -> None:
    registry, seller, url, bap, _bg = world
    seller.received.clear()
    before = len([q for q in registry.lookups if q["subscriber_id"] == "buyer.example"])
    async with BecknClient(bap.subscriber_id, bap.ukid, bap.keys.signing) as client:
        answers = await asyncio.gather(
            *(client.send(url, "search", body("search", bpp_id=None)) for _ in range(50))
        )
    assert all(a.ack for a in answers)
    assert len(seller.received) == 50
    after = len([q for q in registry.lookups if q["subscriber_id"] == "buyer.example"])
    assert after - before <= 1  # at most the first lookup, if no earlier test made it


async def test_a_nack_is_an_answer(world: Any) -> None:
    _registry, seller, url, bap, _bg = world
    seller.received.clear()
    bad = message("search", bpp_id=None)
    bad["context"]["version"] = "0.9.1"
    async with BecknClient(bap.subscriber_id, bap.ukid, bap.keys.signing) as client:
        answer = await client.send(url, "search", bad)
        stranger = Party("stranger.example")
        async with BecknClient(stranger.subscriber_id, "k1", stranger.keys.signing) as other:
            unknown = await other.send(url, "search", body("search", bap_id="stranger.example", bpp_id=None))
    assert not answer.ack and answer.status == 400 and answer.error_code == "30000"
    assert "version" in (answer.error_message or "")
    assert not unknown.ack and unknown.status == 401 and unknown.error_code == "10001"
    assert seller.received == []


async def test_gateway_forwards_the_same_bytes_with_its_own_signature(world: Any) -> None:
    _registry, seller, url, bap, bg = world
    seller.received.clear()
    raw = body("search", bpp_id=None)
    auth = bap.sign(raw)
    async with BecknClient(bg.subscriber_id, bg.ukid, bg.keys.signing) as gateway:
        answer = await gateway.forward(url, "search", raw, auth)
        legacy = await gateway.forward(url, "search", body("search", bpp_id=None), auth, legacy=True)
    assert answer.ack
    assert not legacy.ack and legacy.status == 401  # bap's signature does not cover other bytes
    (inbound,) = seller.received
    assert inbound.body == raw
    assert inbound.gateway is not None and inbound.gateway.subscriber_id == "gateway.example"


async def test_model_payload_is_serialised_once_and_signed_as_sent(world: Any) -> None:
    _registry, seller, url, bap, _bg = world
    seller.received.clear()
    model = parse_request(body("search", bpp_id=None))
    raw = serialise(model)
    async with BecknClient(bap.subscriber_id, bap.ukid, bap.keys.signing) as client:
        answer = await client.send(url, "search", model)
    assert answer.ack
    assert seller.received[0].body == raw
    verify(seller.received[0].signature, raw, bap.keys.signing_public_key)


# --- delivery failures ---------------------------------------------------------------------------


async def test_connection_refused_is_a_delivery_error() -> None:
    bap = Party("buyer.example")
    async with BecknClient(bap.subscriber_id, "k1", bap.keys.signing, timeout_s=2) as client:
        with pytest.raises(DeliveryError, match="cannot post"):
            await client.send("http://127.0.0.1:9", "search", body("search", bpp_id=None))


async def test_timeout_and_non_beckn_answers_are_delivery_errors() -> None:
    async def slow(_request: Request) -> Response:
        await asyncio.sleep(2)
        return Response(b"{}")

    async def html(_request: Request) -> Response:
        return Response(b"<h1>502 Bad Gateway</h1>", status_code=502)

    app = Starlette(
        routes=[Route("/slow/search", slow, methods=["POST"]), Route("/html/search", html, methods=["POST"])]
    )
    bap = Party("buyer.example")
    with ServerThread(app) as srv:
        async with BecknClient(bap.subscriber_id, "k1", bap.keys.signing, timeout_s=0.3) as client:
            with pytest.raises(DeliveryError, match="timed out"):
                await client.send(srv.url + "/slow", "search", body("search", bpp_id=None))
            with pytest.raises(DeliveryError, match="502") as info:
                await client.send(srv.url + "/html", "search", body("search", bpp_id=None))
    assert info.value.status == 502


def test_parse_answer() -> None:
    ack = parse_answer(200, b'{"message":{"ack":{"status":"ACK"}}}')
    assert ack.ack and ack.error is None
    nack = parse_answer(400, b'{"message":{"ack":{"status":"NACK"}},"error":{"code":"30000","message":"m"}}')
    assert not nack.ack and nack.error_code == "30000" and nack.error_message == "m"
    assert not parse_answer(500, b'{"message":{"ack":{"status":"ACK"}}}').ack  # ACK with a 5xx is no ACK
    for bad in (b"", b"[]", b'{"message":{}}', b'{"message":{"ack":{"status":"MAYBE"}}}'):
        with pytest.raises(DeliveryError):
            parse_answer(200, bad)


def test_client_signs_exactly_the_bytes_it_sends() -> None:
    bap = Party("buyer.example")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"message": {"ack": {"status": "ACK"}}})

    async def run() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        client = BecknClient(bap.subscriber_id, "k1", bap.keys.signing, client=http)
        await client.send("http://bpp.example/beckn/", "select", message("select"))
        await http.aclose()

    asyncio.run(run())
    (req,) = seen
    assert str(req.url) == "http://bpp.example/beckn/select"
    raw = req.content
    verify(
        req.headers["authorization"],
        raw,
        bap.keys.signing_public_key,
        body_digest_header=req.headers["digest"],
    )
    sig = verify(req.headers["authorization"], raw, bap.keys.signing_public_key)
    assert sig.expires - sig.created == 60
    assert req.headers["content-type"] == "application/json"
