"""Inputs: CSV, Shopify export, Parquet, SQL tables; every bad-input path names file, line, column."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mercato.retention.errors import InputError
from mercato.retention.io import Columns, from_frame, load_transactions


def write(tmp_path: Path, text: str, name: str = "tx.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_csv_parses_dates_amounts_and_refunds(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "customer_id,timestamp,amount\n"
        "a,2024-01-02,12.30\n"
        "a,2024-01-05T23:30:00-02:00,-2.5\n"
        "b,2024-01-03 10:00:00,7\n"
        "c,20240104,0.005\n",
    )
    tx = load_transactions(p)
    f = tx.frame
    assert f.schema == {"customer_id": pl.Utf8, "timestamp": pl.Datetime("us", "UTC"), "amount": pl.Int64}
    assert f["amount"].to_list() == [1230, -250, 700, 0]
    assert str(f["timestamp"][1]) == "2024-01-06 01:30:00+00:00"  # offsets become UTC
    assert str(f["timestamp"][3].date()) == "2024-01-04"


def test_csv_custom_columns_and_date_format(tmp_path: Path) -> None:
    p = write(tmp_path, "who,when,total,other\nx,31/01/2024,5.00,1\n")
    tx = load_transactions(p, columns=Columns("who", "when", "total"), date_format="%d/%m/%Y")
    assert tx.frame["customer_id"].to_list() == ["x"] and tx.frame["amount"].to_list() == [500]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("   \n", "the file is empty"),
        ("customer_id,timestamp,amount\n", "no transactions"),
        ("customer_id,amount\na,1\n", "missing column 'timestamp'"),
    ],
)
def test_csv_empty_and_missing_columns(tmp_path: Path, text: str, message: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(InputError, match=message) as e:
        load_transactions(p)
    assert str(p) in str(e.value)


def test_unparseable_date_names_file_line_and_column(tmp_path: Path) -> None:
    # The quoted field spans two lines, so the bad row starts on physical line 4, not 3.
    p = write(tmp_path, 'customer_id,timestamp,amount\n"a\nb",2024-01-01,1\nc,2024-02-30,2\n')
    with pytest.raises(InputError) as e:
        load_transactions(p)
    assert e.value.line == 4 and e.value.column == "timestamp"
    assert str(e.value).startswith(f"{p}, line 4, column 'timestamp': cannot parse date '2024-02-30'")


@pytest.mark.parametrize(
    ("value", "what"),
    [('"12,30"', "cannot parse amount '12,30'"), ("", "empty amount"), ("nan", "cannot parse amount")],
)
def test_unparseable_amount_names_line(tmp_path: Path, value: str, what: str) -> None:
    p = write(tmp_path, f"customer_id,timestamp,amount\na,2024-01-01,1\nb,2024-01-02,{value}\n")
    with pytest.raises(InputError, match=what) as e:
        load_transactions(p)
    assert e.value.line == 3 and e.value.column == "amount"


def test_empty_customer_id_is_an_error(tmp_path: Path) -> None:
    p = write(tmp_path, "customer_id,timestamp,amount\n,2024-01-01,1\n")
    with pytest.raises(InputError, match="line 2.*empty customer id"):
        load_transactions(p)


def test_ragged_csv_is_a_clear_error(tmp_path: Path) -> None:
    p = write(tmp_path, "customer_id,timestamp,amount\na,2024-01-01,1,9,9\n")
    with pytest.raises(InputError, match="line 2: 5 fields where the header has 3"):
        load_transactions(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_transactions(tmp_path / "nope.csv")


SHOPIFY = (
    "Name,Email,Financial Status,Created at,Total,Cancelled at,Lineitem name\n"
    "#1001,Ann@Example.com,paid,2024-01-02 10:00:00 -0500,30.00,,Mug\n"
    "#1001,,,,,,Plate\n"
    "#1002,ann@example.com,refunded,2024-01-09 10:00:00 -0500,15.00,,Cup\n"
    "#1003,bob@example.com,paid,2024-01-10 23:30:00 -0500,20.00,2024-01-11 09:00:00 -0500,Cup\n"
    "#1004,,paid,2024-01-11 10:00:00 -0500,5.00,,Cup\n"
    '#1005,bob@example.com,partially_refunded,2024-02-01 08:00:00 +0100,"45.50",,"Bowl, large"\n'
)


def test_shopify_orders_export(tmp_path: Path) -> None:
    p = write(tmp_path, SHOPIFY, "orders_export.csv")
    tx = load_transactions(p, format="shopify")
    f = tx.frame.sort("timestamp")
    assert f["customer_id"].to_list() == ["ann@example.com", "bob@example.com"]
    assert f["amount"].to_list() == [3000, 4550]
    assert str(f["timestamp"][0]) == "2024-01-02 15:00:00+00:00"
    assert any("1 refunded" in n for n in tx.notes)
    assert any("1 cancelled" in n for n in tx.notes)
    assert any("1 orders without a customer e-mail" in n for n in tx.notes)


def test_shopify_partial_refund_is_netted(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        (
            "Email,Created at,Total,Financial Status,Refunded "
            "Amount\na@x.io,2024-01-02 10:00:00 "
            "+0000,50.00,partially_refunded,20.00\n"
        ),
    )
    assert load_transactions(p, format="shopify").frame["amount"].to_list() == [3000]


def test_shopify_bad_total_names_line(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        (
            "Name,Email,Created at,Total\n#1,a@x.io,2024-01-02 10:00:00 "
            "+0000,1.00\n#2,b@x.io,2024-01-03 10:00:00 +0000,abc\n"
        ),
    )
    with pytest.raises(InputError, match="line 3, column 'Total'"):
        load_transactions(p, format="shopify")


def test_shopify_missing_columns(tmp_path: Path) -> None:
    p = write(tmp_path, "customer_id,timestamp,amount\na,2024-01-01,1\n")
    with pytest.raises(InputError, match="not a Shopify orders export"):
        load_transactions(p, format="shopify")


def _typed() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "timestamp": pl.Series(["2024-01-01", "2024-02-01", "2024-01-15"]).str.to_datetime(),
            "amount": [1000, -200, 350],
        }
    )


def test_parquet_file_and_folder(tmp_path: Path) -> None:
    _typed().write_parquet(tmp_path / "one.parquet")
    tx = load_transactions(tmp_path / "one.parquet")
    assert tx.frame["amount"].to_list() == [1000, -200, 350]  # integers are minor units
    folder = tmp_path / "parts" / "year=2024"
    folder.mkdir(parents=True)
    _typed().head(2).write_parquet(folder / "p1.parquet")
    _typed().tail(1).with_columns(pl.col("amount").cast(pl.Float64) / 100).write_parquet(
        folder / "p2.parquet"
    )
    with pytest.raises(InputError):  # mixed types across files are not silently merged
        load_transactions(tmp_path / "parts")
    (folder / "p2.parquet").unlink()
    assert load_transactions(tmp_path / "parts").n_rows == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no .parquet files"):
        load_transactions(empty, format="parquet")


def test_parquet_float_amounts_are_major_units(tmp_path: Path) -> None:
    _typed().with_columns(pl.col("amount") / 100).write_parquet(tmp_path / "f.parquet")
    assert load_transactions(tmp_path / "f.parquet").frame["amount"].to_list() == [1000, -200, 350]


def test_typed_frame_errors_name_row() -> None:
    f = _typed().with_columns(amount=pl.Series([1.0, float("nan"), 2.0]))
    with pytest.raises(InputError, match="row 2: amount is not a finite number"):
        from_frame(f)


def _sql_roundtrip(url: str) -> None:
    from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, insert

    from mercato.db import make_engine

    engine = make_engine(url)
    md = MetaData()
    t = Table(
        "orders",
        md,
        Column("buyer", String),
        Column("created_at", DateTime(timezone=True)),
        Column("total_minor", BigInteger),
    )
    md.create_all(engine)
    rows = (
        _typed()
        .rename({"customer_id": "buyer", "timestamp": "created_at", "amount": "total_minor"})
        .to_dicts()
    )
    with engine.begin() as conn:
        conn.execute(insert(t), rows)
    engine.dispose()
    cols = Columns("buyer", "created_at", "total_minor")
    tx = load_transactions(url, table="orders", columns=cols)
    assert sorted(tx.frame["amount"].to_list()) == [-200, 350, 1000]
    assert tx.frame["timestamp"].dtype == pl.Datetime("us", "UTC")
    with pytest.raises(InputError, match="no such table"):
        load_transactions(url, table="missing", columns=cols)
    with pytest.raises(InputError, match="missing column"):
        load_transactions(url, table="orders")


def test_sqlite_table(sqlite_url: str) -> None:
    _sql_roundtrip(sqlite_url)


@pytest.mark.postgres
def test_postgres_table(pg_url: str) -> None:
    _sql_roundtrip(pg_url)
