"""von Mises-Fisher: normalizer, mean resultant length, log-density, kappa solve and fit."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import relative_error, worst

from mlprims import vmf


def test_log_normalizer_against_arb(reference):
    p, kappa, ref = reference["vmf_dim"], reference["vmf_kappa"], reference["vmf_log_normalizer"]
    got = np.array([vmf.log_normalizer(k, int(d)) for k, d in zip(kappa, p)])
    err = relative_error(got, ref)
    assert err.max() <= 1e-14, worst(err, p, kappa, ref, got)


def test_log_normalizer_vectorized_and_at_zero():
    kappa = np.array([0.0, 1e-3, 1.0, 1e3])
    got = vmf.log_normalizer(kappa, 3)
    np.testing.assert_array_equal(got, [vmf.log_normalizer(k, 3) for k in kappa])
    assert got[0] == pytest.approx(-np.log(4 * np.pi), rel=1e-15)
    # continuity at 0: C_3(kappa) = kappa / (4 pi sinh kappa)
    assert got[1] == pytest.approx(np.log(1e-3 / (4 * np.pi * np.sinh(1e-3))), rel=1e-14)
    assert vmf.log_normalizer(np.inf, 5) == -np.inf and np.isnan(vmf.log_normalizer(-1.0, 5))


def test_mean_resultant_length_against_arb(reference):
    p, kappa, ref = reference["vmf_dim"], reference["vmf_kappa"], reference["vmf_mean_resultant_length"]
    got = np.array([vmf.mean_resultant_length(k, int(d)) for k, d in zip(kappa, p)])
    err = relative_error(got, ref)
    assert err.max() <= 1e-14, worst(err, p, kappa, ref, got)


def test_kappa_mle_from_exact_rbar(reference):
    """kappa relative error <= 1e-10 for dim in {3, 64, 2048, 8192, 32768}, kappa in [1e-3, 1e7].

    rbar = A_p(kappa) is rounded to a double before it reaches the solver, which alone moves the
    root by up to 5e-10 relative at p = 3, kappa = 1e7 (1 - rbar = 1e-7 keeps only 9 digits), so
    the error is measured against the exact root for the double rbar actually given."""
    dims, rbar, root = reference["solve_dim"], reference["solve_rbar"], reference["solve_kappa_root"]
    assert set(int(d) for d in dims) >= {3, 64, 2048, 8192, 32768}
    got = np.array([vmf.kappa_mle(float(r), int(d)).kappa for r, d in zip(rbar, dims)])
    err = relative_error(got, root)
    assert err.max() <= 1e-10, worst(err, dims, reference["solve_kappa_true"], root, got)
    # and the double rounding of rbar is the only thing between us and the true kappa
    true_err = relative_error(got, reference["solve_kappa_true"])
    assert true_err.max() <= 1e-9


def test_kappa_mle_edges():
    assert vmf.kappa_mle(0.0, 5).kappa == 0.0
    assert vmf.kappa_mle(1.0, 5).kappa == np.inf
    estimate = vmf.kappa_mle(0.5, 3)
    assert estimate.converged and 1 <= estimate.iterations < 20
    assert vmf.mean_resultant_length(estimate.kappa, 3) == pytest.approx(0.5, rel=1e-15)
    with pytest.raises(ValueError, match=r"kappa_mle: 'rbar' must be in \[0, 1\]"):
        vmf.kappa_mle(1.5, 3)
    with pytest.raises(ValueError, match=r"kappa_mle: 'dim' must be >= 2, got 1"):
        vmf.kappa_mle(0.5, 1)
    with pytest.raises(TypeError, match=r"'dim' must be an integer"):
        vmf.kappa_mle(0.5, 3.5)


def _unit_rows(rng, n, p):
    x = rng.standard_normal((n, p))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_log_prob_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(4)
    for p, kappa in ((3, 0.5), (3, 40.0), (10, 3.0), (50, 20.0)):
        mu = _unit_rows(rng, 1, p)[0]
        X = _unit_rows(rng, 200, p)
        ref = stats.vonmises_fisher(mu, kappa).logpdf(X)
        got = vmf.log_prob(X, mu, kappa)
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_log_prob_high_dimension_matches_the_formula():
    rng = np.random.default_rng(5)
    p, kappa = 8192, 5000.0
    mu = _unit_rows(rng, 1, p)[0]
    X = _unit_rows(rng, 50, p)
    got = vmf.log_prob(X, mu, kappa)
    expected = vmf.log_normalizer(kappa, p) + kappa * (X @ mu)
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    assert np.isfinite(got).all()


def test_log_prob_shapes_and_float32():
    rng = np.random.default_rng(6)
    X = _unit_rows(rng, 12, 4).reshape(3, 4, 4)
    mu = np.array([1.0, 0, 0, 0])
    out = vmf.log_prob(X, mu, 2.0)
    assert out.shape == (3, 4)
    out32 = vmf.log_prob(X.astype(np.float32), mu.astype(np.float32), 2.0)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out, rtol=1e-6)


def test_log_prob_bad_input():
    X = np.eye(3)
    with pytest.raises(ValueError, match=r"log_prob: 'X' must have unit norm .* in row 1"):
        vmf.log_prob(np.array([[1.0, 0, 0], [2.0, 0, 0]]), np.array([1.0, 0, 0]), 1.0)
    with pytest.raises(ValueError, match=r"log_prob: 'mu' must have unit norm"):
        vmf.log_prob(X, np.array([1.0, 1.0, 0]), 1.0)
    with pytest.raises(ValueError, match=r"log_prob: 'mu' must have shape \(3,\), got \(2,\)"):
        vmf.log_prob(X, np.array([1.0, 0]), 1.0)
    with pytest.raises(ValueError, match=r"'kappa' must be finite and >= 0"):
        vmf.log_prob(X, np.array([1.0, 0, 0]), -1.0)
    with pytest.raises(ValueError, match=r"'X' must have shape \(n, p\)"):
        vmf.log_prob(np.array([1.0, 0, 0]), np.array([1.0, 0, 0]), 1.0)


def test_fit_recovers_parameters_from_samples():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(9)
    p, kappa = 64, 150.0
    mu = _unit_rows(rng, 1, p)[0]
    X = stats.vonmises_fisher(mu, kappa).rvs(20000, random_state=rng)
    result = vmf.fit(X)
    assert result.converged
    assert result.kappa == pytest.approx(kappa, rel=0.03)
    assert float(result.mu @ mu) > 0.999
    # the fit is exact for its own statistics
    assert vmf.mean_resultant_length(result.kappa, p) == pytest.approx(result.mean_resultant_length, rel=1e-14)
    np.testing.assert_allclose(result.mu, X.sum(0) / np.linalg.norm(X.sum(0)), rtol=1e-12)


def test_sampler_matches_the_distribution():
    """vmf.sample against the distribution: E[mu.x] = A_p(kappa), and against SciPy's sampler."""
    rng = np.random.default_rng(13)
    for p, kappa in ((3, 2.0), (100, 50.0), (8192, 5000.0)):
        mu = _unit_rows(rng, 1, p)[0]
        X = vmf.sample(mu, kappa, 4000, seed=rng)
        np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-12)
        dots = X @ mu
        assert abs(dots.mean() - vmf.mean_resultant_length(kappa, p)) < 5 * dots.std() / np.sqrt(len(dots))
    stats = pytest.importorskip("scipy.stats")
    mu = np.array([0.0, 0.6, 0.8])
    ours = vmf.sample(mu, 4.0, 20000, seed=1) @ mu
    theirs = stats.vonmises_fisher(mu, 4.0).rvs(20000, random_state=2) @ mu
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-3


