"""`mercato registry ...`: run the registry and inspect its database."""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    help="The network registry: who is on the network and with which keys.", no_args_is_help=True
)


def serve(
    db: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    key_file: str = ".mercato/registry.key.json",
    registry_id: str = "mercato-registry",
    admin_token: str | None = None,
) -> None:
    """Start the registry (importable: ``mercato up`` calls it)."""
    from mercato.registry.server import serve as run

    run(db, host, port, key_file, registry_id=registry_id, admin_token=admin_token, echo=typer.echo)


@app.command("serve")
def serve_command(
    db: str = typer.Option(
        "sqlite:///.mercato/registry.db", help="Database URL: sqlite:///FILE or postgresql://..."
    ),
    port: int = typer.Option(8000, help="TCP port."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    key_file: str = typer.Option(
        ".mercato/registry.key.json", help="The registry's key file; created (mode 0600) if missing."
    ),
    registry_id: str = typer.Option("mercato-registry", help="The registry's subscriber id in signatures."),
    admin_token: str = typer.Option(
        "",
        envvar="MERCATO_REGISTRY_ADMIN_TOKEN",
        show_default=False,
        show_envvar=True,
        help="Bearer token for /admin routes (default: none, admin routes disabled).",
    ),
) -> None:
    """Run the registry: /subscribe, /on_subscribe challenge, /lookup, /vlookup, /keys, /admin."""
    serve(
        db=db,
        host=host,
        port=port,
        key_file=key_file,
        registry_id=registry_id,
        admin_token=admin_token or None,
    )


@app.command("list")
def list_command(
    db: str = typer.Option("sqlite:///.mercato/registry.db", help="Database URL."),
    json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """List every subscriber key with its status, validity and participations."""
    from mercato.registry.admin import list_subscribers

    rows = list_subscribers(db)
    if json:
        import orjson

        sys.stdout.write(orjson.dumps({"subscribers": rows}).decode() + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} keys")
    for col in ("subscriber_id", "ukId", "status", "valid_from", "valid_until", "participations"):
        table.add_column(col)
    for r in rows:
        parts = ", ".join(f"{p['type']} {p['domain']} {p['city']}" for p in r["participations"])
        table.add_row(r["subscriber_id"], r["ukId"], r["status"], r["valid_from"], r["valid_until"], parts)
    Console().print(table)


@app.command("revoke")
def revoke_command(
    subscriber_id: str = typer.Option(..., help="The subscriber."),
    key_id: str = typer.Option(..., help="The unique key id (ukId) to revoke."),
    db: str = typer.Option("sqlite:///.mercato/registry.db", help="Database URL."),
) -> None:
    """Revoke one key directly in the database (the same as POST /admin/revoke)."""
    from mercato.registry.admin import revoke_key

    if not revoke_key(db, subscriber_id, key_id):
        typer.echo(f"no key {key_id!r} for subscriber {subscriber_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {subscriber_id}|{key_id}")
