"""The bound of a large pool by pricing the manufacturers' capacities (Dantzig-Wolfe / Lagrange).

Only the capacity rows couple the blocks of the unit model (blocks.py). For prices ``lam >= 0`` on
them, every solution of the model has surplus at most

    L(lam) = sum over blocks b of  max over block b's solutions of (surplus - lam . capacity used)
             + lam . capacities,

because a feasible solution's priced term ``lam . (capacities - used)`` is not negative. With the
blocks' LP relaxations inside the max, min over lam of L is the LP relaxation's optimum; with the
blocks solved with y integer (bnb.py) L is at least as tight, and any lam gives a true bound.

``Decomposition.relax`` finds the prices by column generation: a master LP chooses a convex
combination of known solutions per block within the capacities; its capacity duals price the
blocks, whose best solutions at those prices enter the master, until the master's value meets the
best L found (the LP optimum, within ``GAP``). ``Decomposition.integer`` then solves every block
with integer y at the best prices: a bound at least as tight as the LP's, and one run choice per
block. Each block keeps its own HiGHS instance, so a re-solve starts from its last basis; only
blocks with an offer of a manufacturer whose price changed are re-solved.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np

from mercato.pools.blocks import Blocks
from mercato.pools.bnb import branch_and_bound
from mercato.pools.milp import quiet_highs

GAP = 1e-6  # relative distance between the master and the best L at which the prices are final
ROUNDS = 100  # column-generation rounds at most (a count, not a time: the result is deterministic)


@dataclass(frozen=True)
class Relaxed:
    status: str  # "optimal" (within GAP), "rounds" (ROUNDS reached) or "time_limit"
    bound: float  # the best L(lam): an upper bound on the model (and on the LP relaxation)
    objective: float  # the master's value: a feasible LP value, at most the LP optimum
    lam: np.ndarray  # the prices that gave ``bound``
    values: np.ndarray  # the master's LP solution, as the model's columns
    rounds: int


@dataclass(frozen=True)
class Integral:
    bound: float  # L(lam) with every block's y integer: an upper bound on the unit model
    values: np.ndarray  # per block its best integer-y solution at these prices, as the model's columns
    complete: bool  # every block's search finished (else its open nodes' bound was used)


def _highs() -> highspy.Highs:
    h = quiet_highs()
    h.setOptionValue("presolve", "off")  # small LPs re-solved from their basis: presolve only costs
    return h


class Decomposition:
    def __init__(self, blocks: Blocks) -> None:
        self.blocks = blocks
        model = blocks.model
        self.capacity = model.row_upper[model.makers].astype(float)
        self.cost = model.cost
        self.solvers: list[highspy.Highs] = []
        self.groups: list[list[np.ndarray]] = []
        for block in blocks.blocks:
            offers: dict[str, list[int]] = {}
            for i in range(block.ny):
                offers.setdefault(model.ys[block.cols[i]][0], []).append(i)
            self.groups.append([np.array(v, dtype=np.int64) for _, v in sorted(offers.items())])

    def _price(self, b: int, cost: np.ndarray) -> tuple[float, np.ndarray]:
        block = self.blocks.blocks[b]
        if b == len(self.solvers):
            h = _highs()
            h.passModel(self.blocks.lp(b, cost))
            self.solvers.append(h)
        else:
            h = self.solvers[b]
            h.changeColsCost(len(block.cols), np.arange(len(block.cols), dtype=np.int32), cost[block.cols])
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise ArithmeticError(f"block {b}: HiGHS ended with {h.getModelStatus()}")
        return float(h.getInfo().objective_function_value), np.array(h.getSolution().col_value)

    def relax(self, deadline: float) -> Relaxed:
        nb, nm = len(self.blocks), len(self.capacity)
        master = _highs()
        master.changeObjectiveSense(highspy.ObjSense.kMaximize)
        none_i, none_v = np.zeros(0, dtype=np.int32), np.zeros(0)
        inf = highspy.kHighsInf
        master.addRows(nb, np.full(nb, -inf), np.ones(nb), 0, none_i, none_i, none_v)
        if nm:
            master.addRows(nm, np.full(nm, -inf), self.capacity, 0, none_i, none_i, none_v)
        lam = np.zeros(nm)
        value = np.zeros(nb)
        columns: list[tuple[int, np.ndarray]] = []
        last: dict[int, np.ndarray] = {}
        best, best_lam, objective = inf, lam, -inf
        status, changed = "rounds", list(range(nb))
        rounds = 0
        while rounds < ROUNDS:
            rounds += 1
            if time.monotonic() > deadline:
                status = "time_limit"
                break
            cost = self.blocks.priced_cost(lam)
            added = 0
            for b in changed:
                v, x = self._price(b, cost)
                value[b] = max(0.0, v)
                # a new solution enters the master (even one that does not price out now: its
                # block may not be priced again while the prices of its manufacturers stay put)
                if v > 1e-9 and not (b in last and np.array_equal(last[b], x)):
                    last[b] = x
                    block = self.blocks.blocks[b]
                    cols = block.cols
                    used = block.capacity @ x
                    nz = np.flatnonzero(np.abs(used) > 1e-12)
                    idx = np.concatenate([[b], nb + block.makers[nz]]).astype(np.int32)
                    entries = np.concatenate([[1.0], used[nz]])
                    master.addCol(float(self.cost[cols] @ x), 0.0, inf, len(idx), idx, entries)
                    columns.append((b, x))
                    added += 1
            bound = float(value.sum() + lam @ self.capacity)
            if bound < best:
                best, best_lam = bound, lam.copy()
            if added == 0:
                status = "optimal"
                break
            master.run()
            objective = float(master.getInfo().objective_function_value)
            duals = np.array(master.getSolution().row_dual)
            if best - objective <= GAP * max(1.0, abs(best)):
                status = "optimal"
                break
            new = np.maximum(duals[nb:], 0.0)
            moved = np.flatnonzero(new != lam)
            lam = new
            changed = [b for b, bl in enumerate(self.blocks.blocks) if np.intersect1d(bl.makers, moved).size]
        values = np.zeros(self.blocks.model.n)
        if columns and objective > -inf:
            theta = np.array(master.getSolution().col_value)
            for (b, x), t in zip(columns, theta, strict=True):
                if t > 0.0:
                    values[self.blocks.blocks[b].cols] += t * x
        return Relaxed(status, best, max(objective, 0.0), best_lam, values, rounds)

    def integer(self, lam: np.ndarray, nodes: int) -> Integral:
        """Every block with integer y at prices ``lam``, each search within ``nodes`` LPs."""
        cost = self.blocks.priced_cost(lam)
        total = float(lam @ self.capacity)
        values = np.zeros(self.blocks.model.n)
        complete = True
        for b, block in enumerate(self.blocks.blocks):
            root = self._price(b, cost)
            found = branch_and_bound(self.solvers[b], block.ny, self.groups[b], root, nodes)
            total += max(0.0, found.bound)
            values[block.cols] = found.x
            complete = complete and found.complete
        return Integral(total, values, complete)
