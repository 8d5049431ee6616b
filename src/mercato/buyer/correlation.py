"""Pairing callbacks with the requests that caused them, by ``(transaction_id, message_id)``.

Before a request is sent, the caller opens a :class:`Waiter` for its ids and the seller it is sent to
(``None`` for a search: any seller may answer). A callback whose ids match and whose signer is that
seller is handed to the waiter; anything else is "unsolicited" (a seller's own ``on_status`` or
``on_update``, or a late answer after the caller gave up) and the node handles it on its own.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from mercato.transport.server import Inbound

Key = tuple[str, str]


@dataclass(eq=False)
class Waiter:
    key: Key
    action: str  # the callback expected: on_select, on_search, ...
    bpp_id: str | None  # None: any sender (search)
    queue: asyncio.Queue[Inbound] = field(default_factory=asyncio.Queue)

    async def next(self, timeout_s: float) -> Inbound:
        """The next matching callback; raises TimeoutError after ``timeout_s``."""
        return await asyncio.wait_for(self.queue.get(), timeout=max(0.0, timeout_s))


class Correlator:
    def __init__(self) -> None:
        self._waiters: dict[Key, Waiter] = {}

    def __len__(self) -> int:
        return len(self._waiters)

    def open(self, transaction_id: str, message_id: str, action: str, bpp_id: str | None) -> Waiter:
        key = (transaction_id, message_id)
        if key in self._waiters:
            raise ValueError(f"a request with message_id {message_id!r} is already waiting")
        waiter = Waiter(key, action, bpp_id)
        self._waiters[key] = waiter
        return waiter

    def close(self, waiter: Waiter) -> None:
        if self._waiters.get(waiter.key) is waiter:
            del self._waiters[waiter.key]

    def deliver(self, inbound: Inbound) -> bool:
        """Hand the callback to its waiter. False when nobody waits for it (unsolicited or late)."""
        ctx = inbound.request.context
        waiter = self._waiters.get((str(ctx.transaction_id), str(ctx.message_id)))
        if waiter is None or waiter.action != inbound.action:
            return False
        if waiter.bpp_id is not None and waiter.bpp_id != inbound.sender.subscriber_id:
            return False  # another seller cannot answer a request it was not sent
        waiter.queue.put_nowait(inbound)
        return True

    def is_awaited(self, inbound: Inbound) -> bool:
        ctx = inbound.request.context
        waiter = self._waiters.get((str(ctx.transaction_id), str(ctx.message_id)))
        return (
            waiter is not None
            and waiter.action == inbound.action
            and (waiter.bpp_id is None or waiter.bpp_id == inbound.sender.subscriber_id)
        )
