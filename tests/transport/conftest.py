"""Fixtures for the transport tests: parties, a counting key source, a receiver with a recording handler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from mercato.transport.lookup import LookupCache, SubscriberKey
from mercato.transport.replay import MemoryReplayGuard
from mercato.transport.server import BecknReceiver, Inbound
from tests.transport.transport_helpers import Party


class CountingSource:
    """A key source standing in for the registry: serves Party records and counts calls."""

    def __init__(self, *parties: Party) -> None:
        self.parties = {(p.subscriber_id, p.ukid): p for p in parties}
        self.calls: list[tuple[str, str]] = []

    def add(self, party: Party) -> None:
        self.parties[(party.subscriber_id, party.ukid)] = party

    async def fetch(self, subscriber_id: str, unique_key_id: str) -> list[SubscriberKey]:
        self.calls.append((subscriber_id, unique_key_id))
        p = self.parties.get((subscriber_id, unique_key_id))
        return [] if p is None else [p.key()]


@dataclass
class Net:
    bap: Party
    bpp: Party
    bg: Party
    source: CountingSource
    cache: LookupCache
    guard: MemoryReplayGuard
    received: list[Inbound] = field(default_factory=list)

    async def handler(self, inbound: Inbound) -> None:
        self.received.append(inbound)

    def receiver(self, **kw: Any) -> BecknReceiver:
        kw.setdefault("keys", self.cache)
        kw.setdefault("handler", self.handler)
        kw.setdefault("replay_guard", self.guard)
        kw.setdefault("subscriber_id", "seller.example")
        return BecknReceiver(**kw)


@pytest.fixture
def net() -> Net:
    bap = Party("buyer.example", "BAP")
    bpp = Party("seller.example", "BPP")
    bg = Party("gateway.example", "BG")
    source = CountingSource(bap, bpp, bg)
    return Net(bap, bpp, bg, source, LookupCache(source), MemoryReplayGuard())


@pytest.fixture
async def asgi(net: Net) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client for a receiver that serves every action."""
    app = net.receiver()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://seller") as c:
        yield c
