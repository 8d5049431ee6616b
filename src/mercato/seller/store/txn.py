"""One write transaction, the same way on SQLite and PostgreSQL; where store work runs.

SQLite: ``BEGIN IMMEDIATE`` takes the database's single write lock at the start, so writers run one
after another and a read-then-write can never interleave with another writer (WAL lets readers go on).
PostgreSQL: a normal READ COMMITTED transaction; the hot rows are locked explicitly with
``SELECT ... FOR UPDATE`` in a fixed order (see :mod:`mercato.seller.store.stock`).

:meth:`Store.run` runs a piece of store work for async code. On PostgreSQL (every statement a network
round trip) it goes to a worker thread. On SQLite it runs at once on the caller's thread (the event
loop's) when the write lock is free: a checkout step is a millisecond of CPU, and handing it to a
thread cost more than the work itself — each sqlite3 call releases the GIL, so six threads and the
loop passed it back and forth (measured: 7.7–8.9 ms of node CPU per checkout with threads, 5.9–6.9
inline). If the first write of that work would have to wait for another thread of this process,
nothing has been written yet: :class:`WouldBlock` ends it and it runs again from the start in a thread.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from mercato.db import session_factory
from mercato.seller.domain import InvalidInput

from .callbacks import HANDED, HANDOFF, QUEUED, Handoff
from .catalog_cache import SESSION_KEY, CatalogCache
from .group import Group

T = TypeVar("T")


class WouldBlock(BaseException):  # noqa: N818 -- not an error: BaseException, so no handler swallows it
    """The write lock is held by another thread, and this work was asked not to wait (Store.run)."""


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
        self.acquire(True)
        return self

    def acquire(self, wait: bool) -> bool:
        """Take the lock; with ``wait=False`` give up (False) if another thread of this process holds
        it. Other worker processes are always waited for: their transactions are this node's own,
        short ones."""
        if not self._thread.acquire(wait):
            return False
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._thread.release()
                raise
        return True

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
        # SQLite: Store.run runs store work on the caller's thread while the write lock is free.
        self.inline = self.sqlite
        self._nowait = threading.local()
        self.ran_inline = 0  # Store.run calls done inline, and in a worker thread
        self.ran_in_thread = 0
        # SQLite: the work of one event-loop turn shares one write transaction (group.py).
        self.group: Group | None = Group(self) if self.sqlite else None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The write lock (SQLite) around a write transaction; nothing on PostgreSQL. Inside
        :meth:`run`'s inline attempt the first write refuses to wait (:class:`WouldBlock`)."""
        lock = self.write_lock
        if lock is None or (self.group is not None and self.group.session() is not None):
            yield  # PostgreSQL, or inside a group, which holds the lock
            return
        if getattr(self._nowait, "on", False):
            self._nowait.on = False  # only the first write may refuse: nothing is committed before it
            if not lock.acquire(False):
                raise WouldBlock
        else:
            lock.acquire(True)
        try:
            yield
        finally:
            lock.__exit__()

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)``: inline on SQLite while the write lock is free, else in a worker thread."""
        if self.inline:
            self._nowait.on = True
            try:
                out = fn(*args)
                self.ran_inline += 1
                return out
            except WouldBlock:
                pass
            finally:
                self._nowait.on = False
        self.ran_in_thread += 1
        return await asyncio.to_thread(fn, *args)

    async def run_grouped(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` as :meth:`run`, but on SQLite in the next group transaction (group.py): for
        the protocol's steps, whose writes all go through :meth:`write`."""
        if self.group is None or not self.inline:
            return await self.run(fn, *args)
        return await self.group.run(fn, *args)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one write transaction: committed on success, rolled back on any error.
        Inside a group (:meth:`run_grouped`): a savepoint of the group's transaction.

        After the commit (and after the write lock is released), the callbacks it enqueued are
        reported to :attr:`handoff`; after a rollback they never existed."""
        if self.group is not None and self.group.session() is not None:
            with self.group.savepoint() as shared:
                yield shared
            return
        handoff = self.handoff
        with self.locked(), self.sessions() as session:
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
        """A session to read in; inside a group, the group's (it sees the pieces before)."""
        if self.group is not None and self.group.session() is not None:
            yield self.group.read_session()
            return
        with self.sessions() as session:
            yield session


def check_now(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInput("times must be timezone-aware (UTC)")
