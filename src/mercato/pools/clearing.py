"""Clearing a demand pool: which offers run, at which tier, and who buys from whom.

Maximises total buyer surplus  sum (max unit price - tier price) * quantity  over accepted
commitments, subject to: each commitment goes whole to at most one offer on its list; every
accepted buyer of an offer pays the all-units tier price the offer's run quantity reaches; that
price is at most each accepted buyer's max price; MOQ <= run quantity <= capacity (or the offer
does not run); each manufacturer's total capacity across its offers.

Commitments are aggregated into classes (aggregate.py) and the model on classes (milp.py) is
solved with HiGHS: exactly for small pools (a deterministic greedy gives the warm start and is the
answer when HiGHS finds nothing better within the time limit), and for large pools (large.py) by
blocks of substitute offers coupled only by the manufacturers' capacities: prices on those give
the bound and each block's runs, then the demand is split among the runs in whole commitments
(rounding.py turns class counts into commitments). See docs/pools.md.
"""

from __future__ import annotations

import gc
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from mercato.pools.aggregate import classes
from mercato.pools.model import Commitment, Offer, Pool

PRICE_NOT_REACHED = "price_not_reached"
MOQ_NOT_REACHED = "moq_not_reached"
CAPACITY = "capacity"


@dataclass(frozen=True, slots=True)
class Acceptance:
    commitment: str
    offer: str
    quantity: int
    unit_price: int
    surplus: int


@dataclass(frozen=True, slots=True)
class Run:
    offer: str
    manufacturer: str
    tier: int
    quantity: int
    unit_price: int


@dataclass(frozen=True, slots=True)
class Rejection:
    commitment: str
    reason: str


@dataclass(frozen=True, slots=True)
class Clearing:
    # "optimal" (proven), "feasible" (every stage finished, not proven: see gap), "time_limit"
    # (a stage was stopped by the clock: the answer may differ on a faster machine) or "trivial"
    status: str
    solver: str  # "milp", "greedy" or "lp_rounding": which produced the assignment
    objective: int
    bound: float
    gap: float
    runs: tuple[Run, ...]
    accepted: tuple[Acceptance, ...]
    rejected: tuple[Rejection, ...]
    # Large pools: the LP relaxation's optimum (never below ``bound``, which may be tighter) and the
    # gap measured from it. None for pools solved exactly (their ``bound`` is the MILP's dual bound).
    lp_bound: float | None = None
    lp_gap: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "solver": self.solver,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "lp_bound": self.lp_bound,
            "lp_gap": self.lp_gap,
            "runs": [_slots(r) for r in self.runs],
            "accepted": [_slots(a) for a in self.accepted],
            "rejected": [_slots(r) for r in self.rejected],
        }


