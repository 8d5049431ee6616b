"""Regression: pools on which HiGHS, warm-started by the greedy answer, reported the optimum but handed
back the start's values (the first: a clearing 42% short of the optimum it claimed; the second: the
greedy's own optimum with a bound 17% above it and status optimal). Found by the exhaustive-search
property test in CI."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mercato.pools.clearing import clear
from mercato.pools.model import Commitment, Manufacturer, Offer, Pool, Tier
from tests.pools.test_clearing import brute_force

EXPIRES = datetime(2026, 12, 1, tzinfo=UTC)


def pool(
    manufacturers: tuple[int, int],
    offers: list[Offer],
    commitments: list[tuple[str, int, int, tuple[str, ...]]],
) -> Pool:
    return Pool(
        cleared_at=datetime(2026, 11, 25, tzinfo=UTC),
        currency="INR",
        manufacturers=(Manufacturer("m0", manufacturers[0]), Manufacturer("m1", manufacturers[1])),
        offers=tuple(offers),
        commitments=tuple(Commitment(c, q, p, "INR", o, EXPIRES) for c, q, p, o in commitments),
    )


def offer(oid: str, maker: str, tiers: tuple[Tier, ...], moq: int = 1) -> Offer:
    return Offer(oid, maker, "INR", tiers, moq, 3)


CASES = [
    pool(
        (5, 5),
        [
            offer("o0", "m0", (Tier(1, 1),)),
            offer("o1", "m0", (Tier(1, 1),)),
            offer("o2", "m1", (Tier(1, 1),), moq=2),
        ],
        [
            ("c0", 1, 31, ("o0", "o1", "o2")),
            ("c1", 3, 30, ("o0",)),
            ("c2", 2, 30, ("o2",)),
            ("c3", 3, 31, ("o2", "o0")),
        ],
    ),
    pool(
        (7, 5),
        [
            offer("o0", "m0", (Tier(1, 1),)),
            offer("o1", "m0", (Tier(1, 1),)),
            offer("o2", "m0", (Tier(1, 31), Tier(2, 1))),
        ],
        [
            ("c0", 1, 31, ("o0", "o1", "o2")),
            ("c1", 1, 30, ("o0",)),
            ("c2", 3, 32, ("o0",)),
            ("c3", 3, 32, ("o0", "o1")),
        ],
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_exact_clearing_returns_the_optimum_it_proves(case: Pool) -> None:
    best = brute_force(case)
    for method in ("auto", "exact", "large"):
        result = clear(case, method=method)
        assert result.objective == best, method
        assert result.bound >= result.objective
        if result.status == "optimal":
            assert result.gap == 0.0
