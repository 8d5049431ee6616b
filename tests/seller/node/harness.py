"""A real network on loopback for the seller tests: `mercato registry serve` and `mercato seller serve`
as subprocesses, and a buyer app (BAP) in this process that subscribes through the registry, signs its
requests and records every callback after verifying its signature (mercato.transport.BecknReceiver)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mercato.protocol.actions import CALLBACK_ACTIONS
from mercato.protocol.keys import KeyPair
from mercato.protocol.messages import format_timestamp
from mercato.protocol.onboarding import Participation, answer_on_subscribe, build_subscribe_request
from mercato.protocol.signing import digest_header, sign
from mercato.seller.config import write_starter
from mercato.transport.lookup import LookupCache, RegistryKeySource
from mercato.transport.server import BecknReceiver, Inbound
from tests.ports import free_port
from tests.transport.transport_helpers import ServerThread

CLI = [sys.executable, "-c", "from mercato.cli import main; main()"]


def wait_http(
    url: str,
    ok: Any = lambda r: r.status_code == 200,
    timeout: float = 30,
    proc: subprocess.Popen[bytes] | None = None,
) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = httpx.get(url, timeout=2)
            if ok(r):
                return r
        except httpx.HTTPError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} while waiting for {url}")
        if time.monotonic() > deadline:
            raise TimeoutError(url)
        time.sleep(0.05)


@dataclass
class Proc:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_registry(tmp: Path) -> Proc:
    port = free_port()
    log = tmp / "registry.log"
    proc = subprocess.Popen(
        [
            *CLI,
            "registry",
            "serve",
            "--db",
            f"sqlite:///{tmp / 'registry.db'}",
            "--port",
            str(port),
            "--key-file",
            str(tmp / "registry.key.json"),
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/keys", proc=proc)
    return Proc(proc, url, log)


@dataclass
class Seller(Proc):
    config_path: Path = Path()
    token: str = ""
    subscriber_id: str = ""

    def admin(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)


def start_seller(
    tmp: Path, registry_url: str, database_url: str | None = None, name: str = "seller"
) -> Seller:
    port = free_port()
    d = tmp / name
    sid = f"{name}-{uuid.uuid4().hex[:8]}.example"
    cfg, _ = write_starter(
        d,
        subscriber_id=sid,
        port=port,
        registry_url=registry_url,
        database_url=database_url or "sqlite:///seller.db",
    )
    log = d / "seller.log"
    proc = subprocess.Popen(
        [*CLI, "seller", "serve", "--config", str(cfg)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/health", lambda r: r.status_code == 200 and r.json()["subscribed"], proc=proc)
    token = tomllib.loads(cfg.read_text())["admin"]["token"]
    return Seller(proc, url, log, cfg, token, sid)


@dataclass
class Bap:
    """A buyer app: subscribed with the registry, sends signed requests, records verified callbacks."""

    registry_url: str
    subscriber_id: str = field(default_factory=lambda: f"bap-{uuid.uuid4().hex[:8]}.example")
    ukid: str = "k1"
    keys: KeyPair = field(default_factory=KeyPair.generate)
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        info = httpx.get(self.registry_url + "/keys", timeout=5).json()
        self.registry_encr = info["encr_public_key"]
        source = RegistryKeySource(self.registry_url, registry_public_key=info["signing_public_key"])
        self.receiver = BecknReceiver(
            keys=LookupCache(source),
            handler=self._on_callback,
            actions=CALLBACK_ACTIONS,
            subscriber_id=self.subscriber_id,
        )
        self.app = Starlette(routes=[Route("/on_subscribe", self._on_subscribe, methods=["POST"])])
        self.server = ServerThread(self.receiver.in_front_of(self.app))

    async def _on_subscribe(self, request: Request) -> Response:
        answer = answer_on_subscribe(await request.body(), self.keys, self.registry_encr)
        return JSONResponse(answer)

    async def _on_callback(self, msg: Inbound) -> None:
        with self._cond:
            self.received.append((msg.action, orjson.loads(msg.body)))
            self._cond.notify_all()

    def __enter__(self) -> Bap:
        self.server.__enter__()
        self.url = self.server.url
        req = build_subscribe_request(
            subscriber_id=self.subscriber_id,
            unique_key_id=self.ukid,
            keys=self.keys,
            subscriber_url=self.url,
            participations=[Participation("BAP", "ONDC:RET10", ["std:080"])],
        )
        r = httpx.post(self.registry_url + "/subscribe", content=req.body, headers=req.headers, timeout=10)
        assert r.status_code == 200, r.text
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    # -- sending ---------------------------------------------------------------------------------
    def context(
        self,
        action: str,
        seller: Seller,
        transaction_id: str,
        message_id: str | None = None,
        city: str = "std:080",
    ) -> dict[str, Any]:
        return {
            "domain": "ONDC:RET10",
            "location": {"country": {"code": "IND"}, "city": {"code": city}},
            "action": action,
            "version": "1.1.0",
            "bap_id": self.subscriber_id,
            "bap_uri": self.url,
            "bpp_id": seller.subscriber_id,
            "bpp_uri": seller.url,
            "transaction_id": transaction_id,
            "message_id": message_id or str(uuid.uuid4()),
            "timestamp": format_timestamp(),
            "ttl": "PT30S",
        }

    def post(self, seller: Seller, action: str, body: dict[str, Any]) -> httpx.Response:
        raw = orjson.dumps(body)
        headers = {
            "Content-Type": "application/json",
            "Digest": digest_header(raw),
            "Authorization": sign(raw, self.keys.signing, self.subscriber_id, self.ukid),
        }
        return httpx.post(f"{seller.url}/{action}", content=raw, headers=headers, timeout=30)

    def send(
        self,
        seller: Seller,
        action: str,
        message: dict[str, Any],
        transaction_id: str,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        """Send a request, require an ACK, and return the matching callback (same message id)."""
        ctx = self.context(action, seller, transaction_id, message_id)
        r = self.post(seller, action, {"context": ctx, "message": message})
        assert r.status_code == 200, r.text
        assert r.json() == {"message": {"ack": {"status": "ACK"}}}
        return self.wait(f"on_{action}", ctx["message_id"])

    def wait(
        self,
        action: str,
        message_id: str | None = None,
        *,
        transaction_id: str | None = None,
        timeout: float = 15,
        skip: int = 0,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [
                    b
                    for a, b in self.received
                    if a == action
                    and (message_id is None or b["context"]["message_id"] == message_id)
                    and (transaction_id is None or b["context"]["transaction_id"] == transaction_id)
                ]
                if len(found) > skip:
                    return found[skip]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {action} for {message_id or transaction_id}")
                self._cond.wait(left)

    def all(self) -> list[tuple[str, dict[str, Any]]]:
        with self._cond:
            return list(self.received)


@contextmanager
def network(tmp: Path, database_url: str | None = None) -> Iterator[tuple[Proc, Seller, Bap]]:
    registry = start_registry(tmp)
    seller: Seller | None = None
    try:
        seller = start_seller(tmp, registry.url, database_url)
        with Bap(registry.url) as bap:
            yield registry, seller, bap
    finally:
        if seller is not None:
            seller.stop()
        registry.stop()


def item_body(name: str, price: int, **kw: Any) -> dict[str, Any]:
    return {"provider_id": "shop", "name": name, "price": price, "currency": "INR", **kw}


def stock_up(seller: Seller, item_id: str, units: int, location: str = "shop-main") -> None:
    r = seller.admin(
        "POST", f"/admin/stock/{item_id}/{location}", json={"delta": units, "reason": "received"}
    )
    assert r.status_code == 200, r.text


def basket(item_id: str, count: int, provider: str = "shop", **order: Any) -> dict[str, Any]:
    return {
        "order": {
            "provider": {"id": provider},
            "items": [{"id": item_id, "quantity": {"selected": {"count": count}}}],
            **order,
        }
    }


BILLING = {"name": "Asha Rao", "phone": "9886012345", "email": "asha@example.org", "address": "12 MG Road"}
DELIVERY = {
    "type": "Delivery",
    "stops": [
        {
            "type": "end",
            "location": {"gps": "12.975,77.6", "area_code": "560001", "city": {"code": "std:080"}},
            "contact": {"phone": "9886012345"},
        }
    ],
}


def checkout(
    bap: Bap, seller: Seller, item_id: str, count: int, *, payment: str = "ON-ORDER", txn: str | None = None
) -> tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """select → init → confirm; returns (transaction id, on_select, on_init, on_confirm)."""
    txn = txn or str(uuid.uuid4())
    on_select = bap.send(seller, "select", basket(item_id, count, fulfillments=[DELIVERY]), txn)
    init = basket(item_id, count, fulfillments=[DELIVERY], billing=BILLING, payments=[{"type": payment}])
    on_init = bap.send(seller, "init", init, txn)
    on_confirm = bap.send(seller, "confirm", init, txn)
    return txn, on_select, on_init, on_confirm


ITEMS = (
    ("FLASK", item_body("Steel flask 1L", 50_000, tax_rate_bp=1800, max_quantity=10), 40),
    ("TEA", item_body("Assam tea 250g", 20_000, returnable=True, return_window_s=7 * 86400), 100),
    ("RARE", item_body("Rare print", 900_000), 2),
    ("FINAL", item_body("Clearance mug", 10_000, cancellable=False), 10),
)


@contextmanager
def seeded_network(tmp: Path, database_url: str | None = None) -> Iterator[tuple[Proc, Seller, Bap]]:
    """A network whose seller has four items in stock (created through the admin API)."""
    with network(tmp, database_url) as (registry, seller, bap):
        for item_id, body, units in ITEMS:
            r = seller.admin("PUT", f"/admin/items/{item_id}", json=body)
            assert r.status_code == 200, r.text
            stock_up(seller, item_id, units)
        yield registry, seller, bap
