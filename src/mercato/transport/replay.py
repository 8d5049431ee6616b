"""Replay guard: a message_id is accepted once per sender within its time to live.

The receiver asks the guard *after* every other check has passed, so a rejected request never
leaves a trace here. The in-memory guard is bounded; a database-backed guard (shared by several
worker processes) implements the same :class:`ReplayGuard` protocol.
"""

from __future__ import annotations

import heapq
import time
from typing import Protocol

ReplayKey = tuple[str, ...]


class ReplayGuard(Protocol):
    async def claim(self, key: ReplayKey, expires_at: float) -> bool:
        """Record ``key`` until ``expires_at`` (unix seconds). False if it is already recorded."""
        ...

    async def release(self, key: ReplayKey) -> None:
        """Forget ``key`` (the request it belongs to was refused after all)."""
        ...


class MemoryReplayGuard:
    """Bounded in-memory guard for one process.

    Entries expire at the message's ``timestamp + ttl``. When ``max_entries`` live entries are
    held, the one expiring soonest is dropped to make room (the guard stays bounded under a
    flood; a replay of the dropped message would then be accepted, so size it above the peak
    number of messages accepted within one ttl).
    """

    def __init__(self, max_entries: int = 200_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._expiry: dict[ReplayKey, float] = {}
        self._heap: list[tuple[float, ReplayKey]] = []

    def __len__(self) -> int:
        return len(self._expiry)

    def _purge(self, now: float) -> None:
        heap = self._heap
        while heap and (heap[0][0] <= now or len(self._expiry) >= self.max_entries):
            exp, key = heapq.heappop(heap)
            if self._expiry.get(key) == exp:
                del self._expiry[key]
        if len(heap) > 4 * self.max_entries:  # stale heap rows left by release()
            self._heap = [(e, k) for k, e in self._expiry.items()]
            heapq.heapify(self._heap)

    def claim_sync(self, key: ReplayKey, expires_at: float, now: float | None = None) -> bool:
        t = time.time() if now is None else now
        known = self._expiry.get(key)
        if known is not None and known > t:
            return False
        self._purge(t)
        self._expiry[key] = expires_at
        heapq.heappush(self._heap, (expires_at, key))
        return True

    async def claim(self, key: ReplayKey, expires_at: float) -> bool:
        return self.claim_sync(key, expires_at)

    async def release(self, key: ReplayKey) -> None:
        self._expiry.pop(key, None)
