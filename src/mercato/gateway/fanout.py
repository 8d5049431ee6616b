"""Broadcast: forward a verified ``search`` to every seller of its domain and city.

The exact received bytes go out with the buyer app's original ``Authorization`` and the gateway's
own ``X-Gateway-Authorization``, to all sellers at once. Each forward has its own deadline (the
smaller of ``seller_timeout_s`` and what is left of the message's ttl) and passes through the
seller's circuit breaker, so a slow or dead seller never delays the others. Every search is noted
in the :class:`SearchBook`: the ``on_search`` answers it accepts later must belong to a live search
and come from a seller the search was sent to.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from mercato.gateway.breaker import CircuitBreakers
from mercato.gateway.clients import HostClients
from mercato.gateway.directory import Seller
from mercato.protocol.signing import digest_header
from mercato.transport.client import DeliveryError, action_url

log = logging.getLogger("mercato.gateway.fanout")


@dataclass
class SearchState:
    bap_id: str
    bap_uri: str
    expires_at: float  # unix time: context.timestamp + ttl
    sellers: set[str] = field(default_factory=set)
    items: dict[str, int] = field(default_factory=dict)  # relayed items per seller


class SearchBook:
    """Live searches by (bap_id, message_id), forgotten when their ttl has passed."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._open: dict[tuple[str, str], SearchState] = {}

    def open(self, bap_id: str, message_id: str, bap_uri: str, expires_at: float) -> SearchState:
        if len(self._open) >= self.max_entries:
            self.prune()
        state = SearchState(bap_id, bap_uri, expires_at)
        self._open[(bap_id, message_id)] = state
        return state

    def get(self, bap_id: str, message_id: str, now: float | None = None) -> SearchState | None:
        state = self._open.get((bap_id, message_id))
        if state is None:
            return None
        if state.expires_at < (time.time() if now is None else now):
            del self._open[(bap_id, message_id)]
            return None
        return state

    def prune(self, now: float | None = None) -> None:
        t = time.time() if now is None else now
        for k in [k for k, s in self._open.items() if s.expires_at < t]:
            del self._open[k]
        while len(self._open) >= self.max_entries:  # still full: drop the oldest
            del self._open[next(iter(self._open))]

    def __len__(self) -> int:
        return len(self._open)


@dataclass
class FanoutStats:
    forwarded: int = 0
    failed: int = 0
    nacked: int = 0
    skipped_open: int = 0


class Broadcaster:
    def __init__(self, clients: HostClients, breakers: CircuitBreakers, seller_timeout_s: float) -> None:
        self.clients = clients
        self.breakers = breakers
        self.seller_timeout_s = seller_timeout_s
        self.stats = FanoutStats()

    async def broadcast(
        self, sellers: Iterable[Seller], body: bytes, authorization: str, state: SearchState
    ) -> None:
        """Forward to every seller whose circuit allows it; returns when all have answered or
        timed out (the caller runs this in the background)."""
        tasks = []
        # one X-Gateway-Authorization per search: every seller gets the same bytes
        headers = {
            "Content-Type": "application/json",
            "Authorization": authorization,
            "X-Gateway-Authorization": self.clients.signer.sign(body),
            "Digest": digest_header(body),
        }
        for seller in sellers:
            if not self.breakers.allow(seller.subscriber_id):
                self.stats.skipped_open += 1
                continue
            state.sellers.add(seller.subscriber_id)
            tasks.append(self._forward(seller, body, headers, state.expires_at))
        if tasks:
            await asyncio.gather(*tasks)

    async def _forward(self, seller: Seller, body: bytes, headers: dict[str, str], expires_at: float) -> None:
        budget = min(self.seller_timeout_s, expires_at - time.time())
        sid = seller.subscriber_id
        if budget <= 0:
            return
        try:
            answer = await asyncio.wait_for(
                self.clients.for_url(seller.subscriber_url).post(
                    action_url(seller.subscriber_url, "search"), body, headers
                ),
                budget,
            )
        except (DeliveryError, TimeoutError) as exc:
            self.stats.failed += 1
            self.breakers.failure(sid)
            log.info("search to %s failed: %s", sid, type(exc).__name__)
            return
        self.breakers.success(sid)
        if answer.ack:
            self.stats.forwarded += 1
        else:
            self.stats.nacked += 1
            log.info("search NACKed by %s: %s %s", sid, answer.error_code, answer.error_message)
