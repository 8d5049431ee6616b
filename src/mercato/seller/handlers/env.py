"""What every handler needs: the store, the node's identity, its support contact, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mercato.seller.domain.support import SupportContact
from mercato.seller.store import Store

from .reply import Identity


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Env:
    store: Store
    me: Identity
    support: SupportContact | None = None
    now: Callable[[], datetime] = field(default=utc_now)
