"""Loopback ports for servers that tests start.

Ports come from below the kernel's ephemeral range (``ip_local_port_range``): outgoing connections of
the running suite draw their local ports from that range, so a port seen free there can be taken
before the server under test binds it. Below it, a port is only taken by a server someone started.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Above every port Chromium refuses to load (its "unsafe ports" end at 10080): browser tests use these too.
LOWEST = 10_100


def ephemeral_low() -> int:
    try:
        return int(_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def free_port_block(size: int, start: int = LOWEST) -> int:
    """A base port whose ``size`` consecutive ports are free on loopback."""
    stop = ephemeral_low() - size
    if stop <= start:
        raise RuntimeError(f"no room for {size} ports between {start} and the ephemeral range")
    for _ in range(500):
        base = random.randrange(start, stop)
        if all(_free(p) for p in range(base, base + size)):
            return base
    raise RuntimeError(f"no free block of {size} ports")


def free_port() -> int:
    """One free loopback port, below the ephemeral range."""
    return free_port_block(1)
