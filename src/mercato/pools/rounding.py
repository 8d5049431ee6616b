"""From a solution of the class model to a feasible assignment of whole commitments.

``handout`` turns per-class counts into commitments (the best-paying members first, each to the
first offer on its own list that still has room in the class's share); ``polish`` then makes the
assignment feasible and better: runs that fell below their tier's range are topped up from free
commitments or dropped, every run is filled with the free commitments that pay the most, and
offers left idle are opened when a run of free commitments can reach one of their tiers. Every step
walks offers and commitments in a fixed order, so the result is deterministic.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from mercato.pools.milp import Model
from mercato.pools.model import Commitment, Offer, Pool

Assignment = dict[str, tuple[int, list[str]]]
Counts = dict[int, dict[tuple[str, int], int]]


def round_lp(model: Model, values: np.ndarray) -> Counts:
    """One tier per offer from an LP solution (the tier with the largest y, when the offer's
    y sum is at least one half), with the class counts of the run on that tier: x / y, the run
    the LP would make if the offer ran on that tier alone, rounded down."""
    best: dict[str, tuple[float, int]] = {}
    total: dict[str, float] = defaultdict(float)
    for (oid, t), col in model.ycol.items():
        y = float(values[col])
        total[oid] += y
        if oid not in best or y > best[oid][0]:
            best[oid] = (y, t)
    chosen = {(oid, t): y for oid, (y, t) in best.items() if total[oid] >= 0.5 - 1e-9}
    out: Counts = defaultdict(dict)
    x = values[model.x0 : model.z0]
    for i in np.flatnonzero(x > 1e-6):
        k, oid, t = model.xs[i]
        if (oid, t) not in chosen:
            continue
        c = int(np.floor(min(x[i] / chosen[(oid, t)], model.upper[model.x0 + i]) + 1e-6))
        if c > 0 and (oid, t) in chosen:
            out[k][(oid, t)] = c
    return out


def handout(model: Model, counts: Counts, offers: dict[str, Offer]) -> Assignment:
    """Whole commitments for per-class counts. Whole-commitment classes hand out exactly their
    counts; mixed-quantity classes (counts in units) hand a member to an offer while the class's
    share there is not used up, even if the member overshoots it, as long as the run stays within
    its tier's range (``polish`` then restores the manufacturers' capacities)."""
    assignment: Assignment = {}
    run: dict[str, int] = defaultdict(int)
    high = {oid: offers[oid].tier_range(t)[1] for per in counts.values() for (oid, t) in per}
    for k in sorted(counts):
        cls = model.classes[k]
        room = {oid: c for (oid, _), c in counts[k].items()}
        tier = {oid: t for (oid, t) in counts[k]}
        left = sum(room.values())
        for c in cls.members:
            if left <= 0:
                break
            need = c.quantity if cls.quantity == 0 else 1
            for oid in c.offers:
                if oid not in room:
                    continue
                fits = room[oid] >= need if cls.quantity else room[oid] > 0
                if fits and run[oid] + c.quantity <= high[oid]:
                    room[oid] -= need
                    left -= min(need, room[oid] + need)
                    run[oid] += c.quantity
                    assignment.setdefault(oid, (tier[oid], []))[1].append(c.id)
                    break
    return assignment


class Index:
    """What polishing looks up, built once per pool: offers, commitments, the commitments that list
    each offer (best payers first) and every tier's run range."""

    def __init__(self, pool: Pool) -> None:
        self.offers = {o.id: o for o in pool.offers}
        self.by_id = {c.id: c for c in pool.commitments}
        listing: dict[str, list[Commitment]] = defaultdict(list)
        for c in pool.commitments:
            for oid in c.offers:
                listing[oid].append(c)
        for group in listing.values():
            group.sort(key=lambda c: (-c.max_unit_price, c.id))
        self.listing = listing
        self.range = {(o.id, t): o.tier_range(t) for o in pool.offers for t in range(len(o.tiers))}


