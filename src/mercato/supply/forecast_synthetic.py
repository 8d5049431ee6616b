"""Seeded synthetic daily demand series: a mix of the shapes a shop's items show.

``synthetic_demand(n_series, n_days, seed)`` returns an ``(n_series, n_days)`` array of
non-negative integer daily quantities. Each series draws one kind:

- **smooth** (45%): a level of 5–80 units/day, a linear trend of −30%…+60% over the year,
  a weekly profile (weekend peak or weekday peak, amplitude 10–50%), a yearly wave
  (0–30%), and Poisson noise on top of a slowly wandering log-level (random walk, sd 0.01/day).
- **slow** (30%): a level of 0.5–5 units/day, weekly profile, Poisson counts (many zeros).
- **intermittent** (25%): demand on a day with probability 2–25%, order sizes 1 + geometric
  (mean 1–8 units): the lumpy series Croston-type models are made for.

The same seed always gives the same array (numpy ``default_rng``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

KINDS = ("smooth", "slow", "intermittent")
MIX = (0.45, 0.30, 0.25)


def synthetic_demand(
    n_series: int, n_days: int, seed: int = 0, mix: tuple[float, float, float] = MIX
) -> tuple[NDArray[np.float64], NDArray[np.str_]]:
    """(quantities, kind per series). Quantities are whole units per day."""
    if n_series < 0 or n_days < 1:
        raise ValueError(f"need n_series >= 0 and n_days >= 1, got {n_series}, {n_days}")
    if len(mix) != 3 or any(x < 0 for x in mix) or sum(mix) <= 0:
        raise ValueError(f"mix must be three non-negative shares, got {mix}")
    rng = np.random.default_rng(seed)
    p = np.asarray(mix, dtype=np.float64) / sum(mix)
    kind = rng.choice(3, size=n_series, p=p)
    t = np.arange(n_days, dtype=np.float64)
    dow = (t % 7).astype(np.int64)

    # weekly profile: weekend peak or weekday peak
    amp = rng.uniform(0.1, 0.5, n_series)[:, None]
    weekend = rng.random(n_series)[:, None] < 0.5
    shape_we = np.where(dow >= 5, 1.0, -0.4)[None, :]
    shape_wd = np.where(dow >= 5, -1.0, 0.4)[None, :]
    weekly = 1 + amp * np.where(weekend, shape_we, shape_wd)
    yearly = 1 + rng.uniform(0, 0.3, n_series)[:, None] * np.sin(
        2 * np.pi * (t[None, :] / 365.0 + rng.random(n_series)[:, None])
    )
    trend = 1 + rng.uniform(-0.3, 0.6, n_series)[:, None] * t[None, :] / 365.0
    walk = np.exp(np.cumsum(rng.normal(0, 0.01, (n_series, n_days)), axis=1))

    level = np.where(
        kind == 0,
        rng.uniform(5, 80, n_series),
        rng.uniform(0.5, 5, n_series),
    )[:, None]
    rate = level * weekly * np.where((kind == 0)[:, None], yearly * trend * walk, 1.0)
    out = rng.poisson(np.maximum(rate, 0)).astype(np.float64)

    inter = kind == 2
    n_int = int(inter.sum())
    if n_int:
        prob = rng.uniform(0.02, 0.25, n_int)[:, None]
        size_mean = rng.uniform(1, 8, n_int)[:, None]
        occurs = rng.random((n_int, n_days)) < prob
        sizes = 1 + rng.geometric(1 / size_mean, (n_int, n_days)) - 1
        out[inter] = np.where(occurs, sizes, 0).astype(np.float64)
    return out, np.asarray(KINDS)[kind]