def test_sample_bad_input():
    with pytest.raises(ValueError, match=r"sample: 'mu' must have shape"):
        vmf.sample(np.array([1.0]), 1.0, 10)
    with pytest.raises(ValueError, match=r"sample: 'kappa' must be finite"):
        vmf.sample(np.array([1.0, 0.0]), -1.0, 10)
    with pytest.raises(ValueError, match=r"sample: 'size' must be"):
        vmf.sample(np.array([1.0, 0.0]), 1.0, -3)
    assert vmf.sample(np.array([1.0, 0.0]), 0.0, 0).shape == (0, 2)


def test_fit_high_dimension_where_scipy_fails():
    """p = 8192, kappa = 5000: a sane estimate (SciPy 1.17's fit returns 1e-8 here)."""
    rng = np.random.default_rng(10)
    p, kappa = 8192, 5000.0
    mu = _unit_rows(rng, 1, p)[0]
    X = vmf.sample(mu, kappa, 2000, seed=rng)
    result = vmf.fit(X)
    assert result.converged
    # SciPy 1.17 returns 1e-8 for this sample; the MLE from 2000 points is within a few percent.
    assert kappa * 0.95 <= result.kappa <= kappa * 1.05
    assert float(result.mu @ mu) > 0.9


def test_fit_weights():
    rng = np.random.default_rng(11)
    X = _unit_rows(rng, 30, 5)
    w = rng.uniform(0, 2, 30)
    result = vmf.fit(X, weights=w)
    s = (w[:, None] * X).sum(0)
    np.testing.assert_allclose(result.mu, s / np.linalg.norm(s), rtol=1e-12)
    assert result.mean_resultant_length == pytest.approx(np.linalg.norm(s) / w.sum(), rel=1e-13)
    # integer weights act like repeated rows
    repeated = vmf.fit(np.repeat(X[:3], [1, 2, 3], axis=0))
    weighted = vmf.fit(X[:3], weights=np.array([1.0, 2.0, 3.0]))
    assert weighted.kappa == pytest.approx(repeated.kappa, rel=1e-13)


