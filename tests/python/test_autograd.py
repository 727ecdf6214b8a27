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
