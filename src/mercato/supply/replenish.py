"""Single-stage inventory policies: EOQ, Wagner–Whitin, newsvendor / base-stock, (s, S), (r, Q).

Costs are per unit per period (holding ``h``, backorder/stockout ``p``) and per order (``K``);
demand is per period. Results are plain dataclasses. Formulas follow Snyder & Shen,
*Fundamentals of Supply Chain Theory* (2nd ed.), chapters 3–5. ``suggest`` turns a forecast
(mean and error per day) into replenishment suggestions a merchant can accept.
Pure: numpy and scipy only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats


def _positive(**values: float) -> None:
    bad = [f"{k} must be > 0, got {v}" for k, v in values.items() if not (math.isfinite(v) and v > 0)]
    if bad:
        raise ValueError("; ".join(bad))


def _non_negative(**values: float) -> None:
    bad = [f"{k} must be >= 0, got {v}" for k, v in values.items() if not (math.isfinite(v) and v >= 0)]
    if bad:
        raise ValueError("; ".join(bad))


# --------------------------------------------------------------------------------------- EOQ / WW


@dataclass(frozen=True)
class EOQ:
    order_quantity: float
    cost: float  # fixed + holding cost per unit time


def eoq(fixed_cost: float, holding_cost: float, demand_rate: float) -> EOQ:
    """Economic order quantity Q* = sqrt(2Kλ/h) and its cost g* = sqrt(2Kλh)."""
    _positive(fixed_cost=fixed_cost, holding_cost=holding_cost, demand_rate=demand_rate)
    q = math.sqrt(2 * fixed_cost * demand_rate / holding_cost)
    return EOQ(q, math.sqrt(2 * fixed_cost * demand_rate * holding_cost))


@dataclass(frozen=True)
class LotSizing:
    orders: tuple[float, ...]  # quantity ordered in each period (0 when none)
    cost: float


def wagner_whitin(fixed_cost: float, holding_cost: float, demand: Sequence[float]) -> LotSizing:
    """Optimal lot sizes for known demand per period (Wagner–Whitin dynamic programme, O(T²))."""
    _non_negative(fixed_cost=fixed_cost, holding_cost=holding_cost)
    d = [float(x) for x in demand]
    if not d:
        raise ValueError("demand must have at least one period")
    if any(not math.isfinite(x) or x < 0 for x in d):
        raise ValueError("demand must be finite and >= 0 in every period")
    n = len(d)
    best = [0.0] + [math.inf] * n  # best[t]: cost of periods 0..t-1
    pred = [0] * (n + 1)
    for t in range(1, n + 1):
        for s in range(t):  # order in period s covers s..t-1
            hold = sum(holding_cost * (j - s) * d[j] for j in range(s, t))
            c = best[s] + (fixed_cost if sum(d[s:t]) > 0 else 0.0) + hold
            if c < best[t] - 1e-12:
                best[t], pred[t] = c, s
    orders = [0.0] * n
    t = n
    while t > 0:
        s = pred[t]
        orders[s] = sum(d[s:t])
        t = s
    return LotSizing(tuple(orders), best[n])


# ----------------------------------------------------------------------------- newsvendor / base


@dataclass(frozen=True)
class BaseStock:
    level: float  # order-up-to level S
    cost: float  # expected holding + stockout cost per period


def newsvendor_normal(holding_cost: float, stockout_cost: float, mean: float, sd: float) -> BaseStock:
    """S* = μ + σ Φ⁻¹(p/(p+h)); g* = (h+p) σ φ(z)."""
    _positive(holding_cost=holding_cost, stockout_cost=stockout_cost)
    _non_negative(mean=mean, sd=sd)
    z = float(stats.norm.ppf(stockout_cost / (stockout_cost + holding_cost)))
    return BaseStock(mean + sd * z, (holding_cost + stockout_cost) * sd * float(stats.norm.pdf(z)))


def _poisson_cost(h: float, p: float, lam: float, s: np.ndarray) -> np.ndarray:
    """E[h (S-D)^+ + p (D-S)^+] for D ~ Poisson(lam) at integer levels s (vectorised)."""
    s = np.asarray(s, dtype=np.float64)
    # E[(D-S)^+] = (lam - S)(1 - F(S)) + S f(S)  for integer S >= 0; = lam - S for S < 0
    sp = np.maximum(s, 0)
    loss = (lam - sp) * stats.poisson.sf(sp, lam) + lam * stats.poisson.pmf(sp, lam)
    loss = np.where(s < 0, lam - s, loss)
    over = s - lam + loss
    return np.asarray(h * over + p * loss, dtype=np.float64)


def newsvendor_poisson(holding_cost: float, stockout_cost: float, mean: float) -> BaseStock:
    """Smallest integer S with F(S) >= p/(p+h) for Poisson demand; exact expected cost."""
    _positive(holding_cost=holding_cost, stockout_cost=stockout_cost)
    _non_negative(mean=mean)
    s = float(stats.poisson.ppf(stockout_cost / (stockout_cost + holding_cost), mean))
    return BaseStock(s, float(_poisson_cost(holding_cost, stockout_cost, mean, np.array([s]))[0]))


def base_stock_service(mean: float, sd: float, service_level: float) -> float:
    """Order-up-to level that covers demand with probability ``service_level`` (type-1, normal)."""
    _non_negative(mean=mean, sd=sd)
    if not 0 < service_level < 1:
        raise ValueError(f"service level must be in (0, 1), got {service_level}")
    return mean + sd * float(stats.norm.ppf(service_level))


# ------------------------------------------------------------------------------------------ (s, S)


@dataclass(frozen=True)
class SS:
    reorder_point: float  # s: order when inventory position <= s
    order_up_to: float  # S
    cost: float | None = None  # expected cost per period, when known exactly


def ss_poisson(
    holding_cost: float, stockout_cost: float, fixed_cost: float, mean: float, max_gap: int | None = None
) -> SS:
    """Exact optimal (s, S) for Poisson demand per period, zero lead time (renewal-reward cost).

    c(s, S) = [K + Σ_{j<S-s} m(j) G(S-j)] / M(S-s), with m the renewal function of the demand pmf;
    every s and S in a window around the mean is evaluated (convolutions, numpy).
    """
    _positive(holding_cost=holding_cost, stockout_cost=stockout_cost, mean=mean)
    _non_negative(fixed_cost=fixed_cost)
    sd = math.sqrt(mean)
    eoq_gap = math.sqrt(2 * max(fixed_cost, 1e-9) * mean / holding_cost)
    width = max_gap or int(math.ceil(3 * eoq_gap + 8 * sd + 10))
    lo = int(math.floor(mean - 8 * sd - 5))
    hi = int(math.ceil(mean + 8 * sd + 5)) + width
    levels = np.arange(lo, hi + 1)
    g = _poisson_cost(holding_cost, stockout_cost, mean, levels)
    pmf = stats.poisson.pmf(np.arange(width + 1), mean)
    p0 = pmf[0]
    m = np.zeros(width + 1)
    m[0] = 1 / (1 - p0)
    for j in range(1, width + 1):
        m[j] = float(np.dot(pmf[1 : j + 1], m[j - 1 :: -1][:j])) / (1 - p0)
    big_m = np.concatenate([[0.0], np.cumsum(m)])  # M(n) = sum_{j<n} m(j)
    best = (math.inf, 0, 0)
    for si in range(len(levels) - 1):
        s_val = int(levels[si])
        upper = g[si + 1 : si + 1 + width]  # G(s+1), ..., G(s+n)
        if len(upper) == 0:
            break
        # for n = S - s: sum_{i=1..n} m(n-i) G(s+i)
        conv = np.convolve(upper, m[: len(upper)])[: len(upper)]
        n = np.arange(1, len(upper) + 1)
        costs = (fixed_cost + conv) / big_m[n]
        k = int(np.argmin(costs))
        if costs[k] < best[0] - 1e-12:
            best = (float(costs[k]), s_val, s_val + int(n[k]))
    return SS(float(best[1]), float(best[2]), best[0])


def ss_power_approximation(
    holding_cost: float, stockout_cost: float, fixed_cost: float, mean: float, sd: float, lead_time: float = 0
) -> SS:
    """Ehrhardt–Mosier power approximation for (s, S) under normal demand (S = s + Q_p).

    Lead-time demand covers ``lead_time + 1`` periods (review period plus lead time)."""
    _positive(holding_cost=holding_cost, stockout_cost=stockout_cost, fixed_cost=fixed_cost, mean=mean)
    _non_negative(sd=sd, lead_time=lead_time)
    periods = lead_time + 1
    mu_l, sd_l = mean * periods, sd * math.sqrt(periods)
    q = 1.30 * mean**0.494 * (fixed_cost / holding_cost) ** 0.506 * (1 + (sd_l / mean) ** 2) ** 0.116
    if sd_l == 0:
        return SS(mu_l, mu_l + q)
    z = math.sqrt(q * holding_cost / (sd_l * stockout_cost))
    s = 0.973 * mu_l + sd_l * (0.183 / z + 1.063 - 2.192 * z)
    return SS(s, s + q)


# ------------------------------------------------------------------------------------------ (r, Q)


@dataclass(frozen=True)
class RQ:
    reorder_point: float
    order_quantity: float
    safety_stock: float


def rq_eoq_ss(
    holding_cost: float,
    stockout_cost: float,
    fixed_cost: float,
    demand_mean: float,
    demand_sd: float,
    lead_time: float,
    service_level: float | None = None,
) -> RQ:
    """(r, Q) by the EOQ + safety-stock approximation: Q = EOQ, r = μ_L + z σ_L.

    z = Φ⁻¹(p/(p+h)) for the cost target, or Φ⁻¹(service_level) for a type-1 service target.
    Demand mean/sd are per unit time and lead time is in the same unit."""
    _positive(holding_cost=holding_cost, fixed_cost=fixed_cost, demand_mean=demand_mean)
    _non_negative(demand_sd=demand_sd, lead_time=lead_time)
    if service_level is None:
        _positive(stockout_cost=stockout_cost)
        ratio = stockout_cost / (stockout_cost + holding_cost)
    else:
        if not 0 < service_level < 1:
            raise ValueError(f"service level must be in (0, 1), got {service_level}")
        ratio = service_level
    q = eoq(fixed_cost, holding_cost, demand_mean).order_quantity
    sd_l = demand_sd * math.sqrt(lead_time)
    ss = sd_l * float(stats.norm.ppf(ratio))
    return RQ(demand_mean * lead_time + ss, q, ss)


# ------------------------------------------------------------------------------------ suggestions

Policy = Literal["base_stock", "s_S", "r_Q"]


@dataclass(frozen=True)
class Suggestion:
    """A replenishment suggestion for the merchant: plain data, accepted into an order elsewhere."""

    item_id: str
    location_id: str
    policy: Policy
    order_quantity: int
    reorder_point: float
    order_up_to: float
    reason: str


def suggest(
    item_id: str,
    location_id: str,
    *,
    on_hand: float,
    on_order: float,
    daily_mean: float,
    daily_sd: float,
    lead_time_days: int,
    service_level: float = 0.95,
    policy: Policy = "base_stock",
    fixed_cost: float = 0.0,
    holding_cost: float = 1.0,
    review_days: int = 1,
) -> Suggestion | None:
    """One suggestion, or None when the inventory position covers the policy's target.

    ``daily_mean``/``daily_sd`` come from the forecast (its mean and the error of the holdout);
    the protection interval is lead time + review period."""
    _non_negative(on_order=on_order, daily_mean=daily_mean, daily_sd=daily_sd)
    if lead_time_days < 0:
        raise ValueError(f"{item_id}@{location_id}: lead time must be >= 0 days, got {lead_time_days}")
    if review_days < 1:
        raise ValueError(f"review period must be >= 1 day, got {review_days}")
    if not 0 < service_level < 1:
        raise ValueError(f"service level must be in (0, 1), got {service_level}")
    position = on_hand + on_order
    periods = lead_time_days + review_days
    mu, sd = daily_mean * periods, daily_sd * math.sqrt(periods)
    z = float(stats.norm.ppf(service_level))
    if policy == "base_stock":
        target = mu + z * sd
        reorder = target
    elif policy == "r_Q":
        q = eoq(max(fixed_cost, 1e-9), holding_cost, max(daily_mean, 1e-9)).order_quantity
        reorder = daily_mean * lead_time_days + z * daily_sd * math.sqrt(max(lead_time_days, 0))
        target = reorder + max(q, 1.0)
    elif policy == "s_S":
        if daily_mean > 0 and fixed_cost > 0:
            ss = ss_power_approximation(
                holding_cost,
                holding_cost * service_level / (1 - service_level),
                fixed_cost,
                daily_mean,
                daily_sd,
                lead_time_days + review_days - 1,
            )
            reorder, target = ss.reorder_point, ss.order_up_to
        else:
            reorder = target = mu + z * sd
    else:
        raise ValueError(f"unknown policy {policy!r}")
    if position > reorder or (policy == "base_stock" and position >= target):
        return None
    qty = int(math.ceil(target - position - 1e-9))
    if policy == "r_Q":
        qty = int(math.ceil(target - reorder))
        while position + qty <= reorder:
            qty += int(math.ceil(target - reorder))
    if qty <= 0:
        return None
    reason = (
        f"position {position:g} (on hand {on_hand:g} + on order {on_order:g})"
        f" <= reorder point {reorder:.1f}; "
        f"demand over {periods} days ~ {mu:.1f} ± {sd:.1f}, service {service_level:.0%}"
    )
    return Suggestion(item_id, location_id, policy, qty, round(reorder, 2), round(target, 2), reason)


def suggest_all(
    forecast: Any,
    location_id: str,
    *,
    on_hand: Mapping[str, float],
    lead_time_days: Mapping[str, int],
    on_order: Mapping[str, float] | None = None,
    service_level: float = 0.95,
    policy: Policy = "base_stock",
    fixed_cost: float = 0.0,
    holding_cost: float = 1.0,
) -> list[Suggestion]:
    """Suggestions for every item of a forecast (``mercato.supply.forecast.Forecast``) at one location.

    Each item's daily mean is the mean of its forecast over the lead time and review day (the
    forecast's horizon at most), its sd the forecast's ``error_sd``. Items without a lead time are
    refused by name. Sorted by item."""
    missing = sorted(i for i in forecast.items if i not in lead_time_days)
    if missing:
        raise ValueError(f"no lead time for item(s) {', '.join(missing)} at {location_id}")
    out = []
    for item in sorted(forecast.items):
        f = forecast.items[item]
        lead = int(lead_time_days[item])
        window = list(f.daily[: max(lead + 1, 1)]) or [0.0]
        s = suggest(
            item,
            location_id,
            on_hand=float(on_hand.get(item, 0.0)),
            on_order=float((on_order or {}).get(item, 0.0)),
            daily_mean=sum(window) / len(window),
            daily_sd=float(f.error_sd),
            lead_time_days=lead,
            service_level=service_level,
            policy=policy,
            fixed_cost=fixed_cost,
            holding_cost=holding_cost,
        )
        if s is not None:
            out.append(s)
    return out
