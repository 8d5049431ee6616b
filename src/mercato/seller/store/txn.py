"""One write transaction, the same way on SQLite and PostgreSQL.

SQLite: ``BEGIN IMMEDIATE`` takes the database's single write lock at the start, so writers run one
after another and a read-then-write can never interleave with another writer (WAL lets readers go on).
PostgreSQL: a normal READ COMMITTED transaction; the hot rows are locked explicitly with
``SELECT ... FOR UPDATE`` in a fixed order (see :mod:`mercato.seller.store.stock`).
"""

from __future__ import annotations

import fcntl
import os
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


class WriteLock:
    """SQLite's one writer at a time, as a lock that threads and processes queue on.

    Threads of a process queue on a ``threading.Lock``; with ``path`` (a file beside the database) the
    holder also takes an exclusive ``flock`` on it, so the worker processes of one node
    (``mercato seller serve --workers N``) take turns too. Without it they would meet in SQLite's busy
    handler, which sleeps up to 100 ms between tries. Anything else that writes the file (an importer,
    a migration) still goes through the busy handler as before."""

    def __init__(self, path: str | None = None) -> None:
        self._thread = threading.Lock()
        self._fd: int | None = None
        if path is not None:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def __enter__(self) -> WriteLock:
        self._thread.acquire()
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._thread.release()
                raise
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()


def _lock_path(engine: Engine) -> str | None:
    db = engine.url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return os.path.abspath(db) + "-writelock"


class Store:
    """The seller node's database: an engine and its session factory."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = session_factory(engine)
        # Catalog rows for quotes, valid while the database's catalog version holds (catalog_cache.py).
        self.catalog_cache = CatalogCache()
        self.sessions.configure(info={SESSION_KEY: self.catalog_cache})
        self.sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time; this node's threads and worker processes queue on this lock
        # instead of on SQLite's busy handler, which sleeps up to 100 ms between tries.
        self.write_lock: WriteLock | None = WriteLock(_lock_path(engine)) if self.sqlite else None
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
