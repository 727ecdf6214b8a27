"""Accuracy of log I_v, log K_v and I_v/I_{v-1} against Arb reference values (tests/data)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import guarded_relative_error, relative_error, worst
from mlprims import _core, special

FUNCTIONS = {"log_iv": special.log_iv, "log_kv": special.log_kv}


@pytest.mark.parametrize("name", ["log_iv", "log_kv"])
def test_float64_grid_relative_error(reference, name):
    """|error| / max(1, |log|) <= 1e-14 over v in {0} u [1e-2, 1e5], x in [1e-300, 1e9] plus
    points at 0.99-1.01x every region boundary (ours and the published scheme's)."""
    v, x, ref = reference["grid_v"], reference["grid_x"], reference[f"grid_{name}"]
    got = FUNCTIONS[name](v, x)
    err = guarded_relative_error(got, ref)
    assert err.max() <= 1e-14, worst(err, v, x, ref, got)


@pytest.mark.parametrize("name", ["log_iv", "log_kv"])
def test_float64_grid_absolute_error_and_finiteness(reference, name):
    v, x, ref = reference["grid_v"], reference["grid_x"], reference[f"grid_{name}"]
    got = FUNCTIONS[name](v, x)
    finite = np.isfinite(ref)
    assert np.isfinite(got[finite]).all(), "non-finite output where the true value is finite"
    np.testing.assert_array_equal(got[~finite], ref[~finite])  # the exact infinities at x = 0
    abs_err = np.abs(got[finite] - ref[finite])
    assert (abs_err <= 1e-12 * np.maximum(1.0, np.abs(ref[finite]))).all()


def test_grid_covers_the_claimed_ranges(reference):
    v, x = reference["grid_v"], reference["grid_x"]
    assert (v == 0).any() and v.max() >= 1e5 and v[v > 0].min() <= 1e-2
    assert x[x > 0].min() <= 1e-300 and x.max() >= 1e9
    assert len(v) > 5000


@pytest.mark.parametrize("name", ["log_iv", "log_kv"])
def test_float32(reference, name):
    """float32 in, float32 out: relative error of the log <= 2e-6, no spurious inf/NaN."""
    v = reference["f32_v"].astype(np.float32)
    x = reference["f32_x"].astype(np.float32)
    ref = reference[f"f32_{name}"]
    got = FUNCTIONS[name](v, x)
    assert got.dtype == np.float32
    assert np.isfinite(got).all()
    err = guarded_relative_error(got, ref)
    assert err.max() <= 2e-6, worst(err, v, x, ref, got)


def test_iv_ratio(reference):
    """Relative error <= 1e-14 for v in [0.5, 1e5], x in [1e-6, 1e9]."""
    v, x, ref = reference["ratio_v"], reference["ratio_x"], reference["ratio"]
    got = special.iv_ratio(v, x)
    err = relative_error(got, ref)
    assert err.max() <= 1e-14, worst(err, v, x, ref, got)


def _derivative(name, v, x):
    out = np.empty(np.broadcast_shapes(np.shape(v), np.shape(x)))
    getattr(_core.special, name)(np.asarray(v, dtype=np.float64), np.asarray(x, dtype=np.float64), out, 0)
    return out


@pytest.mark.parametrize("name", ["log_iv", "log_kv"])
def test_log_derivatives(reference, name):
    """d/dx log I and d/dx log K (the autograd backward) to 1e-14 relative."""
    v, x, ref = reference["deriv_v"], reference["deriv_x"], reference[f"deriv_{name}"]
    got = _derivative(f"{name}_derivative", v, x)
    err = relative_error(got, ref)
    assert err.max() <= 1e-14, worst(err, v, x, ref, got)


def test_ratio_derivative(reference):
    """d/dx R = 1 - R^2 - (2v-1)R/x: its two terms cancel for x >> v, so the error is measured
    against their size (what a backward-stable evaluation can promise)."""
    v, x, ref = reference["deriv_ratio_v"], reference["deriv_ratio_x"], reference["deriv_ratio"]
    got = _derivative("iv_ratio_derivative", v, x)
    r = special.iv_ratio(v, x)
    scale = np.abs(1 - r * r) + np.abs((2 * v - 1) * r / x)
    err = np.abs(got - ref) / scale
    assert err.max() <= 1e-14, worst(err, v, x, ref, got)


def test_agrees_with_scipy_where_scipy_is_finite():
    """An independent peer: SciPy's log(ive) + x and log(kve) - x where they do not overflow."""
    scipy_special = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(7)
    v = 10 ** rng.uniform(-2, 3, 20000)
    x = 10 ** rng.uniform(-3, 5, 20000)
    with np.errstate(all="ignore"):
        ref_i = np.log(scipy_special.ive(v, x)) + x
        ref_k = np.log(scipy_special.kve(v, x)) - x
    for ref, got in ((ref_i, special.log_iv(v, x)), (ref_k, special.log_kv(v, x))):
        ok = np.isfinite(ref)
        assert ok.mean() > 0.6
        err = guarded_relative_error(got[ok], ref[ok])
        # SciPy itself is accurate to a few 1e-15 here; allow for both sides' rounding.
        assert np.quantile(err, 0.999) <= 1e-13 and err.max() <= 1e-11, worst(err, v[ok], x[ok])


def test_iv_ratio_agrees_with_scipy():
    """SciPy >= 1.15 has the ratio as a private ufunc (same convention)."""
    ufuncs = pytest.importorskip("scipy.special._ufuncs")
    rng = np.random.default_rng(8)
    v = 10 ** rng.uniform(np.log10(0.5), 5, 5000)
    x = 10 ** rng.uniform(-6, 9, 5000)
    err = relative_error(special.iv_ratio(v, x), ufuncs._iv_ratio(v, x))
    assert err.max() <= 1e-14, worst(err, v, x)


EDGE_CASES = [
    # function, v, x, expected
    ("log_iv", 0.0, 0.0, 0.0),
    ("log_iv", 2.5, 0.0, -np.inf),
    ("log_iv", -3.0, 2.0, "mirror"),  # I_{-3} = I_3
    ("log_iv", -2.5, 2.0, np.nan),
    ("log_iv", 1.0, -1.0, np.nan),
    ("log_iv", np.nan, 1.0, np.nan),
    ("log_iv", 1.0, np.nan, np.nan),
    ("log_iv", 3.0, np.inf, np.inf),
    ("log_iv", np.inf, 3.0, -np.inf),
    ("log_kv", 0.0, 0.0, np.inf),
    ("log_kv", -2.5, 3.0, "mirror"),  # K_{-v} = K_v
    ("log_kv", 1.0, -1.0, np.nan),
    ("log_kv", 1.0, np.inf, -np.inf),
    ("log_kv", np.inf, 1.0, np.inf),
    ("iv_ratio", 0.25, 1.0, np.nan),
    ("iv_ratio", 3.0, 0.0, 0.0),
    ("iv_ratio", 3.0, np.inf, 1.0),
    ("iv_ratio", 0.5, 2.0, np.tanh(2.0)),
]


@pytest.mark.parametrize("name,v,x,expected", EDGE_CASES)
def test_edge_values(name, v, x, expected):
    got = getattr(special, name)(v, x)
    if expected == "mirror":
        expected = getattr(special, name)(abs(v), x)
        assert np.isfinite(expected)
    if np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(expected, rel=1e-15, abs=0)


def test_half_integer_closed_form():
    """K_{1/2}(x) = sqrt(pi/(2x)) e^{-x} and I_{1/2}(x) = sqrt(2/(pi x)) sinh(x), exactly known."""
    x = np.logspace(-300, 8, 400)
    ref_k = 0.5 * np.log(np.pi / (2 * x)) - x
    assert np.abs(special.log_kv(0.5, x) - ref_k).max() <= 1e-14 * np.abs(ref_k).max()
    x = np.logspace(-2, 2.5, 200)
    ref_i = 0.5 * np.log(2 / (np.pi * x)) + np.log(np.sinh(x))
    assert guarded_relative_error(special.log_iv(0.5, x), ref_i).max() <= 1e-14


def _log_iv_series_reference(v: float, x: float) -> float:
    """log I_v(x) = v log(x/2) - log Gamma(v+1) + log1p(sum_k (x^2/4)^k / (k! (v+1)_k)), in mpmath
    at 400 digits (enough to hold 1 + 1e-300 exactly), each term without cancellation."""
    import mpmath

    with mpmath.workdps(400):
        v, x = mpmath.mpf(v), mpmath.mpf(x)
        quarter = x * x / 4
        term, tail = mpmath.mpf(1), mpmath.mpf(0)
        for k in range(1, 400):
            term *= quarter / (k * (v + k))
            tail += term
            if term < tail * mpmath.mpf(10) ** -40:
                break
        return float(v * mpmath.log(x / 2) - mpmath.loggamma(v + 1) + mpmath.log1p(tail))


@pytest.mark.parametrize("v", [0.0, 1e-300, 1e-20, 1e-10, 1e-5, 0.03, 0.5, 1.0, 3.0, 20.0])
def test_log_iv_near_the_origin_has_full_relative_accuracy(v):
    """Regression: log I_0(x) ~ x^2/4 had a relative error of 2.6e-3 for x <= 1e-8 and log I_v for
    tiny v one of 1e-8 (a rough reciprocal in log1p, and the log of the rounded 1/Gamma(1+v)).
    The bound is a few ulp relative, wherever the result is not rounded to zero."""
    xs = [1e-300, 1e-100, 1e-20, 1e-10, 1e-8, 1e-5, 1e-3, 0.1, 1.0]
    expected = np.array([_log_iv_series_reference(v, x) for x in xs])
    got = special.log_iv(v, np.array(xs))
    nonzero = expected != 0
    assert np.all(got[~nonzero] == 0)
    relative = np.abs(got[nonzero] - expected[nonzero]) / np.abs(expected[nonzero])
    assert relative.max() <= 8 * 2.0**-53, (v, relative)
