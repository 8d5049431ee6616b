"""The clearing model on commitment classes, solved with HiGHS (see clearing.py and aggregate.py).

Columns: ``y[o,t]`` binary (offer o runs on tier t); ``x[k,o,t]`` integer, how many members (or
units, for mixed-quantity classes) of class k go to (o,t); ``z[k,s]`` continuous in [0, count of
segment s], the members taken from the class's max-price segment s. Rows:

- class k:      sum_s z[k,s] - sum_(o,t) x[k,o,t] = 0  (accepted members are the best-paying ones)
- run (o,t):    low(o,t) y[o,t] <= sum_k w_k x[k,o,t] <= high(o,t) y[o,t]  (w = quantity, or 1 for units)
- link (k,o,t): x[k,o,t] <= min(size_k, high/w_k) y[o,t]  (redundant for integers, tightens the LP)
- offer o:      sum_t y[o,t] <= 1
- maker m:      sum over its offers of w_k x[k,o,t] <= capacity(m)

Objective: sum_s (max price of s) w z[k,s] - sum (tier price) w x[k,o,t]. With the link rows each
offer's LP relaxation is the convex hull of "off, or on one tier with a run in that tier's range", so
the LP bound is much tighter than the big-M model's.
"""

from __future__ import annotations

import math
import os
import sys
from collections import defaultdict
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy import sparse

from mercato.pools.aggregate import Class
from mercato.pools.model import Pool


