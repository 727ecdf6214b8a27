"""torch autograd of the Bessel functions with respect to x."""

from __future__ import annotations

import numpy as np
import pytest
from mlprims import special

torch = pytest.importorskip("torch")

ORDERS = [0.0, 0.3, 1.0, 2.5, 17.0, 120.0]


@pytest.mark.parametrize("name", ["log_iv", "log_kv", "iv_ratio"])
@pytest.mark.parametrize("v", ORDERS)
def test_gradcheck_float64(name, v):
    if name == "iv_ratio" and v < 0.5:
        v = v + 0.5
    # Finite differences (what gradcheck compares with) lose ~|f| * 1e-16 / eps to rounding: keep
    # |f| moderate. The derivatives' own accuracy is tested against Arb in test_special_accuracy.
    x = torch.tensor([1e-2, 0.2, 1.0, 3.7, 25.0, 140.0, 300.0], dtype=torch.float64, requires_grad=True)
    function = getattr(special, name)
    assert torch.autograd.gradcheck(lambda t: function(v, t), (x,), eps=1e-6, atol=1e-8, rtol=1e-5)


def test_gradient_values_match_the_derivative_identities():
    x = torch.tensor([0.5, 2.0, 30.0], dtype=torch.float64, requires_grad=True)
    special.log_iv(2.0, x).sum().backward()
    expected = special.iv_ratio(3.0, x.detach()) + 2.0 / x.detach()
    torch.testing.assert_close(x.grad, expected, rtol=1e-14, atol=0)


def test_gradient_reduces_over_broadcast_dimensions():
    v = torch.tensor([[0.0], [1.0], [2.0]], dtype=torch.float64)
    x = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    special.log_kv(v, x).sum().backward()
    x2 = x.detach().clone().requires_grad_(True)
    sum(special.log_kv(float(v[i, 0]), x2).sum() for i in range(3)).backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-15, atol=0)


def test_float32_gradients():
    x = torch.tensor([0.5, 2.0, 30.0], dtype=torch.float32, requires_grad=True)
    y = special.log_iv(1.0, x)
    assert y.dtype == torch.float32
    y.sum().backward()
    assert x.grad.dtype == torch.float32 and torch.isfinite(x.grad).all()


def test_order_gradient_is_refused():
    v = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"log_iv: the derivative with respect to the order 'v'"):
        special.log_iv(v, torch.tensor(2.0, dtype=torch.float64))


def test_no_graph_without_requires_grad():
    out = special.log_iv(1.0, torch.tensor([1.0, 2.0]))
    assert out.grad_fn is None
    x = torch.tensor([1.0], requires_grad=True)
    with torch.no_grad():
        assert special.log_iv(1.0, x).grad_fn is None


def test_gradient_at_zero():
    x = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
    special.log_iv(0.0, x).sum().backward()
    assert x.grad.item() == 0.0
    np.testing.assert_equal(special.iv_ratio(2.0, 0.0), 0.0)


# ---------------------------------------------------------------------------------------------
# Second and higher derivatives (create_graph=True, hessian, gradgradcheck)

def _second_derivative_reference(name, v, x):
    """d^2/dx^2 of the function at (v, x) by mpmath (50 digits, its own Bessel functions).

    log I_v and log K_v: exactly, from the modified Bessel equation, f''/f = 1 + v^2/x^2 - (f'/f)/x,
    with f' = I_{v-1} - (v/x) I_v or -K_{v-1} - (v/x) K_v. That needs two mpmath values instead of
    the many of numerical differentiation, except for K at large orders, where mpmath takes ~12 s
    per value at x = 1e3 and its numerical differentiation (which evaluates elsewhere) is faster."""
    import mpmath

    mpmath.mp.dps = 50
    v, x = mpmath.mpf(v), mpmath.mpf(x)
    if name == "iv_ratio" or (name == "log_kv" and v > 100):
        functions = {
            "log_kv": lambda t: mpmath.log(mpmath.besselk(v, t)),
            "iv_ratio": lambda t: mpmath.besseli(v, t) / mpmath.besseli(v - 1, t),
        }
        return float(mpmath.diff(functions[name], x, 2))
    if name == "log_iv":
        f, below = mpmath.besseli(v, x), mpmath.besseli(v - 1, x)
    else:
        f, below = mpmath.besselk(v, x), -mpmath.besselk(v - 1, x)
    slope = (below - v / x * f) / f  # (log f)'
    return float(1 + v**2 / x**2 - slope / x - slope**2)


SECOND_DERIVATIVE_POINTS = [0.05, 0.7, 3.0, 24.0, 150.0]


