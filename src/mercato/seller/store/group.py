"""Group commit on SQLite: the store work that arrives in one turn of the event loop shares one
write transaction, each piece inside its own savepoint.

Under load a node's checkout steps arrive faster than one at a time: 32 buyers' requests give the
event loop 3–6 steps to run per turn. Run one after another, each step pays for its own
``BEGIN IMMEDIATE``, session, ``COMMIT`` and the WAL frames of every page it touched, although the
steps touch mostly the same pages (the outbox's last leaf, the quotes table, the hot stock rows).
:meth:`Group.run` queues the work instead; at the end of the turn one transaction runs the queued
pieces in arrival order and commits once. Measured: node CPU per checkout 2.65–3.04 ms against
3.15–3.48 ms with a transaction per step, in the same runs (``docs/performance.md``, "Sixth round").

What each piece sees is what it would have seen run alone, one after the other:

* every :meth:`Store.write` inside a piece is a ``SAVEPOINT``: an exception rolls back that write
  and nothing else (its enqueued callbacks are dropped too) and reaches the piece as it would have;
* every :meth:`Store.read` reads the group's transaction, so it sees the pieces before it;
* the ORM session is emptied at each top-level write and read, as a write alone has a fresh one, so
  no piece gets another's (or its own earlier write's) loaded rows;
* callbacks are handed to the delivery, and results to the awaiting coroutines, only after the
  commit. If the commit fails, or the transaction is gone (a failed ORM flush rolls it back whole,
  and so does SQLite on a full disk), none of the pieces happened: each runs again from the start on
  its own (:meth:`Store.run`), so only the piece at fault fails.

A piece must do its store work through :meth:`Store.read` and :meth:`Store.write`: a second
connection would wait for the group's write lock forever, so opening one inside a group raises.
A piece that runs longer delays the pieces behind it, as it did before; at most ``max_items``
pieces share a group. When a thread of this process holds the write lock (PostgreSQL never groups)
the pieces run in threads, each in its own transactions.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from .callbacks import HANDED, HANDOFF, QUEUED

if TYPE_CHECKING:
    from .txn import Store

log = logging.getLogger("mercato.seller.store.group")
T = TypeVar("T")
_Piece = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any]"]


class GroupLost(Exception):
    """SQLite ended the group's transaction itself (it does on some I/O errors): nothing committed."""


