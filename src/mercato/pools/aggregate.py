"""Aggregating commitments into classes that the clearing model cannot tell apart.

Two commitments belong to the same class when they list the same *set* of offers and, for each of
those offers, the same tiers are cheap enough for them (their max unit price falls between the same
two tier prices). Inside a class every member can be served by exactly the same (offer, tier)
pairs, and moving a member from one of them to another changes the surplus by the same amount for
every member (the price difference). So the clearing only has to decide *how many* members (or
units) of a class go to each (offer, tier); which members is settled afterwards: the ones with the
highest max price, ties by id, because they add the most surplus.

``classes(pool, by_quantity=True)`` keeps the quantity in the key, so counts are whole commitments
and the model on classes is exact. With ``by_quantity=False`` a class mixes quantities and the model
counts units: that model is a relaxation (it may split a commitment), used for the upper bound and
as a guide on large pools.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass

from mercato.pools.model import Commitment, Offer, Pool


@dataclass(frozen=True, slots=True)
class Class:
    quantity: int  # the members' quantity, or 0 when the class mixes quantities (counts are units)
    offers: tuple[str, ...]  # sorted offer ids
    first_tier: tuple[int, ...]  # per offer, the first tier cheap enough (len(tiers) when none is)
    members: tuple[Commitment, ...]  # highest max price first, then by id
    segments: tuple[tuple[int, int], ...]  # (max unit price, count) from the highest price down

    @property
    def size(self) -> int:
        """Members (whole-commitment classes) or units (mixed classes) in the class."""
        return sum(count for _, count in self.segments)


def first_cheap_tier(offer: Offer, max_unit_price: int) -> int:
    """Index of the first tier whose price is at most ``max_unit_price`` (prices fall with the index)."""
    negated = [-t.unit_price for t in offer.tiers]  # increasing
    return bisect_left(negated, -max_unit_price)


def classes(pool: Pool, by_quantity: bool = True) -> list[Class]:
    """The pool's commitments in classes, sorted; commitments that no tier can serve are left out."""
    return both(pool)[0 if by_quantity else 1]


def both(pool: Pool) -> tuple[list[Class], list[Class]]:
    """The whole-commitment classes and the mixed-quantity classes, from one pass over the pool."""
    offers = {o.id: o for o in pool.offers}
    signature: dict[tuple[tuple[str, ...], int], tuple[tuple[str, ...], tuple[int, ...]] | None] = {}
    members: dict[tuple[tuple[str, ...], tuple[int, ...]], list[Commitment]] = defaultdict(list)
    cheap_from: dict[tuple[str, int], int] = {}
    for c in pool.commitments:
        key = (c.offers, c.max_unit_price)
        if key not in signature:
            listed = tuple(sorted(c.offers))
            for oid in listed:
                if (oid, c.max_unit_price) not in cheap_from:
                    cheap_from[(oid, c.max_unit_price)] = first_cheap_tier(offers[oid], c.max_unit_price)
            first = tuple(cheap_from[(oid, c.max_unit_price)] for oid in listed)
            cheap = any(f < len(offers[oid].tiers) for oid, f in zip(listed, first, strict=True))
            signature[key] = (listed, first) if cheap else None
        sig = signature[key]
        if sig is not None:
            members[sig].append(c)
    whole: list[Class] = []
    mixed: list[Class] = []
    for (listed, first), group in sorted(members.items()):
        group.sort(key=lambda c: (-c.max_unit_price, c.id))
        mixed.append(_class(0, listed, first, group))
        by_quantity: dict[int, list[Commitment]] = defaultdict(list)
        for c in group:
            by_quantity[c.quantity].append(c)
        for q in sorted(by_quantity):
            whole.append(_class(q, listed, first, by_quantity[q]))
    whole.sort(key=lambda k: (k.quantity, k.offers, k.first_tier))
    return whole, mixed


def _class(quantity: int, listed: tuple[str, ...], first: tuple[int, ...], group: list[Commitment]) -> Class:
    counts: dict[int, int] = defaultdict(int)
    for c in group:
        counts[c.max_unit_price] += 1 if quantity else c.quantity
    return Class(quantity, listed, first, tuple(group), tuple(sorted(counts.items(), reverse=True)))