def quiet_highs() -> highspy.Highs:
    """A Highs instance with logging off; its constructor prints a banner straight to fd 1."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()  # type: ignore[no-untyped-call]
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    return h


@dataclass
class Model:
    """The clearing model of ``pool`` on ``classes``, as arrays ready for HiGHS."""

    classes: list[Class]
    ys: list[tuple[str, int]]
    xs: list[tuple[int, str, int]]
    zs: list[tuple[int, int]]
    cost: np.ndarray
    upper: np.ndarray
    matrix: sparse.csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    ycol: dict[tuple[str, int], int] = field(default_factory=dict)
    columns: np.ndarray | None = None  # for a restricted model: its columns in the full one
    makers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # capacity rows

    @property
    def x0(self) -> int:
        return len(self.ys)

    @property
    def z0(self) -> int:
        return len(self.ys) + len(self.xs)

    @property
    def n(self) -> int:
        return len(self.ys) + len(self.xs) + len(self.zs)

    def weight(self, k: int) -> int:
        return self.classes[k].quantity or 1


def build(
    pool: Pool, classes: list[Class], links: bool = True, only: set[tuple[str, int]] | None = None
) -> Model | None:
    """The model, or None when no class can be served by any tier of any of its offers. Without
    ``links`` the link rows are left out (for models solved with every y fixed, where they are
    plain bounds). With ``only`` just those (offer, tier) pairs can run (as ``restrict`` would
    leave it, but without building the rest)."""
    ordered = sorted(pool.offers, key=lambda o: o.id)
    place = {o.id: i for i, o in enumerate(ordered)}
    ranges = [[o.tier_range(t) for t in range(len(o.tiers))] for o in ordered]
    xs: list[tuple[int, str, int]] = []
    xup: list[float] = []
    x_offer: list[int] = []
    for k, cls in enumerate(classes):
        w = cls.quantity or 1
        size = cls.size
        for oid, first in zip(cls.offers, cls.first_tier, strict=True):
            o = place[oid]
            tiers = ranges[o]
            for t in range(first, len(tiers)):
                low, high = tiers[t]
                if low <= high and w <= high and (only is None or (oid, t) in only):
                    xs.append((k, oid, t))
                    xup.append(float(min(size, high // w)))
                    x_offer.append(o)
    if not xs:
        return None
    nx = len(xs)
    xk = np.fromiter((k for k, _, _ in xs), dtype=np.int64, count=nx)
    xt = np.fromiter((t for _, _, t in xs), dtype=np.int64, count=nx)
    xo = np.array(x_offer, dtype=np.int64)
    deepest = max(len(o.tiers) for o in ordered)
    pair, y_of_x = np.unique(xo * deepest + xt, return_inverse=True)  # sorted by (offer id, tier)
    y_of_x = y_of_x.reshape(-1)
    yo, yt = pair // deepest, pair % deepest
    ys = [(ordered[o].id, int(t)) for o, t in zip(yo.tolist(), yt.tolist(), strict=True)]
    ycol = {key: i for i, key in enumerate(ys)}
    served, class_row = np.unique(xk, return_inverse=True)
    class_row = class_row.reshape(-1)
    zs = [(k, s) for k in served.tolist() for s in range(len(classes[k].segments))]
    ny, nz, nc = len(ys), len(zs), len(served)
    n = ny + nx + nz
    weight = np.array([float(c.quantity or 1) for c in classes])
    wx = weight[xk]
    unit_price = [[float(t.unit_price) for t in o.tiers] + [0.0] * (deepest - len(o.tiers)) for o in ordered]
    cost = np.zeros(n)
    upper = np.ones(n)
    upper[ny : ny + nx] = xup
    cost[ny : ny + nx] = -np.array(unit_price)[xo, xt] * wx
    zk = np.fromiter((k for k, _ in zs), dtype=np.int64, count=nz)
    cost[ny + nx :] = [float(classes[k].segments[s][0]) for k, s in zs] * weight[zk]
    upper[ny + nx :] = [float(classes[k].segments[s][1]) for k, s in zs]
    makers_at = {m.id: i for i, m in enumerate(pool.manufacturers)}
    maker_of = np.array([makers_at[o.manufacturer] for o in ordered], dtype=np.int64)
    inf = highspy.kHighsInf
    # rows: classes, run upper, run lower, manufacturers, links (one per x), offers (one per offer)
    run_hi, run_lo, maker0 = nc, nc + ny, nc + 2 * ny
    link0 = maker0 + len(pool.manufacturers)
    present, offer_row = np.unique(yo, return_inverse=True)
    offer0 = link0 + (nx if links else 0)
    nrows = offer0 + len(present)
    xcol = ny + np.arange(nx)
    zcol = ny + nx + np.arange(nz)
    ycols = np.arange(ny)
    lows = np.array([ranges[o][t][0] for o, t in zip(yo.tolist(), yt.tolist(), strict=True)], dtype=float)
    highs = np.array([ranges[o][t][1] for o, t in zip(yo.tolist(), yt.tolist(), strict=True)], dtype=float)
    parts_r = [
        np.searchsorted(served, zk),
        class_row,
        run_hi + y_of_x,
        run_lo + y_of_x,
        maker0 + maker_of[xo],
        run_hi + ycols,
        run_lo + ycols,
        offer0 + offer_row.reshape(-1),
    ]
    parts_c = [zcol, xcol, xcol, xcol, xcol, ycols, ycols, ycols]
    parts_v = [np.ones(nz), -np.ones(nx), wx, wx, wx, -highs, -lows, np.ones(ny)]
    if links:
        parts_r += [link0 + np.arange(nx), link0 + np.arange(nx)]
        parts_c += [xcol, y_of_x]
        parts_v += [np.ones(nx), -upper[ny : ny + nx]]
    lo = np.zeros(nrows)
    hi = np.zeros(nrows)
    lo[run_hi:run_lo], hi[run_lo:maker0] = -inf, inf
    lo[maker0:link0] = -inf
    hi[maker0:link0] = [float(m.capacity) for m in pool.manufacturers]
    lo[link0:] = -inf
    hi[offer0:] = 1.0
    matrix = sparse.csc_matrix(
        (np.concatenate(parts_v), (np.concatenate(parts_r), np.concatenate(parts_c))), shape=(nrows, n)
    )
    matrix.sort_indices()
    makers = maker0 + np.arange(len(pool.manufacturers), dtype=np.int64)
    return Model(classes, ys, xs, zs, cost, upper, matrix, lo, hi, ycol, None, makers)


def restrict(model: Model, runs: set[tuple[str, int]] | dict[tuple[str, int], int]) -> Model:
    """The model with only the (offer, tier) pairs in ``runs`` able to run: the other y columns,
    their x columns and the z columns of classes left with no x column are removed (rows stay)."""
    keep_y = [i for i, key in enumerate(model.ys) if key in runs]
    keep_x = [i for i, (_, oid, t) in enumerate(model.xs) if (oid, t) in runs]
    served = {model.xs[i][0] for i in keep_x}
    keep_z = [j for j, (k, _) in enumerate(model.zs) if k in served]
    cols = np.array(keep_y + [model.x0 + i for i in keep_x] + [model.z0 + j for j in keep_z], dtype=np.int64)
    ys = [model.ys[i] for i in keep_y]
    matrix = model.matrix[:, cols].tocsc()
    matrix.sort_indices()
    return Model(
        model.classes,
        ys,
        [model.xs[i] for i in keep_x],
        [model.zs[j] for j in keep_z],
        model.cost[cols],
        model.upper[cols],
        matrix,
        model.row_lower,
        model.row_upper,
        {key: i for i, key in enumerate(ys)},
        cols,
        model.makers,
    )


def _highs(model: Model, integer: bool, fixed_y: dict[tuple[str, int], int] | None = None) -> highspy.Highs:
    lp = highspy.HighsLp()
    lp.num_col_ = model.n
    lp.num_row_ = len(model.row_lower)
    lp.col_cost_ = model.cost
    lower = np.zeros(model.n)
    upper = model.upper.copy()
    if fixed_y is not None:
        for key, col in model.ycol.items():
            lower[col] = upper[col] = float(fixed_y.get(key, 0))
    lp.col_lower_ = lower
    lp.col_upper_ = upper
    lp.row_lower_ = model.row_lower
    lp.row_upper_ = model.row_upper
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = model.n
    lp.a_matrix_.num_row_ = len(model.row_lower)
    lp.a_matrix_.start_ = model.matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = model.matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = model.matrix.data
    if integer:
        kinds = [highspy.HighsVarType.kInteger] * model.z0 + [highspy.HighsVarType.kContinuous] * len(
            model.zs
        )
        lp.integrality_ = kinds
    h = quiet_highs()
    h.passModel(lp)
    return h


@dataclass(frozen=True)
class Solved:
    status: str  # "optimal", "time_limit" (the clock stopped it), "limit" (the node limit) or "infeasible"
    objective: float  # of the model (an upper bound on the pool when the model is a relaxation)
    bound: float  # proven upper bound on the model's optimum
    values: np.ndarray


def solve_lp(
    model: Model,
    fixed_y: dict[tuple[str, int], int] | None = None,
    time_limit: float | None = None,
) -> Solved:
    """The LP relaxation (optionally with every y fixed); its objective bounds the model from above."""
    if model.n == 0:
        return Solved("optimal", 0.0, 0.0, np.zeros(0))
    h = _highs(model, integer=False, fixed_y=fixed_y)
    if time_limit is not None:
        h.setOptionValue("time_limit", max(0.0, float(time_limit)))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return Solved("infeasible", float("-inf"), float("inf"), np.zeros(model.n))
    values = np.array(h.getSolution().col_value)
    value = float(h.getInfo().objective_function_value)
    return Solved("optimal", value, value, values)


def solve_mip(
    model: Model,
    start: np.ndarray | None,
    time_limit: float,
    gap: float = 0.0,
    fixed_y: dict[tuple[str, int], int] | None = None,
    nodes: int | None = None,
) -> Solved:
    """The MILP from an optional feasible start, within ``time_limit`` seconds (and ``nodes``
    branch-and-bound nodes); ``fixed_y`` fixes every run decision (absent pairs do not run)."""
    if model.n == 0:
        return Solved("optimal", 0.0, 0.0, np.zeros(0))
    solved = _solve_mip_once(model, start, time_limit, gap, fixed_y, nodes)
    if start is not None and math.isfinite(solved.objective):
        # HiGHS (1.16) can report the optimum it found while handing back the start's column values
        # when presolve finishes the solve; never trust values whose objective is not the reported one
        worth = float(model.cost @ solved.values)
        if abs(worth - solved.objective) > 1e-6 * max(1.0, abs(solved.objective)):
            solved = _solve_mip_once(model, None, time_limit, gap, fixed_y, nodes)
    return solved


def _solve_mip_once(
    model: Model,
    start: np.ndarray | None,
    time_limit: float,
    gap: float,
    fixed_y: dict[tuple[str, int], int] | None,
    nodes: int | None,
) -> Solved:
    h = _highs(model, integer=True, fixed_y=fixed_y)
    h.setOptionValue("mip_rel_gap", float(gap))
    if nodes is not None:
        h.setOptionValue("mip_max_nodes", int(nodes))
    h.setOptionValue("time_limit", max(0.0, float(time_limit)))
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(start)
        h.setSolution(sol)
    h.run()
    info = h.getInfo()
    status = h.getModelStatus()
    word = "optimal" if status == highspy.HighsModelStatus.kOptimal else "limit"
    if status == highspy.HighsModelStatus.kTimeLimit:
        word = "time_limit"
    values = np.array(h.getSolution().col_value)
    if len(values) != model.n or info.primal_solution_status != 2:
        return Solved(word, float("-inf"), float(info.mip_dual_bound), np.zeros(model.n))
    return Solved(
        word,
        float(info.objective_function_value),
        float(info.mip_dual_bound),
        values,
    )


def runs_of(model: Model, values: np.ndarray) -> dict[tuple[str, int], int]:
    """The (offer, tier) pairs a solution runs."""
    y = values[: model.x0]
    return {model.ys[i]: 1 for i in np.flatnonzero(y > 0.5)}


def counts(model: Model, values: np.ndarray) -> dict[int, dict[tuple[str, int], int]]:
    """Per class, the (rounded down) count sent to each (offer, tier) in a solution."""
    out: dict[int, dict[tuple[str, int], int]] = defaultdict(dict)
    x = values[model.x0 : model.z0]
    for i in np.flatnonzero(x > 1e-6):
        k, oid, t = model.xs[i]
        c = int(np.floor(x[i] + 1e-6))
        if c > 0:
            out[k][(oid, t)] = c
    return out


def start_from(model: Model, assigned: dict[int, dict[tuple[str, int], int]]) -> np.ndarray:
    """A column vector from per-class counts (y, x and the best-paying z filled in)."""
    start = np.zeros(model.n)
    xcol = {key: model.x0 + i for i, key in enumerate(model.xs)}
    zcol = {key: model.z0 + j for j, key in enumerate(model.zs)}
    for k, per in assigned.items():
        total = 0
        for (oid, t), c in per.items():
            start[xcol[(k, oid, t)]] = c
            start[model.ycol[(oid, t)]] = 1.0
            total += c
        for s, (_, count) in enumerate(model.classes[k].segments):
            take = min(count, total)
            start[zcol[(k, s)]] = take
            total -= take
    return start
