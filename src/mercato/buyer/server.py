"""Running the buyer node: one HTTP server for the Beckn callbacks (``POST /on_*``), the registry's
``/on_subscribe`` and the local API (``/api/...``); onboarding as a BAP once it listens."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from mercato.buyer.api import LocalApi
from mercato.buyer.node import BuyerNode, NodeConfig
from mercato.buyer.onboarding import RegistryInfo, fetch_registry_info, on_subscribe_route, subscribe
from mercato.buyer.pools import PoolApi, pool_routes
from mercato.buyer.store import open_store
from mercato.buyer.web import Storefront
from mercato.transport.lookup import LookupCache, RegistryKeySource


def build_app(node: BuyerNode, token: str, extra_routes: list[BaseRoute] | None = None) -> Any:
    """The node's ASGI app: Beckn callbacks in front of the local API; starts and stops the node."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await node.start()
        try:
            yield
        finally:
            await node.aclose()

    api = LocalApi(node, token)
    # the web pages at / (no bearer token: a session cookie and CSRF tokens)
    storefront = Storefront(node, api.orders, pools=PoolApi(api))
    routes = [*(extra_routes or []), *storefront.routes(), *pool_routes(api)]  # /api/pools/...
    return node.receiver.in_front_of(api.app(routes, lifespan=lifespan))


@dataclass
class Settings:
    db: str
    host: str
    port: int
    registry: str
    gateway: str | None
    key_file: str
    subscriber_id: str
    api_token: str
    public_url: str | None = None
    domain: str = "ONDC:RET10"
    city: str = "std:080"
    country: str = "IND"


async def run(settings: Settings, echo: Callable[[str], None] = print) -> None:
    """Serve until cancelled: migrate, trust the registry, listen, subscribe as BAP."""
    import uvicorn

    from mercato.buyer.identity import load_or_create
    from mercato.transport.http import server_config

    keys, ukid, created = load_or_create(settings.key_file)
    info: RegistryInfo = await fetch_registry_info(settings.registry)
    store = await asyncio.to_thread(open_store, settings.db)
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    public = (settings.public_url or f"http://{shown}:{settings.port}").rstrip("/")
    config = NodeConfig(
        subscriber_id=settings.subscriber_id,
        unique_key_id=ukid,
        keys=keys,
        bap_uri=public,
        gateway_url=settings.gateway,
        registry_url=info.url,
        domain=settings.domain,
        country=settings.country,
        city=settings.city,
    )
    source = RegistryKeySource(
        info.url, registry_public_key=info.signing_public_key, registry_subscriber_id=info.subscriber_id
    )
    node = BuyerNode(config, store, LookupCache(source))
    app = build_app(node, settings.api_token, [on_subscribe_route(info, keys, settings.subscriber_id)])
    server = uvicorn.Server(server_config(app, settings.host, settings.port))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError(f"the buyer node could not listen on {settings.host}:{settings.port}")
            await asyncio.sleep(0.02)
        await subscribe(
            info,
            subscriber_id=settings.subscriber_id,
            unique_key_id=ukid,
            keys=keys,
            subscriber_url=public,
            domain=settings.domain,
            cities=["*"],
            country=settings.country,
        )
        echo(f"Mercato buyer node {settings.subscriber_id!r} at {public}")
        echo(f"  key file        {settings.key_file}{' (created)' if created else ''} (key id {ukid})")
        echo(f"  registry        {info.url} (subscribed as BAP in {settings.domain})")
        echo(f"  gateway         {settings.gateway or '(none: search disabled)'}")
        echo(f"  local API       {public}/api (bearer token required)")
        await task
    finally:
        server.should_exit = True
        with contextlib.suppress(BaseException):
            await task
        await source.aclose()
        store.close()
