"""The clearing model split into independent blocks, coupled only by the manufacturers' capacities.

A commitment class lists offers that are substitutes for each other; offers linked through some
class (directly or in a chain) form one **block** (on a network, a family of substitutes). Every
row of the model except the manufacturers' capacity rows touches the columns of exactly one block:
a class row its own class's columns, a run, link or offer row one offer's. So once the capacity
rows are priced (``lam``, one price per unit of a manufacturer's capacity) or each block is given a
share of every capacity (``budget``), the blocks are solved one by one. ``Blocks`` holds, per
block, its columns and rows in the full model and builds the block's LP for HiGHS.

Pure and deterministic: blocks are numbered by their smallest offer id.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse

from mercato.pools.milp import Model


@dataclass(frozen=True)
class Block:
    cols: np.ndarray  # its columns in the model (y first, then x, then z: the model's own order)
    rows: np.ndarray  # its rows in the model, capacity rows left out
    ny: int  # how many of ``cols`` are y columns
    nxint: int  # how many of ``cols`` are y or x columns (the integer ones of the exact model)
    makers: np.ndarray  # the manufacturers (positions in ``model.makers``) its offers belong to
    capacity: sparse.csr_matrix  # units of each of ``makers`` per unit of each of ``cols``


def _components(model: Model) -> dict[str, str]:
    """Each offer of the model -> the smallest offer id of its block."""
    parent: dict[str, str] = {oid: oid for oid, _ in model.ys}

    def find(a: str) -> str:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    by_class: dict[int, str] = {}
    for k, oid, _ in model.xs:
        first = by_class.setdefault(k, oid)
        ra, rb = find(first), find(oid)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {oid: find(oid) for oid in parent}


class Blocks:
    """The blocks of ``model`` (see the module docstring)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        root = _components(model)
        names = sorted(set(root.values()))
        number = {name: b for b, name in enumerate(names)}
        of_class: dict[int, int] = {}
        col_block = np.empty(model.n, dtype=np.int64)
        for i, (oid, _) in enumerate(model.ys):
            col_block[i] = number[root[oid]]
        for i, (k, oid, _) in enumerate(model.xs):
            col_block[model.x0 + i] = of_class.setdefault(k, number[root[oid]])
        for j, (k, _) in enumerate(model.zs):
            col_block[model.z0 + j] = of_class[k]
        csc = model.matrix.tocsc()
        self.capacity = sparse.csr_matrix(csc[model.makers, :]) if len(model.makers) else None
        coupling = np.zeros(csc.shape[0], dtype=bool)
        coupling[model.makers] = True
        # each row's block: that of its first column (every non-capacity row lies in one block)
        csr = csc.tocsr()
        nonempty = np.diff(csr.indptr) > 0
        row_block = np.full(csc.shape[0], -1, dtype=np.int64)
        row_block[nonempty] = col_block[csr.indices[csr.indptr[:-1][nonempty]]]
        row_block[coupling] = -1
        col_order = np.argsort(col_block, kind="stable")
        col_cut = np.searchsorted(col_block[col_order], np.arange(len(names) + 1))
        row_order = np.argsort(row_block, kind="stable")
        row_cut = np.searchsorted(row_block[row_order], np.arange(-1, len(names) + 1))
        self.blocks: list[Block] = []
        for b in range(len(names)):
            cols = col_order[col_cut[b] : col_cut[b + 1]]
            rows = row_order[row_cut[b + 1] : row_cut[b + 2]]
            ny = int(np.count_nonzero(cols < model.x0))
            nxint = int(np.count_nonzero(cols < model.z0))
            if self.capacity is not None:
                mine = sparse.csr_matrix(self.capacity[:, cols])
                makers = np.unique(mine.tocoo().row)
                mine = sparse.csr_matrix(mine[makers, :])
            else:
                makers = np.zeros(0, dtype=np.int64)
                mine = sparse.csr_matrix((0, len(cols)))
            self.blocks.append(Block(cols, rows, ny, nxint, makers, mine))
        self._csc = csc

    def __len__(self) -> int:
        return len(self.blocks)

    def priced_cost(self, lam: np.ndarray) -> np.ndarray:
        """The model's column costs with each unit of capacity ``m`` charged ``lam[m]``."""
        if self.capacity is None:
            return self.model.cost.copy()
        return np.asarray(self.model.cost - self.capacity.T @ lam)

    def lp(
        self,
        b: int,
        cost: np.ndarray,
        fixed_y: dict[tuple[str, int], int] | None = None,
        integers: int = 0,
        budget: np.ndarray | None = None,
        may_stop: bool = False,
    ) -> highspy.HighsLp:
        """Block ``b`` as a HiGHS model with column costs ``cost`` (full length). ``fixed_y`` fixes
        every y (absent pairs off); the first ``integers`` columns are integer (``block.ny``: the
        y, ``block.nxint``: y and x); ``budget`` adds the block's capacity rows with these upper
        bounds (one per manufacturer, full length); with ``may_stop`` the runs of ``fixed_y`` may
        also not run (their y lower bound is 0)."""
        block = self.blocks[b]
        model = self.model
        sub = self._csc[:, block.cols]
        matrix = sub[block.rows, :]
        lower = model.row_lower[block.rows]
        upper = model.row_upper[block.rows]
        if budget is not None and len(block.makers):
            matrix = sparse.vstack([matrix, block.capacity])
            lower = np.concatenate([lower, np.full(len(block.makers), -highspy.kHighsInf)])
            upper = np.concatenate([upper, budget[block.makers].astype(float)])
        matrix = sparse.csc_matrix(matrix)
        matrix.sort_indices()
        n = len(block.cols)
        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = matrix.shape[0]
        lp.col_cost_ = cost[block.cols]
        col_lower = np.zeros(n)
        col_upper = model.upper[block.cols].copy()
        if fixed_y is not None:
            for i in range(block.ny):
                col_upper[i] = float(fixed_y.get(model.ys[block.cols[i]], 0))
                col_lower[i] = 0.0 if may_stop else col_upper[i]
        lp.col_lower_ = col_lower
        lp.col_upper_ = col_upper
        lp.row_lower_ = lower
        lp.row_upper_ = upper
        lp.sense_ = highspy.ObjSense.kMaximize
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_ = n
        lp.a_matrix_.num_row_ = matrix.shape[0]
        lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = matrix.data
        if integers:
            kinds = [highspy.HighsVarType.kInteger] * integers
            lp.integrality_ = kinds + [highspy.HighsVarType.kContinuous] * (n - integers)
        return lp
