"""BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

from mercato.retention.models import betageo
from mercato.retention.models.base import CustomerModel
from mercato.retention.models.fitting import Array, FitResult


class BGNBD(CustomerModel):
    """Beta-geometric/NBD: drop-out only after a repeat purchase.

    ``_k`` is where drop-out may first happen: 0 here, after the first repeat purchase; MBG/NBD,
    which shares every formula through :mod:`betageo`, sets it to 1.
    """

    name = "bgnbd"
    param_names = betageo.NAMES
    _k = 0

    @classmethod
    def fit(cls, x: Array, t_x: Array, T: Array) -> Self:
        result = betageo.fit(x, t_x, T, k=cls._k, model=cls.name)
        return cls(result.params, result)

    def __init__(self, params: Mapping[str, float], result: FitResult | None = None) -> None:
        super().__init__(params, result)

    def log_likelihood(self, x: Array, t_x: Array, T: Array) -> Array:
        return betageo.log_likelihood(self.params, x, t_x, T, k=self._k)

    def p_alive(self, x: Array, t_x: Array, T: Array) -> Array:
        return betageo.p_alive(self.params, x, t_x, T, k=self._k)

    def alive_expected(self, x: Array, T: Array, t: float | Array) -> Array:
        return betageo.alive_expected(self.params, x, T, t, k=self._k)

    def expected_new(self, t: float | Array) -> Array:
        return betageo.expected_new(self.params, t, k=self._k)

    def prob_n_purchases(self, t: Array, n: int) -> Array:
        return betageo.prob_n_purchases(self.params, t, n, k=self._k)
