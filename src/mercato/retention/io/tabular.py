"""Transactions from Parquet files or folders and from SQL database tables."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mercato.retention.errors import InputError
from mercato.retention.io.normalise import Columns, Transactions, check_columns, from_frame


def load_parquet(
    path: str | Path, *, columns: Columns | None = None, minor_per_major: int = 100, amount_unit: str = "auto"
) -> Transactions:
    """A Parquet file, or a folder of them (searched recursively, hive partitions allowed)."""
    path = Path(path)
    columns = columns or Columns()
    source = str(path)
    if not path.exists():
        raise InputError("no such file or folder", source=source)
    if path.is_dir():
        files = sorted(path.rglob("*.parquet"))
        if not files:
            raise InputError("the folder holds no .parquet files", source=source)
        target: str | Path = str(path / "**" / "*.parquet")
    else:
        if path.stat().st_size == 0:
            raise InputError("the file is empty", source=source)
        target = path
    try:
        lazy = pl.scan_parquet(target)
        present = lazy.collect_schema().names()
        check_columns(present, columns, source)
        frame = lazy.select(list(columns.names().values())).collect()
    except (pl.exceptions.PolarsError, OSError) as e:
        raise InputError(f"not a readable Parquet input: {str(e).splitlines()[0]}", source=source) from e
    return from_frame(
        frame, columns=columns, source=source, minor_per_major=minor_per_major, amount_unit=amount_unit
    )


def load_sql(
    url: str,
    table: str,
    *,
    columns: Columns | None = None,
    minor_per_major: int = 100,
    amount_unit: str = "auto",
) -> Transactions:
    """A table of a database given by a SQLAlchemy URL (SQLite, PostgreSQL, ...; ``?schema=`` allowed)."""
    from sqlalchemy import column, select
    from sqlalchemy import table as sa_table
    from sqlalchemy.exc import SQLAlchemyError

    from mercato.db import make_engine

    columns = columns or Columns()
    source = f"{_redact(url)} table {table}"
    schema = None
    name = table
    if "." in table:
        schema, name = table.split(".", 1)
    try:
        engine = make_engine(url)
    except (SQLAlchemyError, ValueError) as e:
        raise InputError(f"cannot open the database: {e}", source=_redact(url)) from e
    try:
        from sqlalchemy import inspect

        insp = inspect(engine)
        if not insp.has_table(name, schema=schema):
            raise InputError("no such table", source=source)
        present = [c["name"] for c in insp.get_columns(name, schema=schema)]
        check_columns(present, columns, source)
        t = sa_table(name, *(column(c) for c in columns.names().values()), schema=schema)
        query = select(*(t.c[c] for c in columns.names().values()))
        with engine.connect() as conn:
            frame = pl.read_database(query, connection=conn, infer_schema_length=None)
    except SQLAlchemyError as e:
        raise InputError(f"cannot read the table: {str(e).splitlines()[0]}", source=source) from e
    finally:
        engine.dispose()
    return from_frame(
        frame, columns=columns, source=source, minor_per_major=minor_per_major, amount_unit=amount_unit
    )


def _redact(url: str) -> str:
    """The URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{host}"
    return url
