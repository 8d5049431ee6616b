"""Callbacks to the buyer, committed with the state change through the durable outbox.

When the node's outbox delivery is running it registers a :class:`Handoff` on the store. While the
delivery is idle, a callback whose transaction has nothing earlier left to deliver is enqueued already
leased to that worker and handed to it as soon as the store's transaction commits, so it is sent
without being claimed back from the table first. Any other callback (under load, an earlier one of
its transaction still undelivered, or no handoff registered) is enqueued unleased and claimed. The
row is in the outbox either way: a handed-off callback whose worker dies is claimed again when its
lease ends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from mercato.seller.domain import Order
from mercato.transport.outbox import OutboxRow, enqueue, now_ms, undelivered_ids


@dataclass(frozen=True)
class Callback:
    """One message to send: the exact body bytes (signed at delivery) and where they go."""

    destination_url: str
    action: str  # on_confirm, on_status, on_update, on_cancel, ...
    body: bytes
    transaction_id: str
    message_id: str


# Builds the callback for an order after a change (or None: nobody to tell). Runs inside the
# transaction, so it must be fast and do no I/O: it only serialises the order.
Notifier = Callable[[Order], Callback | None]


class Handoff(Protocol):
    """The running outbox delivery, as the store sees it (``mercato.seller.node.delivery.Delivery``)."""

    worker_id: str
    lease_ms: int

    def acked(self, row_id: int) -> bool:
        """True if this worker has had the row ACKed and not yet recorded it delivered (any thread)."""
        ...

    def idle(self) -> bool:
        """True if a callback committed now should be handed off (any thread)."""
        ...

    def committed(self, handed: Sequence[OutboxRow], queued: Sequence[int]) -> None:
        """After a commit (any thread): send ``handed`` now; ``queued`` rows wait to be claimed."""
        ...


HANDOFF = "mercato.outbox.handoff"  # session.info keys (set and read by Store.write)
HANDED = "mercato.outbox.handed"
QUEUED = "mercato.outbox.queued"


def send_later(session: Session, callback: Callback) -> int:
    """Enqueue ``callback`` in the session's transaction; returns the outbox row id."""
    h: Handoff | None = session.info.get(HANDOFF)
    args = (session, callback.destination_url, callback.action, callback.body,
            callback.transaction_id, callback.message_id)  # fmt: skip
    if h is None:
        return enqueue(*args)
    if not h.idle() or _blocked(session, h, callback.transaction_id):
        row_id = enqueue(*args)  # ordered after an earlier callback: claimed once that one is delivered
        session.info.setdefault(QUEUED, []).append(row_id)
        return row_id
    t = now_ms()
    row_id = enqueue(*args, at_ms=t, lease=(h.worker_id, t + h.lease_ms))
    row = OutboxRow(row_id, callback.transaction_id, callback.message_id, callback.destination_url,
                    callback.action, callback.body, 0)  # fmt: skip
    session.info.setdefault(HANDED, []).append(row)
    return row_id


def _blocked(session: Session, h: Handoff, transaction_id: str) -> bool:
    """An earlier callback of the transaction is not delivered yet (an ACK not recorded yet counts as
    delivered when this worker got it)."""
    earlier = undelivered_ids(session.connection(), transaction_id, limit=8)
    return len(earlier) == 8 or any(not h.acked(i) for i in earlier)
