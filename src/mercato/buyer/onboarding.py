"""Joining the network as a BAP: trust the registry's keys, answer its ``/on_subscribe`` challenge,
send ``/subscribe`` (see docs/registry.md). The HTTP steps are shared by every role
(:mod:`mercato.transport.onboarding`); this module adds the buyer node's route."""

from __future__ import annotations

import logging

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mercato.protocol.keys import KeyPair
from mercato.protocol.onboarding import OnboardingError, Participation, answer_registry_challenge
from mercato.protocol.signing import SignatureError
from mercato.transport.onboarding import OnboardingFailed, RegistryInfo, fetch_registry_info
from mercato.transport.onboarding import subscribe as subscribe_as

__all__ = ["OnboardingFailed", "RegistryInfo", "fetch_registry_info", "on_subscribe_route", "subscribe"]

log = logging.getLogger("mercato.buyer.onboarding")


def on_subscribe_route(info: RegistryInfo, keys: KeyPair, subscriber_id: str) -> Route:
    """``POST /on_subscribe``: check the registry's signature, then decrypt and answer the challenge."""

    async def on_subscribe(request: Request) -> Response:
        raw = await request.body()
        try:
            answer = answer_registry_challenge(
                raw,
                request.headers.get("authorization"),
                keys,
                registry_signing_public_key=info.signing_public_key,
                registry_encryption_public_key=info.encr_public_key,
                expected_subscriber_id=subscriber_id,
            )
        except SignatureError as exc:
            log.warning("on_subscribe refused: %s", exc.reason)
            return Response(b'{"error":"not signed by the registry"}', 401, media_type="application/json")
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
) -> dict[str, object]:
    """Send the signed ``/subscribe`` as a BAP; raises :class:`OnboardingFailed`."""
    return await subscribe_as(
        info.url,
        subscriber_id=subscriber_id,
        unique_key_id=unique_key_id,
        keys=keys,
        subscriber_url=subscriber_url,
        participations=[Participation("BAP", domain, cities)],
        country=country,
    )
