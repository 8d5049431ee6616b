"""`mercato retention ...`: the retention report and model fits from the command line.

Errors in the input or the request print one clear line on stderr and exit with code 2."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(help="Retention analytics: cohorts, RFM, customer-base models, CLV.", no_args_is_help=True)

#: Inputs with at least this many rows get a progress bar on stderr.
PROGRESS_ROWS = 200_000

InputOpt = typer.Option(
    ..., "--input", "-i", help="CSV or Shopify file, Parquet file or folder, or database URL"
)
FormatOpt = typer.Option(None, "--format", "-f", help="csv | shopify | parquet | sql (guessed when omitted)")
TableOpt = typer.Option(None, "--table", help="table name when --input is a database URL")
CustOpt = typer.Option("customer_id", "--customer-column", help="customer id column")
TsOpt = typer.Option("timestamp", "--timestamp-column", help="date or timestamp column")
AmtOpt = typer.Option("amount", "--amount-column", help="amount column")
DateFmtOpt = typer.Option(None, "--date-format", help="strftime format of the dates, e.g. %d/%m/%Y")
UnitOpt = typer.Option(
    "week", "--time-unit", help="day | week | month (or quarter, year, or a number of days)"
)
JsonOpt = typer.Option(False, "--json", help="print exactly one JSON object on stdout")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@contextmanager
def _errors() -> Iterator[None]:
    from mercato.retention.errors import RetentionError

    try:
        yield
    except RetentionError as e:
        raise _fail(str(e)) from None
    except ValueError as e:
        raise _fail(str(e)) from None
    except OSError as e:
        raise _fail(f"{getattr(e, 'filename', '') or ''} {e.strerror or e}".strip()) from None


def _dump(obj: dict[str, Any]) -> None:
    import orjson

    sys.stdout.write(orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY).decode() + "\n")


def _load(
    source: str, fmt: str | None, table: str | None, cust: str, ts: str, amt: str, date_format: str | None
) -> Any:
    from mercato.retention.io import FORMATS, Columns, load_transactions

    if fmt is not None and fmt not in FORMATS:
        raise _fail(f"unknown --format {fmt!r} (expected one of {', '.join(FORMATS)})")
    return load_transactions(
        source, format=fmt, table=table, columns=Columns(cust, ts, amt), date_format=date_format
    )


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[str], None]]:
    if not enabled:
        yield lambda _name: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("reading", total=total)

        def step(name: str) -> None:
            bar.update(task, advance=1, description=name)

        yield step


@app.command("report")
def report(
    input: str = InputOpt,
    out: Path = typer.Option(..., "--out", "-o", help="folder for report.html, PNGs and CSVs"),
    format: str | None = FormatOpt,
    table: str | None = TableOpt,
    customer_column: str = CustOpt,
    timestamp_column: str = TsOpt,
    amount_column: str = AmtOpt,
    date_format: str | None = DateFmtOpt,
    time_unit: str = UnitOpt,
    cohort_period: str = typer.Option("month", "--cohort-period", help="month | week"),
    calibration_end: str | None = typer.Option(
        None,
        "--calibration-end",
        help="end of the calibration period (YYYY-MM-DD) for the holdout check; default: halfway",
    ),
    horizon_days: float = typer.Option(365.0, "--horizon-days", help="CLV horizon in days"),
    discount_rate: float = typer.Option(0.10, "--discount-rate", help="annual discount rate for CLV"),
    segments: Path | None = typer.Option(None, "--segments", help="JSON or TOML file of RFM segments"),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress", help="progress bar on stderr (default: for large inputs)"
    ),
    json: bool = JsonOpt,
) -> None:
    """Write a self-contained HTML retention report (plus PNGs and CSVs) into --out."""
    with _errors():
        from mercato.retention.report import STEPS, ReportOptions, build_report, write_report
        from mercato.retention.rfm import load_segments
        from mercato.retention.summary import to_date

        if cohort_period not in ("month", "week"):
            raise _fail(f"--cohort-period must be month or week, not {cohort_period!r}")
        seg = load_segments(segments) if segments else None
        opts = ReportOptions(
            time_unit=time_unit,
            cohort_period=cohort_period,
            horizon_days=horizon_days,
            annual_discount=discount_rate,
            calibration_end=to_date(calibration_end, "--calibration-end"),
            segments=seg,
        )
        tx = _load(input, format, table, customer_column, timestamp_column, amount_column, date_format)
        show = progress if progress is not None else tx.n_rows >= PROGRESS_ROWS
        with _progress(show, len(STEPS)) as step:
            rep = build_report(tx, opts, progress=step)
            files = write_report(rep, out)
    result = {"out": str(out), "files": [str(f) for f in files], "notes": rep.notes, **rep.figures}
    if json:
        _dump(result)
    else:
        for n in rep.notes:
            typer.echo(f"note: {n}", err=True)
        typer.echo(f"report written to {out / 'report.html'} ({len(files)} files)")


@app.command("fit")
def fit(
    input: str = InputOpt,
    model: str = typer.Option("bgnbd", "--model", "-m", help="bgnbd | mbgnbd | pnbd | gg"),
    format: str | None = FormatOpt,
    table: str | None = TableOpt,
    customer_column: str = CustOpt,
    timestamp_column: str = TsOpt,
    amount_column: str = AmtOpt,
    date_format: str | None = DateFmtOpt,
    calibration_end: str | None = typer.Option(
        None,
        "--calibration-end",
        help="last day of the calibration period (YYYY-MM-DD); default: the last day in the data",
    ),
    holdout_end: str | None = typer.Option(
        None, "--holdout-end", help="last day of the holdout period (YYYY-MM-DD)"
    ),
    time_unit: str = UnitOpt,
    json: bool = JsonOpt,
) -> None:
    """Fit one model by maximum likelihood and print its parameters (with --holdout-end, check it)."""
    with _errors():
        from mercato.retention import evaluation
        from mercato.retention.models import MODELS, GammaGamma
        from mercato.retention.summary import summarise

        if model not in (*MODELS, "gg"):
            raise _fail(f"unknown --model {model!r} (expected bgnbd, mbgnbd, pnbd or gg)")
        if holdout_end is not None and model == "gg":
            raise _fail("--holdout-end checks purchase predictions: use it with bgnbd, mbgnbd or pnbd")
        tx = _load(input, format, table, customer_column, timestamp_column, amount_column, date_format)
        s = summarise(
            tx.frame,
            calibration_end=calibration_end,
            holdout_end=holdout_end,
            time_unit=time_unit,
            minor_per_major=tx.minor_per_major,
        )
        out: dict[str, Any]
        if model == "gg":
            gg = GammaGamma.fit(s.x, s.monetary)
            assert gg.result is not None
            out = gg.result.as_dict()
        else:
            m = MODELS[model].fit(s.x, s.t_x, s.T)
            assert m.result is not None
            out = m.result.as_dict()
            if holdout_end is not None:
                out["holdout"] = evaluation.holdout(m, s).as_dict()
        out.update(time_unit=s.time_unit, calibration_end=str(s.calibration_end), notes=tx.notes)
        out["model"] = model
    if json:
        _dump(out)
        return
    typer.echo(
        f"{model}: {out['n_customers']} customers, "
        f"log-likelihood {out['log_likelihood']:.2f} ({s.time_unit}s)"
    )
    params: dict[str, float] = out["params"]  # type: ignore[assignment]
    errors: dict[str, float] = out["std_errors"]  # type: ignore[assignment]
    for name, v in params.items():
        typer.echo(f"  {name:>6} = {v:.4f}  (s.e. {errors[name]:.4f})")
    if "holdout" in out:
        h: dict[str, float] = out["holdout"]  # type: ignore[assignment]
        typer.echo(
            f"  holdout: actual {h['actual_repeat_transactions']:.0f}, "
            f"predicted {h['predicted_repeat_transactions']:.1f}, "
            f"correlation {h['correlation']:.3f}"
        )
