"""`mercato up`: a whole local network on loopback."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import typer


def up(
    sellers: int = typer.Option(
        4,
        min=1,
        max=60,
        help="How many seller nodes (grocery, electronics, fashion, manufacturer, then variants).",
    ),
    data_dir: Path = typer.Option(
        Path(".mercato"), help="Where every role keeps its keys, config and database."
    ),
    postgres: str = typer.Option("", help="PostgreSQL URL: every role then uses its own schema there."),
    port: int = typer.Option(
        8000,
        help="The buyer node's port; the registry, gateway, pool coordinator and sellers take the next.",
    ),
) -> None:
    """Start registry, gateway, pool coordinator, seller nodes and a buyer node on loopback, each its own
    process.

    The first start makes keys, configs and seeded catalogs in DATA_DIR; the next one reuses them.
    Ctrl-C stops everything.
    """
    from mercato.network.local import LocalNetwork, NetworkPlan
    from mercato.network.processes import StartError

    plan = NetworkPlan(
        data_dir, sellers=sellers, postgres=postgres or None, buyer_port=port, registry_port=port + 1,
        gateway_port=port + 2, coordinator_port=port + 3, first_seller_port=port + 11,
    )  # fmt: skip
    net = LocalNetwork(plan, say=lambda line: print(line, flush=True))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        net.start()
        print("Ctrl-C stops the network.", flush=True)
        while True:
            dead = net.check()
            if dead:
                print(
                    f"{dead} stopped unexpectedly; see {plan.data_dir / 'logs' / (dead + '.log')}",
                    file=sys.stderr,
                )
                raise typer.Exit(1)
            time.sleep(0.5)
    except StartError as exc:
        print(f"mercato up: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
    finally:
        net.stop()
