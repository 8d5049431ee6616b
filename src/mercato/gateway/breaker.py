"""A circuit breaker per seller: after ``failures`` consecutive failed forwards the seller is
skipped for ``cooldown_s``; then one probe is let through (half-open). A success closes it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _State:
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False
    skipped: int = 0


class CircuitBreakers:
    def __init__(
        self, failures: int = 3, cooldown_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if failures < 1 or cooldown_s < 0:
            raise ValueError("failures must be >= 1 and cooldown_s >= 0")
        self.failures = failures
        self.cooldown_s = cooldown_s
        self.clock = clock
        self._states: dict[str, _State] = {}

    def state(self, key: str) -> str:
        s = self._states.get(key)
        if s is None or s.opened_at is None:
            return "closed"
        if self.clock() - s.opened_at >= self.cooldown_s:
            return "half-open"
        return "open"

    def allow(self, key: str) -> bool:
        """May we call this seller now? In half-open state only one probe at a time."""
        s = self._states.setdefault(key, _State())
        if s.opened_at is None:
            return True
        if self.clock() - s.opened_at >= self.cooldown_s and not s.probing:
            s.probing = True
            return True
        s.skipped += 1
        return False

    def success(self, key: str) -> None:
        s = self._states.setdefault(key, _State())
        s.failures = 0
        s.opened_at = None
        s.probing = False

    def failure(self, key: str) -> None:
        s = self._states.setdefault(key, _State())
        s.failures += 1
        if s.probing or s.failures >= self.failures:
            s.opened_at = self.clock()
        s.probing = False

    def snapshot(self) -> dict[str, dict[str, object]]:
        return {
            k: {"state": self.state(k), "failures": s.failures, "skipped": s.skipped}
            for k, s in self._states.items()
        }
