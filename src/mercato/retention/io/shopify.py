"""Transactions from Shopify's orders CSV export.

One order may span several rows (one per line item); the order-level fields (Email, Created at, Total,
Financial Status, Cancelled at) are on its first row. Refunded and voided orders and cancelled orders are
excluded; a partially refunded order counts net of its ``Refunded Amount`` when the export has one. The
customer is identified by the lower-cased e-mail address; orders without one are skipped (and counted)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mercato.retention.errors import InputError
from mercato.retention.io.csv_input import csv_locator, read_text_table
from mercato.retention.io.normalise import Columns, Transactions, from_frame, parse_amounts

REQUIRED = ("Email", "Created at", "Total")
EXCLUDED_STATUS = ("refunded", "voided")


def load_shopify(path: str | Path, *, minor_per_major: int = 100) -> Transactions:
    path = Path(path)
    source = str(path)
    frame = read_text_table(path)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(
            f"not a Shopify orders export: missing column(s) {', '.join(repr(c) for c in missing)}",
            source=source,
        )
    if frame.height == 0:
        raise InputError("no transactions: the file has a header but no rows", source=source)
    locate = csv_locator(path)
    frame = frame.with_row_index("_row")
    optional = [c for c in ("Financial Status", "Cancelled at", "Refunded Amount") if c in frame.columns]
    keep = ["_row", *REQUIRED, *optional]
    if "Name" in frame.columns:
        order_key = pl.col("Name").fill_null(pl.col("_row").cast(pl.Utf8))
        orders = (
            frame.with_columns(_order=order_key)
            .group_by("_order", maintain_order=True)
            .agg([pl.col("_row").first()] + [pl.col(c).drop_nulls().first() for c in keep if c != "_row"])
        )
    else:
        orders = frame.select(keep)
    notes: list[str] = []
    n_orders = orders.height
    status = (
        pl.col("Financial Status").str.to_lowercase().str.strip_chars()
        if "Financial Status" in optional
        else None
    )
    if status is not None:
        refunded = orders.filter(status.is_in(EXCLUDED_STATUS)).height
        orders = orders.filter(~status.is_in(EXCLUDED_STATUS).fill_null(False))
        if refunded:
            notes.append(f"{refunded} refunded or voided orders excluded")
    if "Cancelled at" in optional:
        cancelled = orders.filter(pl.col("Cancelled at").str.strip_chars().fill_null("") != "").height
        orders = orders.filter(pl.col("Cancelled at").str.strip_chars().fill_null("") == "")
        if cancelled:
            notes.append(f"{cancelled} cancelled orders excluded")
    email = pl.col("Email").str.strip_chars().str.to_lowercase()
    no_email = orders.filter(email.fill_null("") == "").height
    orders = orders.filter(email.fill_null("") != "").with_columns(Email=email)
    if no_email:
        notes.append(f"{no_email} orders without a customer e-mail skipped")
    if orders.height == 0:
        raise InputError(
            f"no usable orders among {n_orders} (all refunded, cancelled or without e-mail)", source=source
        )
    rows = orders["_row"]

    def order_locate(i: int) -> tuple[int, str]:
        return locate(int(rows[i]))

    if "Refunded Amount" in optional:
        total = parse_amounts(
            orders["Total"], source=source, column="Total", locate=order_locate, minor_per_major=1
        )
        refunded_amt = orders["Refunded Amount"].fill_null("0").str.strip_chars().replace("", "0")
        ref = parse_amounts(
            refunded_amt, source=source, column="Refunded Amount", locate=order_locate, minor_per_major=1
        )
        orders = orders.with_columns(Total=(total - ref).cast(pl.Utf8))
    tx = from_frame(
        orders.select("Email", "Created at", "Total"),
        columns=Columns("Email", "Created at", "Total"),
        source=source,
        minor_per_major=minor_per_major,
        amount_unit="major",
        locate=order_locate,
    )
    tx.notes.extend(notes)
    return tx
