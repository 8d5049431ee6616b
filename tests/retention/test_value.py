"""CLV, churn-risk list and calibration-vs-holdout evaluation on CDNOW."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from mercato.retention import evaluation
from mercato.retention.churn import churn_list, write_churn_csv
from mercato.retention.clv import customer_value, discounted_alive_purchases
from mercato.retention.io import Transactions
from mercato.retention.models import BGNBD, GammaGamma, ParetoNBD
from mercato.retention.summary import Summary


@pytest.fixture(scope="module")
def models(cdnow_summary: Summary) -> tuple[BGNBD, GammaGamma]:
    s = cdnow_summary
    return BGNBD.fit(s.x, s.t_x, s.T), GammaGamma.fit(s.x, s.monetary)


def test_clv_without_discount_is_purchases_times_spend(
    cdnow_summary: Summary, models: tuple[BGNBD, GammaGamma]
) -> None:
    s = cdnow_summary
    bg, gg = models
    v = customer_value(bg, gg, s.x, s.t_x, s.T, s.monetary, horizon=52.0, unit_days=7.0, annual_discount=0.0)
    assert np.allclose(v.expected_purchases, bg.expected_purchases(s.x, s.t_x, s.T, 52.0), rtol=1e-9)
    assert np.allclose(v.clv, v.expected_purchases * v.expected_spend, rtol=1e-9)
    d = customer_value(bg, gg, s.x, s.t_x, s.T, s.monetary, horizon=52.0, unit_days=7.0, annual_discount=0.15)
    assert np.all(d.clv <= v.clv + 1e-12) and d.clv.sum() < v.clv.sum()
    # 15% a year over one year discounts by between 0 and 15%.
    assert 0.85 < d.clv.sum() / v.clv.sum() < 1.0
    assert np.allclose(d.value_at_risk + d.clv, d.clv_if_alive)


def test_clv_works_for_pareto_and_rejects_bad_horizon(cdnow_summary: Summary) -> None:
    s = cdnow_summary
    m = ParetoNBD({"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669})
    disc, plain = discounted_alive_purchases(m, s.x, s.T, horizon=39.0, unit_days=7.0, annual_discount=0.0)
    assert np.allclose(disc, plain) and np.allclose(plain, m.alive_expected(s.x, s.T, 39.0))
    with pytest.raises(ValueError, match="horizon"):
        discounted_alive_purchases(m, s.x, s.T, horizon=0.0, unit_days=7.0)


def test_churn_list_ranks_by_value_at_risk(
    cdnow_summary: Summary, models: tuple[BGNBD, GammaGamma], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    s = cdnow_summary
    bg, gg = models
    v = customer_value(bg, gg, s.x, s.t_x, s.T, s.monetary, horizon=52.0, unit_days=7.0)
    c = churn_list(s, v)
    assert c.height == 2357
    var = c["value_at_risk"].to_numpy()
    assert np.all(np.diff(var) <= 0)
    top = c.row(0, named=True)
    assert top["purchases"] > 1 and top["p_alive"] < 0.5  # a valuable repeat buyer who went quiet
    path = write_churn_csv(c, tmp_path / "churn.csv")
    back = pl.read_csv(path)
    assert back.columns[:3] == ["customer_id", "purchases", "first_purchase"] and back.height == 2357


def test_holdout_evaluation_on_cdnow(cdnow_summary: Summary, models: tuple[BGNBD, GammaGamma]) -> None:
    bg, _ = models
    h = evaluation.holdout(bg, cdnow_summary)
    d = h.as_dict()
    assert d["actual_repeat_transactions"] == float(cdnow_summary.frame["frequency_holdout"].sum())
    assert 0.8 < d["predicted_repeat_transactions"] / d["actual_repeat_transactions"] < 1.2
    assert 0.5 < d["correlation"] < 0.9
    t = h.by_frequency
    assert t["calibration_frequency"].to_list() == list(range(8))
    assert int(t["customers"].sum()) == 2357
    # Conditional expectations rise with calibration frequency, actual and predicted.
    assert np.all(np.diff(t["predicted"].to_numpy()) > 0)


def test_tracking_and_histogram(
    cdnow_tx: Transactions, cdnow_summary: Summary, models: tuple[BGNBD, GammaGamma]
) -> None:
    bg, _ = models
    tr = evaluation.tracking(bg, cdnow_tx.frame, cdnow_summary)
    assert np.all(np.diff(tr["actual"].to_numpy()) >= 0) and np.all(np.diff(tr["predicted"].to_numpy()) >= 0)
    calib = tr.filter(pl.col("date") <= cdnow_summary.calibration_end)
    assert calib["actual"][-1] == cdnow_summary.x.sum()  # every calibration repeat purchase is counted
    total = cdnow_summary.x.sum() + cdnow_summary.frame["frequency_holdout"].sum()
    assert tr["actual"][-1] == total
    hist = evaluation.repeat_histogram(bg, cdnow_summary)
    assert hist["actual"].sum() == 2357 and hist["expected"].sum() == pytest.approx(2357)
    assert abs(hist["expected"][0] - hist["actual"][0]) < 30
