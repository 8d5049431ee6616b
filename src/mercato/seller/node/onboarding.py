"""Joining the network at start: subscribe with the registry as a BPP through the real /subscribe
flow (the registry calls this node's /on_subscribe before it answers)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import httpx

from mercato.protocol.keys import KeyPair
from mercato.protocol.onboarding import Participation, build_subscribe_request
from mercato.seller.config import SellerConfig

log = logging.getLogger("mercato.seller.onboarding")


async def registry_keys(registry_url: str, client: httpx.AsyncClient) -> dict[str, Any]:
    resp = await client.get(registry_url + "/keys")
    resp.raise_for_status()
    info = resp.json()
    if not isinstance(info, dict) or "encr_public_key" not in info:
        raise ValueError(f"{registry_url}/keys does not publish encr_public_key")
    return info


async def subscribe(config: SellerConfig, keys: KeyPair, client: httpx.AsyncClient) -> dict[str, Any]:
    """One /subscribe attempt; returns the registry's answer or raises with its reason."""
    req = build_subscribe_request(
        subscriber_id=config.subscriber_id,
        unique_key_id=config.unique_key_id,
        keys=keys,
        subscriber_url=config.public_url,
        participations=[Participation("BPP", config.domain, list(config.cities))],
        country=config.country,
        now=datetime.now(UTC),
    )
    resp = await client.post(config.registry_url + "/subscribe", content=req.body, headers=req.headers)
    data = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
    if resp.status_code != 200 or data.get("status") != "SUBSCRIBED":
        err = data.get("error", {}) if isinstance(data, dict) else {}
        raise RuntimeError(
            f"registry refused /subscribe: HTTP {resp.status_code} {err.get('code', '')} "
            f"{err.get('message', '')}".strip()
        )
    return dict(data)


async def subscribe_until_done(
    config: SellerConfig, keys: KeyPair, done: asyncio.Event, *, attempts: int = 60, delay_s: float = 0.25
) -> None:
    """Retry /subscribe until the registry says SUBSCRIBED (the node may not be listening yet)."""
    async with httpx.AsyncClient(timeout=10) as client:
        for n in range(1, attempts + 1):
            try:
                await subscribe(config, keys, client)
                log.warning("subscribed with %s as %s (BPP)", config.registry_url, config.subscriber_id)
                done.set()
                return
            except (httpx.HTTPError, RuntimeError, ValueError) as exc:
                if n == attempts:
                    log.error("could not subscribe with %s: %s", config.registry_url, exc)
                    return
                await asyncio.sleep(min(5.0, delay_s * n))
