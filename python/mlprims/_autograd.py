"""torch autograd for the elementwise Bessel functions (imported only when torch is in use).

Gradients flow to ``x`` only: d/dv has no closed form, so a ``v`` that requires grad is an
error rather than a silently zero gradient. Second derivatives are available (``create_graph=True``,
``torch.autograd.functional.hessian``, ``gradgradcheck``): each native function has a derivative
rule written with differentiable operations on native functions:

* d/dx log I_v = D_I (native),   d/dx D_I = R'_{v+1} - v/x^2, with R'_{v+1} = d/dx [I_{v+1}/I_v]
  (native);
* d/dx log K_v = D_K (native),   d/dx D_K = 1 + v^2/x^2 - D_K/x - D_K^2 (Bessel's equation
  x^2 y'' + x y' - (x^2 + v^2) y = 0 written for D = y'/y); differentiable again, so third and
  higher derivatives of log K_v work too;
* d/dx R_v = R'_v (native), where R_v = I_v/I_{v-1}.

First derivatives are the native ones (accurate to a few ulp). Second derivatives of log I_v
are accurate to ~1e-15 relative for x <= 100 and degrade like eps * x (2e-9 at x = 1e4, v = 60);
those of log K_v are formed from terms larger than the result (O(1) terms for a result ~1/(2x^2) at
large x; terms v^2/x^2 for a result ~v/x^2 at small x), so their relative error grows like
eps * (1 + v) * (1 + x)^2 (~1e-10 at x = 1e3, 5e-8 at x = 1e4, 2e-13 at v = 500, x = 1e-3). The second derivative of I_v/I_{v-1} (and so
the third of log I_v) raises a RuntimeError: the closed forms through R and R' cancel to all
digits for small x (a relative error of 1e-6 at x = 0.05, v = 60), so no accurate value is
available rather than a wrong one.
"""

from __future__ import annotations

import torch

from ._arrays import Prepared


def needs_grad(name: str, prepared: Prepared) -> bool:
    if not torch.is_grad_enabled():
        return False
    if prepared.arrays["v"].requires_grad:
        raise RuntimeError(
            f"{name}: the derivative with respect to the order 'v' is not available; "
            "pass v without requires_grad (e.g. v.detach())"
        )
    return prepared.arrays["x"].requires_grad


def _evaluate(name: str, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    from .special import evaluate

    dtype = "float32" if x.dtype == torch.float32 else "float64"
    prepared = Prepared({"v": v.detach(), "x": x.detach()}, "torch", x.device, dtype, all_scalars=False)
    return evaluate(name, prepared)


def _log_iv_derivative_rule(v, x, value):
    order = v.abs()  # I_{-n} = I_n for integers n; other negative orders are NaN anyway
    # v/x^2 is 0 for v = 0 also at x = 0, where d^2/dx^2 log I_0 = 1/2 (and -inf for v > 0)
    pole = torch.nan_to_num(order / (x * x), nan=0.0, posinf=torch.inf)
    return _native("iv_ratio_derivative", order + 1, x) - pole


def _log_kv_derivative_rule(v, x, value):
    at_zero = x == 0  # the limit there is +inf for every order
    safe_x = torch.where(at_zero, torch.ones_like(x), x)
    inner = 1 + (v / safe_x) ** 2 - value / safe_x - value * value
    return torch.where(at_zero, torch.full_like(inner, torch.inf), inner)


def _iv_ratio_derivative_rule(v, x, value):
    raise RuntimeError(
        "iv_ratio: the second derivative of I_v/I_{v-1} (and the third derivative of log_iv) is not "
        "available: its closed forms lose all digits for small x; first derivatives of iv_ratio and "
        "second derivatives of log_iv and log_kv are"
    )


# name -> d/dx of the native function `name`, as (v, x, the function's value) -> tensor, written
# with differentiable operations so that it can be differentiated again.
_DERIVATIVE_RULES = {
    "log_iv": lambda v, x, value: _native("log_iv_derivative", v, x),
    "log_kv": lambda v, x, value: _native("log_kv_derivative", v, x),
    "iv_ratio": lambda v, x, value: _native("iv_ratio_derivative", v, x),
    "log_iv_derivative": _log_iv_derivative_rule,
    "log_kv_derivative": _log_kv_derivative_rule,
    "iv_ratio_derivative": _iv_ratio_derivative_rule,
}


class _NativeFunction(torch.autograd.Function):
    """One native elementwise function of (v, x), differentiable in x to any order."""

    @staticmethod
    def forward(ctx, name, v, x):
        ctx.name = name
        value = _evaluate(name, v, x)
        ctx.save_for_backward(v, x, value)
        return value

    @staticmethod
    def backward(ctx, grad_output):
        v, x, value = ctx.saved_tensors
        derivative = _DERIVATIVE_RULES[ctx.name](v, x, value)
        return None, None, (grad_output * derivative).sum_to_size(x.shape)


def _native(name: str, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return _NativeFunction.apply(name, v, x)


def bessel_with_grad(name: str, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return _native(name, v, x)
