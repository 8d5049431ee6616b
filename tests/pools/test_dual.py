"""Pricing the capacities (dual.py) and the whole-commitment split (split.py) on small pools."""

from __future__ import annotations

import time

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mercato.pools import milp
from mercato.pools.aggregate import classes
from mercato.pools.blocks import Blocks
from mercato.pools.clearing import check, surplus_of
from mercato.pools.dual import Decomposition
from mercato.pools.model import Pool
from mercato.pools.rounding import Index, handout, polish
from mercato.pools.split import round_counts, split
from tests.pools.helpers import brute_force
from tests.pools.test_clearing import pools

FAR = 1e9  # a deadline that never comes (seconds from now)


def _decomposition(pool: Pool) -> tuple[milp.Model, Decomposition] | None:
    model = milp.build(pool, classes(pool, by_quantity=False))
    return None if model is None else (model, Decomposition(Blocks(model)))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_column_generation_meets_the_lp_and_the_integer_bound_is_tighter(pool: Pool) -> None:
    found = _decomposition(pool)
    best = brute_force(pool)
    if found is None:
        assert best == 0
        return
    model, decomposition = found
    relaxed = decomposition.relax(time.monotonic() + FAR)
    lp = milp.solve_lp(model)
    assert relaxed.status == "optimal"
    assert abs(relaxed.bound - lp.objective) <= 1e-6 * max(1.0, abs(lp.objective))
    assert relaxed.objective <= relaxed.bound + 1e-6
    # the master's solution is a feasible LP point worth its objective
    values = relaxed.values
    rows = model.matrix @ values
    assert np.all(rows >= model.row_lower - 1e-6) and np.all(rows <= model.row_upper + 1e-6)
    assert abs(float(model.cost @ values) - relaxed.objective) <= 1e-6 * max(1.0, relaxed.objective)
    integral = decomposition.integer(relaxed.lam, 200)
    assert best <= integral.bound + 1e-6 <= relaxed.bound + 2e-6


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools(), st.lists(st.floats(0, 200), min_size=2, max_size=2))
def test_any_prices_give_a_true_bound(pool: Pool, prices: list[float]) -> None:
    found = _decomposition(pool)
    if found is None:
        return
    model, decomposition = found
    lam = np.array(prices[: len(model.makers)])
    assert brute_force(pool) <= decomposition.integer(lam, 200).bound + 1e-6
    assert brute_force(pool) <= decomposition.integer(lam, 0).bound + 1e-6  # searches cut short


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_relax_stops_on_a_past_deadline(pool: Pool) -> None:
    found = _decomposition(pool)
    if found is None:
        return
    assert found[1].relax(time.monotonic() - 1).status == "time_limit"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools(max_commitments=9))
def test_round_counts_rounds_each_class_total(pool: Pool) -> None:
    model = milp.build(pool, classes(pool, by_quantity=True), links=False)
    if model is None:
        return
    runs = {key: 1 for key in model.ys}
    lp = milp.solve_lp(model, fixed_y={key: 0 for key in model.ys})  # all off: feasible, integral
    assert np.all(round_counts(model, lp.values) == 0)
    relaxed = milp.solve_lp(model)
    x = relaxed.values[model.x0 : model.z0]
    rounded = round_counts(model, relaxed.values)
    assert np.all(rounded == np.round(rounded))
    assert np.all((rounded >= np.floor(x + 1e-6)) & (rounded <= np.ceil(x - 1e-6)))
    for k in {k for k, _, _ in model.xs}:
        cols = [i for i, (kk, _, _) in enumerate(model.xs) if kk == k]
        assert rounded[cols].sum() == np.floor(x[cols].sum() + 0.5 + 1e-9)
    assert len(runs) == len(model.ys)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools(max_commitments=9))
def test_split_among_the_best_runs_is_feasible_and_never_beats_the_optimum(pool: Pool) -> None:
    model = milp.build(pool, classes(pool, by_quantity=False))
    if model is None:
        return
    decomposition = Decomposition(Blocks(model))
    relaxed = decomposition.relax(time.monotonic() + FAR)
    runs = milp.runs_of(model, decomposition.integer(relaxed.lam, 200).values)
    if not runs:
        return
    exact = milp.build(pool, classes(pool, by_quantity=True), links=False, only=set(runs))
    if exact is None:
        return
    offers = {o.id: o for o in pool.offers}
    found = split(exact, runs, offers, time.monotonic() + FAR, 200)
    assert found is not None and not found.clock
    assignment = handout(exact, found.counts, offers)
    polished = polish(pool, assignment, Index(pool))
    assert check(pool, polished) == []
    assert surplus_of(pool, polished) <= brute_force(pool)
    if not check(pool, assignment):
        # a hand-out may place a whole member beyond its class's share (an overshoot that stays in the
        # tier's range), so the assignment can beat the split LP of those counts, never the optimum
        assert surplus_of(pool, assignment) <= brute_force(pool)
