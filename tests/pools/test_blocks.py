"""Blocks of the clearing model and branch and bound inside one block (blocks.py, bnb.py)."""

from __future__ import annotations

import highspy
import numpy as np
from hypothesis import HealthCheck, given, settings

from mercato.pools import milp
from mercato.pools.aggregate import classes
from mercato.pools.blocks import Blocks
from mercato.pools.bnb import branch_and_bound
from mercato.pools.model import Pool, parse_pool
from tests.pools.helpers import commitment, document, offer
from tests.pools.test_clearing import pools


def _units(pool: Pool) -> milp.Model | None:
    return milp.build(pool, classes(pool, by_quantity=False))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_blocks_partition_columns_and_rows(pool: Pool) -> None:
    model = _units(pool)
    if model is None:
        return
    blocks = Blocks(model)
    cols = np.concatenate([b.cols for b in blocks.blocks])
    assert sorted(cols.tolist()) == list(range(model.n))
    rows = np.concatenate([b.rows for b in blocks.blocks])
    assert len(set(rows.tolist())) == len(rows)
    assert not set(rows.tolist()) & set(model.makers.tolist())
    matrix = model.matrix.tocsr()
    for block in blocks.blocks:
        # a block's rows touch only its own columns, its columns only its rows and capacity rows
        inside = set(block.cols.tolist())
        for r in block.rows.tolist():
            assert set(matrix.indices[matrix.indptr[r] : matrix.indptr[r + 1]].tolist()) <= inside
        touched = set(model.matrix[:, block.cols].tocoo().row.tolist())
        assert touched <= set(block.rows.tolist()) | set(model.makers.tolist())
        assert block.ny <= block.nxint <= len(block.cols)
        assert all(c < model.x0 for c in block.cols[: block.ny])


def test_substitutes_share_a_block_and_unrelated_offers_do_not() -> None:
    doc = document(
        {"m1": 100, "m2": 100},
        [
            offer("a", "m1", [(1, 100)], 1, 50),
            offer("b", "m2", [(1, 100)], 1, 50),
            offer("c", "m1", [(1, 100)], 1, 50),
        ],
        [commitment("x", 1, 120, ["a", "b"]), commitment("y", 1, 120, ["c"])],
    )
    model = _units(parse_pool(doc))
    assert model is not None
    blocks = Blocks(model)
    offers = [{model.ys[c][0] for c in b.cols[: b.ny]} for b in blocks.blocks]
    assert offers == [{"a", "b"}, {"c"}]
    assert [b.makers.tolist() for b in blocks.blocks] == [[0, 1], [0]]


def _block_mip(blocks: Blocks, b: int, cost: np.ndarray) -> float:
    h = milp.quiet_highs()
    h.passModel(blocks.lp(b, cost, integers=blocks.blocks[b].ny))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return float(h.getInfo().objective_function_value)


def _root(blocks: Blocks, b: int, cost: np.ndarray) -> tuple[highspy.Highs, tuple[float, np.ndarray]]:
    h = milp.quiet_highs()
    h.passModel(blocks.lp(b, cost))
    h.run()
    return h, (float(h.getInfo().objective_function_value), np.array(h.getSolution().col_value))


def _groups(model: milp.Model, blocks: Blocks, b: int) -> list[np.ndarray]:
    block = blocks.blocks[b]
    by_offer: dict[str, list[int]] = {}
    for i in range(block.ny):
        by_offer.setdefault(model.ys[block.cols[i]][0], []).append(i)
    return [np.array(v) for _, v in sorted(by_offer.items())]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_branch_and_bound_solves_each_block_exactly(pool: Pool) -> None:
    model = _units(pool)
    if model is None:
        return
    blocks = Blocks(model)
    cost = blocks.priced_cost(np.full(len(model.makers), 3.0))  # any prices: blocks stand alone
    for b, block in enumerate(blocks.blocks):
        best = max(0.0, _block_mip(blocks, b, cost))
        h, root = _root(blocks, b, cost)
        found = branch_and_bound(h, block.ny, _groups(model, blocks, b), root, 1000)
        assert found.complete
        assert abs(found.value - best) <= 1e-6 * max(1.0, abs(best))
        assert found.bound >= best - 1e-6
        y = found.x[: block.ny]
        assert np.all(np.minimum(np.abs(y), np.abs(1 - y)) <= 1e-6)
        # with no node to spend, the bound still holds (the root LP's)
        h, root = _root(blocks, b, cost)
        cut = branch_and_bound(h, block.ny, _groups(model, blocks, b), root, 0)
        assert cut.bound >= best - 1e-6 and cut.value <= best + 1e-6


def test_branch_and_bound_closes_fractional_blocks_of_a_network_pool() -> None:
    from tests.pools.test_clearing_large import _bench

    pool = _bench().generate(3000, seed=2, makers=5, offers=40)
    model = _units(pool)
    assert model is not None
    blocks = Blocks(model)
    fractional = 0
    for b, block in enumerate(blocks.blocks):
        h, root = _root(blocks, b, model.cost)
        y = root[1][: block.ny]
        if np.all(np.minimum(y, 1 - y) <= 1e-6):
            continue
        fractional += 1
        found = branch_and_bound(h, block.ny, _groups(model, blocks, b), root, 1000)
        best = _block_mip(blocks, b, model.cost)
        assert found.complete and found.nodes >= 1
        assert abs(found.value - best) <= 1e-6 * max(1.0, abs(best))
        assert found.value <= found.bound <= root[0] + 1e-6
    assert fractional > 0
