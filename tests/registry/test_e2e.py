"""`mercato registry serve` as a real process on loopback, driven over HTTP; then `registry list`."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from mercato.protocol.keys import KeyPair
from mercato.protocol.onboarding import (
    Participation,
    build_lookup_body,
    build_subscribe_request,
    verify_lookup_response,
)
from tests.ports import free_port

from .conftest import Behaviour, CallbackServer

pytestmark = pytest.mark.e2e
TOKEN = "e2e-secret-token-5f1c"


def mercato(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mercato", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, Path, subprocess.Popen[str]]]:
    port = free_port()
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    key_file = tmp_path / "keys" / "registry.json"
    env = {**os.environ, "MERCATO_REGISTRY_ADMIN_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    args = ["registry", "serve", "--db", db, "--port", str(port), "--key-file", str(key_file)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mercato", *args, "--registry-id", "e2e.registry"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"registry exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("registry did not start within 30 s")
        time.sleep(0.1)
    try:
        yield base, tmp_path, key_file, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_serve_onboard_lookup_revoke_list(
    served: tuple[str, Path, Path, subprocess.Popen[str]], callback_server: CallbackServer
) -> None:
    base, tmp_path, key_file, proc = served
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    file_keys = orjson.loads(key_file.read_bytes())
    published = httpx.get(f"{base}/keys").json()
    assert published["signing_public_key"] == file_keys["signing_public_key"]
    assert published["key_id"] == f"e2e.registry|{file_keys['unique_key_id']}|ed25519"

    callback_server.registry_encryption_public_key = published["encr_public_key"]
    callback_server.registry_signing_public_key = published["signing_public_key"]
    keys = KeyPair.generate()
    callback_server.behaviours["e2e-seller"] = Behaviour(keys)
    req = build_subscribe_request(
        subscriber_id="e2e-seller.example.org",
        unique_key_id="k1",
        keys=keys,
        subscriber_url=callback_server.url("e2e-seller"),
        participations=[Participation("BPP", "ONDC:RET10", ["std:080"])],
    )
    resp = httpx.post(f"{base}/subscribe", content=req.body, headers=req.headers, timeout=10)
    assert resp.status_code == 200, resp.text
    assert callback_server.behaviours["e2e-seller"].calls[0]["signed_by_registry"] is True

    resp = httpx.post(f"{base}/lookup", content=build_lookup_body(type="BPP", city="std:080"))
    [rec] = verify_lookup_response(
        resp.content,
        resp.headers["authorization"],
        published["signing_public_key"],
        registry_id="e2e.registry",
    )
    assert (rec["subscriber_id"], rec["ukId"], rec["status"]) == (
        "e2e-seller.example.org",
        "k1",
        "SUBSCRIBED",
    )

    revoke = orjson.dumps({"subscriber_id": "e2e-seller.example.org", "unique_key_id": "k1"})
    assert httpx.post(f"{base}/admin/revoke", content=revoke).status_code == 401
    ok = httpx.post(f"{base}/admin/revoke", content=revoke, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    assert httpx.post(f"{base}/lookup", content=build_lookup_body(type="BPP")).json() == []

    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    assert base in out
    assert published["signing_public_key"] in out
    assert TOKEN not in out  # never logged

    db = f"sqlite:///{tmp_path / 'registry.db'}"
    listed = mercato("registry", "list", "--db", db, "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    data = orjson.loads(listed.stdout)
    [row] = data["subscribers"]
    assert (row["subscriber_id"], row["ukId"], row["status"]) == ("e2e-seller.example.org", "k1", "REVOKED")
    assert row["participations"] == [
        {
            "type": "BPP",
            "domain": "ONDC:RET10",
            "city": "std:080",
            "subscriber_url": callback_server.url("e2e-seller"),
        }
    ]


def test_cli_revoke_and_table(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    missing = mercato("registry", "revoke", "--db", db, "--subscriber-id", "x", "--key-id", "y", cwd=tmp_path)
    assert missing.returncode == 1 and "no key" in missing.stderr
    table = mercato("registry", "list", "--db", db, cwd=tmp_path)
    assert table.returncode == 0 and "0 keys" in table.stdout
