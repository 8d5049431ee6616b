"""``mercato supply ...``: the supply twin of a seller node.

``mercato supply load FILE --config seller.toml`` validates a twin file (JSON or TOML; format in
docs/supply.md) and stores it in the node's database; a bad file is refused with every problem named
(exit 2) and nothing is stored. ``mercato supply check FILE`` only validates.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="The supply twin: capacity, stock and lead times behind promise dates.", no_args_is_help=True
)


@app.command("load")
def load_command(
    file: Path = typer.Argument(..., help="Twin file: .json or .toml."),
    config: Path = typer.Option(Path("seller.toml"), "--config", help="The node's seller.toml."),
) -> None:
    """Validate FILE and store it as the node's twin (replacing the one before)."""
    from datetime import UTC, datetime

    from mercato.seller.config import ConfigError, load
    from mercato.seller.store import open_store
    from mercato.seller.store import supply as store_supply
    from mercato.supply.errors import SupplyInputError
    from mercato.supply.loader import load_data

    try:
        data = load_data(file)
        cfg = load(config)
        store = open_store(cfg.database_url)
        try:
            twin = store_supply.put_twin(store, data, datetime.now(UTC))
        except SupplyInputError as exc:
            raise SupplyInputError(exc.problems, str(file)) from None
        finally:
            store.engine.dispose()
    except (ConfigError, SupplyInputError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"loaded the supply twin from {file}: {len(twin.locations)} locations, {len(twin.items)} items, "
        f"{len(twin.lines)} production lines"
    )


@app.command("check")
def check_command(file: Path = typer.Argument(..., help="Twin file: .json or .toml.")) -> None:
    """Validate FILE; print what it holds or every problem (exit 2)."""
    from mercato.supply.errors import SupplyInputError
    from mercato.supply.loader import load_twin

    try:
        twin = load_twin(file)
    except SupplyInputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"{file}: {len(twin.locations)} locations, {len(twin.items)} items, {len(twin.lines)} lines — valid"
    )


from mercato.cli import supply_plan  # noqa: E402  (simulate, forecast, policy)

supply_plan.register(app)
