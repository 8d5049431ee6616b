"""Child processes of a local network: readiness, clean stops, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mercato.network.processes import Child, StartError, free_port, port_open, stop_all, wait_until

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(120)"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie still answers kill(0); look at its state
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_stop_terminates_and_closes_the_log(tmp_path: Path) -> None:
    child = Child("sleeper", SLEEPER, free_port(), tmp_path / "logs" / "sleeper.log")
    child.start()
    wait_until(child, lambda: "up" in child.log_tail(), 10, "say up")
    stop_all([child])
    assert not child.alive()
    assert child.log_tail() == "up"


def test_a_dead_child_fails_fast_with_its_log(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('cannot bind: address in use'); sys.exit(3)"]
    child = Child("broken", argv, free_port(), tmp_path / "broken.log")
    child.start()
    t0 = time.monotonic()
    with pytest.raises(StartError, match=r"(?s)broken exited \(code 3\).*cannot bind"):
        wait_until(child, lambda: False, 30, "answer")
    assert time.monotonic() - t0 < 10
    child.stop()


def test_not_ready_in_time_names_the_child(tmp_path: Path) -> None:
    child = Child("slow", SLEEPER, free_port(), tmp_path / "slow.log")
    child.start()
    try:
        with pytest.raises(StartError, match="slow did not answer within 0.5s"):
            wait_until(child, lambda: False, 0.5, "answer")
    finally:
        child.stop()


def test_children_die_with_a_killed_supervisor(tmp_path: Path) -> None:
    """A supervisor killed with SIGKILL cannot stop its children; the kernel does it for it."""
    pid_file = tmp_path / "pid"
    code = (
        "import sys, time; from pathlib import Path\n"
        "from mercato.network.processes import Child\n"
        f"c = Child('sleeper', {SLEEPER!r}, 1, Path({str(tmp_path / 's.log')!r}))\n"
        "c.start(); Path(sys.argv[1]).write_text(str(c.process.pid)); time.sleep(120)\n"
    )
    supervisor = subprocess.Popen([sys.executable, "-c", code, str(pid_file)])
    deadline = time.monotonic() + 20
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    assert alive(grandchild)
    supervisor.send_signal(signal.SIGKILL)
    supervisor.wait(10)
    deadline = time.monotonic() + 10
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild)


def test_port_helpers() -> None:
    port = free_port()
    assert not port_open(port)
