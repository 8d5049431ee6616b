"""The store's write lock on SQLite: threads and worker processes of one node take turns."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine

from mercato.seller.store.txn import WriteLock, _lock_path

ROUNDS = 60


def bump(lock_path: str, counter: Path, rounds: int = ROUNDS) -> None:
    """Read, pause, write: without mutual exclusion two of these lose each other's updates."""
    lock = WriteLock(lock_path)
    for _ in range(rounds):
        with lock:
            n = int(counter.read_text())
            time.sleep(0.0005)
            counter.write_text(str(n + 1))
    lock.close()


def test_processes_and_threads_never_overlap(tmp_path: Path) -> None:
    counter = tmp_path / "n"
    counter.write_text("0")
    path = str(tmp_path / "db-writelock")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=bump, args=(path, counter)) for _ in range(2)]
    for p in procs:
        p.start()
    threads = [threading.Thread(target=bump, args=(path, counter)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert int(counter.read_text()) == 4 * ROUNDS


def test_a_failed_body_releases_the_lock(tmp_path: Path) -> None:
    lock = WriteLock(str(tmp_path / "x-writelock"))
    try:
        with lock:
            raise ValueError("boom")
    except ValueError:
        pass
    done = threading.Event()

    def take() -> None:
        with lock:
            done.set()

    t = threading.Thread(target=take)
    t.start()
    t.join(5)
    assert done.is_set()


def test_lock_file_sits_beside_a_database_file_only(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    assert _lock_path(create_engine(f"sqlite:///{db}")) == f"{db}-writelock"
    assert _lock_path(create_engine("sqlite://")) is None
    assert _lock_path(create_engine("sqlite:///:memory:")) is None
