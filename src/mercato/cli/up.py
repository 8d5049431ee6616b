"""`mercato up`: a whole local network on loopback (for now: the registry)."""

from __future__ import annotations

import typer


def up(
    port: int = typer.Option(8000, help="First port; the registry listens here for now."),
    data_dir: str = typer.Option(".mercato", help="Where every role keeps its database."),
) -> None:
    """Start a local network on loopback. Until the other roles exist it runs the registry."""
    from mercato.cli.registry import serve

    serve(
        db=f"sqlite:///{data_dir}/registry.db",
        host="127.0.0.1",
        port=port,
        key_file=f"{data_dir}/registry.key.json",
    )
