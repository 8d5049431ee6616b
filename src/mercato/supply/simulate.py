"""Discrete-event simulation of a supply twin: demand, replenishment, shipments and production.

SimPy drives time: one process steps the whole network one day at a time, and each what-if event
(a line down, a demand spike, a late supplier) is its own process that switches its effect on
at its start and off again after its days. The day step itself is vectorised over every
item × location ("node") with numpy, so 1,000 items × 20 locations for a year takes seconds
(a SimPy process per node would take minutes).

A day, for every node, from the customer-facing level up to the factories:

1. goods due today arrive (shipments, production, supplier deliveries, scheduled receipts);
2. customer demand is drawn; backorders are served first, then today's demand; what cannot
   be served is backordered (fill rate = demand served on its day / demand);
3. orders from downstream nodes are shipped from stock, pro rata when short (the rest stays
   owed); a shipment is usable ``transit`` days later (at least one);
4. the node's policy looks at its inventory position (on hand + in transit + owed to it −
   backorders − owed by it) and orders from its source: another node, the supplier (the
   item's lead time, plus any delay) or production;
5. each production line works its queue in order of the oldest request within the day's
   capacity (0 off-calendar, on downtime and while a ``line_down`` event lasts); finished
   units are usable the next day. Components (bills of materials) are not consumed here.

Costs: holding per unit on hand per day at each node, goods in transit charged at their
origin's rate, stockout cost per unit backordered per day. Pure: numpy and SimPy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray
from scipy import stats

from .scenario import Scenario

Arr = NDArray[np.float64]


@dataclass
class SimResult:
    days: int
    fill_rate: float
    on_time_rate: float
    average_inventory: float
    stockouts: int
    backorders_end: float
    demand: float
    capacity_use: dict[str, float]
    holding_cost_per_day: float
    stockout_cost_per_day: float
    orders: int
    series: dict[str, list[float]] = field(default_factory=dict)
    # units over the whole run (warm-up included): what came in from outside, what went to customers
    # and where the rest is; start + receipts + supplied + produced = served + on_hand + in_transit
    balance: dict[str, float] = field(default_factory=dict)

    @property
    def cost_per_day(self) -> float:
        return self.holding_cost_per_day + self.stockout_cost_per_day

    def to_dict(self, series: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "days": self.days,
            "fill_rate": round(self.fill_rate, 6),
            "on_time_rate": round(self.on_time_rate, 6),
            "average_inventory": round(self.average_inventory, 3),
            "stockouts": self.stockouts,
            "backorders_end": round(self.backorders_end, 3),
            "demand": round(self.demand, 3),
            "capacity_use": {k: round(v, 6) for k, v in self.capacity_use.items()},
            "holding_cost_per_day": round(self.holding_cost_per_day, 4),
            "stockout_cost_per_day": round(self.stockout_cost_per_day, 4),
            "cost_per_day": round(self.cost_per_day, 4),
            "orders": self.orders,
            "balance": {k: round(v, 3) for k, v in self.balance.items()},
        }
        if series:
            out["series"] = self.series
        return out


class _Network:
    """The scenario as arrays, one entry per node (item, location)."""

    def __init__(self, sc: Scenario) -> None:
        twin = sc.twin
        keys: dict[tuple[str, str], int] = {}

        def node(item: str, loc: str) -> int:
            return keys.setdefault((item, loc), len(keys))

        for d in sc.demand:
            node(d.item, d.location)
        for p in sc.policies:
            node(p.item, p.location)
            if p.source not in ("supplier", "production"):
                node(p.item, p.source)
        for s in twin.stock:
            node(s.item, s.location)
        for rc in twin.receipts:
            node(rc.item, rc.location)
        n = len(keys)
        self.keys = list(keys)
        self.n = n
        self.continuous = any(d.distribution == "continuous" for d in sc.demand)
        self.oh = np.zeros(n)
        for s in twin.stock:
            self.oh[keys[(s.item, s.location)]] += s.quantity
        self.mean, self.sd = np.zeros(n), np.zeros(n)
        self.dist = np.zeros(n, dtype=np.int8)  # 0 poisson, 1 normal, 2 continuous
        self.weekly = np.ones((n, 7))
        self.p_cost, self.h_cost = np.zeros(n), np.zeros(n)
        for d in sc.demand:
            i = keys[(d.item, d.location)]
            self.mean[i], self.sd[i], self.p_cost[i] = d.mean, d.sd, d.stockout_cost
            self.dist[i] = ("poisson", "normal", "continuous").index(d.distribution)
            self.weekly[i] = d.weekly
        self.parent = np.full(n, -1, dtype=np.int64)
        self.kind = np.zeros(n, dtype=np.int8)  # 0 none, 1 node, 2 supplier, 3 production
        self.lead = np.ones(n, dtype=np.int64)
        self.ptype = np.zeros(n, dtype=np.int8)  # 0 none, 1 base, 2 s_S, 3 r_Q
        self.s, self.S, self.Q = np.zeros(n), np.zeros(n), np.ones(n)
        self.item_of = np.array([k[0] for k in self.keys], dtype=object)
        specs = {}
        lane_days: dict[tuple[str, str], int] = {}
        for lane in twin.lanes:
            if not lane.to_city:
                key = (lane.origin, lane.destination)
                lane_days[key] = min(lane_days.get(key, lane.transit_days), lane.transit_days)
        for p in sc.policies:
            i = keys[(p.item, p.location)]
            specs[i] = p
            self.h_cost[i] = p.holding_cost
            self.ptype[i] = 1 + ("base_stock", "s_S", "r_Q").index(p.type)
            if p.source == "supplier":
                self.kind[i], self.lead[i] = 2, max(twin.item(p.item).lead_time_days, 1)
            elif p.source == "production":
                self.kind[i], self.lead[i] = 3, 1
            else:
                self.kind[i], self.parent[i] = 1, keys[(p.item, p.source)]
                self.lead[i] = max(lane_days.get((p.source, p.location), 0), 1)
        # levels: customer-facing 0, each source one above its highest child
        self.level = np.zeros(n, dtype=np.int64)
        for _ in range(n):
            changed = False
            for c in np.flatnonzero(self.parent >= 0):
                par = self.parent[c]
                if self.level[par] < self.level[c] + 1:
                    self.level[par] = self.level[c] + 1
                    changed = True
            if not changed:
                break
        self.groups = [np.flatnonzero(self.level == lv) for lv in range(int(self.level.max(initial=0)) + 1)]
        self.children = np.flatnonzero(self.parent >= 0)
        self.kids_of_level = [
            self.children[self.level[self.parent[self.children]] == lv] for lv in range(len(self.groups))
        ]
        # per level: the parents that ship, and each child's position among them
        self.parents_of_level: list[tuple[NDArray[np.int64], NDArray[np.int64]]] = []
        for kids in self.kids_of_level:
            upar, inv = np.unique(self.parent[kids], return_inverse=True)
            self.parents_of_level.append((upar.astype(np.int64), inv.astype(np.int64)))
        self._size_policies(specs)
        # production: each production node is served by the first line (by id) at its factory
        self.lines: list[tuple[str, Any, NDArray[np.int64], Arr, Arr, int]] = []
        by_line: dict[str, list[int]] = {}
        for i, p in specs.items():
            if p.source == "production":
                ln = next(x for x in twin.lines_making(p.item) if x.location == p.location)
                by_line.setdefault(ln.id, []).append(i)
        for ln in sorted(twin.lines, key=lambda x: x.id):
            idx = np.array(by_line.get(ln.id, []), dtype=np.int64)
            per = np.array([ln.rate(self.keys[i][0]).per_unit for i in idx], dtype=np.float64)  # type: ignore[union-attr]
            setup = np.array([ln.rate(self.keys[i][0]).setup for i in idx], dtype=np.float64)  # type: ignore[union-attr]
            self.lines.append((ln.id, ln, idx, per, setup, ln.capacity_per_day))

    def _size_policies(self, specs: dict[int, Any]) -> None:
        """Levels left out of the file are sized from the demand the node sees (own + children's)."""
        mu, var = self.mean.copy(), np.where(self.dist == 0, self.mean, self.sd**2)
        for grp in self.groups[:-1]:
            for c in grp:
                if self.parent[c] >= 0:
                    mu[self.parent[c]] += mu[c]
                    var[self.parent[c]] += var[c]
        ids = np.fromiter(specs, dtype=np.int64, count=len(specs))
        svc = np.array([specs[i].service_level for i in ids])
        cover = self.lead[ids] + (self.kind[ids] == 3) + 1
        base_all = np.zeros(self.n)
        base_all[ids] = mu[ids] * cover + stats.norm.ppf(svc) * np.sqrt(var[ids] * cover)
        for i, p in specs.items():
            base = float(base_all[i])
            if p.type == "base_stock":
                self.S[i] = p.level if p.level is not None else math.ceil(base)
            elif p.type == "s_S":
                self.s[i] = p.reorder_point if p.reorder_point is not None else math.ceil(base)
                self.S[i] = p.order_up_to if p.order_up_to is not None else self.s[i] + max(7 * mu[i], 1.0)
            else:
                self.s[i] = p.reorder_point if p.reorder_point is not None else math.ceil(base - mu[i])
                self.Q[i] = p.quantity if p.quantity is not None else max(math.ceil(7 * mu[i]), 1)


def simulate(
    scenario: Scenario,
    days: int | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    keep_series: bool = True,
) -> SimResult:
    """Run the scenario for ``days`` (default: the scenario's) and report what happened."""
    sc = scenario
    horizon = sc.days if days is None else days
    if horizon < 1:
        raise ValueError(f"days must be >= 1, got {horizon}")
    net = _Network(sc)
    n = net.n
    rng = np.random.default_rng(sc.seed)
    ring = int(max(net.lead.max(initial=1), 1) + max((e.delay_days for e in sc.events), default=0) + 2)
    pipe = np.zeros((ring, n))
    in_transit = np.zeros(n)
    receipts_by_day: dict[int, list[tuple[int, int]]] = {}
    index = {k: j for j, k in enumerate(net.keys)}
    for rc in sc.twin.receipts:  # a receipt before the start is already on hand
        off = max((rc.date - sc.start).days, 0)
        if off < horizon and (rc.item, rc.location) in index:
            receipts_by_day.setdefault(off, []).append((index[(rc.item, rc.location)], rc.quantity))
    bo, owed, queue = np.zeros(n), np.zeros(n), np.zeros(n)
    owed_by = np.zeros(n)  # what each node still owes the nodes it supplies
    flow = {"start": float(net.oh.sum()), "receipts": 0.0, "supplied": 0.0, "produced": 0.0, "served": 0.0}
    oldest = np.full(n, np.inf)
    spike = np.ones(n)
    spikes: list[tuple[NDArray[np.bool_], float]] = []
    delay = np.zeros(n, dtype=np.int64)
    line_down: set[str] = set()
    down_days = {(dt.line, (dt.start - sc.start).days + k) for dt in sc.twin.downtimes
                 for k in range((dt.end - dt.start).days + 1)}  # fmt: skip
    warm = min(sc.warmup_days, horizon - 1)
    tot = {"demand": 0.0, "filled": 0.0, "orders_with_demand": 0, "on_time": 0, "stockouts": 0,
           "inv": 0.0, "hold": 0.0, "short": 0.0, "orders": 0}  # fmt: skip
    cap_used = {ln[0]: 0.0 for ln in net.lines}
    cap_avail = {ln[0]: 0.0 for ln in net.lines}
    series: dict[str, list[float]] = {"on_hand": [], "backorders": [], "fill_rate": [], "line_use": []}
    h_transit = np.where(net.parent >= 0, net.h_cost[np.maximum(net.parent, 0)], 0.0)
    rnd: Callable[[Arr], Arr] = (lambda x: x) if net.continuous else np.ceil
    flo: Callable[[Arr], Arr] = (lambda x: x) if net.continuous else np.floor
    has_demand = net.mean > 0
    pois, norm_ = (net.dist == 0) & has_demand, (net.dist > 0) & has_demand
    rounded = net.dist == 1

    def step(t: int) -> None:
        slot = t % ring
        arrived = pipe[slot].copy()
        pipe[slot] = 0.0
        net.oh += arrived
        in_transit[:] -= arrived
        for i, units_in in receipts_by_day.get(t, ()):
            net.oh[i] += units_in
            flow["receipts"] += units_in
        dow = (sc.start + timedelta(days=t)).weekday()
        rate = net.mean * net.weekly[:, dow] * spike
        d = np.zeros(n)
        d[pois] = rng.poisson(rate[pois])
        if norm_.any():
            draw = np.maximum(rng.normal(rate[norm_], net.sd[norm_]), 0.0)
            d[norm_] = np.where(rounded[norm_], np.round(draw), draw)
        counted = t >= warm
        filled_today = np.zeros(n)
        for lv, grp in enumerate(net.groups):
            oh = net.oh[grp]
            served_bo = np.minimum(bo[grp], oh)
            oh = oh - served_bo
            filled = np.minimum(d[grp], oh)
            oh = oh - filled
            bo[grp] += d[grp] - filled - served_bo
            flow["served"] += float(served_bo.sum() + filled.sum())
            filled_today[grp] = filled
            net.oh[grp] = oh
            # ship to children of this level's nodes
            kids = net.kids_of_level[lv]
            if len(kids):
                upar, pos = net.parents_of_level[lv]
                want = np.bincount(pos, weights=owed[kids], minlength=len(upar))
                safe = np.where(want > 0, want, 1.0)
                frac = np.where(want > 0, np.minimum(1.0, net.oh[upar] / safe), 0.0)
                ship = flo(owed[kids] * frac[pos])
                owed[kids] -= ship
                sent = np.bincount(pos, weights=ship, minlength=len(upar))
                net.oh[upar] -= sent
                owed_by[upar] -= sent
                slots = (t + net.lead[kids]) % ring
                pipe[slots, kids] += ship
                in_transit[kids] += ship
            # order
            ip = net.oh[grp] + in_transit[grp] + owed[grp] + queue[grp] - bo[grp] - owed_by[grp]
            pt = net.ptype[grp]
            q = np.zeros(len(grp))
            q = np.where(pt == 1, np.maximum(net.S[grp] - ip, 0.0), q)
            q = np.where((pt == 2) & (ip <= net.s[grp]), net.S[grp] - ip, q)
            nq = np.floor((net.s[grp] - ip) / net.Q[grp]) + 1
            q = np.where((pt == 3) & (ip <= net.s[grp]), nq * net.Q[grp], q)
            q = rnd(np.maximum(q, 0.0))
            place = q > 1e-12
            if not place.any():
                continue
            tot["orders"] += int(place.sum()) if counted else 0
            g, qq = grp[place], q[place]
            kind = net.kind[g]
            m1, m2, m3 = kind == 1, kind == 2, kind == 3
            owed[g[m1]] += qq[m1]
            np.add.at(owed_by, net.parent[g[m1]], qq[m1])
            sup = g[m2]
            slots = (t + net.lead[sup] + delay[sup]) % ring
            pipe[slots, sup] += qq[m2]
            flow["supplied"] += float(qq[m2].sum())
            in_transit[sup] += qq[m2]
            prod = g[m3]
            oldest[prod] = np.where(queue[prod] <= 0, t, oldest[prod])
            queue[prod] += qq[m3]
        # production
        nxt = (t + 1) % ring
        day = sc.start + timedelta(days=t)
        use_today = []
        for lid, ln, idx, per, setup, cap in net.lines:
            avail = (
                0.0 if (lid in line_down or (lid, t) in down_days or not ln.calendar.is_working(day)) else cap
            )
            used = 0.0
            if avail > 0 and len(idx):
                need = queue[idx]
                waiting = np.flatnonzero(need > 0)
                if len(waiting):
                    order = waiting[np.argsort(oldest[idx[waiting]], kind="stable")]
                    cost = setup[order] + need[order] * per[order]
                    cum = np.cumsum(cost)
                    full = cum <= avail
                    units = np.where(full, need[order], 0.0)
                    k = int(np.argmin(full)) if not full.all() else -1
                    if k >= 0:  # the first order that does not fit gets what is left
                        left = avail - (cum[k - 1] if k > 0 else 0.0)
                        if left > setup[order[k]]:
                            units[k] = min(
                                need[order[k]], math.floor((left - setup[order[k]]) / per[order[k]])
                            )
                    made = units > 0
                    nodes = idx[order[made]]
                    queue[nodes] -= units[made]
                    oldest[nodes] = np.where(queue[nodes] <= 0, np.inf, oldest[nodes])
                    pipe[nxt, nodes] += units[made]
                    flow["produced"] += float(units[made].sum())
                    in_transit[nodes] += units[made]
                    used = float(np.sum(setup[order[made]] + units[made] * per[order[made]]))
            if counted:
                cap_used[lid] += used
                cap_avail[lid] += avail
            use_today.append(used / avail if avail > 0 else 0.0)
        if counted:
            dsum = float(d.sum())
            tot["demand"] += dsum
            tot["filled"] += float(filled_today.sum())
            with_d = d > 0
            tot["orders_with_demand"] += int(with_d.sum())
            tot["on_time"] += int((with_d & (filled_today >= d - 1e-9)).sum())
            tot["stockouts"] += int((with_d & (filled_today < d - 1e-9)).sum())
            inv = float(net.oh.sum())
            tot["inv"] += inv
            # elementwise products, not ``@``: a BLAS dot spins up threads that a busy machine starves
            tot["hold"] += float((net.h_cost * net.oh).sum() + (h_transit * in_transit).sum())
            tot["short"] += float((net.p_cost * bo).sum())
            if keep_series:
                series["on_hand"].append(round(inv, 3))
                series["backorders"].append(round(float(bo.sum()), 3))
                series["fill_rate"].append(round(float(filled_today.sum()) / dsum, 5) if dsum > 0 else 1.0)
                series["line_use"].append(round(float(np.mean(use_today)), 5) if use_today else 0.0)

    env = simpy.Environment()

    def days_process() -> Any:
        for t in range(horizon):
            step(t)
            if progress is not None:
                progress(t + 1, horizon)
            yield env.timeout(1)

    def event_process(ev: Any) -> Any:
        if ev.start >= horizon:
            return
        yield env.timeout(ev.start)
        mask = np.ones(n, dtype=bool)
        if ev.item:
            mask &= net.item_of == ev.item
        if ev.location:
            mask &= np.array([k[1] == ev.location for k in net.keys])
        if ev.type == "line_down":
            line_down.add(ev.line)
        elif ev.type == "demand_spike":
            spikes.append((mask, ev.factor))
            spike[:] = 1.0
            for m, f in spikes:
                spike[m] *= f
        else:
            delay[mask] += ev.delay_days
        yield env.timeout(ev.days)
        if ev.type == "line_down":
            line_down.discard(ev.line)
        elif ev.type == "demand_spike":
            # by identity: list.remove compares with ==, which a numpy mask cannot answer
            del spikes[next(i for i, x in enumerate(spikes) if x[0] is mask)]
            spike[:] = 1.0
            for m, f in spikes:
                spike[m] *= f
        else:
            delay[mask] -= ev.delay_days

    for ev in sc.events:  # events first: at a shared time they act before that day's step
        env.process(event_process(ev))
    env.process(days_process())
    env.run()

    counted_days = horizon - warm
    cap_use = {k: (cap_used[k] / cap_avail[k] if cap_avail[k] > 0 else 0.0) for k in cap_used}
    return SimResult(
        days=counted_days,
        fill_rate=tot["filled"] / tot["demand"] if tot["demand"] > 0 else 1.0,
        on_time_rate=tot["on_time"] / tot["orders_with_demand"] if tot["orders_with_demand"] else 1.0,
        average_inventory=tot["inv"] / counted_days,
        stockouts=int(tot["stockouts"]),
        backorders_end=float(bo.sum()),
        demand=tot["demand"],
        capacity_use=cap_use,
        holding_cost_per_day=tot["hold"] / counted_days,
        stockout_cost_per_day=tot["short"] / counted_days,
        orders=int(tot["orders"]),
        series=series,
        balance={**flow, "on_hand": float(net.oh.sum()), "in_transit": float(in_transit.sum())},
    )
