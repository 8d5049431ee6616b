"""The one tabular shape every input becomes, and the parsing of its three columns.

A transactions table has ``customer_id`` (text), ``timestamp`` (UTC) and ``amount`` (integer minor
units; negative for refunds). Naive timestamps are taken as UTC."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from mercato.retention.errors import InputError

SCHEMA = {"customer_id": pl.Utf8, "timestamp": pl.Datetime("us", "UTC"), "amount": pl.Int64}

_AWARE = (
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%dT%H:%M%#z",
)
_NAIVE = (
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y%m%d",
)
_AMOUNT = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"

#: Maps a 0-based data row to a human location: (line number, label) e.g. (17, "line").
Locator = Callable[[int], tuple[int, str]]


def row_locator(offset: int = 1) -> Locator:
    return lambda i: (i + offset, "row")


@dataclass
class Columns:
    """Names of the three columns in the source."""

    customer_id: str = "customer_id"
    timestamp: str = "timestamp"
    amount: str = "amount"

    def names(self) -> dict[str, str]:
        return {"customer_id": self.customer_id, "timestamp": self.timestamp, "amount": self.amount}


@dataclass
class Transactions:
    """A validated transactions table plus notes on what was excluded or adjusted."""

    frame: pl.DataFrame
    source: str = ""
    notes: list[str] = field(default_factory=list)
    minor_per_major: int = 100

    @property
    def n_rows(self) -> int:
        return self.frame.height


def _fail(source: str, locate: Locator, i: int, column: str, message: str) -> InputError:
    line, label = locate(i)
    if label == "line":
        return InputError(message, source=source, line=line, column=column)
    return InputError(f"{label} {line}: {message}", source=source, column=column)


def parse_timestamps(
    s: pl.Series, *, source: str, column: str, locate: Locator, date_format: str | None = None
) -> pl.Series:
    """Text to UTC datetimes; tries ISO 8601 forms (with or without offset or time) and YYYYMMDD."""
    text = s.str.strip_chars()
    formats: list[tuple[str, bool]] = (
        [(date_format, "%z" in date_format or "%#z" in date_format)]
        if date_format
        else [(f, True) for f in _AWARE] + [(f, False) for f in _NAIVE]
    )
    out = pl.Series(column, [None] * len(text), dtype=pl.Datetime("us", "UTC"))
    todo = text.is_not_null()
    for fmt, aware in formats:
        if not todo.any():
            break
        idx = todo.arg_true()
        part = text.gather(idx)
        if aware:
            parsed = part.str.to_datetime(fmt, strict=False, time_zone="UTC", time_unit="us")
        else:
            parsed = part.str.to_datetime(fmt, strict=False, time_unit="us").dt.replace_time_zone("UTC")
        got = parsed.is_not_null()
        if got.any():
            out = out.scatter(idx.filter(got), parsed.filter(got))
            todo = todo.scatter(idx.filter(got), False)
    missing = text.is_null() | (text == "")
    if missing.any():
        i = int(missing.arg_true()[0])
        raise _fail(source, locate, i, column, "empty date")
    if todo.any():
        i = int(todo.arg_true()[0])
        hint = (
            f"expected {date_format}"
            if date_format
            else "expected e.g. 2024-03-31, 2024-03-31T14:05:00Z or 20240331"
        )
        raise _fail(source, locate, i, column, f"cannot parse date {text[i]!r} ({hint})")
    return out


def parse_amounts(
    s: pl.Series, *, source: str, column: str, locate: Locator, minor_per_major: int
) -> pl.Series:
    """Decimal text in major units (e.g. ``"12.30"``) to integer minor units."""
    text = s.str.strip_chars()
    empty = text.is_null() | (text == "")
    if empty.any():
        raise _fail(source, locate, int(empty.arg_true()[0]), column, "empty amount")
    bad = ~text.str.contains(_AMOUNT)
    if bad.any():
        i = int(bad.arg_true()[0])
        raise _fail(
            source, locate, i, column, f"cannot parse amount {text[i]!r} (expected a number like 12.30)"
        )
    return (text.cast(pl.Float64) * minor_per_major).round(0).cast(pl.Int64).alias(column)


def parse_ids(s: pl.Series, *, source: str, column: str, locate: Locator) -> pl.Series:
    ids = s.cast(pl.Utf8)
    if ids.str.contains(r"^\s|\s$").any():  # strip only when needed: a copy of 10 M ids is costly
        ids = ids.str.strip_chars()
    empty = ids.is_null() | (ids == "")
    if empty.any():
        raise _fail(source, locate, int(empty.arg_true()[0]), column, "empty customer id")
    return ids


def check_columns(present: list[str], columns: Columns, source: str) -> None:
    missing = [c for c in columns.names().values() if c not in present]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        found = ", ".join(present) or "none"
        raise InputError(
            f"missing column{'s' if len(missing) > 1 else ''} {names} (found: {found}); "
            "name them with --customer-column, --timestamp-column, --amount-column",
            source=source,
        )


def from_frame(
    frame: pl.DataFrame,
    *,
    columns: Columns | None = None,
    source: str = "table",
    minor_per_major: int = 100,
    amount_unit: str = "auto",
    date_format: str | None = None,
    locate: Locator | None = None,
) -> Transactions:
    """Validate and normalise any tabular input (Polars/Arrow/DuckDB result, text or typed columns).

    ``amount_unit``: ``"minor"`` (integer minor units), ``"major"`` (decimal major units) or ``"auto"``
    (integer columns are minor units, as Mercato stores money; text and decimals are major units)."""
    columns = columns or Columns()
    locate = locate or row_locator()
    if amount_unit not in ("auto", "minor", "major"):
        raise ValueError("amount_unit must be auto, minor or major")
    check_columns(frame.columns, columns, source)
    if frame.height == 0:
        raise InputError("no transactions: the input has no rows", source=source)
    names = columns.names()
    cid = parse_ids(frame[names["customer_id"]], source=source, column=names["customer_id"], locate=locate)
    ts_col = frame[names["timestamp"]]
    if ts_col.dtype == pl.Utf8:
        ts = parse_timestamps(
            ts_col, source=source, column=names["timestamp"], locate=locate, date_format=date_format
        )
    elif ts_col.dtype == pl.Date:
        ts = ts_col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    elif isinstance(ts_col.dtype, pl.Datetime):
        ts = ts_col.dt.cast_time_unit("us")
        ts = ts.dt.convert_time_zone("UTC") if ts_col.dtype.time_zone else ts.dt.replace_time_zone("UTC")
    else:
        raise InputError(
            f"dates must be text, dates or timestamps, not {ts_col.dtype}",
            source=source,
            column=names["timestamp"],
        )
    if ts.null_count():
        raise _fail(source, locate, int(ts.is_null().arg_true()[0]), names["timestamp"], "empty date")
    amt_col = frame[names["amount"]]
    col = names["amount"]
    if amt_col.dtype == pl.Utf8:
        if amount_unit == "minor":
            amt = parse_amounts(amt_col, source=source, column=col, locate=locate, minor_per_major=1)
        else:
            amt = parse_amounts(
                amt_col, source=source, column=col, locate=locate, minor_per_major=minor_per_major
            )
    elif amt_col.dtype.is_numeric():
        if amt_col.null_count():
            raise _fail(source, locate, int(amt_col.is_null().arg_true()[0]), col, "empty amount")
        as_float = amt_col.cast(pl.Float64)
        bad = as_float.is_nan() | as_float.is_infinite()
        if bad.any():
            raise _fail(source, locate, int(bad.arg_true()[0]), col, "amount is not a finite number")
        minor = amount_unit == "minor" or (amount_unit == "auto" and amt_col.dtype.is_integer())
        amt = amt_col.cast(pl.Int64) if minor else (as_float * minor_per_major).round(0).cast(pl.Int64)
    else:
        raise InputError(f"amounts must be numbers or text, not {amt_col.dtype}", source=source, column=col)
    out = pl.DataFrame({"customer_id": cid, "timestamp": ts, "amount": amt})
    return Transactions(out, source=source, minor_per_major=minor_per_major)


def validate_name(name: str, what: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ .]*", name):
        raise InputError(f"invalid {what} name {name!r}")
    return name
