"""A demand pool end to end through `mercato demo`: pool offers found by search, signed commitments,
clearing at the manufacturer's node, orders and a production order there, and an independent check of
the published clearing with `mercato pool verify` from what the manufacturer's database kept."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_network import free_base, mercato

pytestmark = pytest.mark.e2e


def test_a_pool_through_the_demo(tmp_path: Path) -> None:
    proc = subprocess.run(
        mercato("demo", "--json", "--port", str(free_base()), "--data-dir", str(tmp_path / "net")),
        capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert proc.stdout.count("\n") == 1, proc.stdout + proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["ok"] is True and proc.returncode == 0, proc.stderr[-3000:]
    pool = out["pool"]
    assert len(pool["orders"]) == 2 and sorted(pool["rejected"].values()) == [
        "moq_not_reached",
        "price_not_reached",
    ]
    assert pool["verified"] is True

    makers = [d for d in (tmp_path / "net" / "sellers").iterdir() if "steelworks" in d.name]
    db = sqlite3.connect(makers[0] / "seller.db")
    try:
        state, doc, result = db.execute(
            "SELECT state, input, result FROM seller_pools WHERE id = ?", (pool["pool"],)
        ).fetchone()
        orders = {r[0] for r in db.execute("SELECT id FROM seller_orders")}
        production = db.execute(
            "SELECT quantity, source FROM seller_production_orders WHERE source = ?",
            (f"pool:{pool['pool']}",),
        ).fetchall()
        revoked = db.execute("SELECT count(*) FROM seller_pool_revocations").fetchone()[0]
    finally:
        db.close()
    assert state == "cleared"
    assert set(pool["orders"].values()) <= orders  # one order per accepted commitment, at the manufacturer
    assert production == [(55, f"pool:{pool['pool']}")]
    assert revoked == 1
    # anyone re-runs the published clearing
    (tmp_path / "input.json").write_text(doc)
    (tmp_path / "result.json").write_text(result)
    files = ("--input", str(tmp_path / "input.json"), "--result", str(tmp_path / "result.json"))
    check = subprocess.run(
        mercato("pool", "verify", *files, "--json"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["ok"] is True
    # a changed result is refuted
    changed = json.loads(result)
    changed["objective"] += 100
    (tmp_path / "result.json").write_text(json.dumps(changed))
    check = subprocess.run(
        mercato("pool", "verify", *files),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert check.returncode == 1 and "refuted" in check.stderr
