"""Registry lookup cache: the sender's public key for (subscriber_id, ukId), without a registry call
per request.

* A found key is cached until its ``valid_until`` (capped by ``max_age_s`` so that a revocation is
  seen within that time), in a bounded LRU (10,000 entries by default).
* An unknown, revoked or not-yet-valid key is cached briefly (``negative_ttl_s``) so that a flood of
  requests signed with a bogus keyId does not become a flood of registry calls.
* Single flight: concurrent requests for one key share one registry call.

The records come from a :class:`KeySource`: :class:`RegistryKeySource` asks a registry's
``POST /lookup`` (and checks the registry's signature on the answer when its public key is
configured); :class:`StaticKeySource` serves fixed records (tests, benchmarks, a closed network).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx
import orjson

from mercato.protocol.signing import SignatureError, verify

log = logging.getLogger("mercato.transport.lookup")

ACTIVE_STATUS = "SUBSCRIBED"


class KeyLookupError(Exception):
    """The sender's key cannot be used. ``reason`` is a short machine-readable word."""

    reason = "lookup_failed"


class UnknownKey(KeyLookupError):
    reason = "unknown_subscriber"


class KeyNotUsable(KeyLookupError):
    """The key exists but is revoked, unsubscribed, or outside its validity window."""

    reason = "key_not_usable"


class RegistryUnavailable(KeyLookupError):
    """The registry could not be asked or its answer could not be trusted (not cached)."""

    reason = "registry_unavailable"


def _ts(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"not a date-time: {value!r}")
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True, slots=True)
class SubscriberKey:
    """One registry record, reduced to what a verifier needs."""

    subscriber_id: str
    unique_key_id: str
    signing_public_key: str
    type: str | None = None
    subscriber_url: str | None = None
    status: str = ACTIVE_STATUS
    valid_from: float | None = None
    valid_until: float | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> SubscriberKey:
        """Build from a registry ``/lookup`` record (ONDC field names). Raises ValueError."""
        try:
            sid = record["subscriber_id"]
            ukid = record.get("ukId", record.get("unique_key_id"))
            pub = record["signing_public_key"]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"registry record lacks {exc}") from None
        if not isinstance(sid, str) or not isinstance(ukid, str) or not isinstance(pub, str):
            raise ValueError("registry record: subscriber_id, ukId and signing_public_key must be strings")
        status = record.get("status") or ACTIVE_STATUS
        return cls(
            subscriber_id=sid,
            unique_key_id=ukid,
            signing_public_key=pub,
            type=record.get("type"),
            subscriber_url=record.get("subscriber_url"),
            status=str(status),
            valid_from=_ts(record.get("valid_from")),
            valid_until=_ts(record.get("valid_until")),
        )

    def problem(self, now: float) -> str | None:
        """Why this key cannot verify a message at ``now``, or None when it can."""
        if self.status != ACTIVE_STATUS:
            return f"key {self.unique_key_id!r} of {self.subscriber_id!r} is {self.status.lower()}"
        if self.valid_from is not None and now < self.valid_from:
            return f"key {self.unique_key_id!r} of {self.subscriber_id!r} is not valid yet"
        if self.valid_until is not None and now >= self.valid_until:
            return f"key {self.unique_key_id!r} of {self.subscriber_id!r} has expired"
        return None


class KeySource(Protocol):
    async def fetch(self, subscriber_id: str, unique_key_id: str) -> list[SubscriberKey]:
        """Every record the source holds for this subscriber and key id (maybe empty)."""
        ...


class StaticKeySource:
    """Fixed records; counts calls like a registry would see them."""

    def __init__(self, keys: Iterable[SubscriberKey] = ()) -> None:
        self.keys: dict[tuple[str, str], SubscriberKey] = {}
        self.calls = 0
        for k in keys:
            self.add(k)

    def add(self, key: SubscriberKey) -> None:
        self.keys[(key.subscriber_id, key.unique_key_id)] = key

    async def fetch(self, subscriber_id: str, unique_key_id: str) -> list[SubscriberKey]:
        self.calls += 1
        k = self.keys.get((subscriber_id, unique_key_id))
        return [] if k is None else [k]


