"""Forecasting: the order table, the methods, holdout accuracy (MASE, WAPE), the synthetic series."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.supply.forecast import (
    METHODS,
    DemandHistory,
    ForecastInputError,
    demand_history,
    evaluate,
    forecast,
    forecast_matrix,
    mase,
    wape,
    weekly_profile,
)
from mercato.supply.forecast_synthetic import synthetic_demand

D0 = date(2026, 1, 5)  # a Monday


def _rows(pattern: list[float], weeks: int, item: str = "tee") -> list[tuple[str, str, float]]:
    out = []
    for w in range(weeks):
        for d, q in enumerate(pattern):
            if q:
                out.append((item, (D0 + timedelta(days=7 * w + d)).isoformat(), q))
    return out


def test_history_sums_and_fills_missing_days() -> None:
    rows = [("a", "2026-01-01", 2), ("a", "2026-01-01", 3), ("b", date(2026, 1, 3), 1)]
    h = demand_history(rows)
    assert h.items == ("a", "b")
    assert h.start == date(2026, 1, 1)
    assert h.matrix.tolist() == [[5, 0, 0], [0, 0, 1]]
    frame = pl.DataFrame({"item": ["a", "b"], "day": ["2026-01-01", "2026-01-02"], "quantity": [1, 4]})
    assert demand_history(frame, end=date(2026, 1, 4)).matrix.tolist() == [[1, 0, 0, 0], [0, 4, 0, 0]]
    dicts = [{"item": "x", "day": "2026-02-01T10:00:00Z", "quantity": 7}]
    assert demand_history(dicts).matrix.tolist() == [[7]]


@pytest.mark.parametrize(
    ("orders", "message"),
    [
        ([], "empty"),
        ([("a", "2026-13-01", 1)], "row 1: day"),
        ([("a", "2026-01-01", 1), ("a", "2026-01-02", -1)], "row 2: quantity must be"),
        ([("a", "2026-01-01", "lots")], "row 1: quantity 'lots'"),
        ([("", "2026-01-01", 1)], "row 1: item is empty"),
        ([("a", "2026-01-01")], "row 1: expected"),
        ([{"item": "a", "day": "2026-01-01"}], "missing column 'quantity'"),
        (pl.DataFrame({"item": ["a"], "qty": [1]}), "missing column"),
    ],
)
def test_bad_order_tables(orders: object, message: str) -> None:
    with pytest.raises(ForecastInputError, match=message):
        demand_history(orders)


def test_end_before_last_day() -> None:
    with pytest.raises(ForecastInputError, match="before the last order day"):
        demand_history([("a", "2026-01-05", 1)], end=date(2026, 1, 1))


def test_bad_forecast_arguments() -> None:
    y = np.ones((2, 30))
    with pytest.raises(ForecastInputError, match="unknown method"):
        forecast_matrix(y, 7, "prophet")
    with pytest.raises(ForecastInputError, match="horizon"):
        forecast_matrix(y, 0)
    with pytest.raises(ForecastInputError, match="at least 14 days"):
        forecast_matrix(np.ones((2, 10)), 7)
    h = DemandHistory(("a",), D0, np.ones((1, 20)))
    with pytest.raises(ForecastInputError, match="at least 28 days"):
        evaluate(h, 14)
    with pytest.raises(ForecastInputError, match="holdout"):
        evaluate(h, 0)


def test_weekly_pattern_is_recovered() -> None:
    pattern = [10, 10, 10, 10, 10, 25, 25]
    fc = forecast(_rows(pattern, 20), horizon=14)
    item = fc.items["tee"]
    assert fc.first_day == D0 + timedelta(days=140)
    assert np.allclose(item.daily, pattern * 2, atol=0.05)
    assert item.error_sd == pytest.approx(0, abs=0.05)
    naive = forecast(_rows(pattern, 20), horizon=7, method="seasonal_naive")
    assert naive.items["tee"].daily == tuple(float(x) for x in pattern)
    assert fc.to_dict()["items"]["tee"]["model"] == "ses·weekly"


def test_zero_series_forecasts_zero() -> None:
    y = np.zeros((1, 60))
    y[0, 0] = 0
    pred, _ = forecast_matrix(y, 5)
    assert pred.tolist() == [[0.0] * 5]


def test_intermittent_items_use_the_intermittent_combination() -> None:
    y, kinds = synthetic_demand(40, 200, seed=3, mix=(0.5, 0.0, 0.5))
    _, labels = forecast_matrix(y, 7)
    for lab, kind in zip(labels, kinds, strict=True):
        if kind == "smooth":
            assert lab == "ses·weekly"
    assert any("imapa" in lab for lab, kind in zip(labels, kinds, strict=True) if kind == "intermittent")


@pytest.mark.parametrize("method", [m for m in METHODS if m != "autoets"])
def test_every_method_gives_non_negative_forecasts(method: str) -> None:
    y, _ = synthetic_demand(6, 120, seed=11)
    pred, labels = forecast_matrix(y, 10, method)
    assert pred.shape == (6, 10) and (pred >= 0).all() and np.isfinite(pred).all()
    assert len(labels) == 6


def test_auto_beats_the_seasonal_naive_on_a_holdout() -> None:
    y, _ = synthetic_demand(120, 200, seed=21)
    hist = DemandHistory(tuple(f"i{k}" for k in range(120)), D0, y)
    auto = evaluate(hist, 14)
    naive = evaluate(hist, 14, "seasonal_naive")
    assert auto.mase < naive.mase
    assert auto.wape < naive.wape
    assert set(auto.per_item) == set(hist.items)
    assert all(v["mase"] is None or v["mase"] >= 0 for v in auto.per_item.values())


def test_mase_and_wape_by_hand() -> None:
    train = np.array([[1.0, 2, 3, 4, 5, 6, 7, 3, 2, 3, 4, 5, 6, 7]])
    scale = np.mean(np.abs(train[0, 7:] - train[0, :-7]))
    actual = np.array([[2.0, 4.0]])
    pred = np.array([[3.0, 1.0]])
    assert mase(train, actual, pred)[0] == pytest.approx(2.0 / scale)
    assert wape(actual, pred)[0] == pytest.approx(4.0 / 6.0)
    const = np.full((1, 14), 3.0)
    assert np.isnan(mase(const, actual, pred)[0])
    assert np.isnan(wape(np.zeros((1, 2)), pred)[0])


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(st.floats(0, 100), min_size=30, max_size=30),
    k=st.floats(0.1, 10),
)
def test_metrics_are_scale_free(values: list[float], k: float) -> None:
    train = np.array([values[:20]])
    actual = np.array([values[20:25]])
    pred = np.array([values[25:]])
    m1, m2 = mase(train, actual, pred)[0], mase(train * k, actual * k, pred * k)[0]
    assert (np.isnan(m1) and np.isnan(m2)) or m1 == pytest.approx(m2)
    w1, w2 = wape(actual, pred)[0], wape(actual * k, pred * k)[0]
    assert (np.isnan(w1) and np.isnan(w2)) or w1 == pytest.approx(w2)
    assert mase(train, actual, actual)[0] in (0.0,) or np.isnan(mase(train, actual, actual)[0])


def test_weekly_profile_means_one() -> None:
    y, _ = synthetic_demand(20, 100, seed=1)
    prof = weekly_profile(y)
    assert prof.shape == (20, 7)
    assert np.allclose(prof.mean(axis=1), 1.0)
    assert weekly_profile(np.ones((1, 5))).tolist() == [[1.0] * 7]


def test_synthetic_is_seeded_and_valid() -> None:
    a, ka = synthetic_demand(50, 60, seed=4)
    b, kb = synthetic_demand(50, 60, seed=4)
    c, _ = synthetic_demand(50, 60, seed=5)
    assert np.array_equal(a, b) and list(ka) == list(kb)
    assert not np.array_equal(a, c)
    assert (a >= 0).all() and np.array_equal(a, np.round(a))
    only_inter, kinds = synthetic_demand(30, 100, seed=1, mix=(0, 0, 1))
    assert set(kinds) == {"intermittent"}
    assert (only_inter == 0).mean() > 0.5
    with pytest.raises(ValueError):
        synthetic_demand(10, 0)
    with pytest.raises(ValueError):
        synthetic_demand(10, 10, mix=(0, 0, 0))


def test_holdout_plot_is_a_png() -> None:
    from mercato.supply.forecast_plots import holdout_png

    y, _ = synthetic_demand(2, 60, seed=2)
    tr, te = y[:, :-7], y[:, -7:]
    pred, _ = forecast_matrix(tr, 7)
    png = holdout_png(tr, te, {"auto": pred}, ["a", "b"])
    assert png.startswith(b"\x89PNG")
