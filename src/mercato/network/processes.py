"""Child processes of a local network: start, wait until ready, stop cleanly.

Each role runs as its own ``mercato ...`` process with its own log file; the supervisor only
starts, watches and stops them. It never imports a role: roles meet over HTTP, as in production.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


class StartError(RuntimeError):
    """A role did not come up; the message names it and points at its log."""


@dataclass
class Child:
    name: str
    argv: list[str]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    address: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            self.argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops children in order
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl, no locks or threads
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        proc = self.process
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when the supervisor dies, even by SIGKILL (no orphans)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def mercato_argv(*args: str) -> list[str]:
    """Run the ``mercato`` command of this very installation."""
    return [sys.executable, "-m", "mercato", *args]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    child: Child, ready: Callable[[], bool], timeout: float, what: str, interval: float = 0.1
) -> None:
    """Poll ``ready`` until it is true; fail early if the child died, late if time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            code = child.process.returncode if child.process else None
            raise StartError(
                f"{child.name} exited (code {code}) before {what}; its log {child.log_path} ends:\n"
                f"{child.log_tail()}"
            )
        try:
            if ready():
                return
        except Exception:  # noqa: BLE001, S110 - not ready yet; keep polling
            pass
        time.sleep(interval)
    raise StartError(
        f"{child.name} did not {what} within {timeout:g}s; see {child.log_path}:\n{child.log_tail()}"
    )


def stop_all(children: Sequence[Child]) -> None:
    """Stop in reverse start order, so nodes leave before the registry they depend on."""
    for child in reversed(children):
        child.stop()
