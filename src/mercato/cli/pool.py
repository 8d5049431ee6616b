"""``mercato pool``: demand pools. ``clear`` runs the clearing on a JSON input file."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="Demand pools: tiered group buys cleared by a deterministic MILP.", no_args_is_help=True
)


@app.command("clear")
def clear_command(
    input: Path = typer.Option(..., "--input", help="pool JSON file (format in docs/pools.md)"),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.0, help="MILP time limit in seconds"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Clear a pool: which offers run, at which price, and which commitments they serve."""
    import orjson

    from mercato.pools.clearing import clear
    from mercato.pools.model import PoolInputError, parse_pool

    try:
        raw = orjson.loads(input.read_bytes())
    except OSError as exc:
        typer.echo(f"{input}: cannot read: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    except orjson.JSONDecodeError as exc:
        typer.echo(f"{input}: not valid JSON: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        pool = parse_pool(raw)
    except PoolInputError as exc:
        for problem in exc.problems:
            typer.echo(f"{input}: {problem}", err=True)
        raise typer.Exit(2) from None
    result = clear(pool, time_limit=time_limit)
    if as_json:
        typer.echo(orjson.dumps(result.to_dict(), option=orjson.OPT_SORT_KEYS).decode())
        return
    typer.echo(
        f"objective {result.objective} {pool.currency} minor units  bound {result.bound:g}  "
        f"gap {result.gap:.4%}  status {result.status}  solver {result.solver}"
    )
    for run in result.runs:
        typer.echo(
            f"run {run.offer} ({run.manufacturer}): {run.quantity} units at {run.unit_price} "
            f"(tier {run.tier})"
        )
    for a in result.accepted:
        typer.echo(f"accept {a.commitment} -> {a.offer}: {a.quantity} x {a.unit_price} (surplus {a.surplus})")
    for r in result.rejected:
        typer.echo(f"reject {r.commitment}: {r.reason}")
