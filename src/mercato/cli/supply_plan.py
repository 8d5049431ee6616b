"""``mercato supply simulate | forecast | policy``: planning commands of the supply twin.

- ``simulate --scenario FILE --days N [--json] [--plots DIR]``: run a scenario (format in
  docs/supply-planning.md) with a progress bar; print the figures, write plots.
- ``forecast --orders CSV [--horizon H] [--method M] [--holdout D] [--json]``: daily demand
  forecasts per item from an order table (columns item, day, quantity) and holdout accuracy
  (MASE, WAPE) against the seasonal-naive baseline.
- ``policy KIND ...``: the size of a replenishment policy (base_stock, s_S, r_Q, serial).

Bad input exits 2 with a message naming the file and the problem; ``--json`` prints exactly one
JSON object on stdout.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer


def _emit(obj: dict[str, Any]) -> None:
    import orjson

    typer.echo(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode())


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def simulate_command(
    scenario: Path = typer.Option(..., "--scenario", help="scenario file (.toml or .json)"),
    days: int | None = typer.Option(None, "--days", min=1, help="days to simulate (default: the file's)"),
    plots: Path | None = typer.Option(None, "--plots", help="write PNG plots into this folder"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    series: bool = typer.Option(False, "--series", help="with --json: include the daily series"),
    orders: Path | None = typer.Option(
        None, "--orders", help="take demand from a forecast of this order CSV"
    ),
    location: str = typer.Option("", "--location", help="with --orders: where that demand arises"),
) -> None:
    """Simulate demand, replenishment, shipments and production; report service and inventory."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from mercato.supply.errors import SupplyInputError
    from mercato.supply.scenario import load_scenario
    from mercato.supply.simulate import simulate

    try:
        sc = load_scenario(scenario)
    except SupplyInputError as exc:
        _fail(str(exc))
    if orders is not None:
        import polars as pl

        from mercato.supply.forecast import ForecastInputError, forecast
        from mercato.supply.scenario import with_forecast_demand

        if not location:
            _fail("--orders needs --location (where the forecast demand arises)")
        try:
            fc = forecast(pl.read_csv(orders, infer_schema_length=0), 28)
            sc = with_forecast_demand(sc, fc, location)
        except (OSError, pl.exceptions.PolarsError, ForecastInputError) as exc:
            _fail(f"{orders}: {exc}")
        except SupplyInputError as exc:
            _fail(f"{orders}: {exc}")
    horizon = days or sc.days
    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} days"),
        TimeElapsedColumn(),
        transient=True,
        console=_stderr_console(),
    ) as bar:
        task = bar.add_task("days", total=horizon)
        result = simulate(sc, horizon, progress=lambda done, _total: bar.update(task, completed=done))
    written: list[str] = []
    if plots is not None:
        from mercato.supply.simulate_plots import write_plots

        try:
            spans = [
                (
                    e.start - sc.warmup_days + 1,
                    e.days,
                    e.type.replace("_", " ") + (f" {e.line}" if e.line else ""),
                )
                for e in sc.events
                if e.start < horizon
            ]
            written = [str(p) for p in write_plots(result, plots, events=spans)]
        except OSError as exc:
            _fail(f"{plots}: cannot write plots: {exc.strerror or exc}")
    if as_json:
        out = result.to_dict(series=series)
        out["scenario"] = str(scenario)
        out["plots"] = written
        _emit(out)
        return
    d = result.to_dict()
    typer.echo(f"{scenario}: {d['days']} days")
    typer.echo(f"  fill rate        {d['fill_rate']:.2%}   on time {d['on_time_rate']:.2%}")
    typer.echo(f"  stockouts        {d['stockouts']} item-location-days   demand {d['demand']:g} units")
    typer.echo(
        f"  average stock    {d['average_inventory']:g} units   backordered at end {d['backorders_end']:g}"
    )
    typer.echo(f"  cost per day     {d['cost_per_day']:g} (holding {d['holding_cost_per_day']:g})")
    for line, use in d["capacity_use"].items():
        typer.echo(f"  line {line:<12} {use:.1%} of capacity used")
    for p in written:
        typer.echo(f"  plot {p}")


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(file=sys.stderr)