@pytest.mark.parametrize("name", ["log_iv", "log_kv"])
@pytest.mark.parametrize("v", [0.0, 0.5, 1.5, 2.0, 10.0, 60.0, 500.0])
def test_second_derivative_matches_mpmath(name, v):
    """Regression: the second derivative used to drop the Bessel term entirely (the backward was
    not differentiable). The bound is the documented one: the closed form's rounding,
    c * eps * (1 + v) * (1 + x)^2 relative for log K_v and c * eps * (1 + x) for log I_v (c = 64)."""
    points = SECOND_DERIVATIVE_POINTS + [1e-6, 1e3]
    x = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    (first,) = torch.autograd.grad(getattr(special, name)(v, x).sum(), x, create_graph=True)
    (second,) = torch.autograd.grad(first.sum(), x)
    expected = np.array([_second_derivative_reference(name, v, t) for t in points])
    relative = np.abs(second.numpy() - expected) / np.abs(expected)
    growth = (1 + v) * (1 + np.array(points)) ** 2 if name == "log_kv" else 1 + np.array(points)
    assert np.all(relative <= 64 * 2.0**-52 * growth), (name, v, relative)


@pytest.mark.parametrize("call", ["iv_ratio second", "log_iv third"])
def test_unavailable_higher_derivatives_raise(call):
    """Where no accurate closed form exists, differentiating once more is an error, never a
    number."""
    x = torch.tensor([0.05, 2.0], dtype=torch.float64, requires_grad=True)
    if call == "iv_ratio second":
        (first,) = torch.autograd.grad(special.iv_ratio(60.0, x).sum(), x, create_graph=True)
        last = first
    else:
        (first,) = torch.autograd.grad(special.log_iv(3.0, x).sum(), x, create_graph=True)
        (last,) = torch.autograd.grad(first.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="iv_ratio: the second derivative"):
        torch.autograd.grad(last.sum(), x)


def test_reported_second_derivatives():
    """The two cases of the report: d^2/dx^2 [log K_1.5(x) + x^2] and the Hessian of
    log I_2(t) + t^3, against mpmath."""
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad((special.log_kv(1.5, x) + x**2).sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    expected = [2 + _second_derivative_reference("log_kv", 1.5, t) for t in (1.0, 2.0)]
    np.testing.assert_allclose(h.numpy(), expected, rtol=1e-12)
    assert abs(h[1].item() - 2.2639) < 1e-4  # the value the report gives as the truth

    t = torch.tensor([0.5, 3.0], dtype=torch.float64)
    hessian = torch.autograd.functional.hessian(lambda s: (special.log_iv(2.0, s) + s**3).sum(), t)
    expected = np.diag([6 * s + _second_derivative_reference("log_iv", 2.0, s) for s in (0.5, 3.0)])
    np.testing.assert_allclose(hessian.numpy(), expected, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", ["log_iv", "log_kv"])
@pytest.mark.parametrize("v", [0.0, 1.5, 17.0])
def test_gradgradcheck_float64(name, v):
    x = torch.tensor([0.2, 1.0, 3.7, 25.0], dtype=torch.float64, requires_grad=True)
    function = getattr(special, name)
    assert torch.autograd.gradgradcheck(lambda t: function(v, t), (x,), eps=1e-6, atol=1e-8, rtol=1e-5)


def test_third_derivative_of_log_kv_matches_mpmath():
    """Every order is differentiable: the third derivative too."""
    import mpmath

    mpmath.mp.dps = 50
    x = torch.tensor([0.8, 5.0], dtype=torch.float64, requires_grad=True)
    y = special.log_kv(2.5, x).sum()
    (d1,) = torch.autograd.grad(y, x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x, create_graph=True)
    (d3,) = torch.autograd.grad(d2.sum(), x)
    expected = [float(mpmath.diff(lambda t: mpmath.log(mpmath.besselk(2.5, t)), t, 3)) for t in (0.8, 5.0)]
    np.testing.assert_allclose(d3.numpy(), expected, rtol=1e-8)


def test_second_derivative_float32_stays_float32():
    x = torch.tensor([0.5, 4.0], dtype=torch.float32, requires_grad=True)
    (g,) = torch.autograd.grad(special.log_iv(1.0, x).sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    assert h.dtype == torch.float32
    expected = [_second_derivative_reference("log_iv", 1.0, t) for t in (0.5, 4.0)]
    np.testing.assert_allclose(h.numpy(), expected, rtol=1e-5)


def test_second_derivatives_at_zero_take_their_limits():
    """log I_0(x) = x^2/4 + O(x^4): 1/2; log I_v (v > 0) ~ v log x: -inf; log K_v: +inf."""
    for function, v, limit in [(special.log_iv, 0.0, 0.5), (special.log_iv, 2.0, -np.inf),
                               (special.log_kv, 1.5, np.inf), (special.log_kv, 0.0, np.inf)]:
        x = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
        (g,) = torch.autograd.grad(function(v, x).sum(), x, create_graph=True)
        (h,) = torch.autograd.grad(g.sum(), x)
        assert h.item() == limit, (function.__name__, v, h.item())
