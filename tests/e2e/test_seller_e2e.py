"""End to end with real processes: `mercato registry serve` and `mercato seller serve` as subprocesses,
the seller onboarding through /subscribe (+ the registry's /on_subscribe challenge), a buyer app on
loopback sending signed select/init/confirm, the merchant moving the order through the admin API, and
every on_status arriving signed (verified against the registry) — on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mercato.protocol.onboarding import build_lookup_body
from tests.protocol.test_schemas import schema_errors
from tests.seller.node.harness import checkout, item_body, network, stock_up


def run_flow(tmp: Path, database_url: str | None) -> None:
    with network(tmp, database_url) as (registry, seller, bap):
        found = httpx.post(
            registry.url + "/lookup",
            content=build_lookup_body(subscriber_id=seller.subscriber_id, type="BPP"),
        ).json()
        assert [(r["type"], r["status"], r["subscriber_url"]) for r in found] == [
            ("BPP", "SUBSCRIBED", seller.url)
        ]
        assert (
            seller.admin("PUT", "/admin/items/KETTLE", json=item_body("Brass kettle", 250_000)).status_code
            == 200
        )
        stock_up(seller, "KETTLE", 3)
        txn, on_select, on_init, on_confirm = checkout(bap, seller, "KETTLE", 2)
        order_id = on_confirm["message"]["order"]["id"]
        for n, action in enumerate(("accept", "pack", "ship", "deliver")):
            assert seller.admin("POST", f"/admin/orders/{order_id}/{action}").status_code == 200
            bap.wait("on_status", transaction_id=txn, skip=n)
        seen = [b for a, b in bap.all() if b["context"]["transaction_id"] == txn]
        assert [b["context"]["action"] for b in seen] == ["on_select", "on_init", "on_confirm"] + [
            "on_status"
        ] * 4
        states = [
            next(
                x["value"]
                for t in b["message"]["order"]["tags"]
                for x in t["list"]
                if x["descriptor"]["code"] == "fulfillment_state"
            )
            for b in seen[3:]
        ]
        assert states == ["Pending", "Packed", "Order-picked-up", "Order-delivered"]
        for body in seen:
            assert not schema_errors(body["context"]["action"], body)
        assert bap.receiver.stats.rejected == {}  # every callback was signed by the seller's registered key
        stock = {s["item_id"]: s for s in seller.admin("GET", "/admin/stock").json()}
        assert (stock["KETTLE"]["on_hand"], stock["KETTLE"]["reserved"]) == (1, 0)  # 2 shipped out of 3
        health = httpx.get(seller.url + "/health").json()
        assert health["outbox"]["pending"] == 0 and health["outbox"]["dead"] == 0


def test_seller_node_end_to_end_sqlite(tmp_path: Path) -> None:
    run_flow(tmp_path, None)


def test_seller_node_end_to_end_postgresql(tmp_path: Path, pg_url: str) -> None:
    run_flow(tmp_path, pg_url)


@pytest.mark.parametrize("bad", ["[node]\nsubscriber_id = 1\n", "not toml ["])
def test_serve_refuses_a_bad_config(tmp_path: Path, bad: str) -> None:
    import subprocess
    import sys

    cfg = tmp_path / "seller.toml"
    cfg.write_text(bad)
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mercato.cli import main; main()",
            "seller",
            "serve",
            "--config",
            str(cfg),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and str(cfg) in r.stderr and "Traceback" not in r.stderr