def forecast_command(
    orders: Path = typer.Option(..., "--orders", help="CSV with columns item, day (YYYY-MM-DD), quantity"),
    horizon: int = typer.Option(14, "--horizon", min=1, help="days to forecast"),
    method: str = typer.Option("auto", "--method", help="auto, seasonal_naive, autoets, croston, ..."),
    holdout: int = typer.Option(14, "--holdout", min=0, help="days held out to score accuracy (0: none)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Forecast daily demand per item from an order table; score it on a holdout."""
    import polars as pl

    from mercato.supply.forecast import ForecastInputError, demand_history, evaluate, forecast

    try:
        frame = pl.read_csv(orders, infer_schema_length=0)
    except (OSError, pl.exceptions.PolarsError) as exc:
        _fail(f"{orders}: cannot read the CSV: {exc}")
    try:
        hist = demand_history(frame)
        fc = forecast(hist, horizon, method)
        acc = []
        if holdout:
            for m in dict.fromkeys((method, "seasonal_naive")):
                acc.append(evaluate(hist, holdout, m))
    except ForecastInputError as exc:
        _fail(f"{orders}: {exc}")
    if as_json:
        out = fc.to_dict()
        out["accuracy"] = [
            {
                "method": a.method,
                "holdout_days": a.holdout_days,
                "mase": a.mase,
                "wape": a.wape,
                "per_item": a.per_item,
            }
            for a in acc
        ]
        _emit(out)
        return
    typer.echo(
        f"{orders}: {len(hist.items)} items, {hist.days} days from {hist.start}; forecast from {fc.first_day}"
    )
    for a in acc:
        typer.echo(f"  holdout {a.holdout_days} days, {a.method:<15} MASE {a.mase:.3f}  WAPE {a.wape:.1%}")
    for item, f in fc.items.items():
        days = " ".join(f"{v:.1f}" for v in f.daily[:7])
        more = " …" if len(f.daily) > 7 else ""
        typer.echo(
            f"  {item:<20} {sum(f.daily):9.1f} units  [{days}{more}]  ±{f.error_sd:.1f}/day  {f.model}"
        )


def policy_command(
    kind: str = typer.Argument(..., help="base_stock, s_S, r_Q or serial"),
    mean: float = typer.Option(..., "--mean", help="demand per period"),
    sd: float = typer.Option(0.0, "--sd", help="demand sd per period (normal)"),
    holding: float = typer.Option(1.0, "--holding", help="holding cost per unit per period"),
    stockout: float = typer.Option(10.0, "--stockout", help="stockout cost per unit per period"),
    fixed: float = typer.Option(0.0, "--fixed-cost", help="fixed cost per order (s_S, r_Q)"),
    lead_time: float = typer.Option(0.0, "--lead-time", help="lead time in periods"),
    service_level: float | None = typer.Option(None, "--service-level", help="target instead of costs"),
    poisson: bool = typer.Option(False, "--poisson", help="Poisson demand (exact base_stock and s_S)"),
    stages: str = typer.Option("", "--stages", help="serial: 'h:L,h:L,...' echelon holding and lead time"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Size a policy from demand and costs (Snyder & Shen formulas)."""
    import math

    from mercato.supply import replenish as r
    from mercato.supply.serial import SerialStage, optimize_serial

    out: dict[str, Any] = {"kind": kind}
    try:
        if kind == "base_stock":
            periods = lead_time + 1
            if service_level is not None:
                out["level"] = r.base_stock_service(mean * periods, sd * math.sqrt(periods), service_level)
            elif poisson:
                b = r.newsvendor_poisson(holding, stockout, mean * periods)
                out.update(level=b.level, cost=b.cost)
            else:
                b = r.newsvendor_normal(holding, stockout, mean * periods, sd * math.sqrt(periods))
                out.update(level=b.level, cost=b.cost)
        elif kind == "s_S":
            ss = (
                r.ss_poisson(holding, stockout, fixed, mean)
                if poisson
                else r.ss_power_approximation(holding, stockout, fixed, mean, sd, lead_time)
            )
            out.update(reorder_point=ss.reorder_point, order_up_to=ss.order_up_to, cost=ss.cost)
        elif kind == "r_Q":
            rq = r.rq_eoq_ss(holding, stockout, fixed, mean, sd, lead_time, service_level)
            out.update(
                reorder_point=rq.reorder_point, quantity=rq.order_quantity, safety_stock=rq.safety_stock
            )
        elif kind == "serial":
            parsed = []
            for part in stages.split(","):
                h, _, lt = part.partition(":")
                try:
                    parsed.append(SerialStage(float(h), int(lt)))
                except ValueError:
                    _fail(f"--stages: {part!r} is not 'holding:lead_time' (e.g. 3:1,2:1,2:2)")
            sol = optimize_serial(parsed, stockout, mean, sd, distribution="poisson" if poisson else "normal")
            out.update(
                echelon_base_stock=[round(x, 4) for x in sol.base_stock],
                local_base_stock=[round(x, 4) for x in sol.local_base_stock()],
                cost=sol.cost,
            )
        else:
            _fail(f"unknown policy kind {kind!r} (base_stock, s_S, r_Q or serial)")
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        _emit(out)
        return
    for k, v in out.items():
        typer.echo(f"{k:<18} {v:.4f}" if isinstance(v, float) else f"{k:<18} {v}")


def register(app: typer.Typer) -> None:
    """Add the planning commands to the ``mercato supply`` group."""
    app.command("simulate")(simulate_command)
    app.command("forecast")(forecast_command)
    app.command("policy")(policy_command)
