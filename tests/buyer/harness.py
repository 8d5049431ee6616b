"""Loopback networks for the buyer tests: a buyer node served by uvicorn, fake sellers and a fake
gateway built with mercato.transport (real signed HTTP), and keys served by a static key source."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn

from mercato.buyer.node import BuyerNode, NodeConfig
from mercato.buyer.server import build_app
from mercato.buyer.store import BuyerStore, open_store
from mercato.protocol.actions import SELLER_ACTIONS
from mercato.protocol.keys import KeyPair
from mercato.protocol.messages import make_context
from mercato.transport.client import BecknClient
from mercato.transport.lookup import LookupCache, StaticKeySource, SubscriberKey
from mercato.transport.server import BecknReceiver, Inbound
from tests.ports import free_port

TOKEN = "test-token-" + uuid.uuid4().hex


class Served:
    """An ASGI app on a loopback port, served by uvicorn in a thread (lifespan on)."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Identity:
    subscriber_id: str
    type: str
    keys: KeyPair = field(default_factory=KeyPair.generate)
    ukid: str = "k1"

    def record(self, url: str = "") -> SubscriberKey:
        return SubscriberKey(
            subscriber_id=self.subscriber_id,
            unique_key_id=self.ukid,
            signing_public_key=self.keys.signing_public_key,
            type=self.type,
            subscriber_url=url or None,
        )


ITEMS = [("rice-5kg", "Basmati rice 5 kg", "450.00"), ("dal-1kg", "Toor dal 1 kg", "160.50")]


class FakeSeller:
    """A BPP that answers every action with a plausible callback; behaviour is configurable."""

    def __init__(
        self, name: str, source: StaticKeySource, items: list[tuple[str, str, str]] | None = None
    ) -> None:
        self.identity = Identity(f"{name}.sellers.test", "BPP")
        source.add(self.identity.record())
        self.provider_id = f"{name}-shop"
        self.items = items or ITEMS
        self.search_delay_s = 0.0
        self.nack: dict[str, str] = {}  # action -> Beckn code to NACK with
        self.callback_error: dict[str, str] = {}  # action -> code carried in the callback's error
        self.silent: set[str] = set()  # actions acknowledged but never answered
        self.received: list[Inbound] = []
        self.orders: dict[str, dict[str, Any]] = {}
        self.modes: list[str] = []
        self.sent: list[tuple[str, Any]] = []  # (callback action, the buyer's ACK/NACK)
        self.receiver = BecknReceiver(
            keys=LookupCache(source),
            handler=self.handle,
            actions=SELLER_ACTIONS,
            subscriber_id=self.identity.subscriber_id,
        )
        self.served = Served(self.receiver)
        self.client: BecknClient | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    @property
    def id(self) -> str:
        return self.identity.subscriber_id

    @property
    def url(self) -> str:
        return self.served.url

    async def handle(self, inbound: Inbound) -> None:
        self.received.append(inbound)
        if inbound.action in self.nack:
            from mercato.protocol.errors import Code, ProtocolError

            raise ProtocolError(
                Code(self.nack[inbound.action]), f"{inbound.action} refused by the test seller"
            )
        if inbound.action in self.silent:
            return
        task = asyncio.create_task(self.answer(inbound))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _client(self) -> BecknClient:
        if self.client is None:
            self.client = BecknClient(self.id, self.identity.ukid, self.identity.keys.signing)
        return self.client

    async def send(
        self,
        action: str,
        reply_to: Any,
        message: dict[str, Any] | None,
        error: dict[str, str] | None = None,
        message_id: str | None = None,
        own_client: bool = False,
    ) -> Any:
        ctx = make_context(action, reply_to=reply_to, bpp_id=self.id, bpp_uri=self.url, message_id=message_id)
        body: dict[str, Any] = {"context": ctx.model_dump(by_alias=True, exclude_none=True)}
        if message is not None:
            body["message"] = message
        if error is not None:
            body["error"] = error
        if own_client:  # called from another event loop than the seller's server (a test)
            async with BecknClient(self.id, self.identity.ukid, self.identity.keys.signing) as client:
                answer = await client.send(str(reply_to.bap_uri), action, orjson.dumps(body))
        else:
            answer = await self._client().send(str(reply_to.bap_uri), action, orjson.dumps(body))
        self.sent.append((action, answer))
        return answer

    def _order(self, req: Any) -> dict[str, Any]:
        order: dict[str, Any] = req.message.order.model_dump(by_alias=True, exclude_none=True)
        prices = {i: p for i, _, p in self.items}
        total = 0
        for it in order.get("items", []):
            qty = it.get("quantity", {}).get("selected", {}).get("count", 1)
            total += round(float(prices.get(it["id"], "0")) * 100) * qty
        order["quote"] = {"price": {"currency": "INR", "value": f"{total // 100}.{total % 100:02d}"}}
        return order

    async def answer(self, inbound: Inbound) -> None:
        req: Any = inbound.request
        ctx = req.context
        action = inbound.action
        await asyncio.sleep(self.search_delay_s if action == "search" else 0.005)
        if action in self.callback_error:
            await self.send("on_" + action, ctx, None, {"code": self.callback_error[action], "message": "no"})
            return
        msg: dict[str, Any]
        if action == "search":
            tags = req.message.intent.tags if req.message.intent else None
            for g in tags or ():
                for t in g.list_ or ():
                    if t.descriptor and t.descriptor.code == "mode":
                        self.modes.append(str(t.value))
            items = [
                {
                    "id": i,
                    "descriptor": {"name": n},
                    "price": {"currency": "INR", "value": p},
                    "quantity": {"available": {"count": 7}},
                }
                for i, n, p in self.items
            ]
            msg = {
                "catalog": {
                    "providers": [{"id": self.provider_id, "descriptor": {"name": self.id}, "items": items}]
                }
            }
        elif action in ("select", "init"):
            msg = {"order": self._order(req)}
            if action == "init":
                msg["order"]["payments"] = [{"type": "ON-FULFILLMENT", "status": "NOT-PAID"}]
        elif action == "confirm":
            order = self._order(req)
            order["id"] = "ord-" + uuid.uuid4().hex[:8]
            order["status"] = "ACTIVE"
            order["fulfillments"] = [{"id": "f1", "state": {"descriptor": {"code": "Pending"}}}]
            self.orders[order["id"]] = order
            msg = {"order": order}
        elif action in ("status", "cancel"):
            order = self.orders[req.message.order_id]
            if action == "cancel":
                order["status"] = "CANCELLED"
                order["fulfillments"][0]["state"]["descriptor"]["code"] = "Cancelled"
            msg = {"order": order}
        elif action == "update":
            order = self.orders[req.message.order.id]
            msg = {"order": order}
        elif action == "track":
            msg = {"tracking": {"url": f"{self.url}/track/1", "status": "active"}}
        elif action == "rating":
            msg = {}
        else:
            msg = {
                "support": {
                    "ref_id": req.message.support.ref_id,
                    "phone": "+911234567890",
                    "email": "help@shop.test",
                }
            }
        await self.send("on_" + action, ctx, msg)

    async def push_status(
        self,
        order_id: str,
        state: str,
        *,
        transaction_id: str,
        bap_uri: str,
        message_id: str | None = None,
        action: str = "on_status",
    ) -> Any:
        """An unsolicited on_status (the seller's own news)."""
        order = self.orders[order_id]
        order["fulfillments"][0]["state"]["descriptor"]["code"] = state
        if state == "Order-delivered":
            order["status"] = "COMPLETED"
        ctx = make_context(
            "status",
            domain="ONDC:RET10",
            country="IND",
            city="std:080",
            bap_id="buyer.test",
            bap_uri=bap_uri,
            transaction_id=transaction_id,
        )
        return await self.send(action, ctx, {"order": order}, message_id=message_id, own_client=True)