class RegistryKeySource:
    """Ask a registry's ``POST {registry_url}/lookup`` for a subscriber's key.

    When ``registry_public_key`` is set, the answer must carry an ``Authorization: Signature``
    header over the exact response body, made by that key (and by ``registry_subscriber_id``
    when given); an answer without a valid one is not trusted.
    """

    def __init__(
        self,
        registry_url: str,
        *,
        registry_public_key: str | None = None,
        registry_subscriber_id: str | None = None,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 5.0,
        include_inactive: bool = True,
    ) -> None:
        self.url = registry_url.rstrip("/") + "/lookup"
        self.include_inactive = include_inactive
        self.registry_public_key = registry_public_key
        self.registry_subscriber_id = registry_subscriber_id
        self._client = client or httpx.AsyncClient(timeout=timeout_s)
        self._own_client = client is None
        self.calls = 0

    @classmethod
    async def discover(cls, registry_url: str, **kwargs: Any) -> RegistryKeySource:
        """Trust the key the registry publishes at ``GET {registry_url}/keys`` (trust on first use;
        pinning ``registry_public_key`` in configuration is stronger)."""
        client: httpx.AsyncClient | None = kwargs.get("client")
        http = client or httpx.AsyncClient(timeout=kwargs.get("timeout_s", 5.0))
        try:
            resp = await http.get(registry_url.rstrip("/") + "/keys")
            info = resp.json() if resp.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            info = None
        finally:
            if client is None:
                await http.aclose()
        if not isinstance(info, dict) or not isinstance(info.get("signing_public_key"), str):
            raise RegistryUnavailable(f"{registry_url}/keys does not publish a signing_public_key")
        sid = info.get("subscriber_id")
        return cls(
            registry_url,
            registry_public_key=info["signing_public_key"],
            registry_subscriber_id=sid if isinstance(sid, str) else None,
            **kwargs,
        )

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def fetch(self, subscriber_id: str, unique_key_id: str) -> list[SubscriberKey]:
        self.calls += 1
        q: dict[str, Any] = {"subscriber_id": subscriber_id, "ukId": unique_key_id}
        if self.include_inactive:  # a revoked key is then reported as such, not as unknown
            q["include_inactive"] = True
        query = orjson.dumps(q)
        try:
            resp = await self._client.post(
                self.url, content=query, headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(f"registry lookup failed: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise RegistryUnavailable(f"registry lookup answered HTTP {resp.status_code}")
        body = resp.content
        if self.registry_public_key is not None:
            header = resp.headers.get("authorization")
            if not header:
                raise RegistryUnavailable("registry lookup answer is not signed")
            try:
                verify(
                    header,
                    body,
                    self.registry_public_key,
                    expected_subscriber_id=self.registry_subscriber_id,
                )
            except SignatureError as exc:
                raise RegistryUnavailable(f"registry lookup signature rejected: {exc.reason}") from None
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise RegistryUnavailable("registry lookup answer is not JSON") from None
        if not isinstance(data, list):
            raise RegistryUnavailable("registry lookup answer is not a JSON array")
        out: list[SubscriberKey] = []
        for record in data:
            if not isinstance(record, dict):
                continue
            try:
                key = SubscriberKey.from_record(record)
            except ValueError as exc:
                log.warning("registry lookup: skipping a malformed record: %s", exc)
                continue
            if key.subscriber_id == subscriber_id and key.unique_key_id == unique_key_id:
                out.append(key)
        return out


@dataclass(slots=True)
class _Entry:
    key: SubscriberKey | None  # None: negative entry
    problem: str | None
    expires_at: float


class LookupCache:
    """Bounded LRU of registry answers with single-flight fetches. See the module docstring."""

    def __init__(
        self,
        source: KeySource,
        *,
        max_entries: int = 10_000,
        max_age_s: float = 3600.0,
        negative_ttl_s: float = 30.0,
    ) -> None:
        self.source = source
        self.max_entries = max_entries
        self.max_age_s = max_age_s
        self.negative_ttl_s = negative_ttl_s
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._inflight: dict[tuple[str, str], asyncio.Future[_Entry]] = {}
        self.fetches = 0
        self.hits = 0

    def __len__(self) -> int:
        return len(self._entries)

    def prime(self, key: SubscriberKey, now: float | None = None) -> None:
        """Put a known record in the cache (pre-warming; a registry push)."""
        self._store(
            (key.subscriber_id, key.unique_key_id),
            self._entry_for([key], time.time() if now is None else now),
        )

    def invalidate(self, subscriber_id: str, unique_key_id: str) -> None:
        self._entries.pop((subscriber_id, unique_key_id), None)

    def _entry_for(self, keys: list[SubscriberKey], now: float) -> _Entry:
        if not keys:
            return _Entry(None, None, now + self.negative_ttl_s)
        # prefer a usable record when the registry returns several (one per domain or city)
        usable = [k for k in keys if k.problem(now) is None]
        if usable:
            k = usable[0]
            until = now + self.max_age_s
            if k.valid_until is not None:
                until = min(until, k.valid_until)
            return _Entry(k, None, until)
        k = keys[0]
        until = now + self.negative_ttl_s
        if k.valid_from is not None and k.valid_from > now and k.status == ACTIVE_STATUS:
            until = min(until, k.valid_from)
        return _Entry(k, k.problem(now), until)

    def _store(self, cache_key: tuple[str, str], entry: _Entry) -> None:
        self._entries[cache_key] = entry
        self._entries.move_to_end(cache_key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def _fetch(self, cache_key: tuple[str, str]) -> _Entry:
        self.fetches += 1
        keys = await self.source.fetch(*cache_key)
        entry = self._entry_for(keys, time.time())
        self._store(cache_key, entry)
        return entry

    async def get(self, subscriber_id: str, unique_key_id: str, now: float | None = None) -> SubscriberKey:
        """The usable key, or raise :class:`UnknownKey` / :class:`KeyNotUsable` /
        :class:`RegistryUnavailable`."""
        t = time.time() if now is None else now
        cache_key = (subscriber_id, unique_key_id)
        entry = self._entries.get(cache_key)
        if entry is not None and entry.expires_at > t:
            self.hits += 1
            self._entries.move_to_end(cache_key)
        else:
            fut = self._inflight.get(cache_key)
            if fut is None:
                fut = asyncio.ensure_future(self._fetch(cache_key))
                self._inflight[cache_key] = fut
                fut.add_done_callback(lambda _f: self._inflight.pop(cache_key, None))
            entry = await asyncio.shield(fut)
        if entry.key is None:
            raise UnknownKey(f"no key {unique_key_id!r} registered for {subscriber_id!r}")
        problem = entry.key.problem(t)
        if problem is not None:
            raise KeyNotUsable(problem)
        return entry.key
