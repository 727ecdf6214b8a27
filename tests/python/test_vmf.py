"""von Mises-Fisher: normalizer, mean resultant length, log-density, kappa solve and fit."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import relative_error, worst
from mlprims import vmf

UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2


def _direction_bound(n, rbar):
    """Worst-case ||mu_a - mu_b|| between two float64 sums of the same n weighted unit vectors
    taken in different orders, normalized: each sum is within n u sum(w) of the exact one, and
    normalizing s doubles the relative error ||ds|| / ||s||, with ||s|| = rbar sum(w)."""
    return 4 * n * UNIT_ROUNDOFF / rbar


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
    assert {int(d) for d in dims} >= {3, 64, 2048, 8192, 32768}
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
    with pytest.raises(ValueError, match=r"kappa_mle: 'dim' must be >= 2 and <= 2\*\*53, got 1"):
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
        # every entry is at most |log C| + kappa in size; both sides evaluate log C to ~1e-14
        # relative and kappa mu.x with an O(p u) dot product
        scale = (abs(vmf.log_normalizer(kappa, p)) + kappa) * np.sqrt(len(X))
        assert np.linalg.norm(got - ref) <= 1e-12 * scale, (p, kappa)


def test_log_prob_high_dimension_matches_the_formula():
    rng = np.random.default_rng(5)
    p, kappa = 8192, 5000.0
    mu = _unit_rows(rng, 1, p)[0]
    X = _unit_rows(rng, 50, p)
    got = vmf.log_prob(X, mu, kappa)
    expected = vmf.log_normalizer(kappa, p) + kappa * (X @ mu)
    # the same log C on both sides; two dot products of unit vectors, each within p u of mu.x
    assert np.linalg.norm(got - expected) <= 2 * kappa * p * UNIT_ROUNDOFF * np.sqrt(len(X))
    assert np.isfinite(got).all()


def test_log_prob_shapes_and_float32():
    rng = np.random.default_rng(6)
    X = _unit_rows(rng, 12, 4).reshape(3, 4, 4)
    mu = np.array([1.0, 0, 0, 0])
    out = vmf.log_prob(X, mu, 2.0)
    assert out.shape == (3, 4)
    out32 = vmf.log_prob(X.astype(np.float32), mu.astype(np.float32), 2.0)
    assert out32.dtype == np.float32
    # rounding X and mu to float32 moves mu.x by <= 2u, the float32 result by u |out|:
    # |out32 - out| <= 3 u (|log C| + kappa) per entry
    u32 = np.finfo(np.float32).eps / 2
    bound = 4 * u32 * (abs(vmf.log_normalizer(2.0, 4)) + 2.0) * np.sqrt(out.size)
    assert np.linalg.norm(out32.astype(np.float64) - out) <= bound


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
    reference = X.sum(0) / np.linalg.norm(X.sum(0))
    assert np.linalg.norm(result.mu - reference) <= _direction_bound(len(X), result.mean_resultant_length)


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
    rbar = np.linalg.norm(s) / w.sum()
    assert np.linalg.norm(result.mu - s / np.linalg.norm(s)) <= _direction_bound(30, rbar)
    # |s| and sum(w) each within n u sum(w) relative to |s| resp. sum(w)
    assert result.mean_resultant_length == pytest.approx(rbar, rel=_direction_bound(30, rbar))
    # integer weights act like repeated rows: the same rbar to rounding, hence the same kappa to
    # the solver's accuracy (1e-10) plus the root's sensitivity d(log kappa)/d(log rbar) times that
    repeated = vmf.fit(np.repeat(X[:3], [1, 2, 3], axis=0))
    weighted = vmf.fit(X[:3], weights=np.array([1.0, 2.0, 3.0]))
    rbar = weighted.mean_resultant_length
    assert rbar == pytest.approx(repeated.mean_resultant_length, rel=_direction_bound(6, rbar))
    kappa = weighted.kappa
    slope = (vmf.mean_resultant_length(kappa * (1 + 1e-6), 5) - rbar) / (kappa * 1e-6)  # A_p'(kappa)
    sensitivity = rbar / (kappa * slope)
    assert weighted.kappa == pytest.approx(repeated.kappa, rel=1e-10 + sensitivity * _direction_bound(6, rbar))


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
    from_numpy = vmf.fit(X.numpy())
    assert np.linalg.norm(result.mu.numpy() - from_numpy.mu) <= _direction_bound(100, from_numpy.mean_resultant_length)
    out = vmf.log_prob(X, result.mu, result.kappa)
    assert isinstance(out, torch.Tensor) and out.shape == (100,)
    assert isinstance(vmf.log_normalizer(torch.tensor([1.0, 2.0]), 16), torch.Tensor)


_UNIT = np.array([1.0, 0.0, 0.0])


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: vmf.log_normalizer(1.0, 2**70), ValueError, r"log_normalizer: 'dim' must be >= 2 and <= 2\*\*53, got 1180591620717411303424"),
        (lambda: vmf.log_normalizer(1.0, 2**53 + 1), ValueError, r"log_normalizer: 'dim' must be .* got 9007199254740993"),
        (lambda: vmf.mean_resultant_length(1.0, 2**63), ValueError, r"mean_resultant_length: 'dim' must be >= 2"),
        (lambda: vmf.kappa_mle(0.5, np.uint64(2**64 - 1)), ValueError, r"kappa_mle: 'dim' must be >= 2 and <= 2\*\*53"),
        (lambda: vmf.kappa_mle(0.5, np.int64(1)), ValueError, r"kappa_mle: 'dim' must be >= 2 .* got 1"),
        (lambda: vmf.log_normalizer(1.0, True), TypeError, r"log_normalizer: 'dim' must be an integer, got bool"),
        (lambda: vmf.log_normalizer(1.0, 3.0), TypeError, r"log_normalizer: 'dim' must be an integer, got float"),
        (lambda: vmf.log_normalizer(10**400, 3), ValueError, r"log_normalizer: 'kappa' must be finite in float64"),
        (lambda: vmf.log_normalizer(True, 3), TypeError, r"log_normalizer: 'kappa' must be a real number, got bool"),
        (lambda: vmf.log_prob(np.eye(3), _UNIT, 10**400), ValueError, r"log_prob: 'kappa' must be finite in float64"),
        (lambda: vmf.log_prob(np.eye(3), _UNIT, True), TypeError, r"log_prob: 'kappa' must be a real number, got bool"),
        (lambda: vmf.log_prob(np.eye(3), _UNIT, "2"), TypeError, r"log_prob: 'kappa' must be a real number, got str"),
        (lambda: vmf.log_prob(np.eye(3), _UNIT, 1 + 2j), TypeError, r"log_prob: 'kappa' must be a real number, got complex"),
        (lambda: vmf.log_prob(np.eye(3), _UNIT, np.array([1.0, 2.0])), ValueError, r"log_prob: 'kappa' must be a scalar"),
        (lambda: vmf.log_prob(np.eye(3), _UNIT, np.nan), ValueError, r"log_prob: 'kappa' must be finite and >= 0, got nan"),
        (lambda: vmf.log_prob(np.eye(3), _UNIT, -np.inf), ValueError, r"log_prob: 'kappa' must be finite and >= 0, got -inf"),
        (lambda: vmf.kappa_mle(10**400, 3), ValueError, r"kappa_mle: 'rbar' must be finite in float64"),
        (lambda: vmf.kappa_mle(True, 3), TypeError, r"kappa_mle: 'rbar' must be a real number, got bool"),
        (lambda: vmf.kappa_mle(np.nan, 3), ValueError, r"kappa_mle: 'rbar' must be in \[0, 1\], got nan"),
        (lambda: vmf.kappa_mle(-0.5, 3), ValueError, r"kappa_mle: 'rbar' must be in \[0, 1\], got -0.5"),
        (lambda: vmf.sample(np.ones(3), 10**400, 3), ValueError, r"sample: 'kappa' must be finite in float64"),
        (lambda: vmf.sample(np.ones(3), True, 3), TypeError, r"sample: 'kappa' must be a real number, got bool"),
        (lambda: vmf.sample(np.ones(3), np.inf, 3), ValueError, r"sample: 'kappa' must be finite and >= 0, got inf"),
        (lambda: vmf.sample(np.ones(3), np.nan, 3), ValueError, r"sample: 'kappa' must be finite and >= 0, got nan"),
        (lambda: vmf.sample(np.ones(3), -1.0, 3), ValueError, r"sample: 'kappa' must be finite and >= 0, got -1.0"),
        (lambda: vmf.sample(np.ones(3), 1.0, 2**70), ValueError, r"sample: 'size' \* p must be <= 2\*\*60"),
        (lambda: vmf.sample(np.ones(3), 1.0, -1), ValueError, r"sample: 'size' must be >= 0, got -1"),
        (lambda: vmf.sample(np.ones(3), 1.0, 3.0), TypeError, r"sample: 'size' must be an integer, got float 3.0"),
        (lambda: vmf.sample(np.ones(3), 1.0, True), TypeError, r"sample: 'size' must be an integer, got bool True"),
        (lambda: vmf.sample(np.ones(1), 1.0, 3), ValueError, r"sample: 'mu' must have shape \(p,\) with p >= 2"),
        (lambda: vmf.sample(np.array([1, 1j]), 1.0, 3), TypeError, r"sample: 'mu' must be real"),
        (lambda: vmf.sample(["a", "b"], 1.0, 3), TypeError, r"sample: 'mu' must hold numbers, got dtype <U1"),
        (lambda: vmf.sample(np.array([np.inf, 0.0]), 1.0, 3), ValueError, r"sample: 'mu' must be a finite nonzero"),
        (lambda: vmf.sample(np.zeros(2), 1.0, 3), ValueError, r"sample: 'mu' must be a finite nonzero"),
        (lambda: vmf.fit(np.ones((3, 1))), ValueError, r"fit: 'X' must have at least 2 columns"),
        (lambda: vmf.log_prob(np.ones((3, 1)), np.ones(1), 1.0), ValueError, r"log_prob: 'X' must have at least 2 columns"),
    ],
)
def test_bad_arguments_name_the_function_and_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_numpy_integer_and_scalar_arguments_are_accepted():
    exact = vmf.kappa_mle(0.5, 3).kappa
    assert vmf.kappa_mle(np.float32(0.5), np.int64(3)).kappa == exact
    assert vmf.kappa_mle(np.array(0.5), np.uint8(3)).kappa == exact
    assert vmf.log_normalizer(2, 3) == vmf.log_normalizer(2.0, 3)
    assert vmf.log_prob(np.eye(3), _UNIT, np.int32(2))[0] == vmf.log_prob(np.eye(3), _UNIT, 2.0)[0]
    assert vmf.sample(_UNIT, np.float64(2.0), np.int16(5), seed=0).shape == (5, 3)


def test_sample_at_extreme_kappa():
    """Near-degenerate concentrations, kappa up to 1e16, where Wood's original acceptance test
    subtracts terms of size kappa (the old code's 1 - w came out in steps of 1.1e-16).

    For large kappa, x ~ mu + N(0, I/kappa) in the tangent space, so kappa * |x - (mu.x) mu|^2
    is chi-square with p - 1 degrees of freedom up to O(p/kappa): mean p - 1, variance 2 (p - 1)."""
    rng = np.random.default_rng(21)
    n = 4000
    for p in (3, 50):
        mu = _unit_rows(rng, 1, p)[0]
        for kappa in (1e8, 1e12, 1e16):
            X = vmf.sample(mu, kappa, n, seed=rng)
            tangent = X - np.outer(X @ mu, mu)
            statistic = kappa * np.sum(tangent**2, axis=1) / (p - 1)
            assert abs(statistic.mean() - 1) < 5 * np.sqrt(2 / (p - 1) / n), (p, kappa, statistic.mean())
    # kappa = 1e300: the tangent part (~1e-150) is below rounding, so every row is mu to rounding
    mu = np.ones(3) / np.sqrt(3)
    X = vmf.sample(np.ones(3), 1e300, 100, seed=1)
    assert np.linalg.norm(X - mu, axis=1).max() <= 4 * np.finfo(float).eps
    X = vmf.sample(np.full(3, 1e300), 1e300, 10, seed=1)  # a huge mu is normalized without overflow
    assert np.linalg.norm(X - mu, axis=1).max() <= 4 * np.finfo(float).eps


def _unit_roundoff(dtype_name):
    torch = pytest.importorskip("torch")
    return torch.finfo(getattr(torch, dtype_name)).eps / 2


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16", "float32", "float64"])
def test_unit_norm_tolerance_follows_the_stored_precision(dtype_name):
    """| ||x|| - 1 | <= max(floor, 4u): rounding a unit vector's entries moves its norm by <= u,
    normalizing in the dtype by <= 2u + u^2 (see vmf::unit_norm_tolerance)."""
    from mlprims import _core

    floor = 1e-5 if dtype_name == "float64" else 1e-4
    assert _core.vmf.unit_norm_tolerance(dtype_name) == max(floor, 4 * _unit_roundoff(dtype_name))


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16", "float32", "float64"])
def test_fit_and_log_prob_accept_unit_vectors_of_any_precision(dtype_name):
    torch = pytest.importorskip("torch")
    dtype = getattr(torch, dtype_name)
    generator = torch.Generator().manual_seed(3)
    p = 768
    X = torch.nn.functional.normalize(torch.randn(100, p, generator=generator).to(dtype), dim=1)
    X64 = X.double().numpy()  # the values fit() reads, exactly
    result = vmf.fit(X)
    total = X64.sum(axis=0)
    assert result.mean_resultant_length == pytest.approx(np.linalg.norm(total) / 100, rel=1e-12)
    mu_error = np.linalg.norm(result.mu.double().numpy() - total / np.linalg.norm(total))
    assert mu_error <= 4 * np.finfo(np.float32).eps  # mu comes back in float32 (float64 for float64 X)
    mu = torch.nn.functional.normalize(torch.ones(p), dim=0).to(dtype)
    out = vmf.log_prob(X, mu, 10.0)
    expected = vmf.log_normalizer(10.0, p) + 10.0 * (X64 @ mu.double().numpy())
    assert np.linalg.norm(out.double().numpy() - expected) <= 1e-5 * np.linalg.norm(expected)
    # vectors clearly off the sphere (norm 1 + 2 * tolerance, exactly representable) still raise
    off = (1 + 2 * max(1e-4, 4 * _unit_roundoff(dtype_name))) * torch.eye(p, dtype=torch.float64)[:3]
    with pytest.raises(ValueError, match=rf"fit: 'X' must have unit norm \(1 within .* for {dtype_name}\)"):
        vmf.fit(off.to(dtype))
    with pytest.raises(ValueError, match=rf"log_prob: 'mu' must have unit norm \(1 within .* for {dtype_name}\)"):
        vmf.log_prob(X, off[0].to(dtype), 1.0)


def test_numpy_float16_unit_vectors():
    rng = np.random.default_rng(14)
    X = rng.standard_normal((200, 768)).astype(np.float16)
    X = X / np.linalg.norm(X, axis=1, keepdims=True)  # normalized in float16 by numpy
    result = vmf.fit(X)
    total = X.astype(np.float64).sum(axis=0)
    assert result.mean_resultant_length == pytest.approx(np.linalg.norm(total) / 200, rel=1e-12)
    with pytest.raises(ValueError, match=r"fit: 'X' must have unit norm \(1 within 0.001953125 for float16\)"):
        vmf.fit(X * np.float16(1.01))
