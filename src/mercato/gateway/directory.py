"""Which sellers serve a domain and city: the registry's ``POST /lookup`` (type BPP), cached.

Answers are verified with the registry's signing key (pinned, or fetched once from
``GET {registry}/keys``), reused for ``ttl_s`` seconds, and concurrent misses share one call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from mercato.protocol.onboarding import build_lookup_body, verify_lookup_response
from mercato.protocol.signing import SignatureError

log = logging.getLogger("mercato.gateway.directory")


class DirectoryError(Exception):
    """The registry could not be asked, or its answer could not be trusted."""


@dataclass(frozen=True, slots=True)
class Seller:
    subscriber_id: str
    subscriber_url: str
    cities: frozenset[str]


class SellerDirectory:
    def __init__(
        self,
        registry_url: str,
        *,
        registry_public_key: str | None = None,
        ttl_s: float = 30.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.registry_url = registry_url.rstrip("/")
        self.registry_public_key = registry_public_key
        self.registry_id: str | None = None
        self.ttl_s = ttl_s
        self._http = client or httpx.AsyncClient(timeout=5.0)
        self._own = client is None
        self._cache: dict[tuple[str, str | None, str | None], tuple[float, list[Seller]]] = {}
        self._inflight: dict[tuple[str, str | None, str | None], asyncio.Future[list[Seller]]] = {}
        self.calls = 0

    async def aclose(self) -> None:
        if self._own:
            await self._http.aclose()

    async def registry_info(self) -> dict[str, Any]:
        """``GET {registry}/keys``: the registry's id and public keys. A pinned signing key must
        match what the registry publishes."""
        try:
            resp = await self._http.get(self.registry_url + "/keys")
            info = resp.json()
            key = info["signing_public_key"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise DirectoryError(f"cannot read the registry's keys: {type(exc).__name__}: {exc}") from None
        if not isinstance(info, dict) or not isinstance(key, str):
            raise DirectoryError("the registry's /keys answer has no signing_public_key")
        if self.registry_public_key is not None and key != self.registry_public_key:
            raise DirectoryError("the registry's published key differs from the pinned one")
        self.registry_public_key = key
        sid = info.get("subscriber_id")
        self.registry_id = sid if isinstance(sid, str) else None
        return info

    async def _registry_key(self) -> str:
        if self.registry_public_key is None:
            await self.registry_info()
        assert self.registry_public_key is not None
        return self.registry_public_key

    async def lookup(self, **query: Any) -> list[dict[str, Any]]:
        """One verified ``/lookup`` (records as the registry returns them)."""
        key = await self._registry_key()
        self.calls += 1
        try:
            resp = await self._http.post(
                self.registry_url + "/lookup",
                content=build_lookup_body(**query),
                headers={"Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise DirectoryError(f"registry lookup failed: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise DirectoryError(f"registry lookup answered HTTP {resp.status_code}")
        try:
            return verify_lookup_response(
                resp.content, resp.headers.get("authorization", ""), key, registry_id=self.registry_id
            )
        except (SignatureError, ValueError) as exc:
            raise DirectoryError(f"registry lookup answer rejected: {exc}") from None

    async def sellers(self, domain: str, city: str | None) -> list[Seller]:
        """Sellers (BPP) with a live key serving ``domain`` in ``city`` (None or ``*``: any city)."""
        city = None if city in (None, "*") else city
        ck = ("BPP", domain, city)
        hit = self._cache.get(ck)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        fut = self._inflight.get(ck)
        if fut is None:
            fut = asyncio.ensure_future(self._fetch(domain, city))
            self._inflight[ck] = fut
            fut.add_done_callback(lambda _f: self._inflight.pop(ck, None))
        found = await asyncio.shield(fut)
        self._cache[ck] = (time.monotonic() + self.ttl_s, found)
        return found

    async def _fetch(self, domain: str, city: str | None) -> list[Seller]:
        records = await self.lookup(type="BPP", domain=domain, city=city)
        return group_sellers(records)

    async def registration(self, subscriber_id: str, domain: str) -> list[Seller]:
        """The subscriber's live BPP registrations in ``domain`` (not cached: used on publish)."""
        return group_sellers(await self.lookup(subscriber_id=subscriber_id, type="BPP", domain=domain))


def group_sellers(records: list[dict[str, Any]]) -> list[Seller]:
    urls: dict[str, str] = {}
    cities: dict[str, set[str]] = {}
    for r in records:
        sid, url = r.get("subscriber_id"), r.get("subscriber_url")
        if (
            not isinstance(sid, str)
            or not isinstance(url, str)
            or r.get("status", "SUBSCRIBED") != "SUBSCRIBED"
        ):
            continue
        urls.setdefault(sid, url)
        city = r.get("city")
        cities.setdefault(sid, set()).add(city if isinstance(city, str) else "*")
    return [Seller(sid, urls[sid], frozenset(cities[sid])) for sid in sorted(urls)]
