"""Branch and bound on one block's run decisions (see blocks.py), with warm-started LPs.

A block has a handful of offers (a family of substitutes), each on at most one of a few tiers. Its
LP relaxation (y continuous) is solved by a HiGHS instance that is kept between calls; this module
decides the y exactly: a node fixes some offers off or on one tier, its LP (re-solved from the
previous basis) bounds every choice below it. A node whose LP has every y at 0 or 1 is a solution
of the block (x stays continuous: the unit model). Nodes are explored best bound first, ties in
creation order, and the search stops after ``nodes`` LPs, so the result never depends on the clock.
The returned ``bound`` is the best solution's value or the best bound of a node left open, so it
is an upper bound on the block's optimum whether or not the search finished.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import highspy
import numpy as np

EPS = 1e-6


@dataclass(frozen=True)
class BlockSolution:
    value: float  # the best solution found (0: every offer off, always feasible)
    bound: float  # upper bound on the block's optimum (>= value)
    x: np.ndarray  # the best solution's columns (zeros when it is all-off)
    nodes: int  # LPs solved after the root
    complete: bool  # the search proved ``bound`` (it did not stop on the node limit)


def _solve(
    h: highspy.Highs, ny: int, lower: np.ndarray, upper: np.ndarray
) -> tuple[float, np.ndarray] | None:
    idx = np.arange(ny, dtype=np.int32)
    h.changeColsBounds(ny, idx, lower, upper)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return float(h.getInfo().objective_function_value), np.array(h.getSolution().col_value)


def _fractional(y: np.ndarray, groups: list[np.ndarray]) -> int | None:
    """The offer (group) to branch on: the one whose y are furthest from integral, first on ties."""
    best, pick = EPS, None
    for g, members in enumerate(groups):
        worst = float(np.max(np.minimum(y[members], 1.0 - y[members])))
        if worst > best:
            best, pick = worst, g
    return pick


def branch_and_bound(
    h: highspy.Highs, ny: int, groups: list[np.ndarray], root: tuple[float, np.ndarray], nodes: int
) -> BlockSolution:
    """Decide the y of the block whose LP ``h`` holds (its first ``ny`` columns, ``groups``: the y
    columns of each offer) from its solved ``root`` LP, within ``nodes`` more LPs. ``h`` is left
    with its y bounds back at [0, 1]."""
    value, x = root
    n = len(x)
    lower0, upper0 = np.zeros(ny), np.ones(ny)
    best_value, best_x = 0.0, np.zeros(n)
    tol = 1e-9 * max(1.0, abs(value))
    if _fractional(x[:ny], groups) is None:
        if value > best_value:
            best_value, best_x = value, x
        return BlockSolution(best_value, max(best_value, value), best_x, 0, True)
    heap: list[tuple[float, int, np.ndarray, np.ndarray, np.ndarray]] = [(-value, 0, lower0, upper0, x)]
    made = solved = 0
    try:
        while heap and solved < nodes:
            neg, _, lower, upper, x = heap[0]
            if -neg <= best_value + tol:
                break
            heapq.heappop(heap)
            g = _fractional(x[:ny], groups)
            assert g is not None  # integral nodes are never pushed
            members = groups[g]
            children = []
            off_upper = upper.copy()
            off_upper[members] = 0.0
            children.append((lower, off_upper))
            for i in members:
                if upper[i] > 0.0:
                    on_lower, on_upper = lower.copy(), upper.copy()
                    on_upper[members] = 0.0
                    on_upper[i] = on_lower[i] = 1.0
                    children.append((on_lower, on_upper))
            for child_lower, child_upper in children:
                solved += 1
                found = _solve(h, ny, child_lower, child_upper)
                if found is None or found[0] <= best_value + tol:
                    continue
                if _fractional(found[1][:ny], groups) is None:
                    best_value, best_x = found
                else:
                    made += 1
                    heapq.heappush(heap, (-found[0], made, child_lower, child_upper, found[1]))
    finally:
        h.changeColsBounds(ny, np.arange(ny, dtype=np.int32), lower0, upper0)
    open_bound = max((-entry[0] for entry in heap), default=best_value)
    complete = not heap or open_bound <= best_value + tol
    return BlockSolution(best_value, max(best_value, open_bound), best_x, solved, complete)