class FakeGateway:
    """A BG that forwards each signed search to every seller it knows, with its own signature."""

    def __init__(self, source: StaticKeySource, sellers: list[FakeSeller]) -> None:
        self.identity = Identity("gateway.test", "BG")
        source.add(self.identity.record())
        self.sellers = sellers
        self.nack: str | None = None
        self.index_catalogs: list[dict[str, Any]] = []  # answer from "the index" with these catalogs
        self.receiver = BecknReceiver(keys=LookupCache(source), handler=self.handle, actions=("search",))
        self.served = Served(self.receiver)
        self.client: BecknClient | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def handle(self, inbound: Inbound) -> None:
        if self.nack:
            from mercato.protocol.errors import Code, ProtocolError

            raise ProtocolError(Code(self.nack), "search refused by the test gateway")
        if self.index_catalogs:
            task = asyncio.create_task(self.answer_from_index(inbound))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            return
        auth = inbound.signature.render()
        for s in self.sellers:
            task = asyncio.create_task(self.forward(s.url, inbound.body, auth))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def answer_from_index(self, inbound: Inbound) -> None:
        ctx = make_context(
            reply_to=inbound.request.context, bpp_id=self.identity.subscriber_id, bpp_uri=self.served.url
        )
        context = ctx.model_dump(by_alias=True, exclude_none=True)
        async with BecknClient(
            self.identity.subscriber_id, self.identity.ukid, self.identity.keys.signing
        ) as client:
            for catalog in self.index_catalogs:
                body = orjson.dumps({"context": context, "message": {"catalog": catalog}})
                await client.send(str(inbound.request.context.bap_uri), "on_search", body)

    async def forward(self, url: str, body: bytes, authorization: str) -> None:
        if self.client is None:
            self.client = BecknClient(
                self.identity.subscriber_id, self.identity.ukid, self.identity.keys.signing
            )
        await self.client.forward(url, "search", body, authorization)


@dataclass
class Net:
    source: StaticKeySource
    buyer: Identity
    store: BuyerStore
    node: BuyerNode
    served: Served
    sellers: list[FakeSeller]
    gateway: FakeGateway

    @property
    def url(self) -> str:
        return self.served.url

    def stop(self) -> None:
        for s in [self.served, self.gateway.served, *(x.served for x in self.sellers)]:
            s.stop()
        self.store.close()


def start_net(db_url: str, sellers: int = 2) -> Net:
    source = StaticKeySource()
    buyer = Identity("buyer.test", "BAP")
    source.add(buyer.record())
    fakes = [FakeSeller(f"s{i}", source) for i in range(sellers)]
    gateway = FakeGateway(source, fakes)
    for f in fakes:
        f.served.start()
    gateway.served.start()
    store = open_store(db_url)
    port = free_port()
    config = NodeConfig(
        subscriber_id=buyer.subscriber_id,
        unique_key_id=buyer.ukid,
        keys=buyer.keys,
        bap_uri=f"http://127.0.0.1:{port}",
        gateway_url=gateway.served.url,
        max_deadline_s=30.0,
    )
    node = BuyerNode(config, store, LookupCache(source))
    served = Served(build_app(node, TOKEN), port).start()
    return Net(source, buyer, store, node, served, fakes, gateway)
