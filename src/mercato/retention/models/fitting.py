"""Shared machinery for the customer-base models: collapsing identical customers into weights,
maximum likelihood in log-parameter space with analytic gradients, identifiability checks and
standard errors from the Hessian (a central-difference Hessian of the analytic gradient)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from mercato.retention.errors import NotIdentifiableError, RetentionError

Array = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: log-parameters are kept inside this box; a parameter that runs to its edge is not identified.
LOG_BOUND = 18.0


@dataclass(frozen=True)
class Grouped:
    """Rows collapsed to their distinct combinations.

    ``values[k]`` holds the distinct values of column k; ``index[k][i]`` points distinct row i at its
    value in ``values[k]``; ``weight[i]`` counts the original rows; ``inverse[j]`` maps original row j
    to its distinct row."""

    values: tuple[Array, ...]
    index: tuple[IntArray, ...]
    weight: Array
    inverse: IntArray

    @property
    def n_rows(self) -> int:
        return int(self.weight.sum())

    def column(self, k: int) -> Array:
        return self.values[k][self.index[k]]


def group_rows(*columns: NDArray[np.float64] | Sequence[float], weights: Array | None = None) -> Grouped:
    """Collapse rows with identical values in every column (exact float equality)."""
    cols = [np.asarray(c, dtype=np.float64) for c in columns]
    n = len(cols[0])
    uniques: list[Array] = []
    codes: list[NDArray[np.int64]] = []
    for c in cols:
        if len(c) != n:
            raise ValueError("all columns must have the same length")
        u, inv = np.unique(c, return_inverse=True)
        uniques.append(u)
        codes.append(inv.astype(np.int64).ravel())
    key = np.zeros(n, dtype=np.int64)
    radix: list[int] = []
    for u, code in zip(uniques, codes, strict=True):
        key = key * len(u) + code
        radix.append(len(u))
    ukey, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    index: list[IntArray] = []
    rest = ukey
    for size in reversed(radix):
        index.append((rest % size).astype(np.intp))
        rest = rest // size
    index.reverse()
    weight: Array
    if weights is None:
        weight = counts.astype(np.float64)
    else:
        w = np.asarray(weights, dtype=np.float64)
        weight = np.bincount(inverse.ravel(), weights=w, minlength=len(ukey)).astype(np.float64)
    return Grouped(tuple(uniques), tuple(index), weight, inverse.astype(np.intp).ravel())


@dataclass(frozen=True)
class FitResult:
    """A fitted model's parameters (by the papers' names) and how the fit went."""

    model: str
    params: dict[str, float]
    std_errors: dict[str, float]
    log_likelihood: float
    n_customers: int
    n_distinct: int
    iterations: int
    fit_seconds: float
    extra: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "params": self.params,
            "std_errors": self.std_errors,
            "log_likelihood": self.log_likelihood,
            "n_customers": self.n_customers,
            "n_distinct": self.n_distinct,
            "iterations": self.iterations,
            "fit_seconds": self.fit_seconds,
            **self.extra,
        }


#: Objective: log-parameters -> (total log-likelihood, gradient of it with respect to log-parameters).
Objective = Callable[[Array], tuple[float, Array]]


def maximise(
    objective: Objective,
    start: Array,
    names: Sequence[str],
    *,
    model: str,
    n_customers: int,
    n_distinct: int,
    started: float | None = None,
) -> FitResult:
    """Maximise ``objective`` over log-parameters with L-BFGS-B and analytic gradients."""
    t0 = time.perf_counter() if started is None else started
    scale = 1.0 / max(n_customers, 1)

    def neg(theta: Array) -> tuple[float, Array]:
        ll, grad = objective(theta)
        if not np.isfinite(ll) or not np.all(np.isfinite(grad)):
            return 1e300, np.zeros_like(theta)
        return -ll * scale, -grad * scale

    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    best = None
    for x0 in (start, start + 0.5, np.zeros_like(start)):
        res = minimize(
            neg,
            np.asarray(x0, dtype=np.float64),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 3000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
        )
        if best is None or res.fun < best.fun:
            best = res
        grad_ok = np.max(np.abs(res.jac)) < 1e-5
        if res.fun < 1e299 and (res.success or grad_ok):
            best = res
            break
    assert best is not None
    theta = np.asarray(best.x, dtype=np.float64)
    edge = np.abs(theta) >= LOG_BOUND - 1e-3
    if np.any(edge):
        which = ", ".join(
            f"{n} ({'towards 0' if t < 0 else 'towards infinity'})"
            for n, t, e in zip(names, theta, edge, strict=True)
            if e
        )
        raise NotIdentifiableError(
            f"the data cannot identify the {model} model: the maximum likelihood "
            f"runs off to the edge for {which}"
        )
    if best.fun >= 1e299:
        raise RetentionError(f"{model}: the log-likelihood could not be evaluated at any starting point")
    if not (best.success or np.max(np.abs(best.jac)) < 1e-4):
        raise RetentionError(f"{model}: the optimiser stopped without converging ({best.message})")
    ll, _ = objective(theta)
    params = dict(zip(names, np.exp(theta).tolist(), strict=True))
    se = standard_errors(objective, theta, names)
    return FitResult(
        model=model,
        params=params,
        std_errors=se,
        log_likelihood=float(ll),
        n_customers=n_customers,
        n_distinct=n_distinct,
        iterations=int(best.nit),
        fit_seconds=time.perf_counter() - t0,
    )


def standard_errors(objective: Objective, theta: Array, names: Sequence[str]) -> dict[str, float]:
    """Standard errors of the natural parameters: the inverse observed information in log space (a
    central-difference Hessian of the analytic gradient), mapped back by the delta method."""
    k = len(theta)
    hess = np.empty((k, k))
    for j in range(k):
        h = 1e-5 * max(1.0, abs(theta[j]))
        up = theta.copy()
        dn = theta.copy()
        up[j] += h
        dn[j] -= h
        hess[:, j] = (objective(up)[1] - objective(dn)[1]) / (2 * h)
    hess = 0.5 * (hess + hess.T)
    try:
        cov = np.linalg.inv(-hess)
        var = np.diag(cov)
    except np.linalg.LinAlgError:
        var = np.full(k, np.nan)
    var = np.where(var > 0, var, np.nan)
    se = np.exp(theta) * np.sqrt(var)
    return dict(zip(names, se.tolist(), strict=True))


def check_arrays(x: Array, t_x: Array, T: Array) -> None:
    """Validate a frequency/recency/T summary; raise ValueError naming the first bad row."""
    if not (len(x) == len(t_x) == len(T)):
        raise ValueError("x, t_x and T must have the same length")
    bad = ~(np.isfinite(x) & np.isfinite(t_x) & np.isfinite(T))
    bad |= (x < 0) | (t_x < 0) | (t_x > T + 1e-9) | ((x == 0) & (t_x != 0)) | (np.round(x) != x)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValueError(
            f"row {i}: invalid summary x={x[i]}, t_x={t_x[i]}, T={T[i]} (need 0 <= t_x <= T, t_x=0 when x=0)"
        )


def require_repeat_buyers(x: Array, model: str) -> None:
    n = len(x)
    if n < 2:
        raise NotIdentifiableError(
            f"the data cannot identify the {model} model: it needs at least 2 customers, got {n}"
        )
    if not np.any(x > 0):
        raise NotIdentifiableError(
            f"the data cannot identify the {model} model: no customer bought more than once, so purchase "
            "rates and drop-out cannot be told apart (only one-time buyers)"
        )


def dot(a: NDArray[Any], b: NDArray[Any]) -> float:
    """Inner product without BLAS: BLAS threads contend badly on a busy small machine."""
    return float(np.einsum("i,i->", a, b))
