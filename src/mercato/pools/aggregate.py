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
from dataclasses import dataclass

import numpy as np

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
    commitments = pool.commitments
    if not commitments or not pool.offers:
        return [], []
    position = {o.id: i for i, o in enumerate(pool.offers)}  # offers are sorted by id
    # per distinct list of offers, the set it stands for (sorted offer positions)
    listed: dict[tuple[str, ...], int] = {}
    lists = np.fromiter(
        (listed.setdefault(c.offers, len(listed)) for c in commitments),
        dtype=np.int64,
        count=len(commitments),
    )
    price = np.fromiter((c.max_unit_price for c in commitments), dtype=np.int64, count=len(commitments))
    quantity = np.fromiter((c.quantity for c in commitments), dtype=np.int64, count=len(commitments))
    sets = sorted({tuple(sorted(position[oid] for oid in ids)) for ids in listed})
    set_number = {members: i for i, members in enumerate(sets)}
    set_of = np.array([set_number[tuple(sorted(position[oid] for oid in ids))] for ids in listed])
    width = max(len(members) for members in sets)
    table = np.full((len(sets), width), len(pool.offers), dtype=np.int64)  # padding: a dummy offer
    for i, members in enumerate(sets):
        table[i, : len(members)] = members
    deepest = max(len(o.tiers) for o in pool.offers)
    prices = np.full((len(pool.offers) + 1, deepest), np.iinfo(np.int64).min, dtype=np.int64)
    tiers = np.zeros(len(pool.offers) + 1, dtype=np.int64)
    for i, o in enumerate(pool.offers):
        prices[i, : len(o.tiers)] = [t.unit_price for t in o.tiers]
        tiers[i] = len(o.tiers)
    row = set_of[lists]
    offer_at = table[row]  # (commitments, width)
    # the first tier cheap enough = how many tiers cost more (prices fall with the index)
    first = np.zeros(offer_at.shape, dtype=np.int64)
    for t in range(deepest):
        first += prices[offer_at, t] > price[:, None]
    cheap = ((first < tiers[offer_at]) & (offer_at < len(pool.offers))).any(axis=1)
    keep = np.flatnonzero(cheap)
    if len(keep) == 0:
        return [], []
    # members are ranked by id: the pool's order when it is sorted (parse_pool sorts it)
    ranked = all(a.id < b.id for a, b in zip(commitments, commitments[1:], strict=False))
    rank = np.arange(len(commitments))
    if not ranked:
        rank[np.argsort(np.array([c.id for c in commitments]), kind="stable")] = np.arange(len(commitments))
    keys = np.concatenate([row[keep, None], first[keep]], axis=1)
    _, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.reshape(-1)
    names = [tuple(pool.offers[i].id for i in members) for members in sets]
    figures = (price, quantity, row, first, rank)
    mixed = _grouped(commitments, keep, group, figures, False, names)
    whole = _grouped(commitments, keep, group, figures, True, names)
    whole.sort(key=lambda k: (k.quantity, k.offers, k.first_tier))
    return whole, mixed


def _grouped(
    commitments: tuple[Commitment, ...],
    keep: np.ndarray,
    group: np.ndarray,
    figures: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    by_quantity: bool,
    sets: list[tuple[str, ...]],
) -> list[Class]:
    """One class per group (and per quantity, ``by_quantity``): members best paying first, then by
    id (commitments are sorted by id); segments: the members' distinct max prices, with their
    count (whole) or units (mixed). ``figures``: per commitment its max price, quantity, set row,
    first cheap tier per offer of the set and rank by id."""
    price, quantity, row, first, rank = figures
    p = price[keep]
    part = quantity[keep] if by_quantity else np.zeros(len(keep), dtype=np.int64)
    order = np.lexsort((rank[keep], -p, part, group))
    g, pt, pp = group[order], part[order], p[order]
    new_class = np.ones(len(order), dtype=bool)
    new_class[1:] = (g[1:] != g[:-1]) | (pt[1:] != pt[:-1])
    new_segment = new_class.copy()
    new_segment[1:] |= pp[1:] != pp[:-1]
    seg_start = np.flatnonzero(new_segment)
    weights = np.ones(len(order), dtype=np.int64) if by_quantity else quantity[keep][order]
    seg_total = np.add.reduceat(weights, seg_start).tolist()
    seg_price = pp[seg_start].tolist()
    seg_class = np.cumsum(new_class)[seg_start] - 1
    class_start = np.flatnonzero(new_class)
    seg_cut = np.searchsorted(seg_class, np.arange(len(class_start) + 1)).tolist()
    picked = keep[order]
    members = [commitments[j] for j in picked.tolist()]
    heads = picked[class_start]
    cut = class_start.tolist() + [len(order)]
    head_rows = row[heads].tolist()
    head_first = first[heads].tolist()
    head_part = pt[class_start].tolist()
    pairs = list(zip(seg_price, seg_total, strict=True))
    out: list[Class] = []
    for c, r in enumerate(head_rows):
        listed = sets[r]
        out.append(
            Class(
                head_part[c],
                listed,
                tuple(head_first[c][: len(listed)]),
                tuple(members[cut[c] : cut[c + 1]]),
                tuple(pairs[seg_cut[c] : seg_cut[c + 1]]),
            )
        )
    return out
