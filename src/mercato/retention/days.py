"""Customer-days: the one pass over raw transactions that summaries, cohorts and RFM share.

Purchases are counted per customer per UTC day: several orders on one day are one purchase (their
values summed). A negative amount is a refund: it is netted into that day's value, and a day with
nothing but refunds is not a purchase.

Customers are keyed by a 64-bit hash of their id (integer group-bys are several times faster and
lighter than string ones), checked against a second, independent hash: if two ids ever shared the first
hash, the exact ids are used instead. Large inputs are aggregated in hash partitions to bound memory."""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

#: Rows per partition of the customer-day aggregation.
PARTITION_ROWS = 1_000_000
_SEED, _CHECK = 0x5EED, 0xC0FFEE


@dataclass
class Days:
    """``table``: cust, day, value (net, minor units), orders (non-refund rows), purchase (bool);
    ``names``: cust -> customer_id."""

    table: pl.DataFrame
    names: pl.DataFrame

    @property
    def height(self) -> int:
        return self.table.height


def _aggregate(keyed: pl.LazyFrame, key: str) -> pl.LazyFrame:
    return keyed.group_by(key, "day").agg(
        value=pl.col("amount").sum(),
        orders=(pl.col("amount") >= 0).sum().cast(pl.Int64),
        purchase=(pl.col("amount") >= 0).any(),
        lo=pl.col("check").min(),
        hi=pl.col("check").max(),
    )


def _exact(frame: pl.LazyFrame, day: pl.Expr) -> Days:
    names = frame.select("customer_id").unique().sort("customer_id").with_row_index("cust").collect()
    names = names.with_columns(pl.col("cust").cast(pl.UInt64))
    table = (
        frame.join(names.lazy(), on="customer_id")
        .select("cust", day=day, amount="amount", check=pl.lit(0, dtype=pl.UInt64))
        .pipe(_aggregate, "cust")
        .drop("lo", "hi")
        .collect()
    )
    return Days(table, names)


def days(frame: pl.DataFrame | pl.LazyFrame | Days) -> Days:
    """Collapse a transactions table (customer_id, timestamp, amount) to customer-days."""
    if isinstance(frame, Days):
        return frame
    lazy = frame.lazy()
    day = pl.col("timestamp").dt.epoch("d").cast(pl.Int32).cast(pl.Date)
    ids = lazy.select("customer_id").collect().get_column("customer_id")
    cust = ids.hash(seed=_SEED)
    check = ids.hash(seed=_CHECK)  # the row's own second hash: exposes any clash of the first
    first = cust.is_first_distinct()
    names = pl.DataFrame({"cust": cust.filter(first), "customer_id": ids.filter(first)})
    del first, ids
    keyed = lazy.select(day=day, amount="amount").collect().with_columns(cust=cust, check=check)
    n_rows = len(cust)
    del cust, check
    parts = max(1, math.ceil(n_rows / PARTITION_ROWS))
    pieces: list[pl.DataFrame] = []
    for i in range(parts):
        sub = keyed.lazy() if parts == 1 else keyed.lazy().filter(pl.col("cust") % parts == i)
        agg = _aggregate(sub, "cust").collect()
        clash = agg.group_by("cust").agg(ok=pl.col("lo").min() == pl.col("hi").max()).filter(~pl.col("ok"))
        if clash.height:
            del keyed, pieces
            return _exact(lazy, day)
        pieces.append(agg.drop("lo", "hi"))
    del keyed
    table = pieces[0] if len(pieces) == 1 else pl.concat(pieces)
    return Days(table, names)


def with_names(frame: pl.DataFrame | pl.LazyFrame, d: Days) -> pl.LazyFrame:
    """Attach ``customer_id`` to a customer-level frame keyed by ``cust``."""
    return frame.lazy().join(d.names.lazy(), on="cust", how="left")
