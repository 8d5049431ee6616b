"""One seller node: the verifying Beckn receiver in front of a FastAPI app (admin API, /on_subscribe,
/health, /track), the outbox delivering callbacks with the signing client, and onboarding at start.

Start-up (FastAPI lifespan): make sure the configured provider and location exist, then in the
background fetch the registry's keys (``GET /keys``, or the pinned key), point the lookup cache at the
registry and subscribe as a BPP (the registry calls ``/on_subscribe`` here before it answers, so this
runs while the server is already listening). Shutdown: finish accepted work, stop the outbox loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from fastapi import FastAPI, HTTPException, Request, Response

from mercato.protocol.actions import SELLER_ACTIONS
from mercato.protocol.keys import KeyPair
from mercato.protocol.onboarding import OnboardingError, answer_registry_challenge
from mercato.protocol.signing import SignatureError
from mercato.seller.admin.api import admin_router
from mercato.seller.config import SellerConfig
from mercato.seller.console import mount_console
from mercato.seller.domain import Address, DeliveryPolicy, Descriptor, GeoPoint, Location, Money, Provider
from mercato.seller.domain.support import SupportContact
from mercato.seller.handlers import Env, Identity, SellerHandlers
from mercato.seller.pools import deadline_loop as pool_deadline_loop
from mercato.seller.publish import publish
from mercato.seller.store import Store, open_store
from mercato.seller.store import catalog as store_catalog
from mercato.seller.store import orders as store_orders
from mercato.transport import outbox
from mercato.transport.lookup import LookupCache, RegistryKeySource, RegistryUnavailable, SubscriberKey
from mercato.transport.replay import ReplayGuard
from mercato.transport.server import BecknReceiver

from .autopublish import AutoPublisher
from .delivery import Delivery, LockedOutboxWorker
from .onboarding import registry_keys, subscribe_until_done
from .pool_routes import pool_router
from .sender import CallbackSender

log = logging.getLogger("mercato.seller.node")


class _NotYet:
    """Key source until the registry's keys are known: every lookup is 'registry unavailable' (503)."""

    async def fetch(self, subscriber_id: str, unique_key_id: str) -> list[SubscriberKey]:
        raise RegistryUnavailable("the registry is not reachable yet")


