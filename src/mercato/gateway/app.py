"""The gateway as an ASGI application: the verifying Beckn receiver for ``search`` and
``on_search`` in front of a few plain HTTP routes (publish, index queries, onboarding, health).

* ``POST /search``: signed by a buyer app. Answered from the index, by broadcast, or both,
  as the intent's ``mercato`` tag asks (see docs/gateway.md).
* ``POST /on_search``: a seller's answer to a broadcast search, relayed to the buyer app.
* ``POST /catalog/publish``: a seller's signed catalog snapshot or delta.
* ``GET /index/search``: the index as plain JSON; ``GET /index/publications/{bpp_id}/{version}``:
  a publication's exact bytes with the seller's ``Authorization``.
* ``POST /on_subscribe``: the registry's onboarding challenge. ``GET /health``: counters.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mercato.gateway.breaker import CircuitBreakers
from mercato.gateway.clients import HostClients
from mercato.gateway.config import GatewaySettings
from mercato.gateway.directory import DirectoryError, SellerDirectory
from mercato.gateway.fanout import Broadcaster, SearchBook, SearchState
from mercato.gateway.index import query as index_query
from mercato.gateway.index.results import catalog_for_seller, group_by_seller, hit_json
from mercato.gateway.index.store import CatalogIndex, authorizations
from mercato.gateway.publish import PublishEndpoint
from mercato.gateway.relay import Relay
from mercato.protocol.catalog_publish import read_search_mode
from mercato.protocol.errors import Code, ProtocolError
from mercato.protocol.messages import make_context
from mercato.protocol.onboarding import OnboardingError, answer_registry_challenge
from mercato.protocol.signing import SignatureError
from mercato.transport.client import DeliveryError
from mercato.transport.lookup import LookupCache, RegistryKeySource
from mercato.transport.server import BecknReceiver, Inbound

log = logging.getLogger("mercato.gateway")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


def error_response(status: int, code: Code, message: str, **extra: Any) -> Response:
    body = {
        "message": {"ack": {"status": "NACK"}},
        "error": {"code": code.value, "message": message},
        **extra,
    }
    return json_response(body, status)


class _PendingSource:
    async def fetch(self, subscriber_id: str, unique_key_id: str) -> list[Any]:
        from mercato.transport.lookup import RegistryUnavailable

        raise RegistryUnavailable("the gateway has not reached its registry yet")


class Gateway:
    def __init__(self, settings: GatewaySettings, index: CatalogIndex | None = None) -> None:
        self.settings = settings
        self.index = index or CatalogIndex.open(settings.db_url)
        self.clients = HostClients(settings)
        self.directory = SellerDirectory(
            settings.registry_url,
            registry_public_key=settings.registry_public_key,
            ttl_s=settings.directory_ttl_s,
        )
        self.keys = LookupCache(_PendingSource(), max_age_s=settings.key_cache_s, negative_ttl_s=5.0)
        self.breakers = CircuitBreakers(settings.breaker_failures, settings.breaker_cooldown_s)
        self.book = SearchBook()
        self.broadcaster = Broadcaster(self.clients, self.breakers, settings.seller_timeout_s)
        self.relay = Relay(self.clients, self.book, settings.max_results_per_seller)
        self.publisher = PublishEndpoint(self.index, self.keys, self.directory, settings.max_publish_bytes)
        self.receiver = BecknReceiver(
            keys=self.keys,
            handler=self.handle,
            actions=("search", "on_search"),
            subscriber_id=settings.subscriber_id,
        )
        self.registry_encryption_key: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.started = False

    async def start(self) -> None:
        """Reach the registry: its keys (for lookups and the onboarding challenge)."""
        if self.started:
            return
        info = await self.directory.registry_info()
        self.keys.source = RegistryKeySource(
            self.settings.registry_url,
            registry_public_key=self.directory.registry_public_key,
            registry_subscriber_id=self.directory.registry_id,
            include_inactive=True,
        )
        encr = info.get("encr_public_key")
        self.registry_encryption_key = encr if isinstance(encr, str) else None
        self.started = True

    async def aclose(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await self.relay.drain()
        await self.clients.aclose()
        await self.directory.aclose()
        src = self.keys.source
        if isinstance(src, RegistryKeySource):
            await src.aclose()
        self.index.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- Beckn ----------------------------------------------------------------------------------

    async def handle(self, inbound: Inbound) -> None:
        if inbound.action == "on_search":
            await self.relay.on_search(inbound)
            return
        req: Any = inbound.request
        intent = getattr(req.message, "intent", None)
        tags = [t.model_dump(by_alias=True, exclude_none=True) for t in (intent.tags or [])] if intent else []
        try:
            mode = read_search_mode(tags, self.settings.default_mode)
            query = index_query.from_intent(req, self.settings.index_limit) if mode != "broadcast" else None
        except ValueError as exc:
            raise ProtocolError(Code.INVALID_REQUEST, str(exc), path="message.intent") from None
        ctx = req.context
        state = self.book.open(ctx.bap_id, str(ctx.message_id), str(ctx.bap_uri), inbound.expires_at)
        self._spawn(self._answer(inbound, mode, query, state))

    async def _answer(
        self, inbound: Inbound, mode: str, query: index_query.IndexQuery | None, state: SearchState
    ) -> None:
        try:
            if query is not None:
                await self._answer_from_index(inbound, query, state)
            if mode in ("broadcast", "both"):
                ctx: Any = inbound.request.context
                try:
                    sellers = await self.directory.sellers(ctx.domain, ctx.location.city.code)
                except DirectoryError as exc:
                    log.warning("no broadcast: %s", exc)
                    return
                await self.broadcaster.broadcast(sellers, inbound.body, inbound.signature.render(), state)
        except Exception:  # a background task: log, never lose the loop
            log.exception("answering search %s failed", inbound.request.context.message_id)

    async def _answer_from_index(
        self, inbound: Inbound, query: index_query.IndexQuery, state: SearchState
    ) -> None:
        hits = await asyncio.to_thread(self.index.search, query)
        ctx_in: Any = inbound.request.context
        try:  # only sellers the registry lists now (a revoked seller's catalog is not served)
            live = {
                s.subscriber_id
                for s in await self.directory.sellers(ctx_in.domain, ctx_in.location.city.code)
            }
        except DirectoryError as exc:
            log.warning("no index answer: %s", exc)
            return
        hits = [h for h in hits if h.bpp_id in live]
        ctx = make_context(
            reply_to=inbound.request.context, bpp_id=self.settings.subscriber_id, bpp_uri=self.settings.url
        )
        context = ctx.model_dump(by_alias=True, exclude_none=True)
        bodies = []
        for seller_hits in group_by_seller(hits).values():
            catalog = await asyncio.to_thread(
                catalog_for_seller, seller_hits, self.index.provider, self.index.publication
            )
            bodies.append(orjson.dumps({"context": context, "message": {"catalog": catalog}}))

        async def send(body: bytes) -> None:
            try:
                answer = await self.clients.for_url(state.bap_uri).send(state.bap_uri, "on_search", body)
                if not answer.ack:
                    log.info("index on_search NACKed: %s %s", answer.error_code, answer.error_message)
            except DeliveryError as exc:
                log.info("index on_search to %s failed: %s", state.bap_uri, exc)

        await asyncio.gather(*(send(b) for b in bodies))

    # --- HTTP routes ----------------------------------------------------------------------------

    async def index_search(self, request: Request) -> Response:
        try:
            q = index_query.from_params(request.query_params)
        except index_query.QueryError as exc:
            return error_response(400, Code.BAD_REQUEST, str(exc))
        hits = await asyncio.to_thread(self.index.search, q)
        try:  # as for a Beckn search: only sellers the registry lists now
            live = {
                (domain, s.subscriber_id)
                for domain in {h.domain for h in hits}
                for s in await self.directory.sellers(domain, None)
            }
        except DirectoryError as exc:
            return error_response(503, Code.INTERNAL_ERROR, f"the registry cannot be reached: {exc}")
        hits = [h for h in hits if (h.domain, h.bpp_id) in live]
        auth = await asyncio.to_thread(authorizations, self.index, {h.publication_id for h in hits})
        return json_response(
            {"count": len(hits), "items": [hit_json(h, auth[h.publication_id]) for h in hits]}
        )

    async def get_publication(self, request: Request) -> Response:
        try:
            version = int(request.path_params["version"])
        except ValueError:
            return error_response(400, Code.BAD_REQUEST, "version must be an integer")
        stored = await asyncio.to_thread(self.index.publication_of, request.path_params["bpp_id"], version)
        if stored is None:
            return error_response(404, Code.BAD_REQUEST, "no such publication in the index")
        return Response(
            stored.body, media_type="application/json", headers={"Authorization": stored.authorization}
        )

    async def on_subscribe(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > 64 * 1024 or self.registry_encryption_key is None:
            return error_response(400, Code.BAD_REQUEST, "not expecting a challenge")
        try:
            answer = answer_registry_challenge(
                body,
                request.headers.get("authorization"),
                self.settings.keys,
                registry_signing_public_key=self.directory.registry_public_key or "",
                registry_encryption_public_key=self.registry_encryption_key,
                expected_subscriber_id=self.settings.subscriber_id,
                registry_id=self.directory.registry_id,
            )
        except SignatureError as exc:
            return error_response(401, Code.INVALID_SIGNATURE, f"not signed by the registry: {exc}")
        except OnboardingError as exc:
            return error_response(400, Code.BAD_REQUEST, str(exc))
        return json_response(answer)

    async def health(self, request: Request) -> Response:
        fan, rel = self.broadcaster.stats, self.relay.stats
        return json_response(
            {
                "subscriber_id": self.settings.subscriber_id,
                "live_searches": len(self.book),
                "broadcast": {
                    "forwarded": fan.forwarded,
                    "failed": fan.failed,
                    "nacked": fan.nacked,
                    "skipped_open": fan.skipped_open,
                },
                "relay": {"relayed": rel.relayed, "refused": rel.refused, "failed": rel.failed},
                "breakers": self.breakers.snapshot(),
                "receiver": {"acked": self.receiver.stats.acked, "rejected": self.receiver.stats.rejected},
            }
        )

    def asgi(self) -> Any:
        app = Starlette(
            routes=[
                Route("/catalog/publish", self.publisher.handle, methods=["POST"]),
                Route("/index/search", self.index_search, methods=["GET"]),
                Route("/index/publications/{bpp_id}/{version}", self.get_publication, methods=["GET"]),
                Route("/on_subscribe", self.on_subscribe, methods=["POST"]),
                Route("/health", self.health, methods=["GET"]),
            ]
        )
        return self.receiver.in_front_of(app)
