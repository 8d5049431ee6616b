"""The large-pool clearing (LP bound, run choice, exact split) on small pools, against exhaustive search."""

from __future__ import annotations

import importlib.util
import io
import sys
from contextlib import redirect_stdout
from pathlib import Path
from types import ModuleType

import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from mercato.pools.clearing import check, clear, greedy, surplus_of
from mercato.pools.model import Pool, parse_pool
from tests.pools.helpers import brute_force, commitment, document, offer
from tests.pools.test_clearing import _assignment, pools


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_large_method_is_feasible_and_brackets_the_optimum(pool: Pool) -> None:
    result = clear(pool, time_limit=20, method="large")
    best = brute_force(pool)
    assert check(pool, _assignment(result)) == []
    assert result.objective <= best <= result.bound + 1e-6
    if result.lp_bound is not None:  # the LP relaxation's bound, never tighter than the reported one
        assert result.lp_gap is not None and result.lp_bound >= result.bound
        assert result.lp_gap >= result.gap - 1e-12
    assert result.status in ("optimal", "feasible", "trivial")
    assert (result.status == "optimal") == (result.gap == 0.0 and result.status != "trivial")
    by_id = {c.id: c for c in pool.commitments}
    assert result.objective == sum(
        (by_id[a.commitment].max_unit_price - a.unit_price) * a.quantity for a in result.accepted
    )
    assert sorted(
        [a.commitment for a in result.accepted] + [r.commitment for r in result.rejected]
    ) == sorted(by_id)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_large_method_equals_the_exact_milp_on_most_small_coupled_pools(pool: Pool) -> None:
    # the decomposition is a heuristic with a bound: it may miss the optimum, but never by more
    # than its own reported gap, and never does worse than the greedy
    exact = clear(pool, time_limit=20, method="exact")
    large = clear(pool, time_limit=20, method="large")
    assert exact.status in ("optimal", "trivial")
    assert large.objective <= exact.objective <= large.bound + 1e-6
    assert exact.objective - large.objective <= large.gap * max(1.0, large.bound) + 1e-6
    assert large.objective >= surplus_of(pool, greedy(pool)) or large.status == "feasible"


def test_large_method_finds_the_coupled_optimum() -> None:
    # two manufacturers whose offers are each other's substitutes: only pooling everyone on b
    # reaches b's deep tier; the LP sees it and the run choice keeps it
    doc = document(
        {"m1": 100, "m2": 100},
        [offer("a", "m1", [(1, 100), (8, 92)], 1, 100), offer("b", "m2", [(1, 100), (12, 80)], 1, 100)],
        [commitment(f"a{i}", 1, 99, ["a", "b"]) for i in range(8)]
        + [commitment(f"b{i}", 1, 95, ["b", "a"]) for i in range(4)],
    )
    pool = parse_pool(doc)
    result = clear(pool, method="large")
    assert result.objective == brute_force(pool) == 8 * 19 + 4 * 15
    assert {r.offer for r in result.runs} == {"b"}
    assert result.status == "optimal" and result.gap == 0.0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_large_method_same_input_same_bytes(pool: Pool) -> None:
    first = orjson.dumps(clear(pool, method="large").to_dict())
    assert orjson.dumps(clear(pool, method="large").to_dict()) == first


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_exact_method_reports_no_lp_bound(pool: Pool) -> None:
    result = clear(pool, time_limit=20, method="exact")
    assert result.lp_bound is None and result.lp_gap is None
    assert {"lp_bound", "lp_gap"} <= set(result.to_dict())


def test_unknown_method_is_rejected() -> None:
    doc = document({"m": 10}, [offer("o", "m", [(1, 10)], 1, 10)], [commitment("c", 1, 20, ["o"])])
    with pytest.raises(ValueError, match="unknown clearing method 'fast'"):
        clear(parse_pool(doc), method="fast")


