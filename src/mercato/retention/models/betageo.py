"""The beta-geometric family shared by BG/NBD (Fader, Hardie & Lee 2005) and MBG/NBD (Batislam,
Denizel & Filiztekin 2007). Purchases follow a Poisson process with rate lambda ~ Gamma(r, alpha);
after a purchase a customer drops out with probability p ~ Beta(a, b). ``k`` = 0 is BG/NBD (no drop-out
at the first purchase), ``k`` = 1 is MBG/NBD (drop-out possible at the first purchase too).

With ``k`` the likelihood of one customer is

    Gamma(r+x) alpha^r / Gamma(r) * [ B(a, b+x+k)/B(a,b) (alpha+T)^-(r+x)
                                      + [x+k>0] B(a+1, b+x+k-1)/B(a,b) (alpha+t_x)^-(r+x) ]
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

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

NAMES = ("r", "alpha", "a", "b")


def _objective(g: Grouped, k: int):  # type: ignore[no-untyped-def]
    ux, utx, uT = g.values
    ix, itx, iT = g.index
    wt = g.weight
    n = wt.sum()
    cnt_x = np.bincount(ix, weights=wt, minlength=len(ux))
    has2_x = (ux + k) > 0
    xk = ux + k

    def f(theta: Array) -> tuple[float, Array]:
        r, alpha, a, b = np.exp(theta)
        bl = betaln(a, b)
        rx_u = r + ux
        c1_u = betaln(a, b + xk) - bl
        c2_u = np.where(has2_x, betaln(a + 1, np.where(has2_x, b + xk - 1, 1.0)) - bl, -np.inf)
        la_T = np.log(alpha + uT)
        la_tx = np.log(alpha + utx)
        rx = rx_u[ix]
        l1 = c1_u[ix] - rx * la_T[iT]
        l2 = c2_u[ix] - rx * la_tx[itx]
        m = np.maximum(l1, l2)
        e1 = np.exp(l1 - m)
        e2 = np.exp(l2 - m)
        s = e1 + e2
        lse = m + np.log(s)
        w1 = e1 / s
        w2 = e2 / s
        head_u = gammaln(rx_u) - gammaln(r) + r * np.log(alpha)
        ll = float(dot(cnt_x, head_u) + dot(wt, lse))

        ww1 = wt * w1
        ww2 = wt * w2
        sum1_x = np.bincount(ix, weights=ww1, minlength=len(ux))
        sum2_x = np.bincount(ix, weights=ww2, minlength=len(ux))
        # r
        g_r = dot(cnt_x, digamma(rx_u)) + n * (np.log(alpha) - digamma(r))
        g_r -= dot(ww1, la_T[iT]) + dot(ww2, la_tx[itx])
        # alpha
        inv_T = 1.0 / (alpha + uT)
        inv_tx = 1.0 / (alpha + utx)
        g_alpha = n * r / alpha - dot(rx, ww1 * inv_T[iT] + ww2 * inv_tx[itx])
        # a, b
        dab_u = digamma(a + b + xk)
        db2_u = np.where(has2_x, digamma(np.where(has2_x, b + xk - 1, 1.0)), 0.0)
        g_a = dot(sum1_x, digamma(a) - dab_u) + dot(sum2_x, digamma(a + 1) - dab_u)
        g_a -= n * (digamma(a) - digamma(a + b))
        g_b = dot(sum1_x, digamma(b + xk) - dab_u) + dot(sum2_x, db2_u - dab_u)
        g_b -= n * (digamma(b) - digamma(a + b))
        grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
        return ll, grad

    return f


def fit(x: Array, t_x: Array, T: Array, *, k: int, model: str) -> FitResult:
    started = time.perf_counter()
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    check_arrays(x, t_x, T)
    require_repeat_buyers(x, model)
    g = group_rows(x, t_x, T)
    f = _objective(g, k)
    # Start from moment-like guesses: rate ~ repeat purchases per unit time.
    rate = max(float(np.sum(x) / max(np.sum(T), 1e-9)), 1e-6)
    start = np.log(np.array([1.0, 1.0 / rate, 1.0, 3.0]))
    return maximise(
        f, start, NAMES, model=model, n_customers=len(x), n_distinct=len(g.weight), started=started
    )


def log_likelihood(params: Mapping[str, float], x: Array, t_x: Array, T: Array, *, k: int) -> Array:
    """Per-customer log-likelihood."""
    r, alpha, a, b = (params[n] for n in NAMES)
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    bl = betaln(a, b)
    has2 = (x + k) > 0
    l1 = betaln(a, b + x + k) - bl - (r + x) * np.log(alpha + T)
    l2 = np.where(has2, betaln(a + 1, np.where(has2, b + x + k - 1, 1.0)) - bl, -np.inf) - (r + x) * np.log(
        alpha + t_x
    )
    return np.asarray(gammaln(r + x) - gammaln(r) + r * np.log(alpha) + np.logaddexp(l1, l2))


def p_alive(params: Mapping[str, float], x: Array, t_x: Array, T: Array, *, k: int) -> Array:
    r, alpha, a, b = (params[n] for n in NAMES)
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    has2 = (x + k) > 0
    log_ratio = (
        np.log(a)
        - np.log(np.where(has2, b + x + k - 1, 1.0))
        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    )
    return np.where(has2, 1.0 / (1.0 + np.exp(np.minimum(log_ratio, 700.0))), 1.0)


# From this a + b on, the exact expressions below lose their footing: (1-z)^(a-1) underflows while
# the 2F1 overflows (NaN from a + b of about 800). A fit gets there when customers' drop-out chances
# hardly differ: the likelihood then grows as a and b run off together with a/(a+b) fixed. There the
# expectations are taken over p by quadrature instead: Beta(a, b) is then narrow and smooth, so 64
# Gauss-Legendre nodes over its mean +- 12 standard deviations agree with the exact form to ~1e-10
# where both hold (tested).
QUADRATURE_AB = 400.0
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(64)


def _over_p(a: float, b: Array, f):  # type: ignore[no-untyped-def]
    """E[f(p)] for p ~ Beta(a, b), b an array (one Beta per element); ``f`` maps p of shape
    (n, nodes) to values of the same shape."""
    b = np.asarray(b, dtype=np.float64)[..., None]
    s = a + b
    mean = a / s
    sd = np.sqrt(a * b / (s * s * (s + 1.0)))
    lo = np.maximum(mean - 12.0 * sd, 1e-300)
    hi = np.minimum(mean + 12.0 * sd, 1.0 - 1e-16)
    p = lo + (hi - lo) * (_NODES + 1.0) * 0.5
    logpdf = (a - 1.0) * np.log(p) + (b - 1.0) * np.log1p(-p)
    w = _WEIGHTS * np.exp(logpdf - logpdf.max(axis=-1, keepdims=True))
    return np.sum(w * f(p), axis=-1) / np.sum(w, axis=-1)


def alive_expected(params: Mapping[str, float], x: Array, T: Array, t: float | Array, *, k: int) -> Array:
    """Expected purchases in (T, T+t] for a customer known to be alive at T (depends on x and T only)."""
    r, alpha, a, b = (params[n] for n in NAMES)
    x, T = np.asarray(x, dtype=np.float64), np.asarray(T, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if a + b >= QUADRATURE_AB:
        # alive at T: lambda ~ Gamma(r+x, alpha+T) and p ~ Beta(a, b+x+k); given both, the expected
        # count is (1 - exp(-lambda p t)) / p, and over lambda the exponential's mean is a power
        x, T, t = np.broadcast_arrays(x, T, t)
        return np.asarray(
            _over_p(
                a,
                b + x + k,
                lambda p: (1.0 - ((alpha + T[..., None]) / (alpha + T[..., None] + p * t[..., None]))
                           ** (r + x[..., None])) / p,
            )
        )  # fmt: skip
    z = t / (alpha + T + t)
    c = a + b + x + k - 1
    # Euler's transformation keeps the series well inside its convergence region for z near 1:
    # (1-z)^(r+x) 2F1(r+x, b+x+k; c; z) = (1-z)^(c-b-x-k) 2F1(c-r-x, a-1; c; z), and c-b-x-k = a-1.
    h = np.power(1.0 - z, a - 1.0) * hyp2f1(c - r - x, a - 1.0, c, z)
    return (
        np.asarray((c / (a - 1.0)) * (1.0 - h))
        if abs(a - 1.0) > 1e-9
        else _alive_expected_a1(params, x, T, t, k)
    )


def _alive_expected_a1(params: Mapping[str, float], x: Array, T: Array, t: Array, k: int) -> Array:
    # a == 1 is a removable singularity; average the two sides.
    lo = dict(params, a=1.0 - 1e-6)
    hi = dict(params, a=1.0 + 1e-6)
    return 0.5 * (alive_expected(lo, x, T, t, k=k) + alive_expected(hi, x, T, t, k=k))


def expected_new(params: Mapping[str, float], t: float | Array, *, k: int) -> Array:
    """E[X(t)]: expected repeat purchases by a new customer in its first t periods."""
    r, alpha, a, b = (params[n] for n in NAMES)
    t = np.asarray(t, dtype=np.float64)
    if a + b >= QUADRATURE_AB:  # alive after the first purchase with probability (1-p)^k
        tt = np.atleast_1d(t)
        out = _over_p(
            a,
            np.full(tt.shape, b),
            lambda p: (1.0 - p) ** k / p * (1.0 - (alpha / (alpha + p * tt[..., None])) ** r),
        )
        return np.asarray(out.reshape(np.shape(t)))
    z = t / (alpha + t)
    if abs(a - 1.0) < 1e-9:
        a = 1.0 + 1e-7
    # B(a-1, b+k) / B(a, b), keeping its sign for a < 1.
    coef = np.exp(gammaln(b + k) - gammaln(b) + gammaln(a + b) - gammaln(a + b + k - 1.0)) / (a - 1.0)
    # (1-z)^r 2F1(r, b+k; a+b+k-1; z) with Euler's transformation as above.
    c = a + b + k - 1.0
    h = np.power(1.0 - z, a - 1.0) * hyp2f1(c - r, a - 1.0, c, z)
    return np.asarray(coef * (1.0 - h))


def prob_n_purchases(params: Mapping[str, float], t: Array, n: int, *, k: int) -> Array:
    """P(X(t) = n) for a new customer observed for t periods."""
    r, alpha, a, b = (params[nm] for nm in NAMES)
    t = np.asarray(t, dtype=np.float64)
    bl = betaln(a, b)
    lp = np.log(alpha / (alpha + t))
    lq = np.log(np.where(t > 0, t / (alpha + t), 1.0))

    def nbd(j: int) -> Array:
        val = np.exp(gammaln(r + j) - gammaln(r) - gammaln(j + 1) + r * lp + j * lq)
        return np.asarray(np.where((t > 0) | (j == 0), val, 0.0))

    out = np.exp(betaln(a, b + n + k) - bl) * nbd(n)
    if n + k > 0:
        # Drop-out after the last of n purchases (for MBG/NBD with n = 0: at the first purchase).
        tail = 1.0 - sum((nbd(j) for j in range(n)), np.zeros_like(t))
        out = out + np.exp(betaln(a + 1, b + n + k - 1) - bl) * tail
    return np.asarray(out)