class SellerNode:
    def __init__(
        self,
        config: SellerConfig,
        *,
        keys: KeyPair | None = None,
        store: Store | None = None,
        replay_guard: ReplayGuard | None = None,
    ) -> None:
        """``replay_guard``: where accepted message ids are kept (default: in this process); several
        worker processes behind one address share a ``DatabaseReplayGuard``."""
        self.config = config
        self.keys = keys or config.load_keys()
        self.store = store or open_store(config.database_url)
        self.me = Identity(
            config.subscriber_id,
            config.public_url,
            config.domain,
            config.country,
            config.cities[0] if config.cities else "*",
        )
        s = config.support
        support = SupportContact(s.phone, s.email, s.url) if (s.phone or s.email or s.url) else None
        self.env = Env(self.store, self.me, support)
        self.handlers = SellerHandlers(self.env, wake=self.wake)
        self.lookup = LookupCache(_NotYet(), negative_ttl_s=1.0)
        self.receiver = BecknReceiver(
            keys=self.lookup,
            handler=self.handlers,
            actions=SELLER_ACTIONS,
            subscriber_id=config.subscriber_id,
            replay_guard=replay_guard,
        )
        self.autopublish = (
            AutoPublisher(lambda: publish(config, store=self.store, keys=self.keys))
            if config.gateway_urls
            else None
        )
        self.registry_info: dict[str, Any] | None = None
        self.subscribed = False
        self.delivered = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._delivery: Delivery | None = None
        self._stop: asyncio.Event | None = None
        self.api = FastAPI(
            title="Mercato seller node",
            version="1.1.0",
            lifespan=self._lifespan,
            description="Merchant admin API of a Mercato seller node (Beckn BPP).",
        )
        self.api.include_router(admin_router(self))
        self.api.include_router(pool_router(self))  # signed commitments in, the pool's clearing out
        self.console = mount_console(self.api, self)  # the merchant console's pages under /console
        self.api.add_api_route("/on_subscribe", self.on_subscribe, methods=["POST"], include_in_schema=False)
        self.api.add_api_route("/health", self.health, methods=["GET"], include_in_schema=False)
        self.api.add_api_route("/track/{order_id}", self.track, methods=["GET"], include_in_schema=False)
        self.asgi = self.receiver.in_front_of(self.api)

    # -- outbox ----------------------------------------------------------------------------------

    def catalog_changed(self) -> None:
        """The catalog changed (admin API, start): publish it to the gateways soon (any thread)."""
        if self.autopublish is not None:
            self.autopublish.changed()

    def wake(self) -> None:
        """Tell the outbox delivery that a callback was committed (safe from any thread). While the
        delivery is the store's handoff, the store reports every commit itself: nothing to do."""
        if self._loop is not None and self._delivery is not None and self.store.handoff is None:
            self._loop.call_soon_threadsafe(self._delivery.wake)

    # -- start and stop ---------------------------------------------------------------------------

    def ensure_store(self) -> None:
        """Create or refresh the configured provider (with its delivery policy) and first location."""
        st, now = self.config.store, datetime.now(UTC)
        policy = DeliveryPolicy(
            Money(st.delivery_charge, st.currency),
            Money(st.free_delivery_from, st.currency) if st.free_delivery_from else None,
        )
        with self.store.read() as s:
            from mercato.seller.store.tables import LocationRow, ProviderRow

            have_provider = s.get(ProviderRow, st.provider_id) is not None
            have_location = s.get(LocationRow, st.location_id) is not None
        if not have_provider:
            store_catalog.put_provider(
                self.store, Provider(st.provider_id, Descriptor(st.name), st.currency), now, policy
            )
        if not have_location:
            loc = Location(
                st.location_id,
                st.provider_id,
                Address(st.street, st.city, st.area_code),
                GeoPoint.parse(st.gps),
                frozenset(self.config.cities),
                st.radius_m,
            )
            store_catalog.put_location(self.store, loc, now)

    async def _connect(self) -> None:
        """Fetch the registry's keys (retrying), trust them for lookups, then subscribe."""
        async with httpx.AsyncClient(timeout=5) as http:
            delay = 0.1
            while self.registry_info is None:
                try:
                    self.registry_info = await registry_keys(self.config.registry_url, http)
                except (httpx.HTTPError, ValueError) as exc:
                    log.warning("registry %s not reachable yet: %s", self.config.registry_url, exc)
                    await asyncio.sleep(delay)
                    delay = min(5.0, delay * 2)
        info = self.registry_info
        pinned = self.config.registry_public_key
        if pinned and pinned != info.get("signing_public_key"):
            log.error("the registry's GET /keys does not match the pinned registry.public_key")
        sid = info.get("subscriber_id")
        self.lookup.source = RegistryKeySource(
            self.config.registry_url,
            registry_public_key=pinned or str(info["signing_public_key"]),
            registry_subscriber_id=sid if isinstance(sid, str) else None,
        )
        if self.config.onboard:
            done = asyncio.Event()
            await subscribe_until_done(self.config, self.keys, done)
            self.subscribed = done.is_set()
        if self.subscribed or not self.config.onboard:
            self.catalog_changed()  # a fresh start publishes what the gateways may have missed

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await asyncio.to_thread(self.ensure_store)
        client = CallbackSender(
            self.config.subscriber_id, self.config.unique_key_id, self.keys.signing, timeout_s=10
        )

        async def send(row: outbox.OutboxRow) -> bool:
            answer = await client.send(row.destination_url, row.action, row.body)
            if answer.ack:
                self.delivered += 1
            return answer.ack

        self._delivery = Delivery(LockedOutboxWorker(self.store, send))
        self.store.handoff = self._delivery  # committed callbacks go straight to the sender
        tasks = [asyncio.create_task(self._delivery.run(self._stop))]
        tasks.append(asyncio.create_task(self._connect()))
        tasks.append(asyncio.create_task(pool_deadline_loop(self, self._stop)))
        if self.autopublish is not None:
            tasks.append(asyncio.create_task(self.autopublish.run(self._stop)))
        try:
            yield
        finally:
            await self.handlers.drain()
            self.store.handoff = None
            self._delivery.stopping = True
            self._stop.set()
            self._delivery.wake()
            await asyncio.wait(tasks[:1], timeout=5)  # let sends in flight finish and be recorded
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await client.aclose()

    # -- small routes -----------------------------------------------------------------------------

    async def on_subscribe(self, request: Request) -> Response:
        body = await request.body()
        info = self.registry_info
        if info is None:
            raise HTTPException(503, "registry keys not known yet")
        sid = info.get("subscriber_id")
        try:  # an unsigned challenge is refused: the node must not decrypt for anyone but the registry
            answer = answer_registry_challenge(
                body,
                request.headers.get("authorization"),
                self.keys,
                registry_signing_public_key=str(info["signing_public_key"]),
                registry_encryption_public_key=str(info["encr_public_key"]),
                expected_subscriber_id=self.config.subscriber_id,
                registry_id=sid if isinstance(sid, str) else None,
            )
        except SignatureError as exc:
            raise HTTPException(401, f"not signed by the registry: {exc}") from None
        except OnboardingError as exc:
            raise HTTPException(400, str(exc)) from None
        return Response(orjson.dumps(answer), media_type="application/json")

    async def health(self) -> Response:
        counts = await asyncio.to_thread(outbox.counts, self.store.engine)
        data = {
            "status": "ok",
            "subscriber_id": self.config.subscriber_id,
            "pid": os.getpid(),  # which worker process answered (mercato seller serve --workers N)
            "subscribed": self.subscribed,
            "registry": self.registry_info is not None,
            "outbox": counts,
            "delivered": self.delivered,
            # this process's delivery: claims made, callbacks sent without a claim (handed off)
            "delivery": {"claims": d.claims, "handed": d.handed} if (d := self._delivery) else None,
            # store work run on the event loop (SQLite) and in worker threads (see Store.run), and the
            # group transactions that held the protocol steps (SQLite: store/group.py)
            "store_work": {
                "inline": self.store.ran_inline,
                "threads": self.store.ran_in_thread,
                "groups": g.groups if (g := self.store.group) else 0,
                "grouped": g.pieces if g else 0,
                "retried": g.retried if g else 0,
            },
        }
        return Response(orjson.dumps(data), media_type="application/json")

    async def track(self, order_id: str) -> Response:
        try:
            order = await asyncio.to_thread(store_orders.get, self.store, order_id)
        except Exception:
            raise HTTPException(404, "unknown order") from None
        data = {
            "order_id": order.id,
            "state": order.state.value,
            "fulfillment_state": order.fulfillment_state.value,
        }
        return Response(orjson.dumps(data), media_type="application/json")


def build_node(config: SellerConfig, **kwargs: Any) -> SellerNode:
    return SellerNode(config, **kwargs)
