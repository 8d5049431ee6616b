"""The large-pool clearing: a bound by pricing the capacities, runs per block, whole commitments.

Steps (see docs/pools.md, "Solving it"):

1. **bound**: the unit model (mixed-quantity classes, x counts units) split into blocks of
   substitute offers (blocks.py); the manufacturers' capacities are priced by column generation
   (dual.py) until its master meets the LP relaxation's optimum;
2. **run choice**: at those prices every block's run decisions are settled by branch and bound
   (bnb.py). The bound, ``L`` at those prices with integer blocks, is at least as tight as the LP
   relaxation's; the blocks' runs are the answer's runs;
3. **exact split**: whole commitments among those runs (split.py): one LP, rounding, single-member
   moves that mend the blocks the rounding left out of range, and a small MILP for a block they
   cannot mend cheaply (the MILPs are skipped, and the answer marked as cut by the clock, when
   less than ``STEP_COST`` times step 1's time is left);
4. handed out to commitments and polished (rounding.py).

If a block's LP fails numerically the full LP relaxation is solved instead and its rounded
solution is the answer (the method before the decomposition).
"""

from __future__ import annotations

import time

from mercato.pools import milp
from mercato.pools.aggregate import both
from mercato.pools.blocks import Blocks
from mercato.pools.clearing import Assignment, Clearing, _result, surplus_of
from mercato.pools.dual import Decomposition
from mercato.pools.model import Pool
from mercato.pools.rounding import Index, handout, polish, round_lp
from mercato.pools.split import split

NODES = 200  # branch-and-bound LPs per block (run choice) and nodes per block MILP (exact split)
STEP_COST = 0.5  # the exact split's repairs need this times step 1's time left


def clear_large(pool: Pool, deadline: float) -> Clearing:
    offers = {o.id: o for o in pool.offers}
    whole, mixed = both(pool)
    index = Index(pool)
    units = milp.build(pool, mixed)
    if units is None:
        return _result(pool, {}, "trivial", "greedy", 0.0)  # no feasible pairing: 0 is proven
    started = time.monotonic()
    try:
        decomposition = Decomposition(Blocks(units))
        relaxed = decomposition.relax(deadline)
    except ArithmeticError:
        return _full_lp(pool, units, index, deadline)
    step1 = time.monotonic() - started
    if relaxed.status == "time_limit" and relaxed.rounds <= 1:  # not a single round priced
        return _result(pool, polish(pool, {}, index), "time_limit", "greedy", None, index.by_id)
    clock = False  # whether the clock stopped a step (then the answer depends on machine speed)
    bound = relaxed.bound
    assignment: Assignment = {}
    if relaxed.status != "time_limit" and time.monotonic() < deadline:
        try:
            integral = decomposition.integer(relaxed.lam, NODES)
        except ArithmeticError:
            return _full_lp(pool, units, index, deadline)
        bound = min(bound, integral.bound)
        runs = milp.runs_of(units, integral.values)
        exact = milp.build(pool, whole, links=False, only=set(runs)) if runs else None
        repair = deadline - time.monotonic() >= STEP_COST * step1
        clock = not repair
        if exact is not None:
            found = split(exact, runs, offers, deadline, NODES if repair else 0)
            if found is None:
                clock = True
            else:
                clock = clock or found.clock
                assignment = polish(pool, handout(exact, found.counts, offers), index)
    else:
        clock = True
    if not assignment:  # no runs chosen, or a step was cut: the rounding of the master's LP
        assignment = polish(pool, handout(units, round_lp(units, relaxed.values), offers), index)
    objective = surplus_of(pool, assignment, index.by_id)
    if bound - objective < 1.0:  # surpluses are whole numbers: nothing better exists
        bound = float(objective)
    status = "time_limit" if clock else "optimal" if bound <= objective else "feasible"
    return _result(pool, assignment, status, "lp_rounding", bound, index.by_id, lp_bound=relaxed.bound)


def _full_lp(pool: Pool, units: milp.Model, index: Index, deadline: float) -> Clearing:
    """The LP relaxation of the whole unit model, its optimum as the bound, its rounding as the
    answer (only when the decomposition fails numerically)."""
    offers = {o.id: o for o in pool.offers}
    relaxed = milp.solve_lp(units, time_limit=deadline - time.monotonic())
    if relaxed.status != "optimal":
        return _result(pool, polish(pool, {}, index), "time_limit", "greedy", None, index.by_id)
    assignment = polish(pool, handout(units, round_lp(units, relaxed.values), offers), index)
    objective = surplus_of(pool, assignment, index.by_id)
    status = "optimal" if objective >= relaxed.objective - 1e-6 else "feasible"
    return _result(
        pool, assignment, status, "lp_rounding", relaxed.objective, index.by_id, lp_bound=relaxed.objective
    )
