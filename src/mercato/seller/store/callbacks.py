"""Callbacks to the buyer, committed with the state change through the durable outbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from mercato.seller.domain import Order
from mercato.transport.outbox import enqueue


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


def send_later(session: Session, callback: Callback) -> int:
    """Enqueue ``callback`` in the session's transaction; returns the outbox row id."""
    return enqueue(session, callback.destination_url, callback.action, callback.body,
                   callback.transaction_id, callback.message_id)  # fmt: skip
