"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987), likelihood as in Fader & Hardie (2005),
"A note on deriving the Pareto/NBD model and related expressions".

Purchases follow a Poisson process with rate lambda ~ Gamma(r, alpha) while the customer is alive; the
lifetime is exponential with rate mu ~ Gamma(s, beta). One customer's likelihood is

    Gamma(r+x) alpha^r beta^s / Gamma(r) * [ (alpha+T)^-(r+x) (beta+T)^-s + s * I ],
    I = integral over y in [t_x, T] of (alpha+y)^-(r+x) (beta+y)^-(s+1) dy.

The usual closed form writes I as a difference of two Gauss hypergeometric functions, which cancels
catastrophically when t_x is near T and has no closed-form derivatives in r and s. Here I is computed
in log space by Gauss-Legendre quadrature in u = log(min(alpha, beta) + y), where the integrand is smooth
for every parameter value, and its gradient is the quadrature of the integrand's exact derivatives.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
from scipy.special import digamma, gammaln, logsumexp

from mercato.retention.models.base import CustomerModel
from mercato.retention.models.fitting import (
    Array,
    FitResult,
    Grouped,
    check_arrays,
    dot,
    group_rows,
    maximise,
    require_repeat_buyers,
)

NAMES = ("r", "alpha", "s", "beta")
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(48)


def _log_integral(
    r: float, alpha: float, s: float, beta: float, x: Array, t_x: Array, T: Array
) -> tuple[Array, Array, Array, Array, Array]:
    """log I per row, and the quadrature-weighted means of log(alpha+y), 1/(alpha+y), log(beta+y),
    1/(beta+y) (for the gradient)."""
    m = min(alpha, beta)
    u0 = np.log(m + t_x)
    u1 = np.log(m + T)
    half = 0.5 * (u1 - u0)
    u = (u0 + u1)[:, None] * 0.5 + half[:, None] * _NODES[None, :]
    ey = np.exp(u)
    a_y = (alpha - m) + ey
    b_y = (beta - m) + ey
    la = np.log(a_y)
    lb = np.log(b_y)
    logg = u - (r + x)[:, None] * la - (s + 1.0) * lb + np.log(_WEIGHTS)[None, :]
    empty = half <= 0
    tot = logsumexp(logg, axis=1)
    q = np.exp(logg - tot[:, None])
    with np.errstate(divide="ignore"):
        log_i = np.where(empty, -np.inf, tot + np.log(np.where(empty, 1.0, half)))
    return (
        log_i,
        np.sum(q * la, axis=1),
        np.sum(q / a_y, axis=1),
        np.sum(q * lb, axis=1),
        np.sum(q / b_y, axis=1),
    )


def _terms(
    r: float, alpha: float, s: float, beta: float, x: Array, t_x: Array, T: Array
) -> tuple[Array, Array, Array, tuple[Array, Array, Array, Array, Array]]:
    quad = _log_integral(r, alpha, s, beta, x, t_x, T)
    l1 = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    l2 = np.log(s) + quad[0]
    lse = np.logaddexp(l1, l2)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return head + lse, np.exp(l1 - lse), lse, quad


def _objective(g: Grouped):  # type: ignore[no-untyped-def]
    x, t_x, T = (g.column(i) for i in range(3))
    wt = g.weight
    n = wt.sum()

    def f(theta: Array) -> tuple[float, Array]:
        r, alpha, s, beta = np.exp(theta)
        ll_i, w1, _, (_, m_la, m_ia, m_lb, m_ib) = _terms(r, alpha, s, beta, x, t_x, T)
        w2 = 1.0 - w1
        ll = float(dot(wt, ll_i))
        g_r = dot(wt, digamma(r + x)) + n * (np.log(alpha) - digamma(r))
        g_r -= dot(wt, w1 * np.log(alpha + T) + w2 * m_la)
        g_alpha = n * r / alpha - dot(wt, (r + x) * (w1 / (alpha + T) + w2 * m_ia))
        g_s = n * np.log(beta) - dot(wt, w1 * np.log(beta + T) + w2 * (m_lb - 1.0 / s))
        g_beta = n * s / beta - dot(wt, w1 * s / (beta + T) + w2 * (s + 1.0) * m_ib)
        return ll, np.array([g_r * r, g_alpha * alpha, g_s * s, g_beta * beta])

    return f


class ParetoNBD(CustomerModel):
    """Pareto/NBD: exponential lifetimes, heterogeneous in rate and lifetime."""

    name = "pnbd"
    param_names = NAMES

    def __init__(self, params: Mapping[str, float], result: FitResult | None = None) -> None:
        super().__init__(params, result)

    @classmethod
    def fit(cls, x: Array, t_x: Array, T: Array) -> ParetoNBD:
        started = time.perf_counter()
        x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
        check_arrays(x, t_x, T)
        require_repeat_buyers(x, cls.name)
        g = group_rows(x, t_x, T)
        rate = max(float(np.sum(x) / max(np.sum(T), 1e-9)), 1e-6)
        start = np.log(np.array([1.0, 1.0 / rate, 1.0, float(np.mean(T))]))
        result = maximise(
            _objective(g),
            start,
            NAMES,
            model=cls.name,
            n_customers=len(x),
            n_distinct=len(g.weight),
            started=started,
        )
        return cls(result.params, result)

    def _p(self) -> tuple[float, float, float, float]:
        return self.params["r"], self.params["alpha"], self.params["s"], self.params["beta"]

    def log_likelihood(self, x: Array, t_x: Array, T: Array) -> Array:
        x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
        return _terms(*self._p(), x, t_x, T)[0]

    def p_alive(self, x: Array, t_x: Array, T: Array) -> Array:
        x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
        g = group_rows(x, t_x, T)
        w1 = _terms(*self._p(), g.column(0), g.column(1), g.column(2))[1]
        return np.asarray(w1[g.inverse])

    def alive_expected(self, x: Array, T: Array, t: float | Array) -> Array:
        r, alpha, s, beta = self._p()
        x, T = np.asarray(x, dtype=np.float64), np.asarray(T, dtype=np.float64)
        t = np.asarray(t, dtype=np.float64)
        lr = np.log((beta + T) / (beta + T + t))
        return np.asarray((r + x) * (beta + T) / (alpha + T) * _one_minus_pow_over(lr, s - 1.0))

    def expected_new(self, t: float | Array) -> Array:
        r, alpha, s, beta = self._p()
        t = np.asarray(t, dtype=np.float64)
        return np.asarray(r * beta / alpha * _one_minus_pow_over(np.log(beta / (beta + t)), s - 1.0))


def _one_minus_pow_over(log_ratio: Array, e: float) -> Array:
    """(1 - exp(e * log_ratio)) / e, continuous at e = 0 (where it is -log_ratio)."""
    if abs(e) < 1e-10:
        return np.asarray(-log_ratio)
    return np.asarray(-np.expm1(e * log_ratio) / e)
