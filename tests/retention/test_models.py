"""Customer-base models: published CDNOW estimates, gradients, stability, recovery, identifiability."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy.special import gammaln, hyp2f1

from mercato.retention.errors import NotIdentifiableError
from mercato.retention.models import BGNBD, MBGNBD, GammaGamma, ParetoNBD, betageo, group_rows, pnbd
from mercato.retention.models.simulate import simulate_betageo, simulate_gammagamma, simulate_pnbd
from mercato.retention.summary import Summary


@pytest.fixture(scope="module")
def fitted(cdnow_summary: Summary) -> dict[str, object]:
    s = cdnow_summary
    return {
        "bgnbd": BGNBD.fit(s.x, s.t_x, s.T),
        "mbgnbd": MBGNBD.fit(s.x, s.t_x, s.T),
        "pnbd": ParetoNBD.fit(s.x, s.t_x, s.T),
        "gg": GammaGamma.fit(s.x, s.monetary),
    }


def test_cdnow_summary_matches_published_calibration_table(cdnow_summary: Summary, cdnow_dir: Path) -> None:
    assert cdnow_summary.frame.height == 2357
    assert int((cdnow_summary.x > 0).sum()) == 946
    ref = pl.read_csv(cdnow_dir / "cdnow_customers_summary_with_transactions.csv")
    j = cdnow_summary.frame.with_columns(ID=pl.col("customer_id").cast(pl.Int64)).join(ref, on="ID")
    assert j.height == 2357
    assert (j["frequency"] == j["x"]).all()
    assert float((j["recency"] - j["t_x"]).abs().max()) < 0.005  # the file is rounded to 2 decimals
    assert float((j["T"] - j["T_right"]).abs().max()) < 0.005
    rep = j.filter(pl.col("x") > 0)
    assert float((rep["monetary_value"] - rep["zbar"]).abs().max()) < 0.006


def test_bgnbd_reproduces_fader_hardie_lee_2005(fitted: dict[str, object]) -> None:
    m = fitted["bgnbd"]
    assert isinstance(m, BGNBD) and m.result is not None
    p = m.params
    assert (round(p["r"], 3), round(p["alpha"], 3), round(p["a"], 3), round(p["b"], 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert round(m.result.log_likelihood, 1) == -9582.4
    assert all(np.isfinite(v) and v > 0 for v in m.result.std_errors.values())


def test_pareto_nbd_reproduces_published_estimates(fitted: dict[str, object]) -> None:
    m = fitted["pnbd"]
    assert isinstance(m, ParetoNBD) and m.result is not None
    p = m.params
    assert (round(p["r"], 3), round(p["alpha"], 3), round(p["s"], 3), round(p["beta"], 3)) == (
        0.553,
        10.578,
        0.606,
        11.669,
    )
    assert round(m.result.log_likelihood, 1) == -9595.0


def test_gamma_gamma_reproduces_fader_hardie_2013(fitted: dict[str, object]) -> None:
    m = fitted["gg"]
    assert isinstance(m, GammaGamma) and m.result is not None
    assert m.result.n_customers == 946
    assert (round(m.params["p"], 2), round(m.params["q"], 2)) == (6.25, 3.74)
    assert abs(m.params["gamma"] - 15.44) < 0.01
    # Shrinkage: expected spend lies between the customer's own mean and the population mean.
    pop = m.population_mean()
    e = m.expected_spend(np.array([1.0, 10.0]), np.array([100.0, 100.0]))
    assert pop < e[1] < 100.0 and e[0] < e[1]


def test_mbgnbd_fits_and_behaves(fitted: dict[str, object], cdnow_summary: Summary) -> None:
    m, bg = fitted["mbgnbd"], fitted["bgnbd"]
    assert isinstance(m, MBGNBD) and isinstance(bg, BGNBD) and m.result and bg.result
    assert m.result.log_likelihood >= bg.result.log_likelihood - 5.0
    s = cdnow_summary
    pa = m.p_alive(s.x, s.t_x, s.T)
    assert np.all((pa > 0) & (pa <= 1))
    # Unlike BG/NBD, a one-time buyer is not certainly alive.
    assert np.all(pa[s.x == 0] < 1) and np.all(bg.p_alive(s.x, s.t_x, s.T)[s.x == 0] == 1)
    # More recent purchases mean more likely alive; same recency, more purchases, more evidence.
    assert (
        m.p_alive(np.array([3.0]), np.array([30.0]), np.array([39.0]))[0]
        > m.p_alive(np.array([3.0]), np.array([5.0]), np.array([39.0]))[0]
    )


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd", "pnbd"])
def test_predictions_are_consistent(fitted: dict[str, object], cdnow_summary: Summary, model: str) -> None:
    m = fitted[model]
    s = cdnow_summary
    e10 = m.expected_purchases(s.x, s.t_x, s.T, 10.0)  # type: ignore[attr-defined]
    e39 = m.expected_purchases(s.x, s.t_x, s.T, 39.0)  # type: ignore[attr-defined]
    assert np.all(e10 >= 0) and np.all(e39 > e10 - 1e-12)
    new = m.expected_new(np.array([0.0, 10.0, 39.0, 78.0]))  # type: ignore[attr-defined]
    assert new[0] == pytest.approx(0.0, abs=1e-12) and np.all(np.diff(new) > 0)
    if model != "pnbd":
        t = np.array([5.0, 39.0])
        probs = np.array([m.prob_n_purchases(t, n) for n in range(400)])  # type: ignore[attr-defined]
        assert np.allclose(probs.sum(axis=0), 1.0, atol=1e-6)
        assert np.allclose((probs * np.arange(400)[:, None]).sum(axis=0), m.expected_new(t), rtol=1e-5)  # type: ignore[attr-defined]


def _fd_check(f, theta: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    _, g = f(theta)
    h = 1e-6
    for i in range(len(theta)):
        up, dn = theta.copy(), theta.copy()
        up[i] += h
        dn[i] -= h
        fd = (f(up)[0] - f(dn)[0]) / (2 * h)
        assert g[i] == pytest.approx(fd, rel=1e-5, abs=1e-4)


@pytest.mark.parametrize("theta", [[-1.4, 1.5, -0.2, 0.9], [0.5, -1.0, 1.2, -0.5], [-3.0, 3.0, 0.0, 2.0]])
def test_analytic_gradients_match_finite_differences(cdnow_summary: Summary, theta: list[float]) -> None:
    s = cdnow_summary
    g = group_rows(s.x, s.t_x, s.T)
    for k in (0, 1):
        _fd_check(betageo._objective(g, k), np.array(theta))
    _fd_check(pnbd._objective(g), np.array(theta))


def _pnbd_closed_form(
    r: float, alpha: float, s: float, beta: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    # Fader & Hardie (2005) with the Gauss hypergeometric function: the textbook form.
    maxab, absab = max(alpha, beta), abs(alpha - beta)
    if alpha >= beta:
        b2 = s + 1
    else:
        b2 = r + x
    a1 = r + s + x
    f1 = hyp2f1(a1, b2, a1 + 1, absab / (maxab + t_x)) / (maxab + t_x) ** a1
    f2 = hyp2f1(a1, b2, a1 + 1, absab / (maxab + T)) / (maxab + T) ** a1
    lik = 1 / ((alpha + T) ** (r + x) * (beta + T) ** s) + s / a1 * (f1 - f2)
    return gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + np.log(lik)


@pytest.mark.parametrize("params", [(0.55, 10.6, 0.61, 11.7), (0.8, 3.0, 1.5, 40.0), (2.0, 50.0, 0.3, 0.5)])
def test_pareto_quadrature_matches_hypergeometric_form(
    cdnow_summary: Summary, params: tuple[float, ...]
) -> None:
    s = cdnow_summary
    sel = (s.T - s.t_x) > 1.0  # where the closed form does not cancel catastrophically
    m = ParetoNBD(dict(zip(("r", "alpha", "s", "beta"), params, strict=True)))
    ours = m.log_likelihood(s.x[sel], s.t_x[sel], s.T[sel])
    ref = _pnbd_closed_form(*params, s.x[sel], s.t_x[sel], s.T[sel])
    assert np.allclose(ours, ref, rtol=1e-9, atol=1e-9)
    # And it stays finite and ordered where t_x = T, where the closed form's difference vanishes.
    edge = m.log_likelihood(np.array([5.0, 5.0]), np.array([39.0, 38.9999]), np.array([39.0, 39.0]))
    assert np.all(np.isfinite(edge)) and edge[1] == pytest.approx(edge[0], abs=1e-3)


def _within(est: dict[str, float], se: dict[str, float], truth: dict[str, float], z: float = 4.0) -> None:
    for k, v in truth.items():
        assert abs(est[k] - v) < z * se[k], (k, est[k], v, se[k])


def test_bgnbd_and_mbgnbd_recover_parameters() -> None:
    rng = np.random.default_rng(2024)
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.7, "b": 2.5}
    T = rng.uniform(20, 80, 30_000)
    x, t_x = simulate_betageo(truth, T, rng)
    m = BGNBD.fit(x, t_x, T)
    assert m.result is not None
    _within(m.params, m.result.std_errors, truth)
    x, t_x = simulate_betageo(truth, T, rng, k=1)
    m2 = MBGNBD.fit(x, t_x, T)
    assert m2.result is not None
    _within(m2.params, m2.result.std_errors, truth)


def test_pareto_nbd_recovers_parameters() -> None:
    rng = np.random.default_rng(7)
    truth = {"r": 0.6, "alpha": 8.0, "s": 0.8, "beta": 15.0}
    T = rng.uniform(20, 80, 20_000)
    x, t_x = simulate_pnbd(truth, T, rng)
    m = ParetoNBD.fit(x, t_x, T)
    assert m.result is not None
    _within(m.params, m.result.std_errors, truth)


def test_gamma_gamma_recovers_parameters() -> None:
    rng = np.random.default_rng(3)
    truth = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    x = rng.integers(1, 10, 20_000).astype(float)
    z = simulate_gammagamma(truth, x, rng)
    m = GammaGamma.fit(x, z)
    assert m.result is not None
    _within(m.params, m.result.std_errors, truth)


def test_simulator_matches_closed_form_expectations() -> None:
    rng = np.random.default_rng(11)
    T = np.full(400_000, 30.0)
    for k, cls in ((0, BGNBD), (1, MBGNBD)):
        params = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}
        x, _ = simulate_betageo(params, T, rng, k=k)
        expected = float(cls(params).expected_new(30.0))
        assert abs(x.mean() - expected) < 4 * x.std() / np.sqrt(len(x))
    pp = {"r": 0.6, "alpha": 8.0, "s": 0.7, "beta": 12.0}
    x, _ = simulate_pnbd(pp, T, rng)
    assert abs(x.mean() - float(ParetoNBD(pp).expected_new(30.0))) < 4 * x.std() / np.sqrt(len(x))


@pytest.mark.parametrize("cls", [BGNBD, MBGNBD, ParetoNBD])
def test_not_identifiable_data_says_so(cls: type) -> None:
    with pytest.raises(NotIdentifiableError, match="only one-time buyers"):
        cls.fit(np.zeros(50), np.zeros(50), np.linspace(1, 30, 50))
    with pytest.raises(NotIdentifiableError, match="at least 2 customers"):
        cls.fit(np.array([3.0]), np.array([5.0]), np.array([10.0]))


def test_gamma_gamma_not_identifiable() -> None:
    with pytest.raises(NotIdentifiableError, match="at least 2 repeat buyers"):
        GammaGamma.fit(np.array([0.0, 1.0]), np.array([np.nan, 10.0]))
    with pytest.raises(NotIdentifiableError, match="spends the same"):
        GammaGamma.fit(np.array([1.0, 2.0, 3.0]), np.array([10.0, 10.0, 10.0]))


def test_invalid_summary_rows_are_rejected() -> None:
    with pytest.raises(ValueError, match="row 1"):
        BGNBD.fit(np.array([1.0, 2.0]), np.array([1.0, 9.0]), np.array([5.0, 5.0]))


def test_group_rows_round_trips() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, 1000).astype(float)
    b = rng.integers(0, 3, 1000).astype(float) / 7
    g = group_rows(a, b)
    assert g.n_rows == 1000
    assert np.array_equal(g.column(0)[g.inverse], a) and np.array_equal(g.column(1)[g.inverse], b)
    assert len(g.weight) == len({(u, v) for u, v in zip(a, b, strict=True)})


@pytest.mark.parametrize("k", [0, 1])
@pytest.mark.parametrize("a_b", [(10.0, 30.0), (60.0, 180.0), (90.0, 40.0), (150.0, 200.0)])
def test_beta_quadrature_matches_the_hypergeometric_form(
    k: int, a_b: tuple[float, float], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = a_b
    params = {"r": 0.24, "alpha": 4.4, "a": a, "b": b}
    x, T, tn = np.array([0.0, 1, 3, 10]), np.array([10.0, 20, 30, 38]), np.array([1.0, 10, 39, 200])
    exact = betageo.alive_expected(params, x, T, 39.0, k=k), betageo.expected_new(params, tn, k=k)
    monkeypatch.setattr(betageo, "QUADRATURE_AB", 0.0)
    by_quadrature = betageo.alive_expected(params, x, T, 39.0, k=k), betageo.expected_new(params, tn, k=k)
    np.testing.assert_allclose(by_quadrature[0], exact[0], rtol=1e-9)
    np.testing.assert_allclose(by_quadrature[1], exact[1], rtol=1e-9)


@pytest.mark.parametrize("k", [0, 1])
def test_expectations_stay_finite_when_drop_out_chances_are_all_alike(k: int) -> None:
    # a and b of 1e3..1e7 with a/(a+b) = 0.25: the exact 2F1 form gives NaN there
    x, T = np.array([0.0, 1, 3, 10]), np.array([10.0, 20, 30, 38])
    previous = None
    for scale in (1e2, 1e3, 1e5, 1e7):
        params = {"r": 0.24, "alpha": 4.4, "a": scale, "b": 3 * scale}
        alive = betageo.alive_expected(params, x, T, 39.0, k=k)
        new = betageo.expected_new(params, np.array([5.0, 39.0]), k=k)
        assert np.all(np.isfinite(alive)) and np.all(np.isfinite(new))
        if previous is not None:  # converging on the fixed-p values as the Beta narrows
            np.testing.assert_allclose(alive, previous, rtol=5e-2)
        previous = alive
    # the fixed-p limit: alive customers buy (1 - E[exp(-lambda p t)]) / p in expectation
    p = 0.25
    limit = (1.0 - ((4.4 + T) / (4.4 + T + p * 39.0)) ** (0.24 + x)) / p
    np.testing.assert_allclose(previous, limit, rtol=1e-5)
    new_limit = (1 - p) ** k / p * (1.0 - (4.4 / (4.4 + p * 39.0)) ** 0.24)
    assert betageo.expected_new({"r": 0.24, "alpha": 4.4, "a": 1e7, "b": 3e7}, 39.0, k=k) == pytest.approx(
        new_limit, rel=1e-5
    )
