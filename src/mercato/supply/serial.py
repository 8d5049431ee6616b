"""Optimal echelon base-stock levels for a serial supply chain (Clark–Scarf, Chen–Zheng).

Stages are numbered from the customer: stage 1 faces demand, stage N is the most upstream (a
factory fed by an outside supplier with ample stock). Each stage has an *echelon* holding cost
``h_j`` (its local cost minus its upstream stage's local cost) and a shipment lead time ``L_j``.
Unmet demand at stage 1 is backordered at cost ``p`` per unit per period.

The exact recursion (Snyder & Shen, ch. 6, after Chen & Zheng 1994):

    C_0(x)   = (p + h_1 + ... + h_N) · max(-x, 0)
    Ĉ_j(x)   = h_j · x + C_{j-1}(min(S*_{j-1}, x))      (C_0 taken without the min)
    C_j(y)   = E[Ĉ_j(y - D_j)],   D_j = demand over L_j periods
    S*_j     = argmin_y C_j(y),   expected cost per period C* = C_N(S*_N)

It is solved on a uniform grid: each expectation is one discrete convolution (numpy) of the
function with the lead-time demand's distribution, discretised by cdf differences on the grid;
outside the grid the functions are extended linearly. A 3-stage chain with a 0.01 step runs
in a few milliseconds. Pure: numpy and scipy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

Distribution = Literal["normal", "poisson"]


@dataclass(frozen=True)
class SerialStage:
    """One stage: echelon holding cost per unit per period and shipment lead time in periods."""

    echelon_holding_cost: float
    lead_time: int


@dataclass(frozen=True)
class SerialSolution:
    """Optimal echelon base-stock levels (stage 1 first) and the expected cost per period."""

    base_stock: tuple[float, ...]
    cost: float
    step: float

    def local_base_stock(self) -> tuple[float, ...]:
        """Local (installation) base-stock levels: S_j - S_{j-1}, stage 1 first."""
        out = []
        prev = 0.0
        for s in self.base_stock:
            out.append(s - prev)
            prev = s
        return tuple(out)


def _validate(
    stages: list[SerialStage], stockout_cost: float, mean: float, sd: float, dist: str, step: float
) -> None:
    problems = []
    if not stages:
        problems.append("a serial chain needs at least one stage")
    for i, st in enumerate(stages, start=1):
        if not math.isfinite(st.echelon_holding_cost) or st.echelon_holding_cost < 0:
            problems.append(f"stage {i}: echelon holding cost must be >= 0, got {st.echelon_holding_cost}")
        if st.lead_time < 0:
            problems.append(f"stage {i}: lead time must be >= 0, got {st.lead_time}")
    if not math.isfinite(stockout_cost) or stockout_cost <= 0:
        problems.append(f"stockout cost must be > 0, got {stockout_cost}")
    if not math.isfinite(mean) or mean < 0:
        problems.append(f"demand mean must be >= 0, got {mean}")
    if dist == "normal" and (not math.isfinite(sd) or sd < 0):
        problems.append(f"demand sd must be >= 0, got {sd}")
    if dist not in ("normal", "poisson"):
        problems.append(f"unknown demand distribution {dist!r} (normal or poisson)")
    if not (step > 0 and math.isfinite(step)):
        problems.append(f"grid step must be > 0, got {step}")
    if problems:
        raise ValueError("; ".join(problems))


def _kernel(dist: str, mean: float, sd: float, periods: int, step: float) -> tuple[int, NDArray[np.float64]]:
    """Lead-time demand as probabilities on the grid: (offset of the first cell in steps, probs)."""
    if periods == 0 or mean == 0 and (dist == "poisson" or sd == 0):
        return 0, np.ones(1)
    if dist == "poisson":
        lam = mean * periods
        hi = int(stats.poisson.ppf(1 - 1e-12, lam)) + 1
        k = np.arange(0, hi + 1)
        probs = stats.poisson.pmf(k, lam)
        if step == 1.0:
            return 0, probs / probs.sum()
        raise ValueError("Poisson demand needs a grid step of 1")
    mu = mean * periods
    sigma = sd * math.sqrt(periods)
    if sigma == 0:
        return round(mu / step), np.ones(1)
    lo = math.floor((mu - 9 * sigma) / step)
    hi = math.ceil((mu + 9 * sigma) / step)
    centres = np.arange(lo, hi + 1) * step
    edges = np.concatenate([centres - step / 2, [centres[-1] + step / 2]])
    cdf = stats.norm.cdf(edges, mu, sigma)
    probs = np.diff(cdf)
    return lo, probs / probs.sum()


def _expect(f: NDArray[np.float64], lo_off: int, probs: NDArray[np.float64]) -> NDArray[np.float64]:
    """g(y_i) = sum_k probs[k] f(y_i - (lo_off + k)·step) on the same grid; linear extension outside."""
    n = len(f)
    m = len(probs)
    # values needed: indices i - lo_off - k for k in 0..m-1 -> from -(lo_off + m - 1) to n - 1 - lo_off
    left = max(0, lo_off + m - 1)
    right = max(0, -lo_off)
    sl, sr = f[1] - f[0], f[-1] - f[-2]
    padded = np.concatenate([f[0] - sl * np.arange(left, 0, -1), f, f[-1] + sr * np.arange(1, right + 1)])
    conv = np.convolve(padded, probs, mode="full")
    # padded index j corresponds to grid index j - left; conv[t] = sum_k probs[k] padded[t - k]
    # we want sum_k probs[k] f(i - lo_off - k) = sum_k probs[k] padded[i - lo_off - k + left]
    start = left - lo_off
    return np.asarray(conv[start : start + n], dtype=np.float64)


def optimize_serial(
    stages: list[SerialStage],
    stockout_cost: float,
    demand_mean: float,
    demand_sd: float = 0.0,
    *,
    distribution: Distribution = "normal",
    step: float | None = None,
) -> SerialSolution:
    """Optimal echelon base-stock levels for a serial chain (stage 1 = the one facing demand).

    ``step`` is the grid step (default 0.01 for normal demand scaled by its sd, 1 for Poisson).
    """
    if step is None:
        step = (
            1.0 if distribution == "poisson" else max(min(0.01, demand_sd / 50 if demand_sd else 0.01), 1e-4)
        )
    _validate(stages, stockout_cost, demand_mean, demand_sd, distribution, step)
    total_lt = sum(s.lead_time for s in stages)
    sd_all = demand_sd if distribution == "normal" else math.sqrt(max(demand_mean, 1e-9))
    spread = 10 * sd_all * math.sqrt(max(total_lt, 1)) + 2
    lo = math.floor(-(demand_mean * max(total_lt, 1) + spread) / step)
    hi = math.ceil((2 * demand_mean * max(total_lt, 1) + spread) / step)
    if hi - lo > 5_000_000:
        raise ValueError(f"grid of {hi - lo} points is too large; choose a larger step")
    x = np.arange(lo, hi + 1) * step
    h_total = sum(s.echelon_holding_cost for s in stages)
    under = (stockout_cost + h_total) * np.maximum(-x, 0.0)  # C_0, no minimum applied
    levels: list[float] = []
    cost = 0.0
    for st in stages:
        hat = st.echelon_holding_cost * x + under
        off, probs = _kernel(distribution, demand_mean, demand_sd, st.lead_time, step)
        c = _expect(hat, off, probs)
        i = int(np.argmin(c))
        levels.append(float(x[i]))
        cost = float(c[i])
        under = np.where(np.arange(len(x)) < i, c, c[i])
    return SerialSolution(base_stock=tuple(levels), cost=cost, step=step)
