"""One write transaction, the same way on SQLite and PostgreSQL.

SQLite: ``BEGIN IMMEDIATE`` takes the database's single write lock at the start, so writers run one
after another and a read-then-write can never interleave with another writer (WAL lets readers go on).
PostgreSQL: a normal READ COMMITTED transaction; the hot rows are locked explicitly with
``SELECT ... FOR UPDATE`` in a fixed order (see :mod:`mercato.seller.store.stock`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from mercato.db import session_factory
from mercato.seller.domain import InvalidInput

from .callbacks import HANDED, HANDOFF, QUEUED, Handoff
from .catalog_cache import SESSION_KEY, CatalogCache


class Store:
    """The seller node's database: an engine and its session factory."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = session_factory(engine)
        # Catalog rows for quotes, valid while the database's catalog version holds (catalog_cache.py).
        self.catalog_cache = CatalogCache()
        self.sessions.configure(info={SESSION_KEY: self.catalog_cache})
        self.sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time; threads of this process queue on this lock instead of on
        # SQLite's busy handler, which sleeps up to 100 ms between tries (other processes still use it).
        self.write_lock: threading.Lock | None = threading.Lock() if self.sqlite else None
        # The running outbox delivery, if any: callbacks committed here go straight to it (callbacks.py).
        self.handoff: Handoff | None = None

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one write transaction: committed on success, rolled back on any error.

        After the commit (and after the write lock is released), the callbacks it enqueued are
        reported to :attr:`handoff`; after a rollback they never existed."""
        handoff = self.handoff
        with self.write_lock or nullcontext(), self.sessions() as session:
            if handoff is not None:
                session.info[HANDOFF] = handoff
            if self.sqlite:
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            handed, queued = session.info.get(HANDED), session.info.get(QUEUED)
        if handoff is not None and (handed or queued):
            handoff.committed(handed or (), queued or ())

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session


def check_now(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInput("times must be timezone-aware (UTC)")
