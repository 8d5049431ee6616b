"""kill -9 the seller node during a stream of confirms, restart it: nothing promised is lost.

A buyer app prepares 40 checkouts (select → init), then fires their confirms concurrently at a hot
item with 60 units (1–3 units each, more than the stock), and the node is killed with SIGKILL while
they arrive. After a restart from the same database:
- every order whose on_confirm reached the buyer exists, and every order that exists has its
  on_confirm delivered (redelivery after the restart is allowed: the buyer dedupes by message_id);
- stock adds up: reserved = the units of the open orders, never more sold than there was;
- a buyer whose confirm was lost in the crash retries it (same transaction) and gets either an order
  or an out-of-stock answer; a retried confirm that had committed gives the same order, not a second one.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.seller.node.harness import (
    BILLING,
    CLI,
    DELIVERY,
    Bap,
    Seller,
    basket,
    item_body,
    network,
    stock_up,
    wait_http,
)

pytestmark = pytest.mark.e2e
STOCK, BUYERS = 60, 40


def restart(seller: Seller) -> None:
    """Start the node again from its config and database, as an operator would."""
    seller.proc = subprocess.Popen(
        [*CLI, "seller", "serve", "--config", str(seller.config_path)],
        stdout=seller.log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    wait_http(
        seller.url + "/health", lambda r: r.status_code == 200 and r.json()["subscribed"], proc=seller.proc
    )


def confirms_delivered(bap: Bap) -> dict[str, dict[str, Any]]:
    """transaction id -> the on_confirm the buyer holds (the first of any duplicates)."""
    out: dict[str, dict[str, Any]] = {}
    for action, body in bap.all():
        if action == "on_confirm":
            out.setdefault(body["context"]["transaction_id"], body)
    return out


def test_kill_9_during_confirms_then_restart(tmp_path: Path) -> None:
    rng = random.Random(7)
    with network(tmp_path) as (_registry, seller, bap):
        assert (
            seller.admin("PUT", "/admin/items/HOT", json=item_body("Festival lamp", 49_900)).status_code
            == 200
        )
        stock_up(seller, "HOT", STOCK)
        orders: dict[str, dict[str, Any]] = {}  # txn -> the confirm message
        for _ in range(BUYERS):
            txn, qty = str(uuid.uuid4()), rng.randint(1, 3)
            bap.send(seller, "select", basket("HOT", qty, fulfillments=[DELIVERY]), txn)
            init = basket(
                "HOT", qty, fulfillments=[DELIVERY], billing=BILLING, payments=[{"type": "ON-ORDER"}]
            )
            bap.send(seller, "init", init, txn)
            orders[txn] = init

        def fire(txn: str) -> int:
            try:
                ctx = bap.context("confirm", seller, txn)
                return bap.post(seller, "confirm", {"context": ctx, "message": orders[txn]}).status_code
            except httpx.HTTPError:
                return 0  # the node died under this request

        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(fire, t) for t in orders]
            until = time.monotonic() + 20
            while len(confirms_delivered(bap)) < BUYERS // 4 and time.monotonic() < until:
                time.sleep(0.01)
            seller.proc.send_signal(signal.SIGKILL)  # some confirms answered, some in flight, some not sent
            before = len(confirms_delivered(bap))
            statuses = [f.result() for f in futures]
        seller.proc.wait(10)
        assert BUYERS // 4 <= before < BUYERS, "the kill did not land mid-stream"
        assert statuses.count(200) < BUYERS

        restart(seller)
        # retry every confirm that has no answer yet, as a buyer app would (same transaction)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            answered = confirms_delivered(bap)
            missing = [t for t in orders if t not in answered]
            if not missing:
                break
            for t in missing:
                fire(t)
            time.sleep(1.0)
        answered = confirms_delivered(bap)
        assert set(answered) == set(orders), f"{len(orders) - len(answered)} confirms never answered"

        # every committed callback is delivered; rows the killed process had claimed wait for their
        # lease (30 s) to expire, then go out again
        for _ in range(300):
            health = httpx.get(seller.url + "/health", timeout=5).json()
            if health["outbox"]["pending"] == 0:
                break
            time.sleep(0.2)
        assert health["outbox"]["pending"] == 0 and health["outbox"]["dead"] == 0, (
            health,
            bap.receiver.stats,
        )

        node_orders = seller.admin("GET", "/admin/orders").json()
        confirmed = {t: b["message"]["order"]["id"] for t, b in answered.items() if "error" not in b}
        refused = {t for t, b in answered.items() if "error" in b}
        # one order per confirmed transaction, no order without a delivered on_confirm, none twice
        assert sorted(o["id"] for o in node_orders) == sorted(confirmed.values())
        for t in refused:
            assert answered[t]["error"]["code"] == "40002"  # out of stock, with the quantity left
        sold = sum(int(ln["quantity"]) for o in node_orders for ln in o["lines"])
        stock = {s["item_id"]: s for s in seller.admin("GET", "/admin/stock").json()}["HOT"]
        assert stock["on_hand"] == STOCK and stock["reserved"] == sold <= STOCK
        assert stock["available"] == STOCK - sold
        demand = sum(int(m["order"]["items"][0]["quantity"]["selected"]["count"]) for m in orders.values())
        assert demand > STOCK and STOCK - sold < 3  # the stock really ran out; no unit was lost
