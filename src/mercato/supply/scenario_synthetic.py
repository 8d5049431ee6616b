"""A seeded synthetic network scenario for benchmarks, demos and tests.

``network_scenario(n_items, n_locations, seed)`` builds one factory, ``n_warehouses`` warehouses
(default: a fifth of the locations, at least 1) and stores for the rest. Every store sells every
item (Poisson demand, means log-uniform between 0.2 and 20 units a day, a weekend-heavy weekly
profile) and is replenished by base-stock from one warehouse (lane of 1 day); warehouses from the
factory (2 days); the factory from production on lines of 200 items each (Monday–Saturday,
capacity 25% above the mean demand of its items). Levels are sized from demand (95% service);
initial stock is the mean demand over each node's lead time plus a day. The result is the
plain mapping a scenario file holds (pass it to ``parse_scenario``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def network_scenario(
    n_items: int, n_locations: int, seed: int = 0, days: int = 365, n_warehouses: int | None = None
) -> dict[str, Any]:
    if n_items < 1 or n_locations < 3:
        raise ValueError("need at least 1 item and 3 locations (a factory, a warehouse, a store)")
    rng = np.random.default_rng(seed)
    n_wh = n_warehouses or max(1, (n_locations - 1) // 5)
    n_st = n_locations - 1 - n_wh
    if n_st < 1:
        raise ValueError("too many warehouses: no location is left for a store")
    items = [f"item-{i:05d}" for i in range(n_items)]
    whs = [f"wh-{k:02d}" for k in range(n_wh)]
    stores = [f"store-{k:03d}" for k in range(n_st)]
    store_wh = {s: whs[k % n_wh] for k, s in enumerate(stores)}
    means = np.exp(rng.uniform(math.log(0.2), math.log(20.0), (n_items, n_st)))
    weekly = [0.9, 0.9, 0.9, 0.95, 1.05, 1.3, 1.0]

    locations = [{"id": "factory", "kind": "factory"}]
    locations += [{"id": w, "kind": "warehouse"} for w in whs]
    locations += [{"id": s, "kind": "store"} for s in stores]
    lanes = [{"from": "factory", "to": w, "days": 2} for w in whs]
    lanes += [{"from": store_wh[s], "to": s, "days": 1} for s in stores]
    lines = []
    per_line = 200
    for k in range(0, n_items, per_line):
        chunk = range(k, min(k + per_line, n_items))
        daily = float(means[list(chunk)].sum())
        lines.append(
            {
                "id": f"line-{k // per_line:02d}",
                "location": "factory",
                "capacity_per_day": max(1, math.ceil(daily * 1.25 * 7 / 6)),
                "calendar": "factory",
                "rates": [{"item": items[i], "per_unit": 1, "setup": 0} for i in chunk],
            }
        )
    demand, policy, stock = [], [], []
    wh_mean = {w: np.zeros(n_items) for w in whs}
    for j, s in enumerate(stores):
        wh_mean[store_wh[s]] += means[:, j]
    for i, it in enumerate(items):
        for j, s in enumerate(stores):
            m = float(means[i, j])
            demand.append(
                {"item": it, "location": s, "mean": round(m, 3), "weekly": weekly, "stockout_cost": 1.0}
            )
            policy.append({"item": it, "location": s, "source": store_wh[s], "holding_cost": 0.05})
            stock.append({"item": it, "location": s, "quantity": math.ceil(m * 3)})
        for w in whs:
            policy.append({"item": it, "location": w, "source": "factory", "holding_cost": 0.03})
            stock.append({"item": it, "location": w, "quantity": math.ceil(float(wh_mean[w][i]) * 4)})
        total = float(means[i].sum())
        policy.append({"item": it, "location": "factory", "source": "production", "holding_cost": 0.02})
        stock.append({"item": it, "location": "factory", "quantity": math.ceil(total * 3)})
    return {
        "start": "2026-01-05",
        "days": days,
        "seed": seed,
        "twin": {
            "calendars": [{"id": "factory", "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat"]}],
            "locations": locations,
            "lanes": lanes,
            "items": [{"id": it} for it in items],
            "stock": stock,
            "lines": lines,
        },
        "demand": demand,
        "policy": policy,
        "event": [
            {"type": "line_down", "line": "line-00", "start": 120, "days": 5},
            {"type": "demand_spike", "item": items[0], "start": 200, "days": 14, "factor": 3.0},
        ],
    }
