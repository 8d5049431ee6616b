"""Demand pool clearing benchmark: a seeded network-wide pool, cleared by ``mercato.pools.clearing.clear``.

    mercato bench pools [--json] [--commitments N] [--large-commitments N] [--no-large]
                        [--seed S] [--time-limit S]

The instance (``generate``) is built from a seed, so every run clears the same pool:

- ``--makers`` manufacturers (default 20), ``--offers`` offers (default 1,000) dealt round-robin to them.
  Offers come in substitute families of 5 (same kind of product from 5 different manufacturers).
- Each offer has a list price drawn log-uniformly between 100 and 5,000 currency units (whole units,
  stored as minor units), 3 all-units tiers: the list price from the MOQ on, then 4-12% off from 3x
  MOQ and a further 4-12% off from 8x MOQ. MOQ is 20-120 units, the offer's own capacity 12-20x MOQ.
- Commitments pick a primary offer by a Zipf-like popularity (weight 1/rank^0.6), list it first and
  then 0 to 3 substitutes from its family (probabilities 0.4, 0.3, 0.2, 0.1), in random order.
  Quantities are 1 (55%), 2 (20%), 3 (10%), 4-6 (10%) or 7-12 (5%) units. The max unit price is the
  primary's list price times a factor uniform in 0.78-1.08, rounded to whole currency units, so some
  buyers accept only the list price, most accept the first or second discount, few the deepest.
- Each manufacturer's capacity is 70% of the units whose primary offer is one of its own, so capacity
  is below total demand and manufacturers must choose which offers to run.

Only ``clear()`` is timed (``seconds`` wall, ``cpu_seconds`` this process's CPU time, which a
loaded machine inflates less; ``load_average`` is the 1-minute load when it ends); generating the
pool is reported separately (``generate_seconds``).
Progress goes to stderr; with ``--json`` exactly one JSON object is printed on stdout.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson

from mercato.pools.clearing import Clearing, clear
from mercato.pools.model import Commitment, Manufacturer, Offer, Pool, Tier

CLEARED = datetime(2026, 11, 25, tzinfo=UTC)
FAMILY = 5


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def generate(commitments: int, seed: int = 6, makers: int = 20, offers: int = 1000) -> Pool:
    """The seeded benchmark pool described in the module docstring."""
    rng = np.random.default_rng(seed)
    maker_ids = [f"m{i:02d}" for i in range(makers)]
    list_price = np.round(np.exp(rng.uniform(math.log(100), math.log(5000), offers))) * 100
    d1 = rng.uniform(0.04, 0.12, offers)
    d2 = rng.uniform(0.04, 0.12, offers)
    moq = rng.integers(20, 121, offers)
    cap_factor = rng.integers(12, 21, offers)
    offer_ids = [f"o{i:04d}" for i in range(offers)]
    offer_list: list[Offer] = []
    for i in range(offers):
        p0 = int(list_price[i])
        p1 = int(round(p0 * (1 - d1[i]) / 100) * 100)
        p2 = int(round(p0 * (1 - d1[i] - d2[i]) / 100) * 100)
        m = int(moq[i])
        tiers = (Tier(m, p0), Tier(3 * m, min(p1, p0 - 100)), Tier(8 * m, min(p2, p1 - 200)))
        # offer i belongs to family i // FAMILY and goes to manufacturers round-robin inside it
        maker = maker_ids[(i // FAMILY + i % FAMILY * (makers // FAMILY)) % makers]
        offer_list.append(Offer(offer_ids[i], maker, "INR", tiers, m, m * int(cap_factor[i])))
    weights = 1.0 / np.arange(1, offers + 1) ** 0.6
    popularity = rng.permutation(offers)
    primary = popularity[rng.choice(offers, commitments, p=weights / weights.sum())]
    n_subs = rng.choice(4, commitments, p=[0.4, 0.3, 0.2, 0.1])
    qty = rng.choice(
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        commitments,
        p=[0.55, 0.20, 0.10] + [0.10 / 3] * 3 + [0.05 / 6] * 6,
    )
    factor = rng.uniform(0.78, 1.08, commitments)
    max_price = np.round(list_price[primary] * factor / 100).astype(np.int64) * 100
    order = rng.random((commitments, FAMILY))
    expires = CLEARED + timedelta(days=7)
    units: dict[str, int] = dict.fromkeys(maker_ids, 0)
    out: list[Commitment] = []
    width = len(str(commitments))
    for j in range(commitments):
        p = int(primary[j])
        base = p - p % FAMILY
        others = [base + k for k in np.argsort(order[j]) if base + k != p][: int(n_subs[j])]
        listed = (offer_ids[p], *(offer_ids[k] for k in others))
        q = int(qty[j])
        units[offer_list[p].manufacturer] += q
        out.append(Commitment(f"c{j:0{width}d}", q, int(max_price[j]), "INR", listed, expires))
    manufacturers = tuple(Manufacturer(m, int(units[m] * 0.7)) for m in maker_ids)
    return Pool(CLEARED, "INR", manufacturers, tuple(offer_list), tuple(out))


def _figures(pool: Pool, result: Clearing, seconds: float, cpu: float, gen_seconds: float) -> dict[str, Any]:
    return {
        "commitments": len(pool.commitments),
        "offers": len(pool.offers),
        "manufacturers": len(pool.manufacturers),
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "load_average": round(os.getloadavg()[0], 2),
        "generate_seconds": round(gen_seconds, 3),
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "lp_bound": result.lp_bound,  # the LP relaxation's bound; "bound" is at least as tight
        "lp_gap": result.lp_gap,
        "status": result.status,
        "solver": result.solver,
        "runs": len(result.runs),
        "accepted": len(result.accepted),
        "units": sum(r.quantity for r in result.runs),
    }


def run(n: int, seed: int, time_limit: float) -> dict[str, Any]:
    _log(f"generating {n:,} commitments (seed {seed})")
    t0 = time.perf_counter()
    pool = generate(n, seed)
    gen = time.perf_counter() - t0
    _log(f"generated in {gen:.1f} s; clearing (time limit {time_limit:g} s)")
    t0 = time.perf_counter()
    c0 = time.process_time()
    result = clear(pool, time_limit=time_limit)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    _log(
        f"cleared in {seconds:.1f} s: objective {result.objective:,} "
        f"bound {result.bound:,.0f} gap {result.gap:.5%}"
    )
    return _figures(pool, result, seconds, cpu, gen)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mercato bench pools", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--commitments", type=int, default=100_000)
    parser.add_argument("--large-commitments", type=int, default=1_000_000)
    parser.add_argument("--no-large", action="store_true", help="skip the large instance")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--time-limit", type=float, default=10.0, help="clear()'s time limit, seconds")
    parser.add_argument("--large-time-limit", type=float, default=60.0)
    args = parser.parse_args(argv)
    figures = run(args.commitments, args.seed, args.time_limit)
    if not args.no_large:
        figures["large"] = run(args.large_commitments, args.seed, args.large_time_limit)
    if args.json:
        print(orjson.dumps(figures, option=orjson.OPT_SORT_KEYS).decode())
    else:
        for key, value in figures.items():
            if key != "large":
                print(f"{key:>18}: {value}")
        for key, value in figures.get("large", {}).items():
            print(f"{'large ' + key:>18}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
