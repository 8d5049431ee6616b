"""Summary, cohorts and RFM on small hand-checked tables."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from mercato.retention.cohorts import cohort_table, retention_curve, retention_matrix
from mercato.retention.errors import InputError
from mercato.retention.io import from_frame
from mercato.retention.rfm import DEFAULT_SEGMENTS, load_segments, rfm_table, segment_summary
from mercato.retention.summary import summarise, unit_days


def tx(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    f = pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [r[1] for r in rows],
            "amount": [r[2] for r in rows],
        }
    )
    return from_frame(f).frame


ROWS = [
    ("a", "2024-01-01T09:00:00Z", "10.00"),
    ("a", "2024-01-01T18:00:00Z", "5.00"),  # same day: one purchase worth 15
    ("a", "2024-01-15", "20.00"),
    ("a", "2024-01-20", "-20.00"),  # a refund alone is not a purchase
    ("a", "2024-02-05", "30.00"),
    ("b", "2024-01-10", "8.00"),
    ("c", "2024-02-01", "12.00"),
    ("c", "2024-03-01", "6.00"),
]


def test_summary_collapses_days_and_nets_refunds() -> None:
    s = summarise(tx(ROWS), calibration_end="2024-02-05", time_unit="day")
    f = {r["customer_id"]: r for r in s.frame.iter_rows(named=True)}
    assert f["a"]["frequency"] == 2 and f["a"]["recency"] == 35 and f["a"]["T"] == 35
    assert f["a"]["monetary_value"] == pytest.approx(25.0)  # mean of 20 and 30
    assert f["a"]["first_value"] == pytest.approx(15.0)
    assert f["b"]["frequency"] == 0 and f["b"]["recency"] == 0 and f["b"]["T"] == 26
    assert f["c"]["frequency"] == 0 and f["c"]["T"] == 4  # the March purchase is after calibration
    weeks = summarise(tx(ROWS), calibration_end="2024-02-05", time_unit="week")
    assert weeks.frame.filter(pl.col("customer_id") == "a")["T"][0] == pytest.approx(5.0)


def test_summary_holdout_and_time_units() -> None:
    s = summarise(tx(ROWS), calibration_end="2024-01-31", holdout_end="2024-03-01", time_unit="month")
    f = {r["customer_id"]: r for r in s.frame.iter_rows(named=True)}
    assert f["a"]["frequency_holdout"] == 1 and f["b"]["frequency_holdout"] == 0
    assert "c" not in f  # acquired after calibration
    assert s.holdout_length == pytest.approx(30 / unit_days("month"))
    assert unit_days(3) == 3.0 and unit_days("2.5") == 2.5
    with pytest.raises(ValueError, match="unknown time unit"):
        unit_days("fortnight")
    with pytest.raises(InputError, match="must be after"):
        summarise(tx(ROWS), calibration_end="2024-02-01", holdout_end="2024-01-01")
    with pytest.raises(InputError, match="no purchases on or before"):
        summarise(tx(ROWS), calibration_end="2023-01-01")
    with pytest.raises(InputError, match="not a date"):
        summarise(tx(ROWS), calibration_end="yesterday")


def test_only_refunds_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="every transaction is a refund"):
        summarise(tx([("a", "2024-01-01", "-5")]))


def test_customer_days_collapse_days_and_net_refunds() -> None:
    from mercato.retention import days as days_mod

    one = days_mod.days(tx(ROWS))
    assert one.height == 7 and days_mod.days(one) is one
    assert sorted(one.names["customer_id"]) == ["a", "b", "c"]
    rows = sorted(one.table.join(one.names, on="cust").drop("cust").rows())
    assert (dt.date(2024, 1, 1), 1500, 2, True, "a") in rows
    assert (dt.date(2024, 1, 20), -2000, 0, False, "a") in rows


def test_cohorts_by_month() -> None:
    t = cohort_table(tx(ROWS), period="month")
    jan = t.filter(pl.col("cohort") == pl.date(2024, 1, 1)).sort("period")
    assert jan["customers"].to_list() == [2, 2, 2]
    assert jan["active"].to_list() == [2, 1, 0]
    assert jan["orders"].to_list() == [4, 1, 0]  # refunds are not orders
    assert jan["revenue"].to_list() == pytest.approx([23.0, 30.0, 0.0])  # refund netted in January
    assert jan["cumulative_revenue_per_customer"].to_list() == pytest.approx([11.5, 26.5, 26.5])
    feb = t.filter(pl.col("cohort") == pl.date(2024, 2, 1)).sort("period")
    assert feb["period"].to_list() == [0, 1]  # no period beyond the end of the data
    m = retention_matrix(t)
    assert m.columns == ["cohort", "customers", "0", "1", "2"]
    assert m.filter(pl.col("cohort") == pl.date(2024, 2, 1))["2"][0] is None
    curve = retention_curve(t)
    assert curve["share_active"].to_list()[:2] == pytest.approx([1.0, 2 / 3])


def test_cohorts_by_week_and_bad_period() -> None:
    t = cohort_table(tx(ROWS), period="week")
    first = t.filter(pl.col("period") == 0).sort("cohort")
    assert str(first["cohort"][0]) == "2024-01-01"  # a Monday
    assert int(first["customers"].sum()) == 3
    with pytest.raises(ValueError, match="cohort period"):
        cohort_table(tx(ROWS), period="year")


def test_rfm_scores_and_segments() -> None:
    rows = [(f"c{i}", f"2024-01-{1 + i:02d}", f"{10 * (i + 1)}.00") for i in range(10)]
    rows += [("c9", "2024-01-20", "5.00"), ("c9", "2024-01-25", "5.00"), ("c8", "2024-01-21", "1.00")]
    r = rfm_table(tx(rows), as_of="2024-01-31", bins=5)
    by = {row["customer_id"]: row for row in r.iter_rows(named=True)}
    assert (
        by["c9"]["recency_days"] == 6
        and by["c9"]["frequency"] == 3
        and by["c9"]["monetary"] == pytest.approx(110.0)
    )
    assert by["c9"]["r"] == 5 and by["c9"]["f"] == 5 and by["c9"]["segment"] == "Champions"
    assert by["c0"]["r"] == 1 and by["c0"]["f"] == 1  # ties share the lowest score
    assert by["c0"]["segment"] == "Lost"
    s = segment_summary(r)
    assert int(s["customers"].sum()) == 10
    assert s["share_customers"].sum() == pytest.approx(1.0)


def test_default_segments_cover_every_cell() -> None:
    for rr in range(1, 6):
        for ff in range(1, 6):
            assert any(s.r[0] <= rr <= s.r[1] and s.f[0] <= ff <= s.f[1] for s in DEFAULT_SEGMENTS), (rr, ff)


def test_custom_segments_from_files(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('[{"name": "Best", "r": [3, 3], "f": [2, 3]}, {"name": "Rest"}]')
    (tmp_path / "s.toml").write_text('[[segments]]\nname = "All"\n')
    segs = load_segments(tmp_path / "s.json")
    rows = [(f"c{i}", f"2024-01-{1 + i:02d}", "1") for i in range(6)] + [("c5", "2024-01-10", "1")]
    r = rfm_table(tx(rows), bins=3, segments=segs)
    assert set(r["segment"]) <= {"Best", "Rest"} and "Best" in set(r["segment"])
    assert [s.name for s in load_segments(tmp_path / "s.toml")] == ["All"]
    (tmp_path / "bad.json").write_text('[{"name": "x", "r": [4, 2]}]')
    with pytest.raises(InputError, match="segment 1"):
        load_segments(tmp_path / "bad.json")
