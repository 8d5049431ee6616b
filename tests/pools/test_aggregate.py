from __future__ import annotations

from hypothesis import given, settings

from mercato.pools.aggregate import classes, first_cheap_tier
from mercato.pools.model import Pool, parse_pool
from tests.pools.helpers import commitment, document, offer
from tests.pools.test_clearing import pools


def _pool() -> Pool:
    doc = document(
        {"m1": 100, "m2": 100},
        [offer("a", "m1", [(1, 100), (10, 90), (20, 80)], 1, 50), offer("b", "m2", [(1, 95)], 1, 50)],
        [
            commitment("c1", 2, 92, ["a", "b"]),
            commitment("c2", 2, 91, ["b", "a"]),  # same set, same cheap tiers: same class as c1
            commitment("c3", 3, 92, ["a", "b"]),  # other quantity
            commitment("c4", 2, 96, ["a", "b"]),  # b's price now reached: another class
            commitment("c5", 1, 70, ["a", "b"]),  # no tier cheap enough anywhere: left out
            commitment("c6", 2, 99, ["a"]),
        ],
    )
    return parse_pool(doc)


def test_first_cheap_tier() -> None:
    a = _pool().offer("a")
    assert [first_cheap_tier(a, p) for p in (79, 80, 85, 90, 99, 100, 1000)] == [3, 2, 2, 1, 1, 0, 0]


def test_whole_commitment_classes() -> None:
    got = {
        tuple(c.id for c in k.members): (k.quantity, k.offers, k.first_tier, k.segments)
        for k in classes(_pool())
    }
    assert got == {
        ("c1", "c2"): (2, ("a", "b"), (1, 1), ((92, 1), (91, 1))),
        ("c3",): (3, ("a", "b"), (1, 1), ((92, 1),)),
        ("c4",): (2, ("a", "b"), (1, 0), ((96, 1),)),
        ("c6",): (2, ("a",), (1,), ((99, 1),)),
    }


def test_mixed_quantity_classes_count_units() -> None:
    got = {tuple(c.id for c in k.members): (k.quantity, k.segments, k.size) for k in classes(_pool(), False)}
    assert got[("c1", "c3", "c2")] == (0, ((92, 5), (91, 2)), 7)


@settings(max_examples=60, deadline=None)
@given(pools(max_commitments=12))
def test_classes_partition_the_servable_commitments(pool: Pool) -> None:
    for by_quantity in (True, False):
        found = classes(pool, by_quantity)
        ids = [c.id for k in found for c in k.members]
        assert len(ids) == len(set(ids))
        for k in found:
            assert k.offers == tuple(sorted(k.offers))
            prices = [c.max_unit_price for c in k.members]
            assert prices == sorted(prices, reverse=True)
            assert k.size == sum(1 if by_quantity else c.quantity for c in k.members)
            for c in k.members:
                assert tuple(sorted(c.offers)) == k.offers
                assert not by_quantity or c.quantity == k.quantity
                sig = tuple(first_cheap_tier(pool.offer(o), c.max_unit_price) for o in k.offers)
                assert sig == k.first_tier
        servable = {
            c.id
            for c in pool.commitments
            if any(pool.offer(o).tiers[-1].unit_price <= c.max_unit_price for o in c.offers)
        }
        assert set(ids) == servable
