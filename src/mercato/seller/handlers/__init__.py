"""The seller's Beckn protocol handlers: one module per group of actions.

:class:`SellerHandlers` is the :class:`~mercato.transport.server.BecknReceiver` handler. For each
verified request it checks the message cheaply (a malformed one is NACKed with the field's path),
schedules the work and returns, so the ACK goes out at once. The work runs after that, as store work
(:meth:`~mercato.seller.store.Store.run`: inline on SQLite, in a worker thread on PostgreSQL): it
reads or changes the store and commits the ``on_*`` callback to the outbox in the same transaction
(a domain error becomes the callback's ``error`` with its Beckn code), then wakes the outbox worker.

| module | actions |
|---|---|
| :mod:`.discovery` | search, select |
| :mod:`.checkout` | init, confirm |
| :mod:`.orders` | status, track, cancel, update (and the merchant's unsolicited on_status/on_update) |
| :mod:`.aftersales` | rating, support |
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from mercato.protocol.actions import callback_for
from mercato.protocol.errors import Code, ProtocolError
from mercato.seller.domain import DomainError
from mercato.seller.store import Callback
from mercato.seller.store.callbacks import send_later
from mercato.transport.server import Inbound

from . import aftersales, checkout, discovery, orders
from .env import Env
from .parse import Draft, bad, draft
from .reply import Identity, callback, error_json

log = logging.getLogger("mercato.seller.handlers")

Work = Callable[..., Callback | None]  # (env, request) or, for select/init/confirm, (env, request, draft)

ACTIONS: dict[str, Work] = {
    "search": discovery.search,
    "select": discovery.select,
    "init": checkout.init,
    "confirm": checkout.confirm,
    "status": orders.status,
    "track": orders.track,
    "cancel": orders.cancel,
    "update": orders.update,
    "rating": aftersales.rating,
    "support": aftersales.support,
}


def precheck(action: str, request: Any) -> Draft | None:
    """Refuse (NACK) what can be refused without the database: missing or unusable fields. The draft
    of a select, init or confirm is returned, for its work to use (it is parsed once)."""
    m = getattr(request, "message", None)
    if action == "search":
        discovery.search_query(request)
    elif action in ("select", "init", "confirm"):
        return draft(m.order if m is not None else None, request.context)
    elif action in ("status", "track", "cancel"):
        if m is None or not m.order_id:
            raise bad("message.order_id is required", "message.order_id")
    elif action == "update":
        if m is None or m.order is None or not m.order.id:
            raise bad("message.order.id is required", "message.order.id")
    elif action == "rating":
        if m is None or not m.ratings:
            raise bad("message.ratings must hold at least one rating", "message.ratings")
    elif action == "support" and (m is None or m.support is None or not m.support.ref_id):
        raise bad("message.support.ref_id is required", "message.support.ref_id")
    return None


def error_message(action: str, request: Any) -> dict[str, Any]:
    """The smallest valid ``message`` of the callback that carries an error (the schemas require one)."""
    m = getattr(request, "message", None)
    order_id = getattr(m, "order_id", None) or getattr(getattr(m, "order", None), "id", None)
    if action == "search":
        return {"catalog": {"providers": []}}
    if action == "track":
        return {"tracking": {"status": "inactive"}}
    if action == "rating":
        return {}
    if action == "support":
        ref = getattr(getattr(m, "support", None), "ref_id", None)
        return {"support": {"ref_id": ref}} if ref else {"support": {}}
    return {"order": {"id": order_id}} if order_id else {"order": {}}


class SellerHandlers:
    """Receiver handler: precheck, ACK, then do the work and commit its callback to the outbox."""

    def __init__(self, env: Env, wake: Callable[[], None] = lambda: None) -> None:
        self.env = env
        self.wake = wake
        self._tasks: set[asyncio.Task[None]] = set()
        self.processed = 0
        self.failed = 0

    async def __call__(self, inbound: Inbound) -> None:
        work = ACTIONS.get(inbound.action)
        if work is None:
            raise ProtocolError(Code.ACTION_NOT_APPLICABLE, f"a seller does not serve {inbound.action!r}")
        parsed = precheck(inbound.action, inbound.request)
        task = asyncio.get_running_loop().create_task(self._run(work, inbound, parsed))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, work: Work, inbound: Inbound, parsed: Draft | None = None) -> None:
        try:
            if inbound.action == "search":  # may read the whole catalog: never on the event loop
                await asyncio.to_thread(self.process, work, inbound)
            else:  # SQLite: in the loop turn's group transaction (store/group.py)
                await self.env.store.run_grouped(self.process, work, inbound, parsed)
            self.processed += 1
        except Exception:
            self.failed += 1
            log.exception(
                "handling %s (message_id %s) failed", inbound.action, inbound.request.context.message_id
            )
        self.wake()

    def process(self, work: Work, inbound: Inbound, parsed: Draft | None = None) -> None:
        """Do one request's work (in a worker thread); its callback ends up in the outbox. ``parsed``:
        the request's draft from :func:`precheck` (select, init, confirm)."""
        req = inbound.request
        try:
            cb = work(self.env, req) if parsed is None else work(self.env, req, parsed)
        except (DomainError, ProtocolError) as exc:
            message = error_message(inbound.action, req)
            cb = callback(req.context, callback_for(inbound.action), self.env.me, message, error_json(exc))
        if cb is not None:
            with self.env.store.write() as s:
                send_later(s, cb)

    async def drain(self) -> None:
        """Wait for the work already accepted (at shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


__all__ = ["ACTIONS", "Env", "Identity", "SellerHandlers", "precheck"]
