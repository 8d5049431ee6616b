"""Exact continuous-time generators for the models, for parameter-recovery tests and benchmarks.

Purchases are a Poisson process in continuous time (exponential gaps), never counted per integer period.
Given the number n of Poisson events in (0, L], their times are n uniform order statistics on (0, L], so
the time of the j-th event is L * Beta(j, n - j + 1): every draw is exact and vectorised.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mercato.retention.models.fitting import Array


def _last_event_time(rng: np.random.Generator, n: Array, x: Array, length: Array) -> Array:
    """Time of the x-th of n uniform events on (0, length] (0 where x = 0)."""
    xs = np.maximum(x, 1)
    tail = np.maximum(n - x + 1, 1)
    return np.where(x > 0, length * rng.beta(xs, tail), 0.0)


def simulate_betageo(
    params: Mapping[str, float], T: Array, rng: np.random.Generator, *, k: int = 0
) -> tuple[Array, Array]:
    """BG/NBD (k=0) or MBG/NBD (k=1): returns (x, t_x) for customers observed for T periods each."""
    T = np.asarray(T, dtype=np.float64)
    size = len(T)
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], size)
    p = rng.beta(params["a"], params["b"], size)
    # Purchases before drop-out: drop-out follows each repeat purchase (BG/NBD), and for MBG/NBD also
    # the first purchase at time 0, so the count of repeat purchases made before drop-out is K - 1 + (1-k).
    survive = rng.geometric(np.clip(p, 1e-300, 1.0)) - k
    n = rng.poisson(lam * T)
    x = np.minimum(n, survive).astype(np.float64)
    t_x = _last_event_time(rng, n.astype(np.float64), x, T)
    return x, t_x


def simulate_pnbd(params: Mapping[str, float], T: Array, rng: np.random.Generator) -> tuple[Array, Array]:
    """Pareto/NBD: returns (x, t_x) for customers observed for T periods each."""
    T = np.asarray(T, dtype=np.float64)
    size = len(T)
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], size)
    mu = rng.gamma(params["s"], 1.0 / params["beta"], size)
    tau = rng.exponential(1.0 / mu)
    life = np.minimum(tau, T)
    n = rng.poisson(lam * life).astype(np.float64)
    t_x = np.where(n > 0, life * rng.beta(np.maximum(n, 1), 1.0), 0.0)
    return n, t_x


def simulate_gammagamma(params: Mapping[str, float], x: Array, rng: np.random.Generator) -> Array:
    """Mean spend over x repeat transactions (NaN where x = 0): z ~ Gamma(p, nu), nu ~ Gamma(q, gamma)."""
    x = np.asarray(x, dtype=np.float64)
    nu = rng.gamma(params["q"], 1.0 / params["gamma"], len(x))
    xs = np.maximum(x, 1.0)
    # The sum of x Gamma(p, nu) draws is Gamma(p x, nu); the mean divides it by x.
    zbar = rng.gamma(params["p"] * xs, 1.0 / nu) / xs
    return np.where(x > 0, zbar, np.nan)
