"""Joining the network at start: subscribe with the registry as a BPP through the real /subscribe
flow (the registry calls this node's /on_subscribe before it answers)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from mercato.protocol.keys import KeyPair
from mercato.protocol.onboarding import Participation
from mercato.seller.config import SellerConfig
from mercato.transport.onboarding import OnboardingFailed
from mercato.transport.onboarding import subscribe as subscribe_as

log = logging.getLogger("mercato.seller.onboarding")


async def registry_keys(registry_url: str, client: httpx.AsyncClient) -> dict[str, Any]:
    resp = await client.get(registry_url + "/keys")
    resp.raise_for_status()
    info = resp.json()
    if not isinstance(info, dict) or "encr_public_key" not in info:
        raise ValueError(f"{registry_url}/keys does not publish encr_public_key")
    return info


async def subscribe(config: SellerConfig, keys: KeyPair) -> dict[str, Any]:
    """One /subscribe attempt as a BPP; returns the registry's answer or raises with its reason."""
    return await subscribe_as(
        config.registry_url,
        subscriber_id=config.subscriber_id,
        unique_key_id=config.unique_key_id,
        keys=keys,
        subscriber_url=config.public_url,
        participations=[Participation("BPP", config.domain, list(config.cities))],
        country=config.country,
        timeout_s=10.0,
    )


async def subscribe_until_done(
    config: SellerConfig, keys: KeyPair, done: asyncio.Event, *, attempts: int = 60, delay_s: float = 0.25
) -> None:
    """Retry /subscribe until the registry says SUBSCRIBED (the node may not be listening yet)."""
    for n in range(1, attempts + 1):
        try:
            await subscribe(config, keys)
            log.warning("subscribed with %s as %s (BPP)", config.registry_url, config.subscriber_id)
            done.set()
            return
        except OnboardingFailed as exc:
            if n == attempts:
                log.error("could not subscribe with %s: %s", config.registry_url, exc)
                return
            await asyncio.sleep(min(5.0, delay_s * n))