class Group:
    """The grouped write transactions of one SQLite store (see the module's text)."""

    def __init__(self, store: Store, max_items: int = 16) -> None:
        self.store = store
        self.max_items = max_items
        self.groups = 0  # groups committed
        self.pieces = 0  # pieces run in them
        self.retried = 0  # pieces of failed groups, run again one by one
        self._pending: list[_Piece] = []
        self._scheduled = False
        self._local = threading.local()  # .session, .raw, .depth while a group runs on this thread

        # a pool event: an engine or connection listener would turn off Prepared's fast path (db.py)
        @event.listens_for(store.engine, "checkout")
        def _one_connection(_dbapi: Any, _record: Any, _proxy: Any) -> None:
            if getattr(self._local, "session", None) is not None:
                raise RuntimeError(
                    "store work in a group opened a second connection: use Store.read / Store.write"
                )

    def session(self) -> Session | None:
        """The group's session, if a group is running on this thread."""
        return getattr(self._local, "session", None)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the next group (on the event loop's thread); its result or exception."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._pending.append((fn, args, fut))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        result: T = await fut
        return result

    def _flush(self) -> None:
        batch = self._pending[: self.max_items]
        del self._pending[: self.max_items]
        self._scheduled = bool(self._pending)
        if self._scheduled:
            asyncio.get_running_loop().call_soon(self._flush)
        try:
            self._run_group(batch)
        except BaseException as exc:  # never leave a waiter without an answer
            for _, _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
            if not isinstance(exc, Exception):
                raise

    def _run_group(self, batch: list[_Piece]) -> None:
        lock = self.store.write_lock
        if lock is None or not lock.acquire(False):  # a thread of ours writes: each piece on its own
            for piece in batch:
                asyncio.ensure_future(self._alone(*piece))
            return
        try:
            done, handed, queued = self._commit(batch)
        except Exception as exc:
            # Nothing of the group was stored (a failed COMMIT, or a failed ORM flush that rolled the
            # whole transaction back): every piece runs again from the start on its own, so the one
            # at fault fails alone and the others are not refused for it.
            log.warning("a group of %d store steps failed (%s): running them one by one", len(batch), exc)
            self.retried += len(batch)
            for piece in batch:
                asyncio.ensure_future(self._alone(*piece))
            return
        finally:
            lock.__exit__()
        self.groups += 1
        self.pieces += len(batch)
        self.store.ran_inline += len(batch)
        handoff = self.store.handoff
        if handoff is not None and (handed or queued):
            try:
                handoff.committed(handed or (), queued or ())
            except Exception:  # committed rows are claimed again when their lease ends
                log.exception("handing %d committed callbacks to the delivery failed", len(handed or ()))
        for fut, ok, value in done:
            if fut.done():  # its awaiting task was cancelled
                continue
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)

    def _commit(self, batch: list[_Piece]) -> tuple[list[tuple[asyncio.Future[Any], bool, Any]], Any, Any]:
        done: list[tuple[asyncio.Future[Any], bool, Any]] = []
        handoff = self.store.handoff
        with self.store.sessions() as s:
            if handoff is not None:
                s.info[HANDOFF] = handoff
            conn = s.connection()
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            raw: Any = conn.connection.driver_connection
            self._local.raw, self._local.depth = raw, 0
            self._local.session = s
            try:
                try:
                    for fn, args, fut in batch:
                        try:
                            done.append((fut, True, fn(*args)))
                        except Exception as exc:
                            done.append((fut, False, exc))
                        s.expunge_all()
                        if not raw.in_transaction:
                            raise GroupLost("SQLite rolled the group's transaction back")
                finally:
                    self._local.session = None
                s.commit()
            except BaseException:
                s.rollback()  # a failed COMMIT (a deferred constraint) leaves SQLite's transaction open
                raise
            return done, s.info.get(HANDED), s.info.get(QUEUED)

    async def _alone(self, fn: Callable[..., Any], args: tuple[Any, ...], fut: asyncio.Future[Any]) -> None:
        """The piece outside any group, in its own transactions (Store.run: inline or in a thread)."""
        try:
            value = await self.store.run(fn, *args)
        except BaseException as exc:
            if not fut.done():
                fut.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
            if not isinstance(exc, Exception):
                raise
            return
        if not fut.done():
            fut.set_result(value)

    @contextmanager
    def savepoint(self) -> Iterator[Session]:
        """A write inside the running group: a savepoint of its transaction (SQLite's own, on the
        driver's connection: the session never sees it, so it costs two short statements)."""
        local = self._local
        s: Session = local.session
        raw = local.raw
        if local.depth == 0:
            s.expunge_all()  # as a write alone would: a fresh session, no rows of earlier writes
        else:
            s.flush()  # the enclosing write's changes belong to the enclosing savepoint
        if not raw.in_transaction:  # SQLite ended it: a SAVEPOINT now would begin (and RELEASE commit)
            raise GroupLost("SQLite rolled the group's transaction back")
        name = f"piece{local.depth}"
        local.depth += 1
        info = s.info
        handed, queued = len(info.get(HANDED, ())), len(info.get(QUEUED, ()))
        raw.execute(f"SAVEPOINT {name}")
        try:
            yield s
            s.flush()
        except BaseException:
            local.depth -= 1
            if raw.in_transaction:
                raw.execute(f"ROLLBACK TO {name}")
                raw.execute(f"RELEASE {name}")
            del info.setdefault(HANDED, [])[handed:]
            del info.setdefault(QUEUED, [])[queued:]
            s.expire_all()  # loaded rows may hold what was rolled back: read them again on use
            raise
        local.depth -= 1
        raw.execute(f"RELEASE {name}")

    def read_session(self) -> Session:
        """The group's session for a read (a fresh view at the top level, as a read alone has)."""
        s: Session = self._local.session
        if self._local.depth == 0:
            s.expunge_all()
        return s