def test_large_method_nothing_servable_is_trivial() -> None:
    doc = document({"m": 10}, [offer("o", "m", [(1, 10)], 1, 10)], [commitment("c", 1, 5, ["o"])])
    result = clear(parse_pool(doc), method="large")
    assert (result.status, result.objective, result.bound) == ("trivial", 0, 0.0)


def _bench() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "pools.py"
    spec = importlib.util.spec_from_file_location("bench_pools_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_benchmark_generator_is_seeded_and_valid() -> None:
    bench = _bench()
    pool = bench.generate(400, seed=3, makers=5, offers=25)
    again = bench.generate(400, seed=3, makers=5, offers=25)
    assert pool == again and pool != bench.generate(400, seed=4, makers=5, offers=25)
    assert len(pool.offers) == 25 and len(pool.manufacturers) == 5 and len(pool.commitments) == 400
    for o in pool.offers:
        prices = [t.unit_price for t in o.tiers]
        assert len(o.tiers) == 3 and prices == sorted(prices, reverse=True) and o.moq <= o.capacity
    for c in pool.commitments:
        assert 1 <= len(c.offers) <= 4 and len(set(c.offers)) == len(c.offers)
        makers = [pool.offer(oid).manufacturer for oid in c.offers]
        assert len(set(makers)) == len(makers)  # substitutes come from other manufacturers
    demand = sum(c.quantity for c in pool.commitments)
    assert sum(m.capacity for m in pool.manufacturers) < demand
    result = clear(pool, method="large")
    assert check(pool, _assignment(result)) == [] and result.objective <= result.bound


def test_benchmark_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench()
    out = io.StringIO()
    with redirect_stdout(out):
        assert bench.main(["--json", "--commitments", "300", "--large-commitments", "600"]) == 0
    figures = orjson.loads(out.getvalue())
    for key in ("seconds", "objective", "bound", "gap", "commitments"):
        assert key in figures and key in figures["large"]
    assert figures["commitments"] == 300 and figures["large"]["commitments"] == 600
    assert figures["objective"] <= figures["bound"]
    assert "[bench]" in capsys.readouterr().err


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_large_method_skips_the_search_steps_when_too_little_time_is_left(pool: Pool) -> None:
    # with no time for the exact split's repairs (STEP_COST times step 1's time), they are skipped:
    # the answer is the rounded split's, still feasible and within the same bound, and marked as cut
    # by the clock (it could differ on a faster machine)
    from mercato.pools import large

    saved = large.STEP_COST
    large.STEP_COST = 1e12
    try:
        cut = clear(pool, time_limit=20, method="large")
    finally:
        large.STEP_COST = saved
    full = clear(pool, time_limit=20, method="large")
    assert check(pool, _assignment(cut)) == []
    assert cut.objective <= brute_force(pool) <= cut.bound + 1e-6
    assert cut.bound == full.bound
    assert cut.status in ("time_limit", "trivial")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_large_method_falls_back_to_the_full_lp_when_a_block_fails(pool: Pool) -> None:
    # a block LP that HiGHS cannot solve (numerical trouble) must not lose the clearing: the whole
    # LP relaxation gives the bound and its rounding the answer, still feasible and within it
    from mercato.pools import dual

    def fail(self: object, b: int, cost: object) -> tuple[float, object]:
        raise ArithmeticError(f"block {b}: numerical trouble")

    saved = dual.Decomposition._price
    dual.Decomposition._price = fail  # type: ignore[assignment,method-assign]
    try:
        result = clear(pool, time_limit=20, method="large")
    finally:
        dual.Decomposition._price = saved  # type: ignore[method-assign]
    assert check(pool, _assignment(result)) == []
    assert result.objective <= brute_force(pool) <= result.bound + 1e-6
    assert result.status in ("optimal", "feasible", "trivial")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_large_method_with_no_time_still_answers_within_a_true_bound(pool: Pool) -> None:
    result = clear(pool, time_limit=0.0, method="large")
    assert check(pool, _assignment(result)) == []
    assert result.objective <= brute_force(pool) <= result.bound + 1e-6
    assert result.status in ("time_limit", "trivial")
