"""Gamma-Gamma spend model (Fader & Hardie 2013, "The Gamma-Gamma model of monetary value").

Each transaction value z ~ Gamma(p, nu) (shape p, rate nu), nu ~ Gamma(q, gamma) across customers.
Given x repeat transactions with mean zbar, one customer's likelihood is

    Gamma(px+q) / (Gamma(px) Gamma(q)) * gamma^q * zbar^(px-1) * x^(px) / (gamma + x zbar)^(px+q).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
from scipy.special import digamma, gammaln

from mercato.retention.errors import NotIdentifiableError
from mercato.retention.models.fitting import Array, FitResult, dot, group_rows, maximise

NAMES = ("p", "q", "gamma")


class GammaGamma:
    """Expected average transaction value per customer, shrunk towards the population mean."""

    name = "gg"
    param_names = NAMES

    def __init__(self, params: Mapping[str, float], result: FitResult | None = None) -> None:
        self.params = {n: float(params[n]) for n in NAMES}
        self.result = result

    @classmethod
    def fit(cls, x: Array, zbar: Array) -> GammaGamma:
        """Fit on repeat buyers (x > 0) with a positive mean repeat spend; other rows are ignored."""
        started = time.perf_counter()
        x = np.asarray(x, dtype=np.float64)
        zbar = np.asarray(zbar, dtype=np.float64)
        keep = (x > 0) & np.isfinite(zbar) & (zbar > 0)
        x, zbar = x[keep], zbar[keep]
        if len(x) < 2:
            raise NotIdentifiableError(
                "the data cannot identify the Gamma-Gamma spend model: it needs at least 2 repeat buyers "
                f"with a positive spend, got {len(x)}"
            )
        if np.ptp(zbar) <= 1e-12 * np.max(zbar):
            raise NotIdentifiableError(
                "the data cannot identify the Gamma-Gamma spend model: every repeat buyer spends the same "
                "average amount, so spend varies neither within nor between customers"
            )
        g = group_rows(x, zbar)
        ux, uz = g.values
        ix, iz = g.index
        wt = g.weight
        n = wt.sum()
        cnt_x = np.bincount(ix, weights=wt, minlength=len(ux))
        xs = ux[ix]
        zs = uz[iz]
        lz = np.log(zs)
        lx = np.log(xs)
        xz = xs * zs
        s_x_lzx = float(dot(wt * xs, lz + lx))
        s_lz = float(dot(wt, lz))

        def f(theta: Array) -> tuple[float, Array]:
            p, q, gam = np.exp(theta)
            px_u = p * ux
            lg = np.log(gam + xz)
            pxq = p * xs + q
            ll = dot(cnt_x, gammaln(px_u + q) - gammaln(px_u)) - n * gammaln(q) + n * q * np.log(gam)
            ll += p * s_x_lzx - s_lz - dot(wt, pxq * lg)
            dpsi_u = digamma(px_u + q)
            g_p = dot(cnt_x * ux, dpsi_u - digamma(px_u)) + s_x_lzx - dot(wt * xs, lg)
            g_q = dot(cnt_x, dpsi_u) - n * digamma(q) + n * np.log(gam) - dot(wt, lg)
            g_g = n * q / gam - dot(wt, pxq / (gam + xz))
            return float(ll), np.array([g_p * p, g_q * q, g_g * gam])

        mean = float(np.average(zs, weights=wt))
        start = np.log(np.array([1.0, 2.0, mean]))
        result = maximise(
            f, start, NAMES, model="Gamma-Gamma", n_customers=len(x), n_distinct=len(wt), started=started
        )
        return cls(result.params, result)

    def log_likelihood(self, x: Array, zbar: Array) -> Array:
        p, q, gam = (self.params[n] for n in NAMES)
        x = np.asarray(x, dtype=np.float64)
        zbar = np.asarray(zbar, dtype=np.float64)
        return np.asarray(
            gammaln(p * x + q)
            - gammaln(p * x)
            - gammaln(q)
            + q * np.log(gam)
            + (p * x - 1) * np.log(zbar)
            + p * x * np.log(x)
            - (p * x + q) * np.log(gam + x * zbar)
        )

    def population_mean(self) -> float:
        """Mean transaction value across customers, E[p/nu] = p gamma / (q - 1) (infinite if q <= 1)."""
        p, q, gam = (self.params[n] for n in NAMES)
        return p * gam / (q - 1.0) if q > 1.0 else float("inf")

    def expected_spend(self, x: Array, zbar: Array) -> Array:
        """E[Z | x, zbar] = p (gamma + x zbar) / (p x + q - 1); the population mean where x = 0."""
        p, q, gam = (self.params[n] for n in NAMES)
        x = np.asarray(x, dtype=np.float64)
        z = np.where(x > 0, np.nan_to_num(np.asarray(zbar, dtype=np.float64)), 0.0)
        return np.asarray(p * (gam + x * z) / (p * x + q - 1.0))
