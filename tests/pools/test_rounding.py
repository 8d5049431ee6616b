from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mercato.pools import milp
from mercato.pools.aggregate import classes
from mercato.pools.clearing import Assignment, check, greedy, surplus_of
from mercato.pools.model import Pool, parse_pool
from mercato.pools.rounding import handout, polish, round_lp
from tests.pools.helpers import commitment, document, offer
from tests.pools.test_clearing import pools


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools(max_commitments=10), st.randoms(use_true_random=False))
def test_polish_makes_any_assignment_feasible(pool: Pool, rng: object) -> None:
    import random

    assert isinstance(rng, random.Random)
    # an arbitrary, usually infeasible assignment: random commitments on random listed offers and tiers
    rough: Assignment = {}
    for c in pool.commitments:
        if rng.random() < 0.7:
            oid = rng.choice(c.offers)
            t = rng.randrange(len(pool.offer(oid).tiers))
            rough.setdefault(oid, (t, []))
            if rough[oid][0] == t or rng.random() < 0.5:
                rough[oid][1].append(c.id)
    assert check(pool, polish(pool, rough)) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools(max_commitments=10))
def test_polish_never_loses_surplus_of_a_feasible_assignment(pool: Pool) -> None:
    warm = greedy(pool)
    better = polish(pool, warm)
    assert check(pool, better) == []
    assert surplus_of(pool, better) >= surplus_of(pool, warm)
    assert polish(pool, warm) == better  # deterministic


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools(max_commitments=10))
def test_lp_rounding_hands_out_listed_commitments(pool: Pool) -> None:
    model = milp.build(pool, classes(pool, by_quantity=False))
    if model is None:
        return
    lp = milp.solve_lp(model)
    offers = {o.id: o for o in pool.offers}
    rough = handout(model, round_lp(model, lp.values), offers)
    by_id = {c.id: c for c in pool.commitments}
    seen: set[str] = set()
    for oid, (t, ids) in rough.items():
        assert offers[oid].tier_range(t)[0] <= offers[oid].tier_range(t)[1]
        for cid in ids:
            assert oid in by_id[cid].offers and cid not in seen
            assert by_id[cid].max_unit_price >= offers[oid].tiers[t].unit_price
            seen.add(cid)
    assert check(pool, polish(pool, rough)) == []


def test_polish_tops_up_a_run_below_its_tier_by_taking_from_a_substitute() -> None:
    doc = document(
        {"m1": 100, "m2": 100},
        [offer("a", "m1", [(1, 100), (6, 80)], 1, 50), offer("b", "m2", [(1, 100)], 1, 50)],
        [commitment(f"c{i}", 1, 100, ["a", "b"]) for i in range(6)],
    )
    pool = parse_pool(doc)
    # a on its 80 tier with 4 units is infeasible; b holds the other two
    rough: Assignment = {"a": (1, ["c0", "c1", "c2", "c3"]), "b": (0, ["c4", "c5"])}
    fixed = polish(pool, rough)
    assert check(pool, fixed) == []
    assert fixed == {"a": (1, ["c0", "c1", "c2", "c3", "c4", "c5"])}
    assert surplus_of(pool, fixed) == 6 * 20


def test_polish_moves_a_run_to_a_cheaper_tier_when_it_pays() -> None:
    doc = document(
        {"m": 100},
        [offer("a", "m", [(1, 100), (5, 90)], 1, 50)],
        [commitment(f"c{i}", 1, 100, ["a"]) for i in range(5)],
    )
    pool = parse_pool(doc)
    better = polish(pool, {"a": (0, ["c0", "c1"])})
    assert better == {"a": (1, ["c0", "c1", "c2", "c3", "c4"])}


def test_polish_sheds_members_over_a_manufacturers_capacity() -> None:
    doc = document(
        {"m": 5},
        [offer("a", "m", [(1, 100)], 1, 50), offer("b", "m", [(1, 100)], 1, 50)],
        [commitment(f"c{i}", 1, 101 + i, ["a", "b"]) for i in range(8)],
    )
    pool = parse_pool(doc)
    fixed = polish(pool, {"a": (0, ["c0", "c1", "c2", "c3"]), "b": (0, ["c4", "c5", "c6", "c7"])})
    assert check(pool, fixed) == []
    assert surplus_of(pool, fixed) == sum(range(4, 9))  # the five best payers: c3..c7
