"""MBG/NBD (Batislam, Denizel & Filiztekin 2007): BG/NBD with drop-out possible at the first purchase."""

from __future__ import annotations

from collections.abc import Mapping

from mercato.retention.models import betageo
from mercato.retention.models.base import CustomerModel
from mercato.retention.models.fitting import Array, FitResult


class MBGNBD(CustomerModel):
    """Modified BG/NBD: drop-out also possible at the first purchase (a one-time buyer may be gone)."""

    name = "mbgnbd"
    param_names = betageo.NAMES
    _k = 1

    @classmethod
    def fit(cls, x: Array, t_x: Array, T: Array) -> MBGNBD:
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
