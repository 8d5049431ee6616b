"""A small network on loopback for the gateway tests: a real registry (in a thread), the gateway
(on the test's event loop), fake sellers and a buyer app built with mercato.transport, all
onboarded through the registry's real /subscribe flow."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from mercato.gateway.app import Gateway
from mercato.gateway.config import GatewaySettings
from mercato.gateway.node import run as run_gateway
from mercato.protocol.catalog_publish import build_publication, search_mode_tag, sign_publication
from mercato.protocol.keys import KeyPair
from mercato.protocol.messages import format_timestamp, make_context
from mercato.protocol.onboarding import Participation, answer_on_subscribe, build_subscribe_request
from mercato.registry.app import RegistrySettings, create_app
from mercato.registry.identity import RegistryIdentity
from mercato.transport.client import BecknClient
from mercato.transport.lookup import LookupCache, RegistryKeySource
from mercato.transport.server import BecknReceiver, Inbound
from tests.ports import free_port

DOMAIN = "ONDC:RET10"
CITY = "std:080"
ADMIN = "gw-test-admin-" + uuid.uuid4().hex


class ThreadServer:
    def __init__(self, app: Any) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Node:
    """A fake participant: keys, and a BecknReceiver mounted at /{name} on the shared server."""

    name: str
    role: str  # BPP or BAP
    keys: KeyPair = field(default_factory=KeyPair.generate)
    ukid: str = field(default_factory=lambda: str(uuid.uuid4()))
    delay_s: float = 0.0  # seller: wait before answering on_search
    items: int = 2  # seller: items per on_search
    answers: int = 1  # seller: on_search messages per search
    hang: bool = False  # seller: never answer the forwarded search (a dead seller)
    inbox: list[Inbound] = field(default_factory=list)
    url: str = ""
    subscriber_url: str = ""

    @property
    def subscriber_id(self) -> str:
        return f"{self.name}.test"

    def client(self) -> BecknClient:
        return BecknClient(self.subscriber_id, self.ukid, self.keys.signing)


def catalog(seller: Node, n: int, tag: str = "") -> dict[str, Any]:
    return {
        "descriptor": {"name": seller.name},
        "providers": [
            {
                "id": f"{seller.name}-p",
                "descriptor": {"name": f"{seller.name} shop"},
                "items": [
                    {
                        "id": f"{seller.name}-i{i}{tag}",
                        "descriptor": {"name": f"rice {i}"},
                        "price": {"currency": "INR", "value": "10.00"},
                    }
                    for i in range(n)
                ],
            }
        ],
    }


class Network:
    def __init__(self, tmp: str, gateway_db: str, **gateway_options: Any) -> None:
        self.tmp = tmp
        self.gateway_db = gateway_db
        self.gateway_options = gateway_options
        self.nodes: dict[str, Node] = {}
        self.identity = RegistryIdentity("registry.test", "reg-1", KeyPair.generate())
        self.registry = ThreadServer(
            create_app(
                RegistrySettings(
                    db_url=f"sqlite:///{tmp}/registry.db", identity=self.identity, admin_token=ADMIN
                )
            )
        )
        self.hang_hits = 0
        self._tasks: list[asyncio.Task[Any]] = []

    # --- the shared participant server ------------------------------------------------------------

    async def _on_subscribe(self, request: Request) -> Response:
        node = self.nodes[request.path_params["name"]]
        body = await request.body()
        return JSONResponse(answer_on_subscribe(body, node.keys, self.identity.keys.encryption_public_key))

    async def _handle(self, node: Node, inbound: Inbound) -> None:
        node.inbox.append(inbound)
        if node.role == "BPP" and inbound.action == "search" and inbound.gateway is not None:
            self._tasks.append(asyncio.ensure_future(self._answer(node, inbound)))

    async def _answer(self, node: Node, inbound: Inbound) -> None:
        await asyncio.sleep(node.delay_s)
        assert inbound.gateway is not None and inbound.gateway.subscriber_url
        async with node.client() as client:
            for k in range(node.answers):
                await client.send(
                    inbound.gateway.subscriber_url, "on_search", self.on_search(node, inbound, k)
                )

    def on_search(self, node: Node, search: Inbound, k: int = 0) -> bytes:
        ctx = make_context(
            reply_to=search.request.context, bpp_id=node.subscriber_id, bpp_uri=node.subscriber_url
        )
        return orjson.dumps(
            {
                "context": ctx.model_dump(by_alias=True, exclude_none=True),
                "message": {"catalog": catalog(node, node.items, f"-{k}")},
            }
        )

    async def _hang(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.hang_hits += 1
        try:
            await reader.read(1 << 20)
            await asyncio.sleep(60)
        finally:
            writer.close()

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self, nodes: list[Node]) -> None:
        self.registry_url = await asyncio.to_thread(self.registry.start)
        self.keysource = await RegistryKeySource.discover(self.registry_url)
        self.lookup = LookupCache(self.keysource, max_age_s=5, negative_ttl_s=0.5)
        routes: list[Any] = [Route("/{name}/on_subscribe", self._on_subscribe, methods=["POST"])]
        for node in nodes:
            self.nodes[node.name] = node
            recv = BecknReceiver(
                keys=self.lookup,
                handler=lambda inbound, n=node: self._handle(n, inbound),
                actions=("search", "on_search"),
                subscriber_id=node.subscriber_id,
            )
            routes.append(Mount(f"/{node.name}", recv))
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(Starlette(routes=routes), port=port, log_level="warning"))
        self._tasks.append(asyncio.ensure_future(self.server.serve()))
        self.hang_server = await asyncio.start_server(self._hang, "127.0.0.1", 0)
        hang_url = f"http://127.0.0.1:{self.hang_server.sockets[0].getsockname()[1]}"
        while not self.server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.01)
        for node in nodes:
            node.url = f"{self.base}/{node.name}"
            node.subscriber_url = hang_url if node.hang else node.url
            await self.subscribe(node)
        # the gateway
        gw_port = free_port()
        self.gateway_url = f"http://127.0.0.1:{gw_port}"
        settings = GatewaySettings(
            subscriber_id="gateway.test",
            unique_key_id="gw-1",
            keys=KeyPair.generate(),
            registry_url=self.registry_url,
            db_url=self.gateway_db,
            url=self.gateway_url,
            **self.gateway_options,
        )
        ready = asyncio.get_running_loop().create_future()
        self.stop_event = asyncio.Event()
        self.gateway_task = asyncio.ensure_future(
            run_gateway(settings, "127.0.0.1", gw_port, ready=ready.set_result, stop=self.stop_event)
        )
        done, _ = await asyncio.wait(
            {ready, self.gateway_task}, timeout=30, return_when=asyncio.FIRST_COMPLETED
        )
        if self.gateway_task in done:
            self.gateway_task.result()
        self.gateway: Gateway = ready.result()

    async def subscribe(self, node: Node) -> None:
        req = build_subscribe_request(
            subscriber_id=node.subscriber_id,
            unique_key_id=node.ukid,
            keys=node.keys,
            subscriber_url=node.subscriber_url,
            callback_url=node.url,
            participations=[Participation(node.role, DOMAIN, [CITY])],
        )
        async with httpx.AsyncClient(timeout=10) as http:
            resp = await http.post(self.registry_url + "/subscribe", content=req.body, headers=req.headers)
        assert resp.status_code == 200, resp.text

    async def revoke(self, node: Node) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            resp = await http.post(
                self.registry_url + "/admin/revoke",
                headers={"Authorization": f"Bearer {ADMIN}"},
                content=orjson.dumps({"subscriber_id": node.subscriber_id, "unique_key_id": node.ukid}),
            )
        assert resp.status_code == 200, resp.text

    async def stop(self) -> None:
        self.stop_event.set()
        await asyncio.gather(self.gateway_task, return_exceptions=True)
        self.server.should_exit = True
        self.hang_server.close()
        for t in self._tasks:
            if not t.done():
                t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.keysource.aclose()
        await asyncio.to_thread(self.registry.stop)

    # --- buyer side -------------------------------------------------------------------------------

    def search_body(self, bap: Node, *, mode: str | None = None, text: str = "rice", **intent: Any) -> bytes:
        ctx = make_context(
            "search",
            domain=DOMAIN,
            country="IND",
            city=CITY,
            bap_id=bap.subscriber_id,
            bap_uri=bap.url,
            ttl="PT10S",
        )
        message: dict[str, Any] = {"intent": {"item": {"descriptor": {"name": text}}, **intent}}
        if mode is not None:
            message["intent"]["tags"] = [search_mode_tag(mode)]
        return orjson.dumps({"context": ctx.model_dump(by_alias=True, exclude_none=True), "message": message})

    async def search(self, bap: Node, body: bytes) -> Any:
        async with bap.client() as client:
            return await client.send(self.gateway_url, "search", body)

    async def publish(self, seller: Node, body: bytes, *, signer: Node | None = None) -> httpx.Response:
        s = signer or seller
        headers = sign_publication(body, s.keys.signing, s.subscriber_id, s.ukid)
        async with httpx.AsyncClient(timeout=30) as http:
            return await http.post(self.gateway_url + "/catalog/publish", content=body, headers=headers)

    def publication(self, seller: Node, version: int, cat: dict[str, Any], **kw: Any) -> bytes:
        return build_publication(
            bpp_id=seller.subscriber_id,
            bpp_uri=seller.subscriber_url,
            domain=DOMAIN,
            cities=[CITY],
            version=version,
            catalog=cat,
            published_at=format_timestamp(),
            **kw,
        )


async def until(predicate: Any, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
