"""Builders shared by the transport tests: parties with keys, signed Beckn bodies, loopback servers."""

from __future__ import annotations

import copy
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mercato.protocol.keys import KeyPair
from mercato.protocol.messages import format_timestamp
from mercato.protocol.signing import digest_header, sign
from mercato.transport.lookup import SubscriberKey

EXAMPLES = (
    Path(__file__).resolve().parents[1] / "fixtures/specs/beckn/examples/beckn-sandbox-local-retail-1.1.0"
)


def rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Party:
    subscriber_id: str
    type: str = "BAP"
    ukid: str = "k1"
    keys: KeyPair = field(default_factory=KeyPair.generate)
    status: str = "SUBSCRIBED"
    valid_from: float | None = None
    valid_until: float | None = None

    def record(self) -> dict[str, Any]:
        """The registry's ONDC-format lookup record for this party."""
        now = time.time()
        return {
            "subscriber_id": self.subscriber_id,
            "subscriber_url": f"https://{self.subscriber_id}/beckn",
            "type": self.type,
            "domain": "retail:1.1.0",
            "city": "std:080",
            "country": "IND",
            "signing_public_key": self.keys.signing_public_key,
            "encr_public_key": self.keys.encryption_public_key,
            "valid_from": rfc3339(self.valid_from if self.valid_from is not None else now - 3600),
            "valid_until": rfc3339(self.valid_until if self.valid_until is not None else now + 86400),
            "status": self.status,
            "ukId": self.ukid,
            "created": rfc3339(now - 3600),
            "updated": rfc3339(now - 3600),
        }

    def key(self) -> SubscriberKey:
        return SubscriberKey.from_record(self.record())

    def sign(self, body: bytes, **kw: Any) -> str:
        return sign(body, self.keys.signing, self.subscriber_id, self.ukid, **kw)

    def headers(self, body: bytes, *, digest: bool = True, **kw: Any) -> dict[str, str]:
        h = {"Content-Type": "application/json", "Authorization": self.sign(body, **kw)}
        if digest:
            h["Digest"] = digest_header(body)
        return h


_MISSING = object()


def example(action: str) -> dict[str, Any]:
    if action.startswith("on_"):
        path = EXAMPLES / "response" / f"response.{action[3:]}.json"
    else:
        path = EXAMPLES / "request" / f"request.{action}.json"
    data: dict[str, Any] = orjson.loads(path.read_bytes())
    return copy.deepcopy(data)


def message(
    action: str,
    *,
    bap_id: str = "buyer.example",
    bpp_id: str | None = "seller.example",
    message_id: str | None = None,
    ttl: str | None = "PT30S",
    timestamp: str | None = None,
    **context: Any,
) -> dict[str, Any]:
    """A valid Beckn body for ``action`` (from the sandbox examples) with a fresh context."""
    data = example(action)
    ctx = data["context"]
    ctx["bap_id"] = bap_id
    ctx["bap_uri"] = f"https://{bap_id}/beckn"
    if bpp_id is not None:
        ctx["bpp_id"] = bpp_id
        ctx["bpp_uri"] = f"https://{bpp_id}/beckn"
    else:
        ctx.pop("bpp_id", None)
        ctx.pop("bpp_uri", None)
    ctx["message_id"] = message_id or str(uuid.uuid4())
    ctx["transaction_id"] = str(uuid.uuid4())
    ctx["timestamp"] = timestamp or format_timestamp()
    if ttl is None:
        ctx.pop("ttl", None)
    else:
        ctx["ttl"] = ttl
    for k, v in context.items():
        if v is None:
            ctx.pop(k, None)
        else:
            ctx[k] = v
    return data


def body(action: str, **kw: Any) -> bytes:
    return orjson.dumps(message(action, **kw))


def ago(seconds: float) -> str:
    return format_timestamp(datetime.now(UTC) - timedelta(seconds=seconds))


class ServerThread:
    """An ASGI app served by uvicorn on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        self.config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    @property
    def url(self) -> str:
        sock = self.server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class FakeRegistry:
    """ONDC-shaped POST /lookup and GET /keys, signed like the registry signs them; counts lookups."""

    def __init__(self, *parties: Party) -> None:
        self.keys = KeyPair.generate()
        self.parties = list(parties)
        self.lookups: list[dict[str, Any]] = []
        self.mode = "signed"
        self.app = Starlette(
            routes=[
                Route("/lookup", self.lookup, methods=["POST"]),
                Route("/keys", self.pub, methods=["GET"]),
            ]
        )

    async def pub(self, _request: Request) -> Response:
        info = {
            "subscriber_id": "registry.example",
            "ukId": "r1",
            "signing_public_key": self.keys.signing_public_key,
        }
        return Response(orjson.dumps(info), media_type="application/json")

    async def lookup(self, request: Request) -> Response:
        q = orjson.loads(await request.body())
        self.lookups.append(q)
        found = [
            p.record()
            for p in self.parties
            if p.subscriber_id == q.get("subscriber_id")
            and p.ukid == q.get("ukId")
            and (p.status == "SUBSCRIBED" or q.get("include_inactive"))
        ]
        body = orjson.dumps(found)
        if self.mode == "html":
            return Response(b"<html>oops</html>", media_type="text/html")
        if self.mode == "error":
            return Response(b"{}", status_code=500)
        headers = {}
        if self.mode == "signed":
            headers["Authorization"] = sign(body, self.keys.signing, "registry.example", "r1")
        elif self.mode == "forged":
            headers["Authorization"] = sign(body, KeyPair.generate().signing, "registry.example", "r1")
        elif self.mode == "tampered":
            headers["Authorization"] = sign(body, self.keys.signing, "registry.example", "r1")
            body = body.replace(b"SUBSCRIBED", b"SUBSCRIBEX")
        return Response(body, media_type="application/json", headers=headers)
