"""Registry test harness: a registry app on SQLite or PostgreSQL, and a real subscriber callback
server on loopback that answers /on_subscribe with mercato.protocol.onboarding."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mercato.db import session_factory
from mercato.protocol.keys import KeyPair
from mercato.protocol.onboarding import (
    Participation,
    SignedRequest,
    answer_on_subscribe,
    build_subscribe_request,
)
from mercato.protocol.signing import verify
from mercato.registry.app import RegistrySettings, create_app
from mercato.registry.database import open_engine
from mercato.registry.identity import RegistryIdentity
from mercato.registry.models import Participation as ParticipationRow
from mercato.registry.models import Subscriber as SubscriberRow
from mercato.registry.models import SubscriberKey

ADMIN_TOKEN = "test-admin-token-" + uuid.uuid4().hex


# --- the subscriber side: a real HTTP server on loopback -------------------------------------


@dataclass
class Behaviour:
    keys: KeyPair
    mode: str = "ok"  # ok | wrong | http500 | notjson | slow
    calls: list[dict[str, Any]] = field(default_factory=list)


class CallbackServer:
    """One uvicorn server in a thread; each subscriber answers at /<name>/on_subscribe."""

    def __init__(self) -> None:
        self.behaviours: dict[str, Behaviour] = {}
        self.registry_encryption_public_key = ""
        self.registry_signing_public_key = ""
        app = Starlette(routes=[Route("/{name}/on_subscribe", self.on_subscribe, methods=["POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def on_subscribe(self, request: Request) -> Response:
        name = request.path_params["name"]
        b = self.behaviours.get(name)
        if b is None:
            return JSONResponse({"error": "unknown subscriber"}, status_code=404)
        raw = await request.body()
        signed_ok = True
        try:
            verify(request.headers.get("authorization", ""), raw, self.registry_signing_public_key)
        except Exception:
            signed_ok = False
        b.calls.append({"body": orjson.loads(raw), "signed_by_registry": signed_ok})
        if b.mode == "http500":
            return Response("boom", status_code=500)
        if b.mode == "notjson":
            return Response("not json", status_code=200)
        answer = answer_on_subscribe(raw, b.keys, self.registry_encryption_public_key)
        if b.mode == "wrong":
            answer = {"answer": answer["answer"] + "x"}
        return JSONResponse(answer)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("callback server did not start")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def callback_server() -> Iterator[CallbackServer]:
    server = CallbackServer()
    server.start()
    yield server
    server.stop()


# --- the registry ------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@dataclass
class Registry:
    client: TestClient
    identity: RegistryIdentity
    settings: RegistrySettings
    clock: Clock
    callbacks: CallbackServer
    db_url: str

    # -- subscribers --
    def new_subscriber(self, mode: str = "ok", keys: KeyPair | None = None, name: str | None = None) -> Sub:
        name = name or f"np-{uuid.uuid4().hex[:10]}"
        keys = keys or KeyPair.generate()
        self.callbacks.behaviours[name] = Behaviour(keys, mode)
        return Sub(self, f"{name}.example.org", name, keys)

    def subscribe(self, req: SignedRequest, headers: dict[str, str] | None = None) -> Any:
        return self.client.post("/subscribe", content=req.body, headers={**req.headers, **(headers or {})})

    def lookup(self, **query: Any) -> Any:
        return self.client.post(
            "/lookup", content=orjson.dumps(query), headers={"Content-Type": "application/json"}
        )

    def records(self, **query: Any) -> list[dict[str, Any]]:
        resp = self.lookup(**query)
        assert resp.status_code == 200, resp.text
        return list(resp.json())

    def snapshot(self) -> tuple[Any, ...]:
        """Every row of every registry table: compared before and after refused requests."""
        engine = self.client.app.state.engine  # type: ignore[attr-defined]
        with session_factory(engine)() as s:
            subs = [
                (r.subscriber_id, r.status, r.callback_url, r.updated)
                for r in s.scalars(select(SubscriberRow))
            ]
            keys = [
                (k.subscriber_id, k.unique_key_id, k.status, k.valid_until)
                for k in s.scalars(select(SubscriberKey))
            ]
            parts = [(p.subscriber_id, p.type, p.domain, p.city) for p in s.scalars(select(ParticipationRow))]
        return (sorted(subs), sorted(keys), sorted(parts))


@dataclass
class Sub:
    registry: Registry
    subscriber_id: str
    name: str
    keys: KeyPair
    ukid: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def url(self) -> str:
        return self.registry.callbacks.url(self.name)

    def request(
        self,
        *,
        participations: list[Participation] | None = None,
        keys: KeyPair | None = None,
        ukid: str | None = None,
        **kw: Any,
    ) -> SignedRequest:
        return build_subscribe_request(
            subscriber_id=self.subscriber_id,
            unique_key_id=ukid or self.ukid,
            keys=keys or self.keys,
            subscriber_url=self.url,
            participations=participations or [Participation("BPP", "ONDC:RET10", ["std:080"])],
            **kw,
        )

    def subscribe(self, **kw: Any) -> Any:
        return self.registry.subscribe(self.request(**kw))


def make_registry(db_url: str, callbacks: CallbackServer, admin_token: str | None = ADMIN_TOKEN) -> Registry:
    identity = RegistryIdentity("registry.test", "reg-key-1", KeyPair.generate())
    callbacks.registry_encryption_public_key = identity.keys.encryption_public_key
    callbacks.registry_signing_public_key = identity.keys.signing_public_key
    clock = Clock()
    settings = RegistrySettings(
        db_url=db_url, identity=identity, admin_token=admin_token, callback_timeout_s=3.0, clock=clock
    )
    engine = open_engine(db_url)
    client = TestClient(create_app(settings, engine=engine), raise_server_exceptions=True)
    return Registry(client, identity, settings, clock, callbacks, db_url)


@pytest.fixture
def registry(db_url: str, callback_server: CallbackServer) -> Iterator[Registry]:
    reg = make_registry(db_url, callback_server)
    with reg.client:
        yield reg
