"""The clearing MILP, solved with HiGHS (see clearing.py for the model)."""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from typing import TYPE_CHECKING

import highspy
import numpy as np

if TYPE_CHECKING:
    from mercato.pools.clearing import Assignment, _Group
    from mercato.pools.model import Pool


def _quiet_highs() -> highspy.Highs:
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
    return h


def solve(
    pool: Pool, groups: list[_Group], warm: Assignment, time_limit: float
) -> tuple[Assignment, str, float] | None:
    """Solve the MILP; returns (assignment, status, LP bound) or None when nothing can run."""
    offers = {o.id: o for o in pool.offers}
    # columns: y[o,t] binaries, then x[g,o,t] integers
    ys: list[tuple[str, int]] = []
    for o in pool.offers:
        for t in range(len(o.tiers)):
            low, high = o.tier_range(t)
            if low <= high:
                ys.append((o.id, t))
    ycol = {key: i for i, key in enumerate(ys)}
    xs: list[tuple[int, str, int]] = []
    for gi, g in enumerate(groups):
        for oid in g.offers:
            for t, tier in enumerate(offers[oid].tiers):
                if (oid, t) in ycol and g.max_unit_price >= tier.unit_price:
                    if g.quantity <= offers[oid].tier_range(t)[1]:
                        xs.append((gi, oid, t))
    if not xs:
        return None
    n = len(ys) + len(xs)
    lower = np.zeros(n)
    upper = np.ones(n)
    cost = np.zeros(n)
    for k, (gi, oid, t) in enumerate(xs):
        g = groups[gi]
        upper[len(ys) + k] = len(g.members)
        cost[len(ys) + k] = (g.max_unit_price - offers[oid].tiers[t].unit_price) * g.quantity
    h = _quiet_highs()
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("time_limit", float(time_limit))
    h.addVars(n, lower, upper)
    idx = np.arange(n, dtype=np.int32)
    h.changeColsCost(n, idx, cost)
    h.changeColsIntegrality(n, idx, np.full(n, highspy.HighsVarType.kInteger.value, dtype=np.uint8))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)

    def row(lo: float, hi: float, cols: list[int], vals: list[float]) -> None:
        if cols:
            h.addRow(lo, hi, len(cols), np.array(cols, dtype=np.int32), np.array(vals, dtype=np.float64))

    inf = highspy.kHighsInf
    by_group: dict[int, list[int]] = defaultdict(list)
    by_run: dict[tuple[str, int], list[int]] = defaultdict(list)
    by_maker: dict[str, list[int]] = defaultdict(list)
    for k, (gi, oid, t) in enumerate(xs):
        by_group[gi].append(len(ys) + k)
        by_run[(oid, t)].append(len(ys) + k)
        by_maker[offers[oid].manufacturer].append(len(ys) + k)
    qty = {len(ys) + k: float(groups[gi].quantity) for k, (gi, _, _) in enumerate(xs)}
    for gi, cols in sorted(by_group.items()):
        row(-inf, float(len(groups[gi].members)), cols, [1.0] * len(cols))
    for (oid, t), col in ycol.items():
        cols = by_run.get((oid, t), [])
        low, high = offers[oid].tier_range(t)
        row(-inf, 0.0, [*cols, col], [*(qty[c] for c in cols), -float(high)])
        row(0.0, inf, [*cols, col], [*(qty[c] for c in cols), -float(low)])
    per_offer: dict[str, list[int]] = defaultdict(list)
    for (oid, _), col in ycol.items():
        per_offer[oid].append(col)
    for cols in per_offer.values():
        row(-inf, 1.0, cols, [1.0] * len(cols))
    for m in pool.manufacturers:
        cols = by_maker.get(m.id, [])
        row(-inf, float(m.capacity), cols, [qty[c] for c in cols])

    # warm start from the greedy assignment
    start = np.zeros(n)
    group_of = {cid: gi for gi, g in enumerate(groups) for cid in g.members}
    xcol = {(gi, oid, t): len(ys) + k for k, (gi, oid, t) in enumerate(xs)}
    for oid, (t, ids) in warm.items():
        start[ycol[(oid, t)]] = 1.0
        for cid in ids:
            start[xcol[(group_of[cid], oid, t)]] += 1.0
    sol = highspy.HighsSolution()
    sol.col_value = list(start)
    h.setSolution(sol)

    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    status = "optimal" if model_status == highspy.HighsModelStatus.kOptimal else "time_limit"
    bound = float(info.mip_dual_bound)
    values = list(h.getSolution().col_value)
    if len(values) != n:
        return warm, status, bound
    assignment: dict[str, tuple[int, list[str]]] = {}
    used: dict[int, int] = defaultdict(int)
    for k, (gi, oid, t) in enumerate(xs):
        count = int(round(values[len(ys) + k]))
        if count <= 0:
            continue
        g = groups[gi]
        ids = list(g.members[used[gi] : used[gi] + count])
        used[gi] += count
        entry = assignment.setdefault(oid, (t, []))
        if entry[0] != t:
            return warm, status, bound
        entry[1].extend(ids)
    return {oid: (t, sorted(ids)) for oid, (t, ids) in assignment.items()}, status, bound
