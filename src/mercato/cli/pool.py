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
        + (f"  (LP bound {result.lp_bound:g}, gap {result.lp_gap:.4%})" if result.lp_gap is not None else "")
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


@app.command("verify")
def verify_command(
    input: Path = typer.Option(..., "--input", help="the published clearing input (GET /pool/{id}/input)"),
    result: Path = typer.Option(..., "--result", help="the published result (GET /pool/{id}/result)"),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.0, help="MILP time limit of the re-run"),
    no_signatures: bool = typer.Option(
        False, "--no-signatures", help="skip the signed documents (for a bare `pool clear` input)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Re-run a published clearing and confirm it (exit 0) or refute it (exit 1, with the reasons)."""
    import orjson

    from mercato.pools.verify import verify

    docs = []
    for path in (input, result):
        try:
            docs.append(orjson.loads(path.read_bytes()))
        except OSError as exc:
            typer.echo(f"{path}: cannot read: {exc.strerror or exc}", err=True)
            raise typer.Exit(2) from None
        except orjson.JSONDecodeError as exc:
            typer.echo(f"{path}: not valid JSON: {exc}", err=True)
            raise typer.Exit(2) from None
    verdict = verify(docs[0], docs[1], time_limit=time_limit, signatures=not no_signatures)
    if as_json:
        typer.echo(orjson.dumps(verdict.to_dict(), option=orjson.OPT_SORT_KEYS).decode())
    elif verdict.ok:
        c = verdict.checked
        typer.echo(
            f"confirmed: {result} is the clearing of {input} ({c.get('offers', 0)} offers, "
            f"{c.get('commitments', 0)} commitments, {c.get('accepted', 0)} accepted; signatures "
            f"{'checked' if not no_signatures else 'not checked'})"
        )
    else:
        typer.echo(f"refuted: {result} is not the clearing of {input}:", err=True)
        for p in verdict.problems:
            typer.echo(f"  - {p}", err=True)
    raise typer.Exit(0 if verdict.ok else 1)


@app.command("serve")
def serve_command(
    registry: str = typer.Option(..., "--registry", help="registry URL (signers' keys are looked up there)"),
    data_dir: Path = typer.Option(Path("coordinator-data"), "--data-dir", help="where the pool log lives"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8090, "--port"),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.0, help="MILP time limit per clearing"),
) -> None:
    """Run a pool coordinator: takes signed offers and commitments, clears each pool at its deadline,
    publishes the signed inputs and results. The admin token (for `clear now`) is read from
    MERCATO_COORDINATOR_TOKEN, or made and stored in DATA_DIR/admin-token."""
    import asyncio
    import os
    import secrets

    import uvicorn

    from mercato.coordinator.app import Coordinator
    from mercato.keyfile import write_secret
    from mercato.transport.http import server_config
    from mercato.transport.lookup import LookupCache, RegistryKeySource
    from mercato.transport.onboarding import OnboardingFailed, fetch_registry_info

    token_file = data_dir / "admin-token"
    token = os.environ.get("MERCATO_COORDINATOR_TOKEN", "")
    if not token:
        data_dir.mkdir(parents=True, exist_ok=True)
        if token_file.exists():
            token = token_file.read_text().strip()
        else:
            token = secrets.token_urlsafe(24)
            write_secret(token_file, (token + "\n").encode(), replace=True)

    async def main() -> None:
        try:
            info = await fetch_registry_info(registry)
        except OnboardingFailed as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        source = RegistryKeySource(
            info.url, registry_public_key=info.signing_public_key, registry_subscriber_id=info.subscriber_id
        )
        coordinator = Coordinator(data_dir, LookupCache(source, negative_ttl_s=1.0), token, time_limit)
        server = uvicorn.Server(server_config(coordinator.app(), host, port))
        typer.echo(f"Mercato pool coordinator at http://{host}:{port} (registry {info.url}, log {data_dir})")
        try:
            await server.serve()
        finally:
            await source.aclose()

    asyncio.run(main())
