"""Single-stage policies against the textbook instances (Snyder & Shen) and independent oracles."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from mercato.supply.replenish import (
    base_stock_service,
    eoq,
    newsvendor_normal,
    newsvendor_poisson,
    rq_eoq_ss,
    ss_poisson,
    ss_power_approximation,
    suggest,
    wagner_whitin,
)


def test_ex_3_1_eoq() -> None:
    r = eoq(8, 0.225, 1300)
    assert r.order_quantity == pytest.approx(304.05, abs=0.01)
    assert r.cost == pytest.approx(68.41, abs=0.01)


def test_ex_3_9_wagner_whitin() -> None:
    r = wagner_whitin(500, 2, [90, 120, 80, 70])
    assert r.orders == (210, 0, 150, 0)
    assert r.cost == pytest.approx(1380)


def _ww_brute(k: float, h: float, d: list[float]) -> float:
    best = math.inf
    n = len(d)
    for mask in itertools.product([0, 1], repeat=n - 1):
        starts = [0] + [i + 1 for i, b in enumerate(mask) if b]
        cost = 0.0
        for a, b in zip(starts, starts[1:] + [n], strict=True):
            cost += (k if sum(d[a:b]) > 0 else 0) + sum(h * (j - a) * d[j] for j in range(a, b))
        best = min(best, cost)
    return best


@settings(max_examples=40, deadline=None)
@given(
    k=st.floats(0, 1000),
    h=st.floats(0, 10),
    d=st.lists(st.integers(0, 200).map(float), min_size=1, max_size=7),
)
def test_wagner_whitin_matches_enumeration(k: float, h: float, d: list[float]) -> None:
    r = wagner_whitin(k, h, d)
    assert r.cost == pytest.approx(_ww_brute(k, h, d), rel=1e-9, abs=1e-9)
    assert sum(r.orders) == pytest.approx(sum(d))


@pytest.mark.parametrize(
    ("h", "p", "mu", "sd", "level", "cost"),
    [(0.18, 0.70, 50, 8, 56.60, 1.998), (2, 18, 120, 10, 132.82, 35.10)],
)
def test_newsvendor_textbook(h: float, p: float, mu: float, sd: float, level: float, cost: float) -> None:
    r = newsvendor_normal(h, p, mu, sd)
    assert r.level == pytest.approx(level, abs=0.01)
    assert r.cost == pytest.approx(cost, abs=0.01)


def _expected_cost(h: float, p: float, mu: float, sd: float, s: float) -> float:
    f = stats.norm(mu, sd)
    over = integrate.quad(lambda x: (s - x) * f.pdf(x), mu - 12 * sd, s)[0]
    under = integrate.quad(lambda x: (x - s) * f.pdf(x), s, mu + 12 * sd)[0]
    return h * over + p * under


@settings(max_examples=25, deadline=None)
@given(h=st.floats(0.1, 10), p=st.floats(0.1, 50), mu=st.floats(10, 500), sd=st.floats(0.5, 50))
def test_newsvendor_is_optimal(h: float, p: float, mu: float, sd: float) -> None:
    r = newsvendor_normal(h, p, mu, sd)
    assert r.cost == pytest.approx(_expected_cost(h, p, mu, sd, r.level), rel=1e-5)
    for delta in (-0.1 * sd, 0.1 * sd):
        assert _expected_cost(h, p, mu, sd, r.level + delta) >= r.cost


def test_newsvendor_poisson_cost_by_summation() -> None:
    r = newsvendor_poisson(1, 4, 6)
    d = np.arange(0, 60)
    pmf = stats.poisson.pmf(d, 6)

    def cost(s: float) -> float:
        return float(np.sum(pmf * (1 * np.maximum(s - d, 0) + 4 * np.maximum(d - s, 0))))

    assert r.cost == pytest.approx(cost(r.level), rel=1e-9)
    assert cost(r.level - 1) > r.cost and cost(r.level + 1) > r.cost


def _ss_markov_cost(h: float, p: float, k: float, lam: float, s: int, big_s: int) -> float:
    """Cost of (s, S) by the stationary law of the starting inventory (a Markov chain on s+1..S)."""
    states = np.arange(s + 1, big_s + 1)
    n = len(states)
    trans = np.zeros((n, n))
    for i, x in enumerate(states):
        for d in range(0, int(x - s) + 200):
            nxt = x - d
            pr = stats.poisson.pmf(d, lam)
            j = (nxt - s - 1) if nxt > s else n - 1
            trans[i, j] += pr
    a = np.vstack([trans.T - np.eye(n), np.ones(n)])
    b = np.concatenate([np.zeros(n), [1.0]])
    pi = np.linalg.lstsq(a, b, rcond=None)[0]
    d = np.arange(0, 200)
    pmf = stats.poisson.pmf(d, lam)
    g = np.array([np.sum(pmf * (h * np.maximum(y - d, 0) + p * np.maximum(d - y, 0))) for y in states])
    # an order is placed at the end of a period when the stock drops to s or below
    p_order = sum(pi[i] * stats.poisson.sf(x - s - 1, lam) for i, x in enumerate(states))
    return float(np.dot(pi, g) + k * p_order)


def test_ex_4_7_ss_exact() -> None:
    r = ss_poisson(1, 4, 5, 6)
    assert (r.reorder_point, r.order_up_to) == (4, 10)
    assert r.cost == pytest.approx(8.034, abs=0.001)
    assert r.cost == pytest.approx(_ss_markov_cost(1, 4, 5, 6, 4, 10), rel=1e-6)


@settings(max_examples=8, deadline=None)
@given(h=st.floats(0.5, 3), p=st.floats(2, 20), k=st.floats(1, 40), lam=st.floats(1, 8))
def test_ss_poisson_beats_neighbours(h: float, p: float, k: float, lam: float) -> None:
    r = ss_poisson(h, p, k, lam)
    assert r.cost is not None
    s, big_s = int(r.reorder_point), int(r.order_up_to)
    assert r.cost == pytest.approx(_ss_markov_cost(h, p, k, lam, s, big_s), rel=1e-5)
    for ds, dS in ((-1, 0), (1, 0), (0, 1), (0, -1)):
        if s + ds < big_s + dS:
            assert _ss_markov_cost(h, p, k, lam, s + ds, big_s + dS) >= r.cost - 1e-9


def test_ex_4_8_power_approximation() -> None:
    r = ss_power_approximation(0.18, 0.70, 2.5, 50, 8)
    assert r.reorder_point == pytest.approx(40.19, abs=0.01)
    assert r.order_up_to == pytest.approx(74.29, abs=0.01)


def test_ex_5_1_rq() -> None:
    r = rq_eoq_ss(0.225, 7.5, 8, 1300, 150, 1 / 12)
    assert r.reorder_point == pytest.approx(190.34, abs=0.01)
    assert r.order_quantity == pytest.approx(304.05, abs=0.01)
    svc = rq_eoq_ss(0.225, 7.5, 8, 1300, 150, 1 / 12, service_level=0.99)
    assert svc.safety_stock == pytest.approx(150 * math.sqrt(1 / 12) * stats.norm.ppf(0.99))


def test_base_stock_service_level() -> None:
    assert base_stock_service(100, 10, 0.5) == pytest.approx(100)
    assert base_stock_service(100, 10, 0.95) == pytest.approx(100 + 10 * 1.644854, abs=1e-4)


@pytest.mark.parametrize(
    "call",
    [
        lambda: eoq(0, 1, 1),
        lambda: eoq(1, -1, 1),
        lambda: eoq(1, 1, math.nan),
        lambda: wagner_whitin(1, 1, []),
        lambda: wagner_whitin(1, 1, [1, -2]),
        lambda: newsvendor_normal(0, 1, 1, 1),
        lambda: newsvendor_normal(1, 1, 1, -1),
        lambda: newsvendor_poisson(1, 1, -1),
        lambda: base_stock_service(1, 1, 1.0),
        lambda: ss_poisson(1, 4, -5, 6),
        lambda: ss_power_approximation(1, 1, 0, 5, 1),
        lambda: rq_eoq_ss(1, 1, 1, 10, 1, -1),
        lambda: rq_eoq_ss(1, 1, 1, 10, 1, 1, service_level=0),
    ],
)
def test_bad_input(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


def test_suggest_base_stock() -> None:
    s = suggest("tee", "wh1", on_hand=3, on_order=2, daily_mean=2.0, daily_sd=1.0, lead_time_days=3)
    assert s is not None
    target = 8.0 + stats.norm.ppf(0.95) * 2.0
    assert s.order_quantity == math.ceil(target - 5)
    assert s.policy == "base_stock" and s.item_id == "tee" and s.location_id == "wh1"
    assert "reorder point" in s.reason
    assert suggest("tee", "wh1", on_hand=50, on_order=0, daily_mean=2, daily_sd=1, lead_time_days=3) is None


@settings(max_examples=30, deadline=None)
@given(
    on_hand=st.integers(-20, 100),
    mean=st.floats(0.1, 30),
    sd=st.floats(0, 10),
    lead=st.integers(0, 20),
    policy=st.sampled_from(["base_stock", "r_Q", "s_S"]),
)
def test_suggest_restores_position_above_reorder(
    on_hand: int, mean: float, sd: float, lead: int, policy: str
) -> None:
    s = suggest(
        "i",
        "l",
        on_hand=on_hand,
        on_order=0,
        daily_mean=mean,
        daily_sd=sd,
        lead_time_days=lead,
        policy=policy,
        fixed_cost=20.0,  # type: ignore[arg-type]
    )
    if s is None:
        return
    assert s.order_quantity > 0
    assert on_hand + s.order_quantity >= s.reorder_point


def test_suggest_bad_input() -> None:
    with pytest.raises(ValueError, match="lead time"):
        suggest("i", "l", on_hand=0, on_order=0, daily_mean=1, daily_sd=1, lead_time_days=-1)
    with pytest.raises(ValueError, match="service level"):
        suggest("i", "l", on_hand=0, on_order=0, daily_mean=1, daily_sd=1, lead_time_days=1, service_level=2)
    with pytest.raises(ValueError, match="policy"):
        suggest("i", "l", on_hand=0, on_order=0, daily_mean=1, daily_sd=1, lead_time_days=1, policy="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="daily_mean"):
        suggest("i", "l", on_hand=0, on_order=0, daily_mean=-1, daily_sd=1, lead_time_days=1)


def test_suggest_all_from_a_forecast() -> None:
    from datetime import date

    from mercato.supply.forecast import Forecast, ItemForecast
    from mercato.supply.replenish import suggest_all

    fc = Forecast(
        date(2026, 1, 5),
        7,
        "auto",
        {
            "tee": ItemForecast("tee", "ses", (10.0,) * 7, 2.0),
            "mug": ItemForecast("mug", "ses", (1.0,) * 7, 0.5),
        },
    )
    out = suggest_all(fc, "store", on_hand={"tee": 5, "mug": 100}, lead_time_days={"tee": 2, "mug": 2})
    assert [s.item_id for s in out] == ["tee"]  # the mugs on hand cover their target
    target = 30 + stats.norm.ppf(0.95) * 2 * math.sqrt(3)
    assert out[0].order_quantity == math.ceil(target - 5)
    with pytest.raises(ValueError, match="no lead time for item"):
        suggest_all(fc, "store", on_hand={}, lead_time_days={"tee": 1})
