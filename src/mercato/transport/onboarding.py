"""A node joining the network over HTTP, the same for every role (BAP, BPP, BG): read the registry's
keys, send the signed ``/subscribe``. The registry then calls the node's ``/on_subscribe`` (answered
with :func:`mercato.protocol.onboarding.answer_registry_challenge`) before it answers the subscribe."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from mercato.protocol.keys import KeyPair
from mercato.protocol.onboarding import Participation, build_subscribe_request


class OnboardingFailed(RuntimeError):
    """The registry cannot be used or refused the subscription; the message says which and why."""


@dataclass(frozen=True)
class RegistryInfo:
    url: str
    subscriber_id: str | None
    signing_public_key: str
    encr_public_key: str


async def fetch_registry_info(url: str, *, wait_s: float = 30.0) -> RegistryInfo:
    """``GET {url}/keys``, retried while the registry starts (up to ``wait_s``)."""
    loop = asyncio.get_running_loop()
    ends = loop.time() + wait_s
    last = "no answer"
    async with httpx.AsyncClient(timeout=5.0) as http:
        while True:
            try:
                resp = await http.get(url.rstrip("/") + "/keys")
                data = resp.json() if resp.status_code == 200 else None
                if isinstance(data, dict) and isinstance(data.get("signing_public_key"), str):
                    sid = data.get("subscriber_id")
                    return RegistryInfo(
                        url.rstrip("/"),
                        sid if isinstance(sid, str) else None,
                        data["signing_public_key"],
                        str(data.get("encr_public_key", "")),
                    )
                last = f"HTTP {resp.status_code} without keys"
            except (httpx.HTTPError, ValueError) as exc:
                last = type(exc).__name__
            if loop.time() >= ends:
                raise OnboardingFailed(f"the registry at {url} does not publish its keys ({last})")
            await asyncio.sleep(0.2)


async def subscribe(
    registry_url: str,
    *,
    subscriber_id: str,
    unique_key_id: str,
    keys: KeyPair,
    subscriber_url: str,
    participations: Sequence[Participation],
    country: str = "IND",
    timeout_s: float = 30.0,
) -> dict[str, Any]:
    """One signed ``/subscribe``; returns the registry's answer (status SUBSCRIBED) or raises
    :class:`OnboardingFailed` with the registry's error code and message."""
    req = build_subscribe_request(
        subscriber_id=subscriber_id,
        unique_key_id=unique_key_id,
        keys=keys,
        subscriber_url=subscriber_url,
        participations=list(participations),
        country=country,
        now=datetime.now(UTC),
    )
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as http:
            resp = await http.post(
                registry_url.rstrip("/") + "/subscribe", content=req.body, headers=req.headers
            )
    except httpx.HTTPError as exc:
        raise OnboardingFailed(f"cannot reach the registry at {registry_url}: {type(exc).__name__}") from None
    try:
        data = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        data = None
    if resp.status_code != 200 or not isinstance(data, dict) or data.get("status") != "SUBSCRIBED":
        error = data.get("error") if isinstance(data, dict) else None
        detail = (
            f"{error.get('code', '')} {error.get('message', '')}".strip()
            if isinstance(error, dict)
            else resp.text[:300]
        )
        raise OnboardingFailed(f"the registry refused the subscription: HTTP {resp.status_code} {detail}")
    return data
