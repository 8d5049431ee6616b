"""`mercato gateway ...`: run the gateway (broadcast search and the signed catalog index)."""

from __future__ import annotations

import asyncio
from typing import Any

import typer

app = typer.Typer(help="The gateway role.", no_args_is_help=True)


def load_keys(key_file: str) -> tuple[object, str]:
    """The key pair and unique key id of a key file; creates the file (mode 0600) if missing."""
    from mercato.keyfile import load_or_create

    keys, ukid, _created = load_or_create(key_file)
    return keys, ukid


def serve(
    db: str,
    registry: str,
    key_file: str,
    subscriber_id: str,
    host: str = "127.0.0.1",
    port: int = 8100,
    url: str | None = None,
    domains: tuple[str, ...] = ("*",),
    max_results_per_seller: int = 500,
    seller_timeout_s: float = 3.0,
) -> None:
    """Start the gateway and onboard it with the registry (importable: ``mercato up`` calls it)."""
    from mercato.gateway.config import GatewaySettings
    from mercato.gateway.node import run
    from mercato.protocol.keys import KeyPair

    keys, ukid = load_keys(key_file)
    assert isinstance(keys, KeyPair)
    shown = f"[{host}]" if ":" in host else host
    settings = GatewaySettings(
        subscriber_id=subscriber_id,
        unique_key_id=ukid,
        keys=keys,
        registry_url=registry,
        db_url=db,
        url=url or f"http://{shown}:{port}",
        domains=domains,
        max_results_per_seller=max_results_per_seller,
        seller_timeout_s=seller_timeout_s,
    )

    from mercato.transport.http import tune_gc

    def ready(_gw: object) -> None:
        tune_gc()  # after start-up: see mercato.transport.http
        typer.echo(f"Mercato gateway {subscriber_id!r} at {settings.url} (registered as BG with {registry})")
        typer.echo(f"  key id {subscriber_id}|{ukid}|ed25519, index {db.split('?')[0]}")

    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(run(settings, host, port, ready=ready))
    except KeyboardInterrupt:
        pass


def _loop_factory() -> Any:
    try:
        import uvloop

        return uvloop.new_event_loop
    except ImportError:  # pragma: no cover
        return None


@app.command("serve")
def serve_command(
    db: str = typer.Option(
        "sqlite:///.mercato/gateway.db", help="Index database: sqlite:///FILE or postgresql://..."
    ),
    port: int = typer.Option(8100, help="TCP port."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    registry: str = typer.Option("http://127.0.0.1:8000", help="The registry's base URL."),
    key_file: str = typer.Option(
        ".mercato/gateway.key.json", help="The gateway's key file; created if missing."
    ),
    subscriber_id: str = typer.Option("mercato-gateway", help="The gateway's subscriber id."),
    url: str = typer.Option("", help="Public base URL (default http://HOST:PORT)."),
    domain: list[str] = typer.Option(["*"], help="Domains to register for (repeatable)."),
    max_results_per_seller: int = typer.Option(500, help="Items relayed per seller and search."),
    seller_timeout: float = typer.Option(3.0, help="Seconds to wait for one seller to accept a search."),
) -> None:
    """Run the gateway: broadcast search, the signed catalog index, and its JSON query API."""
    from mercato.gateway.node import OnboardingFailed

    try:
        serve(
            db,
            registry,
            key_file,
            subscriber_id,
            host,
            port,
            url or None,
            tuple(domain),
            max_results_per_seller,
            seller_timeout,
        )
    except OnboardingFailed as exc:
        typer.echo(f"mercato gateway: {exc}", err=True)
        raise typer.Exit(1) from None
