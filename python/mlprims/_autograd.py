"""torch autograd for the elementwise Bessel functions (imported only when torch is in use).

Gradients flow to ``x`` only: d/dv has no closed form, so a ``v`` that requires grad is an
error rather than a silently zero gradient. The backward pass evaluates the derivatives in the
native core (first derivatives; double backward is not supported).
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from ._interop import Prepared

_DERIVATIVE = {
    "log_iv": "log_iv_derivative",
    "log_kv": "log_kv_derivative",
    "iv_ratio": "iv_ratio_derivative",
}


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

    kind = "f32" if x.dtype == torch.float32 else "f64"
    prepared = Prepared({"v": v.detach(), "x": x.detach()}, "torch", x.device, kind, all_scalars=False)
    return evaluate(name, prepared)


class _BesselFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, name, v, x):
        ctx.name = name
        ctx.save_for_backward(v, x)
        return _evaluate(name, v, x)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        v, x = ctx.saved_tensors
        derivative = _evaluate(_DERIVATIVE[ctx.name], v, x)
        return None, None, (grad_output * derivative).sum_to_size(x.shape)


def bessel_with_grad(name: str, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return _BesselFunction.apply(name, v, x)
