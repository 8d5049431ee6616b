"""The seller node's storage: SQLite (WAL) or PostgreSQL by URL, one code path.

Open it with :func:`open_store` (runs the migrations). Modules by concept:

* :mod:`.catalog` — providers, locations, categories, items: CRUD and loading for quotes;
* :mod:`.stock` — locking stock rows, the ledger, receive / adjust / backorder;
* :mod:`.checkout` — quotes at select/init and :func:`.checkout.confirm` (the confirm transaction);
* :mod:`.orders` — every later state change (accept, pack, ship, deliver, cancel ...);
* :mod:`.aftersales` — returns, refunds, ratings;
* :mod:`.callbacks` — the callback a change sends, committed through the durable outbox.

See docs/seller-storage.md.
"""

from __future__ import annotations

from mercato.db import make_engine, run_migrations

from .callbacks import Callback, Notifier
from .txn import Store

MIGRATIONS = "mercato.seller:migrations"


def open_store(url: str, *, pool_size: int = 10, migrate: bool = True) -> Store:
    """Connect to the node's database and bring it to the newest schema."""
    engine = make_engine(url, pool_size=pool_size)
    if migrate:
        run_migrations(engine, MIGRATIONS)
    return Store(engine)


__all__ = ["MIGRATIONS", "Callback", "Notifier", "Store", "open_store"]
