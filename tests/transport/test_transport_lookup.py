"""The registry lookup cache: one registry call per key, not per request."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from mercato.transport.lookup import (
    KeyNotUsable,
    LookupCache,
    RegistryKeySource,
    RegistryUnavailable,
    SubscriberKey,
    UnknownKey,
)
from tests.transport.conftest import CountingSource
from tests.transport.transport_helpers import FakeRegistry, Party, ServerThread, rfc3339


async def test_a_burst_for_one_key_makes_one_registry_call() -> None:
    bap = Party("buyer.example")
    source = CountingSource(bap)
    cache = LookupCache(source)
    keys = await asyncio.gather(*(cache.get("buyer.example", "k1") for _ in range(200)))
    assert {k.signing_public_key for k in keys} == {bap.keys.signing_public_key}
    assert source.calls == [("buyer.example", "k1")]
    for _ in range(100):
        await cache.get("buyer.example", "k1")
    assert len(source.calls) == 1


async def test_entry_lives_until_valid_until_then_is_fetched_again() -> None:
    now = time.time()
    bap = Party("buyer.example", valid_until=now + 100)
    source = CountingSource(bap)
    cache = LookupCache(source, max_age_s=10_000)
    await cache.get("buyer.example", "k1", now=now)
    await cache.get("buyer.example", "k1", now=now + 99)
    assert len(source.calls) == 1
    with pytest.raises(KeyNotUsable, match="expired"):
        await cache.get("buyer.example", "k1", now=now + 101)
    assert len(source.calls) == 2


async def test_max_age_bounds_how_long_a_revocation_goes_unseen() -> None:
    bap = Party("buyer.example")
    source = CountingSource(bap)
    cache = LookupCache(source, max_age_s=60)
    now = time.time()
    await cache.get("buyer.example", "k1", now=now)
    bap.status = "REVOKED"
    await cache.get("buyer.example", "k1", now=now + 30)  # still cached
    with pytest.raises(KeyNotUsable, match="revoked"):
        await cache.get("buyer.example", "k1", now=now + 61)


async def test_unknown_key_is_negatively_cached_for_a_short_while() -> None:
    source = CountingSource()
    cache = LookupCache(source, negative_ttl_s=30)
    now = time.time()
    for _ in range(50):
        with pytest.raises(UnknownKey):
            await cache.get("nobody.example", "k9", now=now)
    assert len(source.calls) == 1
    source.add(Party("nobody.example", ukid="k9"))
    assert (await cache.get("nobody.example", "k9", now=now + 31)).subscriber_id == "nobody.example"
    assert len(source.calls) == 2


async def test_revoked_key_is_not_usable_and_negatively_cached() -> None:
    source = CountingSource(Party("buyer.example", status="REVOKED"))
    cache = LookupCache(source)
    for _ in range(5):
        with pytest.raises(KeyNotUsable, match="revoked"):
            await cache.get("buyer.example", "k1")
    assert len(source.calls) == 1


async def test_cache_is_bounded_lru() -> None:
    parties = [Party(f"s{i}.example") for i in range(20)]
    source = CountingSource(*parties)
    cache = LookupCache(source, max_entries=10)
    for p in parties:
        await cache.get(p.subscriber_id, "k1")
    assert len(cache) == 10
    await cache.get("s19.example", "k1")  # recent: cached
    assert len(source.calls) == 20
    await cache.get("s0.example", "k1")  # evicted: fetched again
    assert len(source.calls) == 21


async def test_registry_failure_is_shared_by_waiters_and_not_cached() -> None:
    class Flaky:
        calls = 0

        async def fetch(self, subscriber_id: str, unique_key_id: str) -> list[SubscriberKey]:
            self.calls += 1
            await asyncio.sleep(0.01)
            if self.calls == 1:
                raise RegistryUnavailable("down")
            return [Party(subscriber_id).key()]

    src = Flaky()
    cache = LookupCache(src)
    results = await asyncio.gather(*(cache.get("a.example", "k1") for _ in range(10)), return_exceptions=True)
    assert all(isinstance(r, RegistryUnavailable) for r in results)
    assert src.calls == 1
    assert (await cache.get("a.example", "k1")).subscriber_id == "a.example"
    assert src.calls == 2


async def test_prime_avoids_the_first_call() -> None:
    bap = Party("buyer.example")
    source = CountingSource(bap)
    cache = LookupCache(source)
    cache.prime(bap.key())
    await cache.get("buyer.example", "k1")
    assert source.calls == []


def test_record_parsing_rejects_incomplete_records() -> None:
    with pytest.raises(ValueError, match="signing_public_key"):
        SubscriberKey.from_record({"subscriber_id": "a", "ukId": "k"})
    with pytest.raises(ValueError):
        SubscriberKey.from_record({"subscriber_id": "a", "ukId": 3, "signing_public_key": "x"})


# --- a registry over HTTP -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry() -> Any:
    reg = FakeRegistry(Party("buyer.example"), Party("old.example", status="REVOKED"))
    with ServerThread(reg.app) as srv:
        reg.url = srv.url  # type: ignore[attr-defined]
        yield reg


async def test_registry_source_fetches_and_verifies(registry: FakeRegistry) -> None:
    registry.mode = "signed"
    source = await RegistryKeySource.discover(registry.url)  # type: ignore[attr-defined]
    try:
        cache = LookupCache(source)
        key = await cache.get("buyer.example", "k1")
        assert key.type == "BAP" and key.valid_until is not None
        with pytest.raises(KeyNotUsable, match="revoked"):
            await cache.get("old.example", "k1")
        with pytest.raises(UnknownKey):
            await cache.get("nobody.example", "k1")
        assert registry.lookups[-1]["subscriber_id"] == "nobody.example"
        assert source.calls == 3
    finally:
        await source.aclose()


@pytest.mark.parametrize(
    ("mode", "match"),
    [
        ("unsigned", "not signed"),
        ("forged", "signature"),
        ("tampered", "signature"),
        ("html", "not JSON"),
        ("error", "HTTP 500"),
    ],
)
async def test_untrustworthy_registry_answers_are_refused(
    registry: FakeRegistry, mode: str, match: str
) -> None:
    registry.mode = mode
    pinned = mode in ("unsigned", "forged", "tampered")
    source = RegistryKeySource(
        registry.url,  # type: ignore[attr-defined]
        registry_public_key=registry.keys.signing_public_key if pinned else None,
        registry_subscriber_id="registry.example",
    )
    try:
        with pytest.raises(RegistryUnavailable, match=match):
            await source.fetch("buyer.example", "k1")
    finally:
        registry.mode = "signed"
        await source.aclose()


async def test_unreachable_registry_is_unavailable() -> None:
    source = RegistryKeySource("http://127.0.0.1:9", timeout_s=1)
    try:
        with pytest.raises(RegistryUnavailable):
            await source.fetch("buyer.example", "k1")
    finally:
        await source.aclose()


def test_rfc3339_records_round_trip() -> None:
    p = Party("x.example", valid_until=1_900_000_000)
    assert p.key().valid_until == 1_900_000_000
    assert rfc3339(1_900_000_000).endswith("Z")


async def test_discover_needs_a_published_key() -> None:
    async def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"nothing": True})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(RegistryUnavailable, match="signing_public_key"):
            await RegistryKeySource.discover("http://registry", client=client)
