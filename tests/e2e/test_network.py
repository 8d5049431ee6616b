"""The whole network as real processes: `mercato demo` end to end, and `mercato up` reusing its data."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import psycopg
import pytest

from mercato.protocol.actions import ALL_ACTIONS
from mercato.protocol.messages import parse_request
from tests.ports import free_port_block
from tests.seller.console.conftest import csrf_of

pytestmark = pytest.mark.e2e
OFFSETS = (0, 1, 2, 11, 12, 13, 14)  # buyer, registry, gateway, four sellers
SCHEMAS_LIKE = "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE %s"


def free_base() -> int:
    """A base port with the whole block ``mercato up`` takes (base .. base + 14) free on loopback."""
    return free_port_block(max(OFFSETS) + 1)


def mercato(*args: str) -> list[str]:
    return [sys.executable, "-m", "mercato", *args]


def run_demo(tmp_path: Path, *extra: str) -> dict[str, object]:
    log_dir = tmp_path / "messages"
    proc = subprocess.run(
        mercato("demo", "--json", "--port", str(free_base()), "--data-dir", str(tmp_path / "net"),
                "--log-dir", str(log_dir), *extra),
        capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert proc.stdout.count("\n") == 1, proc.stdout + proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["ok"] is True, proc.stderr[-3000:]
    assert proc.returncode == 0
    assert out["sellers_found"] == 4
    assert out["orders_confirmed"] == 3 and out["orders_cancelled"] == 1
    assert out["orders_delivered"] == 1 and out["ratings"] == 1
    # every confirmed order carries the delivery window its seller's supply twin promised
    promised = out["promised"]
    assert isinstance(promised, dict) and len(promised) == 3
    for start, end in promised.values():
        assert datetime.fromisoformat(start) <= datetime.fromisoformat(end)
        assert datetime.fromisoformat(end) > datetime.now(UTC)
    assert set(out["timings_s"]) == {"search", "checkout", "cancel", "deliver", "rate", "pool"}  # type: ignore[arg-type]
    check_message_log(log_dir)
    return out


def check_message_log(log_dir: Path) -> None:
    files = sorted(log_dir.glob("*.json"))
    seqs = [int(f.name.split("-", 1)[0]) for f in files]
    assert seqs == list(range(1, len(files) + 1))
    actions: set[str] = set()
    for f in files:
        seq, action, message_id = f.stem.split("-", 2)
        assert action in ALL_ACTIONS
        request = parse_request(f.read_bytes(), expected_action=action)  # exact bytes, as sent
        assert request.context.message_id == message_id
        actions.add(action)
    need = {"search", "on_search", "select", "on_select", "init", "on_init", "confirm", "on_confirm",
            "cancel", "on_cancel", "on_status", "rating", "on_rating"}  # fmt: skip
    assert need <= actions, need - actions


def test_demo_on_sqlite(tmp_path: Path) -> None:
    run_demo(tmp_path)


@pytest.mark.postgres
def test_demo_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    # pg_url carries this test's own schema; every role gets its own schema under it as a prefix
    base, _, query = pg_url.partition("?")
    prefix = dict(p.split("=", 1) for p in query.split("&"))["schema"]
    try:
        run_demo(tmp_path, "--postgres", pg_url)
        with psycopg.connect(base) as conn:
            rows = conn.execute(
                "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE %s",
                (prefix + "_%",),
            ).fetchall()
        assert len(rows) == 7  # registry, gateway, four sellers, buyer
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            for (name,) in conn.execute(
                "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE %s",
                (prefix + "_%",),
            ).fetchall():
                conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def test_up_starts_stops_and_reuses_its_data(tmp_path: Path) -> None:
    base = free_base()
    data = tmp_path / "net"

    def start() -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            mercato("up", "--sellers", "4", "--data-dir", str(data), "--port", str(base)),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C stops the network" in line:
                return proc
        proc.kill()
        raise AssertionError("mercato up did not come up:\n" + "".join(lines))

    def lookup() -> list[dict[str, object]]:
        r = httpx.post(f"http://127.0.0.1:{base + 1}/lookup", json={"type": "BPP"}, timeout=5)
        assert r.status_code == 200
        return list(r.json())

    def stop(proc: subprocess.Popen[str]) -> None:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does
        assert proc.wait(60) == 0
        for off in OFFSETS:
            with socket.socket() as s:
                assert s.connect_ex(("127.0.0.1", base + off)) != 0, f"port {base + off} still open"

    first = start()
    try:
        sellers = {(e["subscriber_id"], e["ukId"], e["signing_public_key"]) for e in lookup()}
        assert len({s[0] for s in sellers}) == 4
        token = (data / "buyer" / "buyer.api-token").read_text().strip()
        hits = httpx.post(
            f"http://127.0.0.1:{base}/api/search",
            json={"text": "tiffin", "mode": "index", "deadline": 2},
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        )
        assert hits.status_code == 200 and b"Peenya Steelworks" in hits.content
        # a catalog change through the admin API reaches the gateway's index by itself
        item = {"provider_id": "peenya-steelworks", "name": "Copper Water Bottle 1 L", "price": 64900}
        put = httpx.put(
            f"http://127.0.0.1:{base + 14}/admin/items/copper-bottle-1l",
            json=item,
            headers={"Authorization": f"Bearer {admin_token(data)}"},
            timeout=10,
        )
        assert put.status_code == 200, put.text
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = httpx.post(
                f"http://127.0.0.1:{base}/api/search",
                json={"text": "copper", "mode": "index", "deadline": 1},
                headers={"Authorization": f"Bearer {token}"},
                timeout=15,
            )
            if b"copper-bottle-1l" in found.content:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("the new item never reached the gateway's index")
        # the storefront, and each seller's console with the user `mercato up` made for it
        assert b"<form" in httpx.get(f"http://127.0.0.1:{base}/", timeout=10).content
        password_file = data / "sellers" / "peenya-steelworks" / "console-password"
        assert password_file.stat().st_mode & 0o777 == 0o600
        password = password_file.read_text().strip()
        assert password not in (data / "sellers/peenya-steelworks/seller.toml").read_text()  # only its hash
        with httpx.Client(base_url=f"http://127.0.0.1:{base + 14}", timeout=10) as console:
            csrf = csrf_of(console.get("/console/login").text)
            form = {"user": "merchant", "password": password, "csrf_token": csrf}
            r = console.post("/console/login", data={**form, "next": "/console/orders"})
            assert r.status_code == 303 and r.headers["location"] == "/console/orders", r.text
            assert console.get("/console/orders").status_code == 200
    finally:
        stop(first)
    catalog_files = {p: p.read_bytes() for p in data.glob("sellers/*/catalog.json")}
    assert len(catalog_files) == 4
    passwords = {p: p.read_bytes() for p in data.glob("sellers/*/console-password")}
    assert len(passwords) == 4

    second = start()
    try:
        again = {(e["subscriber_id"], e["ukId"], e["signing_public_key"]) for e in lookup()}
        assert again == sellers  # same keys, same registrations: nothing was made anew
        assert (data / "buyer" / "buyer.api-token").read_text().strip() == token
        assert {p: p.read_bytes() for p in data.glob("sellers/*/catalog.json")} == catalog_files
        assert {p: p.read_bytes() for p in data.glob("sellers/*/console-password")} == passwords
        stock = httpx.get(
            f"http://127.0.0.1:{base + 14}/admin/stock",
            headers={"Authorization": f"Bearer {admin_token(data)}"},
            timeout=5,
        )
        assert stock.status_code == 200
        assert orjson.loads(stock.content)  # the seeded catalog was kept, not imported twice
    finally:
        stop(second)


def admin_token(data: Path) -> str:
    import tomllib

    cfg = tomllib.loads(next(data.glob("sellers/peenya-steelworks/seller.toml")).read_text())
    return str(cfg["admin"]["token"])
