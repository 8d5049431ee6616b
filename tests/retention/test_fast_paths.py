"""Customer-days, cohorts and RFM against plain reference computations written from their definitions.

The library sorts the transactions once by hashed customer and day and then works on runs; the
references here group by the exact customer id with ordinary group-bys. Every key path of the library
(packed hash and day, whole hash, exact ids after a clash) must give the same tables."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.retention import days as days_mod
from mercato.retention.cohorts import cohort_table
from mercato.retention.io import SCHEMA
from mercato.retention.rfm import DEFAULT_SEGMENTS, OTHER, rfm_table

START = dt.datetime(2023, 12, 20, tzinfo=dt.UTC)
EPOCH_MONDAY = dt.date(1970, 1, 5)

Row = tuple[str, dt.datetime, int]

rows_strategy = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d", "e", "ä", "a b", "10", "9"]),
        st.integers(0, 120 * 24).map(lambda h: START + dt.timedelta(hours=h)),
        st.integers(-3000, 5000),
    ),
    min_size=1,
    max_size=60,
)


def frame(rows: list[Row]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [r[1] for r in rows],
            "amount": [r[2] for r in rows],
        },
        schema=SCHEMA,
    )


def ref_days(rows: list[Row]) -> dict[tuple[str, dt.date], tuple[int, int, bool]]:
    out: dict[tuple[str, dt.date], tuple[int, int, bool]] = {}
    for cid, ts, amount in rows:
        value, orders, purchase = out.get((cid, ts.date()), (0, 0, False))
        out[(cid, ts.date())] = (value + amount, orders + (amount >= 0), purchase or amount >= 0)
    return out


def period_key(day: dt.date, period: str) -> int:
    if period == "month":
        return day.year * 12 + day.month - 1
    return (day - EPOCH_MONDAY).days // 7


def ref_cohorts(rows: list[Row], period: str) -> list[tuple[object, ...]]:
    cd = ref_days(rows)
    acq: dict[str, int] = {}
    for (cid, day), (_, _, purchase) in cd.items():
        if purchase:
            acq[cid] = min(acq.get(cid, 10**9), period_key(day, period))
    if not acq:
        return []
    last = max(period_key(day, period) for _, day in cd)
    active: dict[tuple[int, int], set[str]] = defaultdict(set)
    orders: dict[tuple[int, int], int] = defaultdict(int)
    revenue: dict[tuple[int, int], int] = defaultdict(int)
    for (cid, day), (value, n, purchase) in cd.items():
        if cid not in acq or period_key(day, period) < acq[cid]:
            continue
        cell = (acq[cid], period_key(day, period) - acq[cid])
        orders[cell] += n
        revenue[cell] += value
        if purchase:
            active[cell].add(cid)
    sizes: dict[int, int] = defaultdict(int)
    for k in acq.values():
        sizes[k] += 1
    out = []
    for k in sorted(sizes):
        cum = 0.0
        for p in range(last - k + 1):
            cum += revenue[(k, p)] / 100
            n_active = len(active[(k, p)])
            out.append(
                (
                    k,
                    p,
                    sizes[k],
                    n_active,
                    n_active / sizes[k],
                    orders[(k, p)],
                    revenue[(k, p)] / 100,
                    cum / sizes[k],
                )
            )
    return out


def ref_rfm(rows: list[Row], as_of: dt.date | None, bins: int) -> list[tuple[object, ...]]:
    per: dict[str, list[int]] = {}  # last day ordinal, purchase days, net value
    for (cid, day), (value, _, purchase) in ref_days(rows).items():
        if as_of is not None and day > as_of:
            continue
        last, freq, money = per.get(cid, [-(10**9), 0, 0])
        per[cid] = [max(last, day.toordinal()) if purchase else last, freq + purchase, money + value]
    per = {c: v for c, v in per.items() if v[1] > 0}
    ref = as_of.toordinal() if as_of is not None else max((v[0] for v in per.values()), default=0)
    n = len(per)

    def score(values: dict[str, int]) -> dict[str, int]:
        return {c: sum(w < v for w in values.values()) * bins // n + 1 for c, v in values.items()}

    recency = {c: ref - v[0] for c, v in per.items()}
    r = score({c: -x for c, x in recency.items()})
    f = score({c: v[1] for c, v in per.items()})
    m = score({c: v[2] for c, v in per.items()})
    out = []
    for c in sorted(per):
        rs, fs, ms = ((s * 5 + bins - 1) // bins for s in (r[c], f[c], m[c]))
        seg = next(
            (
                s.name
                for s in DEFAULT_SEGMENTS
                if s.r[0] <= rs <= s.r[1] and s.f[0] <= fs <= s.f[1] and s.m[0] <= ms <= s.m[1]
            ),
            OTHER,
        )
        out.append((c, recency[c], per[c][1], per[c][2] / 100, r[c], f[c], m[c], f"{r[c]}{f[c]}{m[c]}", seg))
    return out


@contextmanager
def key_path(path: str) -> Iterator[None]:
    """Force one of the library's key paths: "packed" (the default when the day range is small),
    "whole" (the whole 64-bit hash and the day as two sort keys), "short" (hashes with 16 values: keys
    clash often, at either step) or "exact" (every id shares one hash)."""
    real = days_mod._hash

    def short(ids: pl.Series, seed: int) -> pl.Series:
        return real(ids, seed) % 16 if seed == days_mod._SEED else real(ids, seed)

    def clash(ids: pl.Series, seed: int) -> pl.Series:
        return real(ids, seed) * 0 if seed == days_mod._SEED else real(ids, seed)

    with pytest.MonkeyPatch.context() as mp:
        if path == "whole":
            mp.setattr(days_mod, "_PACK_BITS", -1)
        elif path == "short":
            mp.setattr(days_mod, "_hash", short)
        elif path == "exact":
            mp.setattr(days_mod, "_hash", clash)
        yield


PATHS = ("packed", "whole", "short", "exact")


def customer_days(d: days_mod.Days) -> dict[tuple[str, dt.date], tuple[int, int, bool]]:
    t = d.table.join(d.names, on="cust")
    return {
        (r[0], r[1]): (r[2], r[3], r[4])
        for r in t.select("customer_id", "day", "value", "orders", "purchase").rows()
    }


def check_days(d: days_mod.Days, rows: list[Row]) -> None:
    assert customer_days(d) == ref_days(rows)
    assert d.height == len(ref_days(rows))
    t = d.table
    assert t.equals(t.sort("cust", "day"))  # the order cohorts and RFM rely on
    firsts = t.select(pl.col("cust").unique(maintain_order=True)).to_series()
    assert d.names["cust"].to_list() == firsts.to_list()  # names aligned with the customers' runs
    assert sorted(d.names["customer_id"]) == sorted({r[0] for r in rows})


def cohort_rows(t: pl.DataFrame, period: str) -> list[tuple[object, ...]]:
    return [(period_key(r[0], period), *r[1:]) for r in t.rows()]


def assert_rows_close(got: list[tuple[object, ...]], want: list[tuple[object, ...]]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g == pytest.approx(w)


@settings(max_examples=60, deadline=None)
@given(rows=rows_strategy, period=st.sampled_from(["month", "week"]))
def test_days_and_cohorts_match_the_reference(rows: list[Row], period: str) -> None:
    tx = frame(rows)
    want = ref_cohorts(rows, period)
    for path in PATHS:
        with key_path(path):
            d = days_mod.days(tx)
            check_days(d, rows)
            assert_rows_close(cohort_rows(cohort_table(d, period=period), period), want)


@settings(max_examples=60, deadline=None)
@given(
    rows=rows_strategy,
    as_of=st.none() | st.integers(0, 130).map(lambda n: START.date() + dt.timedelta(days=n)),
    bins=st.sampled_from([2, 3, 5, 7, 23]),
)
def test_rfm_matches_the_reference(rows: list[Row], as_of: dt.date | None, bins: int) -> None:
    tx = frame(rows)
    want = ref_rfm(rows, as_of, bins)
    for path in PATHS:
        with key_path(path):
            assert_rows_close(rfm_table(tx, as_of=as_of, bins=bins).rows(), want)


def test_empty_input_gives_empty_tables() -> None:
    tx = frame([])
    d = days_mod.days(tx)
    assert d.height == 0 and d.names.height == 0
    assert cohort_table(tx).height == 0
    assert rfm_table(tx).height == 0


def test_large_integer_ranges_rank_like_polars() -> None:
    rows = [(f"c{i}", START + dt.timedelta(days=i % 50), 10**12 * (i % 7) - 5 * i) for i in range(300)]
    assert_rows_close(rfm_table(frame(rows), bins=5).rows(), ref_rfm(rows, None, 5))


def test_a_packed_key_clash_retries_with_the_whole_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    real = days_mod._hash
    # Ids whose hashes differ only in the 6 low bits that the day offsets (0..40) take in a packed key.
    ids: list[str] = []
    for cand in (f"id{i}" for i in range(200)):
        low = int(real(pl.Series([cand]), days_mod._SEED)[0]) % 64
        if all(int(real(pl.Series([o]), days_mod._SEED)[0]) % 64 != low for o in ids):
            ids.append(cand)
        if len(ids) == 5:
            break
    rows = [
        (c, START + dt.timedelta(days=(7 * i + 3 * j) % 41), 100 * i - j)
        for i, c in enumerate(ids)
        for j in range(6)
    ]
    rows.append((ids[0], START + dt.timedelta(days=40), 5))
    monkeypatch.setattr(
        days_mod, "_hash", lambda s, seed: real(s, seed) % 64 if seed == days_mod._SEED else real(s, seed)
    )
    tried: list[tuple[bool, bool]] = []
    sorted_keys = days_mod._sorted_keys

    def spy(i: pl.Series, d: pl.Series, packed: bool) -> tuple[pl.DataFrame, pl.Series] | None:
        found = sorted_keys(i, d, packed)
        tried.append((packed, found is not None))
        return found

    monkeypatch.setattr(days_mod, "_sorted_keys", spy)
    check_days(days_mod.days(frame(rows)), rows)
    assert tried == [(True, False), (False, True)]  # the packed keys clash; the whole hashes do not
    assert_rows_close(rfm_table(frame(rows), bins=3).rows(), ref_rfm(rows, None, 3))
