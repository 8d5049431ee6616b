"""Transactions from a CSV file (default columns customer_id, timestamp, amount)."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl

from mercato.retention.errors import InputError
from mercato.retention.io.normalise import Columns, Locator, Transactions, check_columns, from_frame


def csv_locator(path: Path, *, separator: str = ",") -> Locator:
    """Maps a 0-based data row to the physical line it starts on (quoted newlines included)."""

    def locate(i: int) -> tuple[int, str]:
        with path.open(newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.reader(fh, delimiter=separator)
            start = 1
            for record_no, _ in enumerate(reader):
                if record_no == i + 1:
                    return start, "line"
                start = reader.line_num + 1
        return i + 2, "line"

    return locate


def _first_ragged_line(path: Path, separator: str) -> tuple[int, int, int] | None:
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=separator)
        header = next(reader, [])
        start = reader.line_num + 1
        for row in reader:
            if row and len(row) != len(header):
                return start, len(row), len(header)
            start = reader.line_num + 1
    return None


def read_text_table(path: Path, *, separator: str = ",") -> pl.DataFrame:
    """Every column as text; clear errors for a missing, empty or malformed file."""
    if not path.exists():
        raise InputError("no such file", source=str(path))
    if path.is_dir():
        raise InputError(
            "is a folder, not a CSV file (use --format parquet for a Parquet folder)", source=str(path)
        )
    raw = path.read_bytes()[:4096]
    if not raw.strip():
        raise InputError("the file is empty", source=str(path))
    try:
        frame = pl.read_csv(
            path, separator=separator, infer_schema=False, encoding="utf8-lossy", truncate_ragged_lines=False
        )
    except pl.exceptions.NoDataError as e:
        raise InputError("the file is empty", source=str(path)) from e
    except (pl.exceptions.ComputeError, pl.exceptions.ShapeError) as e:
        ragged = _first_ragged_line(path, separator)
        if ragged is not None:
            line, n, expected = ragged
            raise InputError(
                f"{n} fields where the header has {expected}", source=str(path), line=line
            ) from e
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"not a readable CSV file: {first}", source=str(path)) from e
    frame.columns = [c.strip().lstrip("\ufeff") for c in frame.columns]
    return frame


def load_csv(
    path: str | Path,
    *,
    columns: Columns | None = None,
    separator: str = ",",
    date_format: str | None = None,
    minor_per_major: int = 100,
    amount_unit: str = "major",
) -> Transactions:
    path = Path(path)
    columns = columns or Columns()
    frame = read_text_table(path, separator=separator)
    check_columns(frame.columns, columns, str(path))
    if frame.height == 0:
        raise InputError("no transactions: the file has a header but no rows", source=str(path))
    return from_frame(
        frame.select(list(columns.names().values())),
        columns=columns,
        source=str(path),
        minor_per_major=minor_per_major,
        amount_unit=amount_unit,
        date_format=date_format,
        locate=csv_locator(path, separator=separator),
    )
