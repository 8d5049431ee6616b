"""`mercato seller ...`: init a node's config and keys, serve it, publish its catalog."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="The seller role.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@app.command("init")
def init_command(
    dir: Path = typer.Option(Path("."), "--dir", help="Where to write seller.toml and seller.key.json."),  # noqa: A002
    subscriber_id: str = typer.Option("seller.localhost", help="This node's subscriber id on the network."),
    port: int = typer.Option(8100, help="TCP port the node listens on."),
    registry_url: str = typer.Option("http://127.0.0.1:8000", help="The registry to subscribe with."),
    database_url: str = typer.Option(
        "sqlite:///seller.db", help="SQLite file (relative to --dir) or PostgreSQL."
    ),
    gateway: list[str] = typer.Option(
        [], "--gateway", help="A gateway URL to publish the catalog to (repeat)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
) -> None:
    """Write a starter seller.toml, a key file (mode 0600) and a random admin token."""
    from mercato.seller.config import ConfigError, write_starter

    try:
        cfg, key = write_starter(
            dir,
            subscriber_id=subscriber_id,
            port=port,
            registry_url=registry_url,
            database_url=database_url,
            gateway_urls=tuple(gateway),
            force=force,
        )
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"wrote {cfg} and {key} (mode 0600)")
    typer.echo("the admin token is in [admin] token of the config; keep the file private")
    typer.echo(f"next: mercato seller serve --config {cfg}")


def serve(config_path: str | Path) -> None:
    """Run the seller node of ``config_path`` until stopped (blocking). Used by `mercato up` too."""
    import logging

    from mercato.seller.config import load
    from mercato.seller.node import SellerNode
    from mercato.transport.http import serve as run

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load(config_path)
    node = SellerNode(config)
    print(
        f"seller {config.subscriber_id} on http://{config.host}:{config.port} (public {config.public_url})",
        flush=True,
    )
    run(node.asgi, host=config.host, port=config.port, lifespan="on")


@app.command("serve")
def serve_command(
    config: Path = typer.Option(Path("seller.toml"), "--config", help="The node's seller.toml."),
) -> None:
    """Run the node: Beckn endpoints, admin API, outbox delivery, registry onboarding."""
    from mercato.protocol.keys import KeyFormatError
    from mercato.seller.config import ConfigError

    try:
        serve(config)
    except (ConfigError, KeyFormatError) as exc:
        raise _fail(str(exc)) from None


@app.command("publish")
def publish_command(
    config: Path = typer.Option(Path("seller.toml"), "--config", help="The node's seller.toml."),
) -> None:
    """Push the whole catalog (a signed snapshot) to every gateway in [gateway] urls."""
    from mercato.seller.config import ConfigError, load
    from mercato.seller.publish import PublishError, publish

    try:
        cfg = load(config)
        results = publish(cfg)
    except (ConfigError, PublishError) as exc:
        raise _fail(str(exc)) from None
    if not results:
        raise _fail("no gateway configured: add urls to [gateway] in the config")
    failed = False
    for url, status, text in results:
        typer.echo(f"{url}: HTTP {status} {text[:200]}")
        failed = failed or status != 200
    raise typer.Exit(1 if failed else 0)
