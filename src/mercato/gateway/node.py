"""Running a gateway: start the server, then onboard with the registry (type BG) through the real
``/subscribe`` flow (the registry calls our ``/on_subscribe`` before it answers)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import uvicorn

from mercato.gateway.app import Gateway
from mercato.gateway.config import GatewaySettings
from mercato.protocol.onboarding import Participation
from mercato.transport.http import server_config
from mercato.transport.onboarding import OnboardingFailed
from mercato.transport.onboarding import subscribe as subscribe_as

__all__ = ["OnboardingFailed", "run", "subscribe"]

log = logging.getLogger("mercato.gateway.node")


async def subscribe(settings: GatewaySettings) -> None:
    """``POST {registry}/subscribe`` as a BG in the configured domains and cities."""
    await subscribe_as(
        settings.registry_url,
        subscriber_id=settings.subscriber_id,
        unique_key_id=settings.unique_key_id,
        keys=settings.keys,
        subscriber_url=settings.url,
        participations=[Participation("BG", d, list(settings.cities)) for d in settings.domains],
        timeout_s=15.0,
    )


async def run(
    settings: GatewaySettings,
    host: str = "127.0.0.1",
    port: int = 8100,
    *,
    onboard: bool = True,
    ready: Callable[[Gateway], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until stopped (Ctrl-C, or ``stop`` set). Raises :class:`OnboardingFailed`."""
    gateway = Gateway(settings)
    server = uvicorn.Server(server_config(gateway.asgi(), host, port))
    serving = asyncio.ensure_future(server.serve())
    try:
        while not server.started:
            if serving.done():
                serving.result()
                raise OnboardingFailed("the server stopped before it started")
            await asyncio.sleep(0.02)
        try:
            await gateway.start()
        except Exception as exc:  # the registry is down, or answers something else
            raise OnboardingFailed(f"cannot use the registry at {settings.registry_url}: {exc}") from None
        if onboard:
            await subscribe(settings)
        if ready is not None:
            ready(gateway)
        if stop is not None:
            waiter = asyncio.ensure_future(stop.wait())
            await asyncio.wait({serving, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        else:
            await serving
    finally:
        server.should_exit = True
        await asyncio.gather(serving, return_exceptions=True)
        await gateway.aclose()