def _slots(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


# An assignment: offer id -> (tier index, commitment ids)
Assignment = dict[str, tuple[int, list[str]]]


def _best_run(
    offer: Offer, candidates: list[Commitment], limit: int
) -> tuple[int, int, int, list[str]] | None:
    """Best single run of ``offer`` from ``candidates`` within ``limit`` units:
    (surplus, quantity, -tier, ids), or None when no tier can be reached."""
    best: tuple[int, int, int, list[str]] | None = None
    for t, tier in enumerate(offer.tiers):
        low, high = offer.tier_range(t)
        high = min(high, limit)
        if low > high:
            continue
        chosen: list[str] = []
        total = surplus = 0
        pool = [c for c in candidates if c.max_unit_price >= tier.unit_price]
        pool.sort(key=lambda c: (-c.max_unit_price, c.offers.index(offer.id), c.quantity, c.id))
        for c in pool:
            if total + c.quantity <= high:
                chosen.append(c.id)
                total += c.quantity
                surplus += (c.max_unit_price - tier.unit_price) * c.quantity
        if total >= low:
            key = (surplus, total, -t, sorted(chosen))
            if best is None or key[:3] > best[:3]:
                best = key
    return best


def greedy(pool: Pool) -> Assignment:
    """Deterministic heuristic: repeatedly fix the offer whose best run adds the most surplus."""
    free = {c.id: c for c in pool.commitments}
    left = {m.id: m.capacity for m in pool.manufacturers}
    by_offer: dict[str, list[str]] = defaultdict(list)
    for c in pool.commitments:
        for oid in c.offers:
            by_offer[oid].append(c.id)
    result: Assignment = {}
    while True:
        best: tuple[tuple[int, int, int, list[str]], str] | None = None
        for offer in pool.offers:
            if offer.id in result:
                continue
            candidates = [free[cid] for cid in by_offer[offer.id] if cid in free]
            run = _best_run(offer, candidates, left[offer.manufacturer])
            if run is not None and (best is None or run[:3] > best[0][:3]):
                best = (run, offer.id)
        if best is None:
            return result
        (_, quantity, neg_tier, ids), oid = best
        result[oid] = (-neg_tier, ids)
        left[pool.offer(oid).manufacturer] -= quantity
        for cid in ids:
            del free[cid]


def surplus_of(pool: Pool, assignment: Assignment, by_id: dict[str, Commitment] | None = None) -> int:
    """Total buyer surplus of ``assignment`` (``by_id``: the pool's commitments by id, if at hand)."""
    if by_id is None:
        by_id = {c.id: c for c in pool.commitments}
    total = 0
    for oid, (t, ids) in assignment.items():
        price = pool.offer(oid).tiers[t].unit_price
        total += sum((by_id[c].max_unit_price - price) * by_id[c].quantity for c in ids)
    return total


def check(pool: Pool, assignment: Assignment, by_id: dict[str, Commitment] | None = None) -> list[str]:
    """Every constraint the assignment breaks (empty when feasible; ``by_id`` as in ``surplus_of``)."""
    if by_id is None:
        by_id = {c.id: c for c in pool.commitments}
    problems: list[str] = []
    seen: set[str] = set()
    used: dict[str, int] = defaultdict(int)
    for oid, (t, ids) in sorted(assignment.items()):
        offer = pool.offer(oid)
        quantity = sum(by_id[c].quantity for c in ids)
        used[offer.manufacturer] += quantity
        if offer.price_at(quantity) != offer.tiers[t].unit_price:
            problems.append(f"{oid}: run of {quantity} does not land on tier {t}")
        if not offer.moq <= quantity <= offer.capacity:
            problems.append(f"{oid}: run of {quantity} outside MOQ {offer.moq}..capacity {offer.capacity}")
        for cid in ids:
            if cid in seen:
                problems.append(f"{cid}: accepted twice")
            seen.add(cid)
            if oid not in by_id[cid].offers:
                problems.append(f"{cid}: {oid} is not on its list")
            if by_id[cid].max_unit_price < offer.tiers[t].unit_price:
                problems.append(f"{cid}: price {offer.tiers[t].unit_price} above its max")
    for m in pool.manufacturers:
        if used[m.id] > m.capacity:
            problems.append(f"{m.id}: {used[m.id]} units above capacity {m.capacity}")
    return problems


def _reason(c: Commitment, offers: dict[str, Offer], prices: dict[str, int]) -> str:
    if any(oid in prices and prices[oid] <= c.max_unit_price for oid in c.offers):
        return CAPACITY
    if any(oid not in prices and offers[oid].tiers[-1].unit_price <= c.max_unit_price for oid in c.offers):
        return MOQ_NOT_REACHED
    return PRICE_NOT_REACHED


def simple_bound(pool: Pool) -> int:
    """An upper bound that needs no solver: every buyer gets its listed offer's cheapest tier."""
    cheapest = {o.id: o.tiers[-1].unit_price for o in pool.offers}
    lowest: dict[tuple[str, ...], int] = {}
    total = 0
    for c in pool.commitments:
        if c.offers not in lowest:
            lowest[c.offers] = min(cheapest[oid] for oid in c.offers)
        total += max(0, c.max_unit_price - lowest[c.offers]) * c.quantity
    return total


def _result(
    pool: Pool,
    assignment: Assignment,
    status: str,
    solver: str,
    bound: float | None,
    by_id: dict[str, Commitment] | None = None,
    lp_bound: float | None = None,
) -> Clearing:
    offers = {o.id: o for o in pool.offers}
    if by_id is None:
        by_id = {c.id: c for c in pool.commitments}
    runs: list[Run] = []
    accepted: list[Acceptance] = []
    prices: dict[str, int] = {}
    for oid, (t, ids) in sorted(assignment.items()):
        if not ids:
            continue
        offer = offers[oid]
        price = offer.tiers[t].unit_price
        prices[oid] = price
        runs.append(Run(oid, offer.manufacturer, t, sum(by_id[c].quantity for c in ids), price))
        for cid in ids:
            c = by_id[cid]
            accepted.append(Acceptance(cid, oid, c.quantity, price, (c.max_unit_price - price) * c.quantity))
    accepted.sort(key=lambda a: a.commitment)
    taken = {a.commitment for a in accepted}
    rejected = [Rejection(c.id, _reason(c, offers, prices)) for c in pool.commitments if c.id not in taken]
    objective = sum(a.surplus for a in accepted)
    simple = float(simple_bound(pool))
    bound = simple if bound is None or not math.isfinite(bound) else min(bound, simple)
    bound = max(bound, float(objective))
    if bound - objective < 1.0:  # surpluses are whole numbers: a bound this close proves the answer
        bound = float(objective)
    gap = 0.0 if bound <= objective else (bound - objective) / max(1.0, abs(bound))
    lp_gap = None
    if lp_bound is not None and math.isfinite(lp_bound):
        lp_bound = max(lp_bound, bound)
        lp_gap = 0.0 if lp_bound <= objective else (lp_bound - objective) / max(1.0, abs(lp_bound))
    else:
        lp_bound = None
    return Clearing(status, solver, objective, bound, gap, tuple(runs), tuple(accepted), tuple(rejected),
                    lp_bound, lp_gap)  # fmt: skip


EXACT_COMMITMENTS = 20_000  # pool size up to which the exact MILP is tried
EXACT_COLUMNS = 20_000  # class-model size up to which the exact MILP is run
GREEDY_COMMITMENTS = 2_000  # pool size up to which the (quadratic) greedy gives the warm start


def _class_counts(model: Any, assignment: Assignment) -> dict[int, dict[tuple[str, int], int]]:
    """Per-class member counts of an assignment (for a warm start of the exact model)."""
    where = {c.id: (k, c.quantity) for k, cls in enumerate(model.classes) for c in cls.members}
    out: dict[int, dict[tuple[str, int], int]] = defaultdict(dict)
    for oid, (t, ids) in assignment.items():
        for cid in ids:
            k, q = where[cid]
            step = 1 if model.classes[k].quantity else q
            out[k][(oid, t)] = out[k].get((oid, t), 0) + step
    return out


def _better(pool: Pool, first: Assignment, second: Assignment, by_id: dict[str, Commitment]) -> bool:
    """Whether ``second`` is feasible and adds more surplus than ``first``."""
    if not second or check(pool, second, by_id):
        return False
    return surplus_of(pool, second, by_id) > surplus_of(pool, first, by_id)


def clear(pool: Pool, time_limit: float = 10.0, method: str = "auto") -> Clearing:
    """Clear a validated pool. Same pool -> same Clearing (unless ``status`` is ``time_limit``).

    ``method`` ``exact``: the MILP on whole-commitment classes, warm-started by a greedy; ``bound``
    is HiGHS's dual bound. ``method`` ``large``: the unit-class model by blocks with the capacities
    priced gives the bound and the runs, then the demand is split among them (see docs/pools.md).
    ``auto`` (the default) takes ``exact`` for pools of up to EXACT_COMMITMENTS commitments whose
    class model has at most EXACT_COLUMNS columns, ``large`` otherwise.
    """
    from mercato.pools import milp

    if method not in ("auto", "exact", "large"):
        raise ValueError(f"unknown clearing method {method!r}: auto, exact or large")
    deadline = time.monotonic() + time_limit
    if method != "large" and (method == "exact" or len(pool.commitments) <= EXACT_COMMITMENTS):
        exact = milp.build(pool, classes(pool, by_quantity=True))
        if exact is None:
            return _result(pool, {}, "trivial", "greedy", 0.0)  # no feasible pairing: 0 is proven
        if method == "exact" or len(exact.xs) <= EXACT_COLUMNS:
            return _clear_exact(pool, exact, deadline)
    from mercato.pools.large import clear_large

    # the large method makes hundreds of thousands of small objects and no reference cycles worth
    # collecting: the cyclic collector's passes over them cost up to a second at 100k commitments
    collecting = gc.isenabled()
    gc.disable()
    try:
        return clear_large(pool, deadline)
    finally:
        if collecting:
            gc.enable()


def _clear_exact(pool: Pool, exact: Any, deadline: float) -> Clearing:
    from mercato.pools import milp
    from mercato.pools.rounding import handout, polish

    offers = {o.id: o for o in pool.offers}
    warm = greedy(pool) if len(pool.commitments) <= GREEDY_COMMITMENTS else polish(pool, {})
    start = milp.start_from(exact, _class_counts(exact, warm))
    solved = milp.solve_mip(exact, start, deadline - time.monotonic())
    assignment, solver = warm, "greedy"
    if math.isfinite(solved.objective):
        found = handout(exact, milp.counts(exact, solved.values), offers)
        if not check(pool, found) and surplus_of(pool, found) >= surplus_of(pool, warm):
            assignment, solver = found, "milp"
    return _result(pool, assignment, solved.status, solver, solved.bound)
