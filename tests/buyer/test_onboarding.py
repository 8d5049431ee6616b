"""`mercato buyer serve` as a real process joins a real registry through /subscribe + /on_subscribe."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mercato.buyer.sdk import Client
from mercato.protocol.keys import KeyPair
from mercato.registry.app import RegistrySettings, create_app
from mercato.registry.identity import RegistryIdentity
from tests.buyer.harness import Served, free_port


def _wait_json(method: str, url: str, ok: Any, timeout_s: float = 30.0, **kw: Any) -> Any:
    ends = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < ends:
        try:
            resp = httpx.request(method, url, timeout=2.0, **kw)
            last = resp.json()
            if resp.status_code == 200 and ok(last):
                return last
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url}: no good answer in {timeout_s} s (last {last!r})")


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mercato", "buyer", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
async def test_buyer_node_onboards_with_the_registry(
    tmp_path: Path, db: str, request: pytest.FixtureRequest
) -> None:
    db_url = str(request.getfixturevalue("sqlite_url" if db == "sqlite" else "pg_url"))
    identity = RegistryIdentity("registry.test", "reg-1", KeyPair.generate())
    registry = Served(create_app(RegistrySettings(f"sqlite:///{tmp_path / 'registry.db'}", identity))).start()
    port = free_port()
    key_file = tmp_path / "buyer.key.json"
    args = [
        "--db",
        db_url,
        "--port",
        str(port),
        "--registry",
        registry.url,
        "--gateway",
        "http://127.0.0.1:9",
        "--key-file",
        str(key_file),
        "--subscriber-id",
        "buyer.e2e.test",
    ]
    env = {k: v for k, v in os.environ.items() if k != "MERCATO_BUYER_API_TOKEN"}
    lookup = {"subscriber_id": "buyer.e2e.test"}
    try:
        proc = _start(args, env)
        try:
            records = _wait_json("POST", registry.url + "/lookup", bool, json=lookup)
            assert [(r["type"], r["status"], r["subscriber_url"]) for r in records] == [
                ("BAP", "SUBSCRIBED", f"http://127.0.0.1:{port}")
            ]
            health = _wait_json("GET", f"http://127.0.0.1:{port}/api/health", lambda d: d.get("ok"))
            assert health["subscriber_id"] == "buyer.e2e.test"
            token_file = tmp_path / "buyer.key.api-token"
            assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
            assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
            token = token_file.read_text().strip()
            async with Client(f"http://127.0.0.1:{port}", token) as c:
                assert await c.orders() == []
            assert (
                records[0]["signing_public_key"]
                == KeyPair.from_dict(
                    {k: v for k, v in orjson.loads(key_file.read_bytes()).items() if k != "unique_key_id"}
                ).signing_public_key
            )
        finally:
            out = _stop(proc)
        assert token not in out and "buyer.e2e.test" in out
        # a second start reuses the keys, the token and the data, and subscribes again
        proc = _start(args, env)
        try:
            _wait_json("GET", f"http://127.0.0.1:{port}/api/health", lambda d: d.get("ok"))
            async with Client(f"http://127.0.0.1:{port}", token) as c:
                assert await c.orders() == []
            records = _wait_json("POST", registry.url + "/lookup", bool, json=lookup)
            assert len(records) == 1 and records[0]["status"] == "SUBSCRIBED"
        finally:
            _stop(proc)
    finally:
        registry.stop()


def test_refused_subscription_stops_the_node(tmp_path: Path, sqlite_url: str) -> None:
    """A registry that cannot reach the node's /on_subscribe (wrong public URL): the node exits non-zero."""
    identity = RegistryIdentity("registry.test", "reg-1", KeyPair.generate())
    registry = Served(
        create_app(RegistrySettings(f"sqlite:///{tmp_path / 'r.db'}", identity, callback_timeout_s=1.0))
    ).start()
    try:
        proc = _start(
            [
                "--db",
                sqlite_url,
                "--port",
                str(free_port()),
                "--registry",
                registry.url,
                "--key-file",
                str(tmp_path / "k.json"),
                "--public-url",
                f"http://127.0.0.1:{free_port()}",
                "--api-token",
                "t" * 20,
            ],
            dict(os.environ),
        )
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 1 and "error: the registry refused the subscription" in out
        assert "Traceback" not in out
    finally:
        registry.stop()