def test_fit_edges_and_bad_input():
    one = vmf.fit(np.array([[0.6, 0.8]]))
    assert one.kappa == np.inf and one.mean_resultant_length == pytest.approx(1.0)
    opposite = vmf.fit(np.array([[1.0, 0.0], [-1.0, 0.0]]))
    assert opposite.kappa == 0.0
    with pytest.raises(ValueError, match=r"fit: 'X' must have unit norm"):
        vmf.fit(np.array([[1.0, 1.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match=r"fit: 'weights' must be finite and >= 0, got a bad value at index 1"):
        vmf.fit(np.eye(3), weights=np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match=r"fit: 'weights' must have a positive sum"):
        vmf.fit(np.eye(3), weights=np.zeros(3))
    with pytest.raises(ValueError, match=r"fit: 'weights' must have shape \(3,\), got \(2,\)"):
        vmf.fit(np.eye(3), weights=np.ones(2))
    with pytest.raises(ValueError, match=r"fit: 'X' must have at least one row"):
        vmf.fit(np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"at least 2 columns"):
        vmf.fit(np.ones((3, 1)))
    with pytest.raises(TypeError, match=r"fit: 'X' must be real"):
        vmf.fit(np.eye(3) * (1 + 0j))


def test_torch_inputs():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    X = torch.from_numpy(_unit_rows(rng, 100, 16))
    result = vmf.fit(X)
    assert isinstance(result.mu, torch.Tensor)
    np.testing.assert_allclose(result.mu.numpy(), vmf.fit(X.numpy()).mu, rtol=1e-15)
    out = vmf.log_prob(X, result.mu, result.kappa)
    assert isinstance(out, torch.Tensor) and out.shape == (100,)
    assert isinstance(vmf.log_normalizer(torch.tensor([1.0, 2.0]), 16), torch.Tensor)
