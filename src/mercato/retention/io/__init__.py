"""Inputs: CSV, Shopify orders CSV, Parquet files/folders and SQL tables, all normalised to one
table of (customer_id, timestamp UTC, amount in integer minor units)."""

from __future__ import annotations

from pathlib import Path

from mercato.retention.errors import InputError
from mercato.retention.io.csv_input import load_csv
from mercato.retention.io.normalise import SCHEMA, Columns, Transactions, from_frame
from mercato.retention.io.shopify import load_shopify
from mercato.retention.io.tabular import load_parquet, load_sql

FORMATS = ("csv", "shopify", "parquet", "sql")


def detect_format(source: str) -> str:
    if "://" in source:
        return "sql"
    p = Path(source)
    if p.suffix.lower() == ".parquet" or p.is_dir():
        return "parquet"
    return "csv"


def load_transactions(
    source: str | Path,
    *,
    format: str | None = None,
    columns: Columns | None = None,
    table: str | None = None,
    date_format: str | None = None,
    minor_per_major: int = 100,
    amount_unit: str | None = None,
) -> Transactions:
    """Read transactions from any supported source (``format`` is guessed when not given)."""
    src = str(source)
    fmt = format or detect_format(src)
    if fmt == "csv":
        return load_csv(
            src,
            columns=columns,
            date_format=date_format,
            minor_per_major=minor_per_major,
            amount_unit=amount_unit or "major",
        )
    if fmt == "shopify":
        return load_shopify(src, minor_per_major=minor_per_major)
    if fmt == "parquet":
        return load_parquet(
            src, columns=columns, minor_per_major=minor_per_major, amount_unit=amount_unit or "auto"
        )
    if fmt == "sql":
        if not table:
            raise InputError("a database input needs --table NAME", source=src)
        return load_sql(
            src, table, columns=columns, minor_per_major=minor_per_major, amount_unit=amount_unit or "auto"
        )
    raise InputError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})", source=src)


__all__ = [
    "FORMATS",
    "SCHEMA",
    "Columns",
    "Transactions",
    "detect_format",
    "from_frame",
    "load_csv",
    "load_parquet",
    "load_shopify",
    "load_sql",
    "load_transactions",
]
