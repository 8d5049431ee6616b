"""Several hosts on one machine: the registry, the gateway and two sellers each in its own network
namespace (with its own IP address, joined by veth pairs to a bridge), the other two sellers and the
buyer on the host; the demo scenario runs across them. Needs root and `ip netns`; skipped otherwise."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mercato.network.demo import run_demo
from mercato.network.local import LocalNetwork, NetworkPlan

pytestmark = pytest.mark.e2e
NAMESPACED = ("registry", "gateway", "seller-namma-fresh-grocers", "seller-circuit-street-electronics")


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def can_make_namespaces() -> str | None:
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    probe = f"mprobe{secrets.token_hex(3)}"
    try:
        ip("netns", "add", probe)
    except subprocess.CalledProcessError as exc:
        return f"this machine forbids network namespaces: {exc.stderr.strip()}"
    ip("netns", "del", probe)
    return None


@pytest.fixture
def hosts() -> Iterator[dict[str, tuple[str, str]]]:
    """role -> (namespace, address); the host side is a bridge at .1 of a private /24."""
    why = can_make_namespaces()
    if why:
        pytest.skip(why)
    tag = secrets.token_hex(2)
    subnet = f"10.{100 + secrets.randbelow(100)}.{secrets.randbelow(250)}"
    bridge = f"mbr{tag}"
    made: list[str] = []
    try:
        ip("link", "add", bridge, "type", "bridge")
        ip("addr", "add", f"{subnet}.1/24", "dev", bridge)
        ip("link", "set", bridge, "up")
        out: dict[str, tuple[str, str]] = {"host": ("", f"{subnet}.1")}
        for i, role in enumerate(NAMESPACED):
            ns, host_end, ns_end = f"m{tag}n{i}", f"m{tag}h{i}", f"m{tag}c{i}"
            ip("netns", "add", ns)
            made.append(ns)
            ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end)
            ip("link", "set", ns_end, "netns", ns)
            ip("link", "set", host_end, "master", bridge)
            ip("link", "set", host_end, "up")
            address = f"{subnet}.{10 + i}"
            ip("-n", ns, "addr", "add", f"{address}/24", "dev", ns_end)
            ip("-n", ns, "link", "set", ns_end, "up")
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "route", "add", "default", "via", f"{subnet}.1")
            out[role] = (ns, address)
        yield out
    finally:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)


def test_demo_across_namespaces(tmp_path: Path, hosts: dict[str, tuple[str, str]]) -> None:
    host_address = hosts["host"][1]
    addresses = {role: address for role, (_, address) in hosts.items() if role != "host"}
    # the host's own roles listen on the bridge address, so the namespaced ones can call them back
    for role in ("buyer", "seller-kora-handloom-studio", "seller-peenya-steelworks"):
        addresses[role] = host_address
    namespaces = {role: ns for role, (ns, _) in hosts.items() if role != "host"}
    plan = NetworkPlan(tmp_path / "net", sellers=4, buyer_port=8000, registry_port=8001, gateway_port=8002,
                       first_seller_port=8011, addresses=addresses, namespaces=namespaces)  # fmt: skip
    lines: list[str] = []
    with LocalNetwork(plan, say=lines.append) as net:
        assert net.check() is None
        report = asyncio.run(run_demo(plan, lines.append))
    assert report.ok, "\n".join(lines)
    assert report.sellers_found == 4 and report.orders_confirmed == 3
    assert report.orders_cancelled == 1 and report.orders_delivered == 1 and report.ratings == 1
    # each role really ran in its namespace: its log names the address it was given
    registry_addr = hosts["registry"][1]
    assert any(registry_addr in line for line in lines)
    assert plan.registry_url == f"http://{registry_addr}:8001"
