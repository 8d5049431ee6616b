"""Relaying ``on_search``: each verified answer goes on to the buyer app as soon as it arrives.

The receiver has already checked the seller's signature against the registry (an unknown, revoked
or expired key is refused with 401 before this code runs). Here the gateway also requires that the
answer belongs to a live search it broadcast, comes from a seller that search was sent to, and
keeps within the per-seller item cap. It then forwards the seller's exact bytes and its original
``Authorization`` with the gateway's ``X-Gateway-Authorization`` to the ``bap_uri`` recorded with the
search (never to a URI the seller names). An answer that would pass the cap is refused whole
(NACK, policy error): the gateway cannot cut a signed message, and never re-signs a seller's
catalog as its own. Sellers with more items send several ``on_search`` messages.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from mercato.gateway.clients import HostClients
from mercato.gateway.fanout import SearchBook
from mercato.protocol.errors import Code, ProtocolError
from mercato.transport.client import DeliveryError
from mercato.transport.server import Inbound

log = logging.getLogger("mercato.gateway.relay")


@dataclass
class RelayStats:
    relayed: int = 0
    refused: int = 0
    failed: int = 0


def count_items(message: Any) -> int:
    catalog = getattr(message, "catalog", None)
    providers = getattr(catalog, "providers", None) or []
    return sum(len(p.items or []) for p in providers)


class Relay:
    def __init__(self, clients: HostClients, book: SearchBook, max_items_per_seller: int) -> None:
        self.clients = clients
        self.book = book
        self.max_items = max_items_per_seller
        self.stats = RelayStats()
        self._tasks: set[asyncio.Task[None]] = set()

    def _refuse(self, code: Code, message: str, status: int = 400) -> ProtocolError:
        self.stats.refused += 1
        return ProtocolError(code, message, http_status=status)

    async def on_search(self, inbound: Inbound) -> None:
        ctx = inbound.request.context
        seller = inbound.sender.subscriber_id
        state = self.book.get(ctx.bap_id, str(ctx.message_id))
        if state is None:
            raise self._refuse(
                Code.RESPONSE_OUT_OF_SEQUENCE, "no live search with this bap_id and message_id"
            )
        if seller not in state.sellers:
            raise self._refuse(Code.POLICY_ERROR, "this search was not sent to you", 403)
        n = count_items(getattr(inbound.request, "message", None))
        used = state.items.get(seller, 0)
        if used + n > self.max_items:
            raise self._refuse(
                Code.POLICY_ERROR,
                f"at most {self.max_items} items per seller and search ({used} already relayed)",
                403,
            )
        state.items[seller] = used + n
        task = asyncio.ensure_future(self._deliver(state.bap_uri, inbound))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, bap_uri: str, inbound: Inbound) -> None:
        try:
            client = self.clients.for_url(bap_uri)
            answer = await client.forward(bap_uri, "on_search", inbound.body, inbound.signature.render())
        except DeliveryError as exc:
            self.stats.failed += 1
            log.info("on_search to %s failed: %s", bap_uri, exc)
            return
        if answer.ack:
            self.stats.relayed += 1
        else:
            self.stats.failed += 1
            log.info("on_search NACKed by the buyer app: %s %s", answer.error_code, answer.error_message)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
