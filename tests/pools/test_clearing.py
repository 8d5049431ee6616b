from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mercato.pools.clearing import CAPACITY, MOQ_NOT_REACHED, PRICE_NOT_REACHED, Clearing, clear, greedy
from mercato.pools.clearing import check as check_assignment
from mercato.pools.model import Pool, parse_pool
from tests.pools.helpers import brute_force, commitment, document, offer


def _assignment(result: Clearing) -> dict[str, tuple[int, list[str]]]:
    out: dict[str, tuple[int, list[str]]] = {}
    tiers = {r.offer: r.tier for r in result.runs}
    for a in result.accepted:
        out.setdefault(a.offer, (tiers[a.offer], []))[1].append(a.commitment)
    return out


@st.composite
def pools(draw: st.DrawFn, max_commitments: int = 7) -> Pool:
    makers = {f"m{i}": draw(st.integers(5, 40)) for i in range(draw(st.integers(1, 2)))}
    offers = []
    for i in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 3))
        thresholds = sorted(draw(st.sets(st.integers(2, 20), min_size=n - 1, max_size=n - 1)))
        prices = sorted(draw(st.sets(st.integers(1, 100), min_size=n, max_size=n)), reverse=True)
        tiers = list(zip([1, *thresholds], prices, strict=True))
        cap = draw(st.integers(3, 30))
        moq = draw(st.integers(1, min(cap, 12)))
        offers.append(offer(f"o{i}", draw(st.sampled_from(sorted(makers))), tiers, moq, cap))
    ids = [o["id"] for o in offers]
    commitments = []
    for j in range(draw(st.integers(0, max_commitments))):
        listed = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=len(ids), unique=True))
        commitments.append(commitment(f"c{j}", draw(st.integers(1, 6)), draw(st.integers(30, 130)), listed))
    return parse_pool(document(makers, offers, commitments))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_matches_exhaustive_search_and_respects_every_constraint(pool: Pool) -> None:
    result = clear(pool, time_limit=5)
    assert result.status in ("optimal", "trivial")
    assert result.objective == brute_force(pool)
    assert check_assignment(pool, _assignment(result)) == []
    by_id = {c.id: c for c in pool.commitments}
    for a in result.accepted:
        assert a.unit_price <= by_id[a.commitment].max_unit_price
        assert a.offer in by_id[a.commitment].offers
    for run in result.runs:
        o = pool.offer(run.offer)
        assert o.moq <= run.quantity <= o.capacity
        assert o.price_at(run.quantity) == run.unit_price
        assert run.quantity == sum(a.quantity for a in result.accepted if a.offer == run.offer)
    ids = [a.commitment for a in result.accepted] + [r.commitment for r in result.rejected]
    assert sorted(ids) == sorted(by_id) and len(set(ids)) == len(ids)
    assert result.objective == sum(
        (by_id[a.commitment].max_unit_price - a.unit_price) * a.quantity for a in result.accepted
    )
    assert result.bound >= result.objective - 1e-6 and result.gap == 0.0


@settings(max_examples=30, deadline=None)
@given(pools())
def test_greedy_is_feasible_and_never_beats_the_result(pool: Pool) -> None:
    warm = greedy(pool)
    assert check_assignment(pool, warm) == []
    from mercato.pools.clearing import surplus_of

    assert surplus_of(pool, warm) <= clear(pool).objective


@settings(max_examples=20, deadline=None)
@given(pools())
def test_same_input_same_output_bytes(pool: Pool) -> None:
    first = orjson.dumps(clear(pool).to_dict())
    assert orjson.dumps(clear(pool).to_dict()) == first


def test_tier_price_reached_only_together() -> None:
    # alone neither buyer reaches the 800 tier; together (10 units) both do
    doc = document(
        {"m": 100},
        [offer("o", "m", [(1, 1000), (10, 800)], 1, 100)],
        [commitment("a", 5, 850, ["o"]), commitment("b", 5, 850, ["o"]), commitment("c", 1, 700, ["o"])],
    )
    result = clear(parse_pool(doc))
    assert result.objective == 2 * 5 * 50
    assert [(a.commitment, a.unit_price) for a in result.accepted] == [("a", 800), ("b", 800)]
    assert [(r.commitment, r.reason) for r in result.rejected] == [("c", PRICE_NOT_REACHED)]


def test_rejection_reasons() -> None:
    doc = document(
        {"m1": 5, "m2": 100},
        [offer("small", "m1", [(1, 100)], 1, 10), offer("big", "m2", [(1, 100)], 50, 100)],
        [
            commitment("fits", 5, 150, ["small"]),
            commitment("full", 5, 120, ["small"]),
            commitment("moq", 5, 150, ["big"]),
            commitment("cheap", 5, 50, ["small", "big"]),
        ],
    )
    result = clear(parse_pool(doc))
    assert [a.commitment for a in result.accepted] == ["fits"]
    reasons = {r.commitment: r.reason for r in result.rejected}
    assert reasons == {"full": CAPACITY, "moq": MOQ_NOT_REACHED, "cheap": PRICE_NOT_REACHED}


def test_identical_commitments_are_aggregated_and_split_by_id() -> None:
    doc = document(
        {"m": 6},
        [offer("o", "m", [(1, 10)], 1, 100)],
        [commitment(f"c{i}", 2, 20, ["o"]) for i in range(5)],
    )
    result = clear(parse_pool(doc))
    assert [a.commitment for a in result.accepted] == ["c0", "c1", "c2"]
    assert result.objective == 3 * 2 * 10
    assert {r.reason for r in result.rejected} == {CAPACITY}


def test_nothing_can_run_is_trivial() -> None:
    doc = document({"m": 6}, [offer("o", "m", [(1, 10)], 1, 100)], [commitment("c", 2, 5, ["o"])])
    result = clear(parse_pool(doc))
    assert (result.status, result.objective, result.bound, result.gap) == ("trivial", 0, 0.0, 0.0)


def test_time_limit_keeps_a_feasible_answer_with_a_finite_bound() -> None:
    import random

    rng = random.Random(7)
    offers = [offer(f"o{i}", f"m{i % 3}", [(1, 100), (20, 90), (50, 80)], 10, 120) for i in range(12)]
    names = [o["id"] for o in offers]
    commitments = [
        commitment(f"c{j:03d}", rng.randint(1, 5), rng.randint(70, 110), rng.sample(names, 3))
        for j in range(300)
    ]
    pool = parse_pool(document({"m0": 150, "m1": 150, "m2": 150}, offers, commitments))
    result = clear(pool, time_limit=0)
    assert result.status == "time_limit"
    assert check_assignment(pool, _assignment(result)) == []
    from mercato.pools.clearing import simple_bound, surplus_of

    assert result.objective >= surplus_of(pool, greedy(pool))
    assert result.objective <= result.bound <= simple_bound(pool)
    assert 0.0 <= result.gap < 1.0
