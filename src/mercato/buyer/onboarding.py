"""Joining the network as a BAP: trust the registry's keys, answer its ``/on_subscribe`` challenge,
send ``/subscribe`` (see docs/registry.md)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mercato.protocol.keys import KeyPair
from mercato.protocol.onboarding import (
    OnboardingError,
    Participation,
    answer_on_subscribe,
    build_subscribe_request,
)
from mercato.protocol.signing import SignatureError, verify

log = logging.getLogger("mercato.buyer.onboarding")


class OnboardingFailed(RuntimeError):
    pass


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


def on_subscribe_route(info: RegistryInfo, keys: KeyPair, subscriber_id: str) -> Route:
    """``POST /on_subscribe``: check the registry's signature, then decrypt and answer the challenge."""

    async def on_subscribe(request: Request) -> Response:
        raw = await request.body()
        try:
            verify(request.headers.get("authorization", ""), raw, info.signing_public_key)
        except SignatureError as exc:
            log.warning("on_subscribe refused: %s", exc.reason)
            return Response(b'{"error":"not signed by the registry"}', 401, media_type="application/json")
        try:
            answer = answer_on_subscribe(
                raw, keys, info.encr_public_key, expected_subscriber_id=subscriber_id
            )
        except OnboardingError as exc:
            return Response(orjson.dumps({"error": str(exc)}), 400, media_type="application/json")
        return Response(orjson.dumps(answer), media_type="application/json")

    return Route("/on_subscribe", on_subscribe, methods=["POST"])


async def subscribe(
    info: RegistryInfo,
    *,
    subscriber_id: str,
    unique_key_id: str,
    keys: KeyPair,
    subscriber_url: str,
    domain: str,
    cities: list[str],
    country: str = "IND",
) -> dict[str, Any]:
    """Send the signed ``/subscribe`` (type BAP); the registry calls our ``/on_subscribe`` before it
    answers. Returns the registry's answer; raises :class:`OnboardingFailed`."""
    req = build_subscribe_request(
        subscriber_id=subscriber_id,
        unique_key_id=unique_key_id,
        keys=keys,
        subscriber_url=subscriber_url,
        participations=[Participation("BAP", domain, cities)],
        country=country,
    )
    try:
        async with httpx.AsyncClient(timeout=30.0) as http:
            resp = await http.post(info.url + "/subscribe", content=req.body, headers=req.headers)
    except httpx.HTTPError as exc:
        raise OnboardingFailed(f"cannot reach the registry: {type(exc).__name__}") from None
    try:
        data = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        data = None
    if resp.status_code != 200 or not isinstance(data, dict) or data.get("status") != "SUBSCRIBED":
        error = data.get("error") if isinstance(data, dict) else None
        raise OnboardingFailed(f"the registry refused the subscription: HTTP {resp.status_code} {error}")
    return data
