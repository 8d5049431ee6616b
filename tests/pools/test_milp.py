from __future__ import annotations

import math
import time

from hypothesis import HealthCheck, given, settings

from mercato.pools import milp
from mercato.pools.aggregate import classes
from mercato.pools.blocks import Blocks
from mercato.pools.clearing import check, simple_bound, surplus_of
from mercato.pools.dual import Decomposition
from mercato.pools.model import Pool, parse_pool
from mercato.pools.rounding import handout
from tests.pools.helpers import brute_force, commitment, document, offer
from tests.pools.test_clearing import pools


def _offers(pool: Pool) -> dict[str, object]:
    return {o.id: o for o in pool.offers}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_exact_class_model_matches_exhaustive_search(pool: Pool) -> None:
    model = milp.build(pool, classes(pool, by_quantity=True))
    best = brute_force(pool)
    if model is None:
        assert best == 0
        return
    solved = milp.solve_mip(model, None, 10.0)
    assert solved.status == "optimal"
    assignment = handout(model, milp.counts(model, solved.values), _offers(pool))  # type: ignore[arg-type]
    assert check(pool, assignment) == []
    assert surplus_of(pool, assignment) == best == round(solved.objective)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_lp_bounds_are_upper_bounds(pool: Pool) -> None:
    best = brute_force(pool)
    for by_quantity in (True, False):
        model = milp.build(pool, classes(pool, by_quantity))
        if model is None:
            continue
        lp = milp.solve_lp(model)
        assert lp.status == "optimal"
        assert best <= lp.objective + 1e-6
        assert lp.objective <= simple_bound(pool) + 1e-6


def test_link_rows_make_the_bound_tight_on_a_threshold_pool() -> None:
    # 9 units can never reach the 10-unit tier: the big-M LP would price them at 80 fractionally
    doc = document(
        {"m": 100},
        [offer("o", "m", [(1, 100), (10, 80)], 1, 100)],
        [commitment(f"c{i}", 1, 100, ["o"]) for i in range(9)],
    )
    pool = parse_pool(doc)
    lp = milp.solve_lp(milp.build(pool, classes(pool, by_quantity=False)))  # type: ignore[arg-type]
    assert brute_force(pool) == 0 and simple_bound(pool) == 9 * 20
    assert abs(lp.objective) < 1e-6


def test_nothing_servable_builds_no_model() -> None:
    doc = document({"m": 10}, [offer("o", "m", [(1, 100)], 1, 10)], [commitment("c", 1, 99, ["o"])])
    assert milp.build(parse_pool(doc), classes(parse_pool(doc))) is None


def test_fixed_runs_and_start_vector() -> None:
    doc = document(
        {"m1": 30, "m2": 30},
        [offer("a", "m1", [(1, 100), (10, 90)], 5, 30), offer("b", "m2", [(1, 100)], 5, 30)],
        [commitment(f"c{i}", 2, 95 + i % 3, ["a", "b"]) for i in range(8)],
    )
    pool = parse_pool(doc)
    model = milp.build(pool, classes(pool))
    assert model is not None
    only_b = milp.solve_lp(model, fixed_y={("b", 0): 1})
    # with only b running at 100 nobody (max 95..97) can buy: 0
    assert only_b.status == "infeasible" or abs(only_b.objective) < 1e-6
    free = milp.solve_mip(model, None, 10.0)
    runs = milp.runs_of(model, free.values)
    again = milp.solve_mip(model, milp.start_from(model, milp.counts(model, free.values)), 10.0, fixed_y=runs)
    assert math.isclose(again.objective, free.objective)
    assert runs == {("a", 1): 1}


def test_run_selection_respects_the_lp_integral_decisions() -> None:
    doc = document(
        {"m1": 100, "m2": 100},
        [offer("a", "m1", [(1, 100), (10, 90)], 1, 50), offer("b", "m2", [(1, 100), (10, 85)], 1, 50)],
        [commitment(f"c{i}", 1, 99, ["a", "b"]) for i in range(12)],
    )
    pool = parse_pool(doc)
    model = milp.build(pool, classes(pool, by_quantity=False))
    assert model is not None
    decomposition = Decomposition(Blocks(model))
    relaxed = decomposition.relax(time.monotonic() + 60)
    chosen = decomposition.integer(relaxed.lam, 100)
    assert relaxed.status == "optimal" and chosen.complete
    assert milp.runs_of(model, chosen.values) == {("b", 1): 1}
    assert math.isclose(chosen.bound, 12 * 14)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_building_only_some_runs_equals_restricting(pool: Pool) -> None:
    model = milp.build(pool, classes(pool), links=False)
    if model is None:
        return
    runs = set(model.ys[::2])
    built = milp.build(pool, classes(pool), links=False, only=runs)
    assert built is not None
    sub = milp.restrict(model, runs)
    assert built.ys == sub.ys and built.xs == sub.xs and built.zs == sub.zs
    fixed = dict.fromkeys(runs, 1)
    a, b = milp.solve_lp(built, fixed_y=fixed), milp.solve_lp(sub, fixed_y=fixed)
    assert a.status == b.status
    assert a.status != "optimal" or math.isclose(a.objective, b.objective, abs_tol=1e-6)


def test_restricted_model_keeps_only_the_given_runs() -> None:
    doc = document(
        {"m1": 100, "m2": 100},
        [offer("a", "m1", [(1, 100), (10, 90)], 1, 50), offer("b", "m2", [(1, 100), (10, 85)], 1, 50)],
        [commitment(f"c{i}", 1, 99, ["a", "b"]) for i in range(12)] + [commitment("d", 1, 99, ["a"])],
    )
    pool = parse_pool(doc)
    model = milp.build(pool, classes(pool))
    assert model is not None
    sub = milp.restrict(model, {("a", 1)})
    assert sub.ys == [("a", 1)] and {(o, t) for _, o, t in sub.xs} == {("a", 1)}
    assert sub.columns is not None and len(sub.columns) == sub.n < model.n
    assert sub.matrix.shape == (len(model.row_lower), sub.n)
    lp = milp.solve_lp(sub, fixed_y={("a", 1): 1})
    assert math.isclose(lp.objective, 13 * 9)
    assert milp.solve_lp(milp.restrict(model, set())).objective == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_link_rows_are_plain_bounds_once_every_run_is_fixed(pool: Pool) -> None:
    linked = milp.build(pool, classes(pool))
    if linked is None:
        return
    bare = milp.build(pool, classes(pool), links=False)
    assert bare is not None and len(bare.row_lower) < len(linked.row_lower)
    runs = milp.runs_of(linked, milp.solve_mip(linked, None, 10.0).values)
    a = milp.solve_mip(linked, None, 10.0, fixed_y=runs)
    b = milp.solve_mip(bare, None, 10.0, fixed_y=runs)
    assert math.isclose(a.objective, b.objective, abs_tol=1e-6)
    assert round(a.objective) == brute_force(pool)
