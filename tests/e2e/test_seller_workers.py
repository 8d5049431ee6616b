"""`mercato seller serve --workers 2` on SQLite and on PostgreSQL: two worker processes accept on one port.

- both workers onboard and answer on the one address (a connection belongs to one of them);
- a signed message accepted by one worker is refused as a replay by the other (the replay guard is
  shared through the database), and its callback goes out once;
- concurrent checkouts spread over both workers never sell more than the stock;
- stopping the supervisor stops its workers.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
import tomllib
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mercato.protocol.errors import Code
from mercato.protocol.signing import digest_header, sign
from mercato.seller.config import write_starter
from tests.seller.node.harness import (
    BILLING,
    CLI,
    DELIVERY,
    Bap,
    Seller,
    basket,
    free_port,
    item_body,
    start_registry,
    stock_up,
    wait_http,
)

pytestmark = pytest.mark.e2e
STOCK, BUYERS = 30, 24


def worker_pids(proc: subprocess.Popen[bytes]) -> set[int]:
    kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    return {int(k) for k in kids}


@contextmanager
def pooled_seller(tmp: Path, registry_url: str, database_url: str, workers: int = 2) -> Iterator[Seller]:
    port = free_port()
    d = tmp / "seller"
    sid = f"seller-{uuid.uuid4().hex[:8]}.example"
    cfg, _ = write_starter(
        d, subscriber_id=sid, port=port, registry_url=registry_url, database_url=database_url
    )
    log = d / "seller.log"
    proc = subprocess.Popen(
        [*CLI, "seller", "serve", "--config", str(cfg), "--workers", str(workers)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    seller = Seller(proc, url, log, cfg, tomllib.loads(cfg.read_text())["admin"]["token"], sid)
    try:
        ready: set[int] = set()
        deadline = (
            time.monotonic() + 180
        )  # the supervisor migrates, then each worker starts: slow on a busy machine
        while len(ready) < workers:  # fresh connections until every worker says it is subscribed
            assert time.monotonic() < deadline, f"workers ready: {ready}\n{log.read_text()[-3000:]}"
            r = wait_http(url + "/health", proc=proc, timeout=max(1.0, deadline - time.monotonic()))
            if r.json()["subscribed"]:
                ready.add(r.json()["pid"])
        assert ready == worker_pids(proc)
        yield seller
    finally:
        seller.stop()


def connection_per_worker(url: str, workers: int) -> dict[int, httpx.Client]:
    """One keep-alive connection to each worker (a connection stays with the worker that accepted it)."""
    found: dict[int, httpx.Client] = {}
    for _ in range(200):
        client = httpx.Client(base_url=url, limits=httpx.Limits(max_connections=1), timeout=30)
        pid = client.get("/health").json()["pid"]
        if pid in found:
            client.close()
        else:
            found[pid] = client
        if len(found) == workers:
            return found
    raise AssertionError(f"200 connections reached only workers {sorted(found)}")


def signed(bap: Bap, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = orjson.dumps(body)
    return raw, {
        "Content-Type": "application/json",
        "Digest": digest_header(raw),
        "Authorization": sign(raw, bap.keys.signing, bap.subscriber_id, bap.ukid),
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":  # both workers write one file, taking turns through its lock file
        return f"sqlite:///{tmp_path / 'shop.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_two_workers_share_replay_protection_and_never_oversell(tmp_path: Path, database_url: str) -> None:
    registry = start_registry(tmp_path)
    try:
        with pooled_seller(tmp_path, registry.url, database_url) as seller, Bap(registry.url) as bap:
            pids = worker_pids(seller.proc)
            assert len(pids) == 2
            assert (
                seller.admin("PUT", "/admin/items/HOT", json=item_body("Festival lamp", 49_900)).status_code
                == 200
            )
            stock_up(seller, "HOT", STOCK)

            # the same signed select, sent to one worker and then to the other
            conns = connection_per_worker(seller.url, 2)
            a, b = (conns[p] for p in sorted(conns))
            ctx = bap.context("select", seller, str(uuid.uuid4()))
            raw, headers = signed(bap, {"context": ctx, "message": basket("HOT", 1, fulfillments=[DELIVERY])})
            first = a.post("/select", content=raw, headers=headers)
            assert first.status_code == 200, first.text
            for conn in (b, a):
                again = conn.post("/select", content=raw, headers=headers)
                assert again.status_code == 400, again.text
                error = again.json()["error"]
                assert error["code"] == Code.STALE_REQUEST.value and "already received" in error["message"]
            assert bap.wait("on_select", ctx["message_id"])["message"]["order"]["items"][0]["id"] == "HOT"
            for c in conns.values():
                c.close()

            # concurrent checkouts on fresh connections (spread over both workers) for more than the stock
            rng = random.Random(3)
            wants = [rng.randint(1, 3) for _ in range(BUYERS)]

            def buy(n: int) -> dict[str, Any]:
                txn = str(uuid.uuid4())
                bap.send(seller, "select", basket("HOT", n, fulfillments=[DELIVERY]), txn)
                order = basket(
                    "HOT", n, fulfillments=[DELIVERY], billing=BILLING, payments=[{"type": "ON-ORDER"}]
                )
                bap.send(seller, "init", order, txn)
                return bap.send(seller, "confirm", order, txn)

            with ThreadPoolExecutor(12) as pool:
                answers = list(pool.map(buy, wants))
            assert sum(wants) > STOCK
            made = [(w, x) for w, x in zip(wants, answers, strict=True) if "error" not in x]
            assert all(x["error"]["code"] == "40002" for x in answers if "error" in x)
            sold = sum(w for w, _ in made)
            stock = {s["item_id"]: s for s in seller.admin("GET", "/admin/stock").json()}["HOT"]
            assert stock["on_hand"] == STOCK and stock["reserved"] == sold <= STOCK
            assert STOCK - sold < 3  # it really sold out
            node_orders = seller.admin("GET", "/admin/orders").json()
            assert sorted(o["id"] for o in node_orders) == sorted(
                x["message"]["order"]["id"] for _, x in made
            )
            assert worker_pids(seller.proc) == pids  # no worker died on the way

            seller.stop()
            assert seller.proc.returncode == 0
            time.sleep(0.2)
            for pid in pids:  # the workers went with their supervisor
                assert (
                    not Path(f"/proc/{pid}").exists()
                    or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
                )
    finally:
        registry.stop()


def test_workers_must_be_positive(tmp_path: Path) -> None:
    cfg, _ = write_starter(tmp_path, port=free_port())
    done = subprocess.run(
        [*CLI, "seller", "serve", "--config", str(cfg), "--workers", "0"], capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert b"--workers must be at least 1" in done.stderr
