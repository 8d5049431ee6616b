"""Serial-chain echelon base-stock optimisation against Example 6.1 and the single-stage closed form."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mercato.supply.serial import SerialStage, optimize_serial

# Snyder & Shen, Example 6.1: echelon h = 3, 2, 2; L = 1, 1, 2; p = 37.12; D ~ N(5, 1) per period.
EX61_STAGES = [SerialStage(3.0, 1), SerialStage(2.0, 1), SerialStage(2.0, 2)]
EX61_LEVELS = (6.48, 12.03, 22.72)
EX61_COST = 47.67


def test_example_6_1_levels_and_cost() -> None:
    sol = optimize_serial(EX61_STAGES, 37.12, 5.0, 1.0)
    for got, want in zip(sol.base_stock, EX61_LEVELS, strict=True):
        assert got == pytest.approx(want, abs=0.03)
    assert sol.cost == pytest.approx(EX61_COST, abs=0.03)
    local = sol.local_base_stock()
    assert sum(local) == pytest.approx(sol.base_stock[-1])
    assert local[0] == sol.base_stock[0]


def test_finer_grid_agrees() -> None:
    coarse = optimize_serial(EX61_STAGES, 37.12, 5.0, 1.0, step=0.05)
    fine = optimize_serial(EX61_STAGES, 37.12, 5.0, 1.0, step=0.005)
    assert coarse.cost == pytest.approx(fine.cost, abs=0.02)
    for a, b in zip(coarse.base_stock, fine.base_stock, strict=True):
        assert a == pytest.approx(b, abs=0.1)


@settings(max_examples=25, deadline=None)
@given(
    h=st.floats(0.1, 10),
    p=st.floats(0.5, 50),
    mu=st.floats(1, 50),
    sd=st.floats(0.5, 10),
    lead=st.integers(1, 4),
)
def test_single_stage_is_the_newsvendor(h: float, p: float, mu: float, sd: float, lead: int) -> None:
    sol = optimize_serial([SerialStage(h, lead)], p, mu, sd, step=sd / 100)
    sd_l = sd * math.sqrt(lead)
    z = stats.norm.ppf(p / (p + h))
    assert sol.base_stock[0] == pytest.approx(mu * lead + sd_l * z, abs=sd / 50)
    assert sol.cost == pytest.approx((h + p) * sd_l * stats.norm.pdf(z), rel=2e-3)


@settings(max_examples=15, deadline=None)
@given(h1=st.floats(0.5, 5), h2=st.floats(0.1, 3), p=st.floats(5, 40))
def test_two_stage_levels_increase_upstream(h1: float, h2: float, p: float) -> None:
    sol = optimize_serial([SerialStage(h1, 1), SerialStage(h2, 2)], p, 10.0, 2.0)
    assert sol.base_stock[1] >= sol.base_stock[0]
    # adding an upstream stage never lowers the cost below the one-stage cost of stage 1 alone
    alone = optimize_serial([SerialStage(h1 + h2, 1)], p, 10.0, 2.0)
    assert sol.cost >= alone.cost - 0.05


def test_poisson_chain_integer_levels() -> None:
    sol = optimize_serial([SerialStage(1.0, 1), SerialStage(0.5, 1)], 9.0, 4.0, distribution="poisson")
    assert all(float(s).is_integer() for s in sol.base_stock)
    # stage 1: smallest y with P(D <= y) >= 1 - h_1 / (p + h_1 + h_2) = 9.5 / 10.5
    assert sol.base_stock[0] == stats.poisson.ppf(9.5 / 10.5, 4.0)


@pytest.mark.parametrize(
    ("stages", "p", "mu", "sd", "message"),
    [
        ([], 1.0, 5.0, 1.0, "at least one stage"),
        ([SerialStage(-1.0, 1)], 1.0, 5.0, 1.0, "holding cost"),
        ([SerialStage(1.0, -2)], 1.0, 5.0, 1.0, "lead time"),
        ([SerialStage(1.0, 1)], 0.0, 5.0, 1.0, "stockout cost"),
        ([SerialStage(1.0, 1)], 1.0, -5.0, 1.0, "demand mean"),
        ([SerialStage(1.0, 1)], 1.0, 5.0, -1.0, "demand sd"),
    ],
)
def test_bad_input(stages: list[SerialStage], p: float, mu: float, sd: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        optimize_serial(stages, p, mu, sd)


def test_bad_step_and_distribution() -> None:
    with pytest.raises(ValueError, match="grid step"):
        optimize_serial(EX61_STAGES, 37.12, 5.0, 1.0, step=0.0)
    with pytest.raises(ValueError, match="unknown demand distribution"):
        optimize_serial(EX61_STAGES, 37.12, 5.0, 1.0, distribution="gamma")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="step of 1"):
        optimize_serial(EX61_STAGES, 37.12, 5.0, distribution="poisson", step=0.5)