class _State:
    def __init__(self, pool: Pool, assignment: Assignment, index: Index) -> None:
        self.offers = index.offers
        self.by_id = index.by_id
        self.listing = index.listing
        self.range = index.range
        self.cap = {m.id: m.capacity for m in pool.manufacturers}
        self.used: dict[str, int] = defaultdict(int)
        self.owner: dict[str, str] = {}
        self.runs: dict[str, tuple[int, list[str], int]] = {}
        for oid, (t, ids) in sorted(assignment.items()):
            # keep the members that list the offer, accept its price and are not taken twice,
            # best payers first, up to the tier's range
            price = self.offers[oid].tiers[t].unit_price
            high = self.range[(oid, t)][1]
            kept: list[str] = []
            quantity = 0
            for cid in sorted(set(ids), key=lambda i: (-self.by_id[i].max_unit_price, i)):
                c = self.by_id[cid]
                ok = cid not in self.owner and oid in c.offers and c.max_unit_price >= price
                if ok and quantity + c.quantity <= high:
                    kept.append(cid)
                    quantity += c.quantity
                    self.owner[cid] = oid
            if kept:
                self.runs[oid] = (t, kept, quantity)
                self.used[self.offers[oid].manufacturer] += quantity

    def fill(self, oid: str) -> None:
        t, ids, quantity = self.runs[oid]
        offer = self.offers[oid]
        maker = offer.manufacturer
        price = offer.tiers[t].unit_price
        high = self.range[(offer.id, t)][1]
        for c in self.listing[oid]:
            if c.max_unit_price < price:
                break
            room = min(high - quantity, self.cap[maker] - self.used[maker])
            if room <= 0:
                break
            if c.id not in self.owner and c.quantity <= room:
                ids.append(c.id)
                quantity += c.quantity
                self.used[maker] += c.quantity
                self.owner[c.id] = oid
        self.runs[oid] = (t, ids, quantity)

    def trim(self, maker: str) -> None:
        """Bring ``maker`` back within its capacity: shed the members that add the least surplus
        while their runs stay in range, then whole runs that add the least."""
        over = self.used[maker] - self.cap[maker]
        if over <= 0:
            return
        mine = sorted(oid for oid in self.runs if self.offers[oid].manufacturer == maker)
        shed: list[tuple[int, str, str]] = []
        for oid in mine:
            price = self.offers[oid].tiers[self.runs[oid][0]].unit_price
            for cid in self.runs[oid][1]:
                c = self.by_id[cid]
                shed.append((c.max_unit_price - price, cid, oid))
        shed.sort()
        for _, cid, oid in shed:
            if over <= 0:
                break
            t, ids, quantity = self.runs[oid]
            q = self.by_id[cid].quantity
            if quantity - q >= self.range[(oid, t)][0]:
                ids.remove(cid)
                del self.owner[cid]
                self.runs[oid] = (t, ids, quantity - q)
                self.used[maker] -= q
                over -= q
        while over > 0:
            worth = sorted(
                (self._surplus(oid), oid) for oid in self.runs if self.offers[oid].manufacturer == maker
            )
            _, oid = worth[0]
            self.drop(oid)
            over = self.used[maker] - self.cap[maker]

    def _surplus(self, oid: str) -> int:
        t, ids, _ = self.runs[oid]
        price = self.offers[oid].tiers[t].unit_price
        return sum((self.by_id[cid].max_unit_price - price) * self.by_id[cid].quantity for cid in ids)

    def drop(self, oid: str) -> None:
        _, ids, quantity = self.runs.pop(oid)
        self.used[self.offers[oid].manufacturer] -= quantity
        for cid in ids:
            del self.owner[cid]

    def open(self, offer: Offer) -> None:
        """Run ``offer`` on the tier that adds the most surplus from free commitments, if any."""
        maker = offer.manufacturer
        limit = self.cap[maker] - self.used[maker]
        best: tuple[int, int, list[str], int] | None = None
        for t, tier in enumerate(offer.tiers):
            low, high = self.range[(offer.id, t)]
            high = min(high, limit)
            if low > high:
                continue
            chosen: list[str] = []
            quantity = surplus = 0
            for c in self.listing[offer.id]:
                if c.max_unit_price < tier.unit_price or quantity >= high:
                    break
                if c.id not in self.owner and quantity + c.quantity <= high:
                    chosen.append(c.id)
                    quantity += c.quantity
                    surplus += (c.max_unit_price - tier.unit_price) * c.quantity
            if quantity >= low and surplus > 0 and (best is None or surplus > best[0]):
                best = (surplus, t, chosen, quantity)
        if best is not None:
            _, t, chosen, quantity = best
            self.runs[offer.id] = (t, chosen, quantity)
            self.used[maker] += quantity
            for cid in chosen:
                self.owner[cid] = offer.id

    def move(self, oid: str, t2: int, need_gain: bool) -> bool:
        """Put the run of ``oid`` on tier ``t2``: keep the members that accept its price, then add
        free commitments and commitments taken from other runs (that stay in range) until the
        tier's range is reached. With ``need_gain`` only when the total surplus grows."""
        t, ids, quantity = self.runs[oid]
        offer = self.offers[oid]
        maker = offer.manufacturer
        price = offer.tiers[t2].unit_price
        low, high = self.range[(oid, t2)]
        high = min(high, self.cap[maker] - self.used[maker] + quantity)
        if low > high:
            return False
        before = self._surplus(oid)
        keep: list[str] = []
        total = 0
        for cid in sorted(ids, key=lambda i: (-self.by_id[i].max_unit_price, i)):
            c = self.by_id[cid]
            if c.max_unit_price >= price and total + c.quantity <= high:
                keep.append(cid)
                total += c.quantity
        gain = sum((self.by_id[i].max_unit_price - price) * self.by_id[i].quantity for i in keep) - before
        taken: list[Commitment] = []
        shrink: dict[str, int] = defaultdict(int)
        for c in self.listing[oid]:
            if total >= low or c.max_unit_price < price:
                break
            if total + c.quantity > high:
                continue
            source = self.owner.get(c.id)
            if source is None:
                lost = 0
            elif source == oid:
                continue
            else:
                st, _, sq = self.runs[source]
                src = self.offers[source]
                rest = sq - shrink[source] - c.quantity
                if 0 < rest < self.range[(source, st)][0]:
                    continue  # the other run would fall below its tier (emptying it is fine)
                lost = (c.max_unit_price - src.tiers[st].unit_price) * c.quantity
                shrink[source] += c.quantity
            taken.append(c)
            total += c.quantity
            gain += (c.max_unit_price - price) * c.quantity - lost
        if total < low or (need_gain and gain <= 0):
            return False
        for cid in ids:
            del self.owner[cid]
        moved = {c.id for c in taken}
        for source in sorted(shrink):
            st, sids, sq = self.runs[source]
            self.runs[source] = (st, [i for i in sids if i not in moved], sq - shrink[source])
            self.used[self.offers[source].manufacturer] -= shrink[source]
            if sq == shrink[source]:
                del self.runs[source]
        members = keep + [c.id for c in taken]
        for cid in members:
            self.owner[cid] = oid
        self.used[maker] += total - quantity
        self.runs[oid] = (t2, members, total)
        return True

    def assignment(self) -> Assignment:
        return {oid: (t, sorted(ids)) for oid, (t, ids, _) in sorted(self.runs.items())}


def polish(pool: Pool, assignment: Assignment, index: Index | None = None) -> Assignment:
    """A feasible assignment at least as good as the feasible part of ``assignment`` (``index``:
    the pool's, when it is polished more than once)."""
    state = _State(pool, assignment, index or Index(pool))
    for oid in sorted(state.runs):
        if oid not in state.runs:
            continue  # emptied by a run that took its members
        t, _, quantity = state.runs[oid]
        if quantity < state.range[(oid, t)][0]:
            if not any(state.move(oid, t2, need_gain=False) for t2 in range(t, -1, -1)):
                state.drop(oid)
    for maker in sorted(state.cap):
        state.trim(maker)
    for oid in sorted(state.runs):
        state.fill(oid)
    for offer in pool.offers:
        if offer.id not in state.runs:
            state.open(offer)
    for _ in range(2):
        for oid in sorted(state.runs):
            while oid in state.runs and state.runs[oid][0] + 1 < len(state.offers[oid].tiers):
                if not state.move(oid, state.runs[oid][0] + 1, need_gain=True):
                    break
        for oid in sorted(state.runs):
            state.fill(oid)
    return state.assignment()
