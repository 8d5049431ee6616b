"""The ``mercato`` command. Each group lives in its own module and imports its heavy
dependencies inside the command, so ``mercato --help`` stays fast."""

from __future__ import annotations

import sys

import typer

from mercato.cli import buyer, catalog, demo, gateway, keys, pool, registry, retention, seller, supply, up

app = typer.Typer(
    name="mercato",
    help="Mercato: an open commerce network with no platform in the middle.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(keys.app, name="keys")
app.add_typer(registry.app, name="registry")
app.add_typer(retention.app, name="retention")
app.add_typer(seller.app, name="seller")
app.add_typer(catalog.app, name="catalog")
app.add_typer(gateway.app, name="gateway")
app.add_typer(buyer.app, name="buyer")
app.add_typer(pool.app, name="pool")
app.add_typer(supply.app, name="supply")
app.command("up")(up.up)
app.command("demo")(demo.demo)


@app.command(
    "bench",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def bench(ctx: typer.Context, name: str = typer.Argument(..., help="benchmark name, e.g. protocol")) -> None:
    """Run benchmarks/NAME.py and print its figures (add --json for one JSON object)."""
    from mercato.cli.bench import run_benchmark

    raise typer.Exit(run_benchmark(name, list(ctx.args)))


def main() -> None:
    app(prog_name="mercato", args=sys.argv[1:])
