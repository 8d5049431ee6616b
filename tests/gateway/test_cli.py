"""`mercato gateway serve` as a process: onboarding with a real registry, and a clear failure."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import REPO
from tests.gateway.net import free_port


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO / "src")}


def test_serve_onboards_as_bg_and_answers(tmp_path: Path) -> None:
    reg_port, gw_port = free_port(), free_port()
    registry = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mercato",
            "registry",
            "serve",
            "--db",
            f"sqlite:///{tmp_path}/r.db",
            "--port",
            str(reg_port),
            "--key-file",
            str(tmp_path / "r.key.json"),
        ],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    gateway = None
    try:
        reg = f"http://127.0.0.1:{reg_port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(reg + "/keys").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        key_file = tmp_path / "gw.key.json"
        gateway = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mercato",
                "gateway",
                "serve",
                "--db",
                f"sqlite:///{tmp_path}/g.db",
                "--port",
                str(gw_port),
                "--registry",
                reg,
                "--key-file",
                str(key_file),
                "--subscriber-id",
                "gw.cli.test",
            ],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert gateway.stdout is not None
        line = gateway.stdout.readline().decode()
        assert "gw.cli.test" in line, (
            line + gateway.stderr.read().decode() if gateway.poll() is not None else line
        )
        records = httpx.post(reg + "/lookup", json={"subscriber_id": "gw.cli.test"}).json()
        assert {r["type"] for r in records} == {"BG"}
        assert records[0]["subscriber_url"] == f"http://127.0.0.1:{gw_port}"
        assert key_file.stat().st_mode & 0o777 == 0o600
        health = httpx.get(f"http://127.0.0.1:{gw_port}/health").json()
        assert health["subscriber_id"] == "gw.cli.test"
    finally:
        for p in (gateway, registry):
            if p is not None:
                p.terminate()
                p.wait(10)


def test_serve_without_a_registry_fails_clearly(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "mercato",
            "gateway",
            "serve",
            "--db",
            f"sqlite:///{tmp_path}/g.db",
            "--port",
            str(free_port()),
            "--registry",
            f"http://127.0.0.1:{free_port()}",
            "--key-file",
            str(tmp_path / "k.json"),
        ],
        env=_env(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1
    assert b"cannot use the registry" in out.stderr
    assert b"Traceback" not in out.stderr
