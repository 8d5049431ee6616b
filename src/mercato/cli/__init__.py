"""The ``mercato`` command. Each group lives in its own module and imports its heavy
dependencies inside the command, so ``mercato --help`` stays fast."""

from __future__ import annotations

import typer

from mercato.cli import bench, keys, registry, up

app = typer.Typer(
    name="mercato",
    help="Mercato: an open commerce network with no platform in the middle.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(keys.app, name="keys")
app.add_typer(registry.app, name="registry")
app.add_typer(bench.app, name="bench")
app.command("up")(up.up)


def main() -> None:
    app()
