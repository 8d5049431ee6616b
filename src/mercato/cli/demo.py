"""`mercato demo`: run a scripted buyer journey across a local network."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import typer


def demo(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a summary."),
    log_dir: Path | None = typer.Option(
        None, help="Write every protocol message any node sends here, one file each, as sent."
    ),
    data_dir: Path | None = typer.Option(
        None,
        help="The network's data folder: a running network there is used, else one is started "
        "(default: a fresh temporary folder).",
    ),
    sellers: int = typer.Option(4, min=3, max=60, help="Seller nodes, when the demo starts the network."),
    port: int = typer.Option(8000, help="The buyer node's port (registry, gateway and sellers follow)."),
    postgres: str = typer.Option("", help="PostgreSQL URL for every role (own schema each)."),
) -> None:
    """Search across all sellers, buy from three, cancel one order, deliver one, rate it.

    Exits 0 only if every step succeeded.
    """
    import asyncio

    from mercato.network.demo import run_demo
    from mercato.network.local import LocalNetwork, NetworkPlan
    from mercato.network.processes import StartError

    def say(line: str) -> None:
        print(line, file=sys.stderr if as_json else sys.stdout, flush=True)

    folder = data_dir or Path(tempfile.mkdtemp(prefix="mercato-demo-"))
    env = {"MERCATO_MESSAGE_LOG_DIR": str(log_dir.resolve())} if log_dir else {}
    plan = NetworkPlan(
        folder, sellers=sellers, postgres=postgres or None, buyer_port=port, registry_port=port + 1,
        gateway_port=port + 2, first_seller_port=port + 11, env=env,
    )  # fmt: skip
    net = LocalNetwork(plan, say=say)
    started = False
    t0 = time.monotonic()
    try:
        if net.running():
            say(f"using the network already running from {plan.data_dir}")
            if log_dir:
                say("note: --log-dir applies to networks the demo starts itself; this one logs nothing new")
        else:
            net.start()
            started = True
        up_s = time.monotonic() - t0
        report = asyncio.run(run_demo(plan, say))
    except StartError as exc:
        print(f"mercato demo: {exc}", file=sys.stderr)
        if as_json:
            print(json.dumps({"ok": False, "error": str(exc)}))
        raise typer.Exit(1) from None
    finally:
        net.stop()  # whatever this run started, also when starting failed half-way
    out = report.to_json()
    out["network_start_s"] = round(up_s, 3) if started else None
    out["data_dir"] = str(plan.data_dir)
    if log_dir:
        out["log_dir"] = str(log_dir.resolve())
    if as_json:
        print(json.dumps(out))
    else:
        verdict = "every step succeeded" if report.ok else "FAILED"
        print(
            f"\n{verdict}: {report.sellers_found} sellers found, "
            f"{report.orders_confirmed} orders confirmed, {report.orders_cancelled} cancelled, "
            f"{report.orders_delivered} delivered, {report.ratings} rated"
        )
    raise typer.Exit(0 if report.ok else 1)
