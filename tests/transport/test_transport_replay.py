"""The in-memory replay guard."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mercato.transport.replay import MemoryReplayGuard


def test_claim_once_within_ttl_then_again_after() -> None:
    g = MemoryReplayGuard()
    key = ("buyer.example", "search", "m1")
    assert g.claim_sync(key, expires_at=100.0, now=0.0)
    assert not g.claim_sync(key, expires_at=100.0, now=50.0)
    assert g.claim_sync(key, expires_at=300.0, now=101.0)  # expired: a new message may reuse it
    assert not g.claim_sync(key, expires_at=300.0, now=200.0)


async def test_release_forgets() -> None:
    g = MemoryReplayGuard()
    key = ("a", "search", "m")
    assert await g.claim(key, 1e12)
    assert not await g.claim(key, 1e12)
    await g.release(key)
    assert await g.claim(key, 1e12)


def test_expired_entries_are_purged() -> None:
    g = MemoryReplayGuard()
    for i in range(100):
        g.claim_sync(("a", "search", str(i)), expires_at=10.0, now=0.0)
    g.claim_sync(("a", "search", "late"), expires_at=100.0, now=20.0)
    assert len(g) == 1


@given(st.lists(st.tuples(st.integers(0, 50), st.floats(1, 1000)), max_size=300))
def test_bounded_and_never_accepts_a_live_duplicate(claims: list[tuple[int, float]]) -> None:
    small = MemoryReplayGuard(max_entries=16)
    roomy = MemoryReplayGuard(max_entries=1000)
    accepted: set[int] = set()
    for mid, ttl in claims:
        key = ("s", "search", str(mid))
        small.claim_sync(key, expires_at=ttl, now=0.0)
        assert len(small) <= 16
        # with room for every id, the first claim wins and every live duplicate is refused
        assert roomy.claim_sync(key, expires_at=ttl, now=0.0) == (mid not in accepted)
        accepted.add(mid)
