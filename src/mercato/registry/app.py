"""The registry's HTTP API (FastAPI). See docs/registry.md for the contract.

* ``POST /subscribe`` — onboarding; runs the ``/on_subscribe`` challenge before answering.
* ``POST /lookup`` — ONDC-format records; the response is signed by the registry.
* ``POST /vlookup`` — ONDC's signed lookup by a registered subscriber.
* ``GET /keys`` — the registry's own public keys. ``GET /health``.
* ``POST /admin/revoke``, ``POST /admin/unsubscribe`` — bearer token only.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from fastapi import FastAPI, Request, Response
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from mercato.db import session_factory
from mercato.protocol.errors import Code, ProtocolError
from mercato.protocol.keys import verify_plain
from mercato.protocol.onboarding import ROTATION_HEADER
from mercato.protocol.signing import sign, vlookup_signing_string
from mercato.registry import service, store
from mercato.registry.challenge import run_challenge
from mercato.registry.database import open_engine
from mercato.registry.identity import RegistryIdentity
from mercato.registry.models import Status
from mercato.registry.schemas import (
    LookupQuery,
    SubscribeClaim,
    identifier,
    load_json_object,
    parse_lookup,
    parse_subscribe,
    parse_vlookup,
)

log = logging.getLogger("mercato.registry")


@dataclass
class RegistrySettings:
    db_url: str
    identity: RegistryIdentity
    admin_token: str | None = None
    callback_timeout_s: float = 5.0
    clock_skew_s: float = 5.0
    vlookup_window_s: float = 300.0  # how far a vlookup timestamp may be from now
    response_signature_validity_s: int = 300
    max_body_bytes: int = 64 * 1024
    #: used by tests to route the on_subscribe call; None = real network
    callback_transport: httpx.AsyncBaseTransport | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


def nack(err: ProtocolError) -> Response:
    error: dict[str, Any] = {"type": err.type.value if err.type else None, **err.to_error()}
    return json_response({"message": {"ack": {"status": "NACK"}}, "error": error}, status=err.http_status)


ACK = {"message": {"ack": {"status": "ACK"}}}


def create_app(settings: RegistrySettings, engine: Engine | None = None) -> FastAPI:
    """Build the app. Applies the registry's migrations to the database first (given an engine,
    the caller is expected to have migrated it)."""
    engine = engine or open_engine(settings.db_url)
    factory = session_factory(engine)
    identity = settings.identity

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(title="Mercato registry", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.engine = engine

    @app.exception_handler(ProtocolError)
    async def _protocol_error(_request: Request, exc: ProtocolError) -> Response:
        return nack(exc)

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > settings.max_body_bytes:
            raise ProtocolError(
                Code.BAD_REQUEST, f"body over {settings.max_body_bytes} bytes", http_status=413
            )
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > settings.max_body_bytes:
                raise ProtocolError(
                    Code.BAD_REQUEST, f"body over {settings.max_body_bytes} bytes", http_status=413
                )
        return body

    def signed(data: Any) -> Response:
        """A JSON response signed by the registry over its exact bytes."""
        body = orjson.dumps(data)
        header = sign(
            body,
            identity.keys.signing,
            identity.registry_id,
            identity.unique_key_id,
            validity_s=settings.response_signature_validity_s,
        )
        return Response(body, media_type="application/json", headers={"Authorization": header})

    @app.get("/health")
    async def health() -> Response:
        return json_response({"status": "ok", "registry_id": identity.registry_id})

    @app.get("/keys")
    async def keys() -> Response:
        return json_response(identity.public_info())

    # --- onboarding ---------------------------------------------------------------------------

    def _check(claim: SubscribeClaim, raw: bytes, rotation: str | None, now: datetime, lock: bool) -> None:
        with factory.begin() as session:
            state = store.load_state(session, claim, for_update=lock)
            service.authorize(claim, state, raw, rotation, now=now, clock_skew_s=settings.clock_skew_s)

    def _save(claim: SubscribeClaim, raw: bytes, rotation: str | None, now: datetime) -> None:
        try:
            with factory.begin() as session:
                state = store.load_state(session, claim, for_update=True)
                service.authorize(claim, state, raw, rotation, now=now, clock_skew_s=settings.clock_skew_s)
                store.save_subscription(session, claim, now)
        except IntegrityError:
            raise service.conflict("a concurrent subscribe changed this subscriber; try again") from None

    @app.post("/subscribe")
    async def subscribe(request: Request) -> Response:
        raw = await read_body(request)
        claim = parse_subscribe(raw)
        now = settings.clock()
        service.verify_subscribe_signature(
            claim,
            raw,
            request.headers.get("authorization"),
            now=now.timestamp(),
            clock_skew_s=settings.clock_skew_s,
        )
        rotation = request.headers.get(ROTATION_HEADER)
        try:
            await run_in_threadpool(_check, claim, raw, rotation, now, False)
            await run_challenge(
                identity, claim, timeout_s=settings.callback_timeout_s, transport=settings.callback_transport
            )
            await run_in_threadpool(_save, claim, raw, rotation, settings.clock())
        except ProtocolError as exc:
            log.info("subscribe %s|%s refused: %s", claim.subscriber_id, claim.unique_key_id, exc.message)
            raise
        log.info("subscribed %s|%s", claim.subscriber_id, claim.unique_key_id)
        return json_response(
            {
                **ACK,
                "status": Status.SUBSCRIBED.value,
                "subscriber_id": claim.subscriber_id,
                "unique_key_id": claim.unique_key_id,
            }
        )

    # --- lookup -------------------------------------------------------------------------------

    def _lookup(q: LookupQuery, now: datetime) -> list[dict[str, Any]]:
        with factory() as session:
            return [
                service.lookup_record(r.subscriber, r.key, r.participation, now)
                for r in store.lookup(session, q, now)
            ]

    @app.post("/lookup")
    async def lookup(request: Request) -> Response:
        q = parse_lookup(await read_body(request))
        return signed(await run_in_threadpool(_lookup, q, settings.clock()))

    def _sender_keys(sid: str, now: datetime) -> list[str]:
        with factory() as session:
            return [k.signing_public_key for k in store.live_keys(session, sid, now)]

    @app.post("/vlookup")
    async def vlookup(request: Request) -> Response:
        v = parse_vlookup(await read_body(request))
        now = settings.clock()
        if abs((v.timestamp - now).total_seconds()) > settings.vlookup_window_s:
            raise ProtocolError(
                Code.STALE_REQUEST,
                f"timestamp is more than {settings.vlookup_window_s:g}s away from the registry's clock",
                http_status=401,
            )
        message = vlookup_signing_string(v.country, v.domain, v.type_raw, v.city, v.subscriber_id).encode(
            "utf-8"
        )
        sender_keys = await run_in_threadpool(_sender_keys, v.sender_subscriber_id, now)
        if not any(verify_plain(k, message, v.signature) for k in sender_keys):
            raise service.unauthorized(
                "signature does not verify with any valid key of sender_subscriber_id "
                "(expected Ed25519 over 'country|domain|type|city|subscriber_id')"
            )
        q = LookupQuery(
            subscriber_id=v.subscriber_id, type=v.type, domain=v.domain, city=v.city, country=v.country
        )
        return signed(await run_in_threadpool(_lookup, q, now))

    # --- administration -----------------------------------------------------------------------

    def require_admin(request: Request) -> None:
        token = settings.admin_token
        if not token:
            raise ProtocolError(
                Code.POLICY_ERROR, "administration is disabled: no admin token is configured", http_status=403
            )
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            raise ProtocolError(
                Code.INVALID_SIGNATURE, "a valid admin bearer token is required", http_status=401
            )

    def _revoke(sid: str, ukid: str, now: datetime) -> bool:
        with factory.begin() as session:
            return store.set_key_status(session, sid, ukid, Status.REVOKED, now)

    @app.post("/admin/revoke")
    async def revoke(request: Request) -> Response:
        require_admin(request)
        data = load_json_object(await read_body(request))
        sid = identifier(data, "subscriber_id", "")
        ukid = identifier(data, "unique_key_id", "")
        if not await run_in_threadpool(_revoke, sid, ukid, settings.clock()):
            raise ProtocolError(Code.BAD_REQUEST, f"no key {ukid!r} for subscriber {sid!r}", http_status=404)
        log.info("revoked %s|%s", sid, ukid)
        return json_response(
            {**ACK, "subscriber_id": sid, "unique_key_id": ukid, "status": Status.REVOKED.value}
        )

    def _unsubscribe(sid: str, now: datetime) -> bool:
        with factory.begin() as session:
            return store.unsubscribe(session, sid, now)

    @app.post("/admin/unsubscribe")
    async def unsubscribe(request: Request) -> Response:
        require_admin(request)
        data = load_json_object(await read_body(request))
        sid = identifier(data, "subscriber_id", "")
        if not await run_in_threadpool(_unsubscribe, sid, settings.clock()):
            raise ProtocolError(Code.BAD_REQUEST, f"no subscriber {sid!r}", http_status=404)
        log.info("unsubscribed %s", sid)
        return json_response({**ACK, "subscriber_id": sid, "status": Status.UNSUBSCRIBED.value})

    return app
