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

from mercato.pools.blocks import Blocks
from mercato.pools.milp import Model, Solved, _highs, quiet_highs
from mercato.pools.model import Offer

Counts = dict[int, dict[tuple[str, int], int]]


@dataclass(frozen=True)
class Split:
    counts: Counts  # per class, members sent to each run
    lp: float  # the split LP's optimum (an upper bound on any whole split of these runs)
    repaired: int  # blocks solved again as a MILP
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
    repaired, clock = 0, False
    for b, block in enumerate(blocks.blocks):
        budget = np.zeros(len(capacity))
        budget[block.makers] = np.floor(share[b] + 1e-6) + spare[block.makers]
        used = block.capacity @ values[block.cols]
        bad = bool(np.any(outside[block.cols[: block.ny]] | fractional[block.cols[: block.ny]]))
        bad = bad or bool(np.any(used > budget[block.makers] + 1e-6))
        if not bad or nodes <= 0:
            continue
        if time.monotonic() >= deadline:
            clock = True
            break
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
            continue
        x = np.array(h.getSolution().col_value)
        values[block.cols[: block.nxint]] = np.round(x[: block.nxint])
        repaired += 1
    counts: Counts = defaultdict(dict)
    x = values[model.x0 : model.z0]
    for i in np.flatnonzero(x > 0.5):
        k, oid, t = model.xs[i]
        counts[k][(oid, t)] = int(round(x[i]))
    return Split(dict(counts), solved.objective, repaired, clock)
