"""Whole commitments among chosen runs: the exact split of a large pool, block by block.

With every run decision fixed, the whole-commitment model (classes that share the quantity, x
counts members) is solved as an LP over all blocks at once, which settles how the manufacturers'
capacities are shared. Its solution is nearly integral; each class's count is rounded to the
nearest whole number and handed to the runs the LP gave the largest fractions (``round_counts``).
A block whose rounded split leaves a run outside its tier's range, or uses more of a manufacturer
than is left for it, is solved again as a small MILP (blocks.py) with its share of each capacity
as a budget: what the LP gave it plus what the other blocks leave free. Blocks are repaired in
order and each MILP stops after a fixed number of nodes, so the result does not depend on the
clock unless a solve is cut by it, which the caller is told.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse

from mercato.pools.blocks import Blocks
from mercato.pools.milp import Model, Solved, _highs, quiet_highs
from mercato.pools.model import Offer

Counts = dict[int, dict[tuple[str, int], int]]


@dataclass(frozen=True)
class Split:
    counts: Counts  # per class, members sent to each run
    lp: float  # the split LP's optimum (an upper bound on any whole split of these runs)
    repaired: int  # blocks solved again as a MILP
    mended: int  # blocks brought back into range by moving single members
    clock: bool  # a solve was stopped by the clock


def round_counts(model: Model, values: np.ndarray) -> np.ndarray:
    """The x part of ``values`` in whole members: each class sends round(its total) members, the
    whole part of each of its counts first, then one more to the counts with the largest
    fractions (ties: the model's column order)."""
    x = values[model.x0 : model.z0]
    if len(x) == 0:
        return np.zeros(0)
    klass = np.fromiter((k for k, _, _ in model.xs), dtype=np.int64, count=len(model.xs))
    base = np.floor(x + 1e-6)
    frac = np.where(x - base > 1e-6, x - base, 0.0)
    totals = np.bincount(klass, weights=x)
    extra = np.floor(totals + 0.5 + 1e-9) - np.bincount(klass, weights=base)
    order = np.lexsort((np.arange(len(x)), -frac, klass))
    first = np.searchsorted(klass[order], klass[order], side="left")
    rank = np.arange(len(x)) - first
    bump = (rank < extra[klass[order]]) & (frac[order] > 0.0)
    out = base.copy()
    out[order[bump]] += 1.0
    return out


@dataclass
class _Runs:
    """The rounded split as arrays, for ``_mend``: per x column its class, run and weight, per
    class its size and members taken, per run its quantity, range and manufacturer."""

    x: np.ndarray
    klass: np.ndarray
    run: np.ndarray
    weight: np.ndarray
    size: np.ndarray
    taken: np.ndarray
    quantity: np.ndarray
    low: np.ndarray
    high: np.ndarray
    maker: np.ndarray
    price: np.ndarray  # per run, its tier's unit price
    next_price: list[list[int]]  # per class, its members' max unit prices, best first


def _mend(state: _Runs, xcols: np.ndarray, room: dict[int, float]) -> bool:
    """Bring the runs of one block into their ranges by moving single members, in place: a run
    below its range gets a free member of a class it serves, or one taken from another run of the
    same class that stays in range; a run above sheds a member. ``room``: per manufacturer, the
    units the block may still add. False (and ``state`` possibly changed) when that is not enough."""
    by_run: dict[int, list[int]] = defaultdict(list)
    by_class: dict[int, list[int]] = defaultdict(list)
    for i in xcols.tolist():
        by_run[int(state.run[i])].append(i)
        by_class[int(state.klass[i])].append(i)
    x, q = state.x, state.quantity
    for r in sorted(by_run):
        m = int(state.maker[r])
        while q[r] < state.low[r] - 1e-9:
            need, top = state.low[r] - q[r], state.high[r] - q[r]
            best: tuple[tuple[float, float, float, float, float], int, int] | None = None
            for i in by_run[r]:
                w, k = float(state.weight[i]), int(state.klass[i])
                if w > top + 1e-9:
                    continue
                # candidates that cover the need first, then by surplus gained, then smaller
                if state.taken[k] < state.size[k] and w <= room.get(m, 0.0) + 1e-9:
                    gain = (state.next_price[k][int(state.taken[k])] - state.price[r]) * w
                    key = (0.0 if w >= need else 1.0, -gain, w, float(i), -1.0)
                    if best is None or key < best[0]:
                        best = (key, i, -1)
                    continue
                for j in by_class[k]:
                    r2 = int(state.run[j])
                    if j == i or x[j] < 1 or q[r2] - w < state.low[r2] - 1e-9:
                        continue
                    if int(state.maker[r2]) != m and w > room.get(m, 0.0) + 1e-9:
                        continue
                    gain = (state.price[r2] - state.price[r]) * w
                    key = (0.0 if w >= need else 1.0, -gain, w, float(i), float(j))
                    if best is None or key < best[0]:
                        best = (key, i, j)
            if best is None:
                return False
            _, i, j = best
            w = float(state.weight[i])
            x[i] += 1
            q[r] += w
            room[m] = room.get(m, 0.0) - w
            if j < 0:
                state.taken[state.klass[i]] += 1
            else:
                x[j] -= 1
                q[state.run[j]] -= w
                m2 = int(state.maker[state.run[j]])
                room[m2] = room.get(m2, 0.0) + w
        while q[r] > state.high[r] + 1e-9:
            excess = q[r] - state.high[r]
            shed = []
            for i in by_run[r]:
                w, k = float(state.weight[i]), int(state.klass[i])
                if x[i] >= 1 and q[r] - w >= state.low[r] - 1e-9:
                    lost = (state.next_price[k][int(state.taken[k]) - 1] - state.price[r]) * w
                    shed.append((0.0 if w >= excess else 1.0, lost, w, i))
            if not shed:
                return False
            _, _, w, i = min(shed)
            x[i] -= 1
            q[r] -= w
            state.taken[state.klass[i]] -= 1
            room[m] = room.get(m, 0.0) + w
    return all(v >= -1e-9 for v in room.values())


MEND_LOSS = 1e-3  # a block mended at more than this share of its surplus is also tried as a MILP


def _worth(model: Model, xcols: np.ndarray, x: np.ndarray, local: bool = False) -> float:
    """The surplus of one block's x columns ``xcols`` (``x``: the whole x part, or with ``local``
    just those columns' values), each class's best payers taken."""
    values = x if local else x[xcols]
    total = float(model.cost[model.x0 + xcols] @ values)
    taken: dict[int, int] = defaultdict(int)
    for i, v in zip(xcols.tolist(), values.tolist(), strict=True):
        taken[model.xs[i][0]] += int(round(v))
    for k, n in taken.items():
        total += sum(c.max_unit_price * c.quantity for c in model.classes[k].members[:n])
    return total


def _split_lp(
    model: Model, runs: dict[tuple[str, int], int], deadline: float, may_stop: bool
) -> Solved | None:
    """The split LP with every run fixed on (or, ``may_stop``, with its y in [0, 1]); None when
    the clock stopped it."""
    h = _highs(model, integer=False, fixed_y=runs)
    if may_stop:
        h.changeColsBounds(
            model.x0, np.arange(model.x0, dtype=np.int32), np.zeros(model.x0), np.ones(model.x0)
        )
    h.setOptionValue("time_limit", max(0.0, deadline - time.monotonic()))
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        value = float(h.getInfo().objective_function_value)
        return Solved("optimal", value, value, np.array(h.getSolution().col_value))
    if status == highspy.HighsModelStatus.kTimeLimit:
        return None
    return Solved("infeasible", float("-inf"), float("inf"), np.zeros(model.n))


def split(
    model: Model,
    runs: dict[tuple[str, int], int],
    offers: dict[str, Offer],
    deadline: float,
    nodes: int,
) -> Split | None:
    """The whole-commitment split of ``model`` (built with only ``runs``) among ``runs``, or None
    when the clock stopped its LP."""
    solved = _split_lp(model, runs, deadline, may_stop=False)
    if solved is not None and solved.status == "infeasible":
        # whole commitments cannot fill every run (the runs were chosen for units): let runs stop
        solved = _split_lp(model, runs, deadline, may_stop=True)
    if solved is None or solved.status != "optimal":
        return None
    values = solved.values.copy()
    values[model.x0 : model.z0] = round_counts(model, solved.values)
    fractional = (values[: model.x0] > 1e-6) & (values[: model.x0] < 1 - 1e-6)
    blocks = Blocks(model)
    weight = np.fromiter(
        (model.classes[k].quantity or 1 for k, _, _ in model.xs), dtype=float, count=len(model.xs)
    )
    run_of = {key: i for i, key in enumerate(model.ys)}
    col_run = np.fromiter((run_of[(oid, t)] for _, oid, t in model.xs), dtype=np.int64, count=len(model.xs))
    ranges = np.array([offers[oid].tier_range(t) for oid, t in model.ys], dtype=float).reshape(-1, 2)
    capacity = model.row_upper[model.makers].astype(float)

    def quantities() -> np.ndarray:
        return np.bincount(col_run, weights=weight * values[model.x0 : model.z0], minlength=len(model.ys))

    # each block's share of a capacity: what the LP gave it (whole units) and an equal part of what
    # the LP left free, so that the shares never add up to more than the capacity
    share = [block.capacity @ solved.values[block.cols] for block in blocks.blocks]
    free = capacity.copy()
    touching = np.zeros(len(capacity))
    for block, u in zip(blocks.blocks, share, strict=True):
        free[block.makers] -= u
        touching[block.makers] += 1
    spare = np.floor(np.maximum(free, 0.0) / np.maximum(touching, 1.0) + 1e-6)
    quantity = quantities()
    outside = (quantity < ranges[:, 0] - 1e-6) | (quantity > ranges[:, 1] + 1e-6)
    x_now = values[model.x0 : model.z0]  # a view: mending changes ``values``
    klass = np.fromiter((k for k, _, _ in model.xs), dtype=np.int64, count=len(model.xs))
    by_column = sparse.csc_matrix(blocks.capacity) if blocks.capacity is not None else None
    run_maker = np.zeros(len(model.ys), dtype=np.int64)
    if by_column is not None:
        first = by_column.indptr[model.x0 : model.z0]
        has = np.diff(by_column.indptr)[model.x0 : model.z0] > 0
        run_maker[col_run[has]] = by_column.indices[first[has]]
    state = _Runs(
        x_now,
        klass,
        col_run,
        weight,
        np.array([float(c.size) for c in model.classes]),
        np.bincount(klass, weights=x_now, minlength=len(model.classes)),
        quantity,
        ranges[:, 0].copy(),
        ranges[:, 1].copy(),
        run_maker,
        np.array([offers[oid].tiers[t].unit_price for oid, t in model.ys], dtype=float),
        [[c.max_unit_price for c in cls.members] for cls in model.classes],
    )
    repaired = mended = 0
    clock = False
    for b, block in enumerate(blocks.blocks):
        budget = np.zeros(len(capacity))
        budget[block.makers] = np.floor(share[b] + 1e-6) + spare[block.makers]
        used = block.capacity @ values[block.cols]
        bad = bool(np.any(outside[block.cols[: block.ny]] | fractional[block.cols[: block.ny]]))
        bad = bad or bool(np.any(used > budget[block.makers] + 1e-6))
        if not bad:
            continue
        xcols = block.cols[block.ny : block.nxint] - model.x0
        fallback: np.ndarray | None = None
        if not np.any(fractional[block.cols[: block.ny]]):
            saved = (x_now[xcols].copy(), state.taken.copy(), state.quantity.copy())
            room = {int(m): float(budget[m] - u) for m, u in zip(block.makers, used, strict=True)}
            before = _worth(model, xcols, x_now)
            if _mend(state, xcols, room):
                after = _worth(model, xcols, x_now)
                if before - after <= MEND_LOSS * max(1.0, abs(before)):
                    mended += 1
                    continue
                fallback = x_now[xcols].copy()  # mended at a cost: a MILP may do better
            x_now[xcols], state.taken, state.quantity = saved
        if nodes <= 0 or time.monotonic() >= deadline:  # no MILP: the mended split, if any
            clock = True
            if fallback is not None:
                x_now[xcols] = fallback
                mended += 1
            continue
        for may_stop in (False, True):  # keep every run if whole commitments can, else let some stop
            h = quiet_highs()
            h.passModel(
                blocks.lp(b, model.cost, fixed_y=runs, integers=block.nxint, budget=budget, may_stop=may_stop)
            )
            h.setOptionValue("mip_rel_gap", 1e-6)
            h.setOptionValue("mip_max_nodes", int(nodes))
            h.setOptionValue("time_limit", max(0.0, deadline - time.monotonic()))
            h.run()
            clock = clock or h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit
            if h.getInfo().primal_solution_status == 2 or clock:
                break
        if h.getInfo().primal_solution_status != 2:
            if fallback is not None:
                x_now[xcols] = fallback
                mended += 1
            continue
        x = np.round(np.array(h.getSolution().col_value)[block.ny : block.nxint])
        if fallback is not None and _worth(model, xcols, fallback, True) >= _worth(model, xcols, x, True):
            x_now[xcols] = fallback
            mended += 1
            continue
        x_now[xcols] = x
        repaired += 1
    counts: Counts = defaultdict(dict)
    x = values[model.x0 : model.z0]
    for i in np.flatnonzero(x > 0.5):
        k, oid, t = model.xs[i]
        counts[k][(oid, t)] = int(round(x[i]))
    return Split(dict(counts), solved.objective, repaired, mended, clock)
