"""The interface every customer-base model offers: fit, P(alive), expected purchases."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar, Self

import numpy as np

from mercato.retention.models.fitting import Array, FitResult, group_rows


class CustomerModel(ABC):
    """A fitted (or given) customer-base model. Time is in the unit the summary was made in."""

    name: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]

    def __init__(self, params: Mapping[str, float], result: FitResult | None = None) -> None:
        missing = [n for n in self.param_names if n not in params]
        if missing:
            raise ValueError(f"{self.name}: missing parameters {missing}")
        self.params = {n: float(params[n]) for n in self.param_names}
        self.result = result

    @classmethod
    @abstractmethod
    def fit(cls, x: Array, t_x: Array, T: Array) -> Self:
        """Maximum likelihood fit on a calibration summary."""

    @abstractmethod
    def log_likelihood(self, x: Array, t_x: Array, T: Array) -> Array:
        """Per-customer log-likelihood."""

    @abstractmethod
    def p_alive(self, x: Array, t_x: Array, T: Array) -> Array:
        """Probability that each customer is still active at the end of its observation (T)."""

    @abstractmethod
    def alive_expected(self, x: Array, T: Array, t: float | Array) -> Array:
        """Expected purchases in the next t periods given that the customer is alive at T."""

    @abstractmethod
    def expected_new(self, t: float | Array) -> Array:
        """Expected repeat purchases of a newly acquired customer in its first t periods."""

    def prob_n_purchases(self, t: Array, n: int) -> Array:
        """P(X(t) = n) for a new customer observed for t periods."""
        raise NotImplementedError(f"{self.name} does not provide P(X(t) = n)")

    def expected_purchases(self, x: Array, t_x: Array, T: Array, t: float) -> Array:
        """Expected purchases in (T, T+t] given the history (x, t_x, T): P(alive) x E[.. | alive]."""
        return self.p_alive(x, t_x, T) * self.alive_expected_grouped(x, T, t)

    def alive_expected_grouped(self, x: Array, T: Array, t: float) -> Array:
        """:meth:`alive_expected` evaluated once per distinct (x, T) pair, then spread to all rows."""
        g = group_rows(x, T)
        ux = g.column(0)
        uT = g.column(1)
        return np.asarray(self.alive_expected(ux, uT, t))[g.inverse]
