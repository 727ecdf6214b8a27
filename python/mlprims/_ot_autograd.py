"""The torch autograd rule of ot.sinkhorn2: gradients from the potentials and the plan at the
optimum (envelope theorem), so that no Sinkhorn iteration is recorded on the tape."""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from . import ot


def _centered(potential: torch.Tensor) -> torch.Tensor:
    """The potential minus its mean over finite entries (the gradient of the OT value in the weights
    is defined up to a constant, since their sums are tied); -inf (zero weights) stays -inf."""
    finite = torch.isfinite(potential)
    count = finite.sum(dim=-1, keepdim=True).clamp(min=1)
    mean = torch.where(finite, potential, torch.zeros_like(potential)).sum(dim=-1, keepdim=True) / count
    return potential - mean


class _Sinkhorn2(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, C, reg, kwargs):
        result = ot.sinkhorn(a, b, C, reg, **kwargs)
        ctx.save_for_backward(torch.as_tensor(result.plan()), _centered(result.f), _centered(result.g))
        ctx.has_a, ctx.has_b = a is not None, b is not None
        return torch.as_tensor(result.objective, dtype=result.f.dtype)  # float32 for half inputs (the policy)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        plan, f, g = ctx.saved_tensors
        # Batched problems: one value, and one upstream gradient, per problem.
        per_row = grad_output[..., None] if grad_output.ndim else grad_output
        per_entry = grad_output[..., None, None] if grad_output.ndim else grad_output
        grad_C = plan * per_entry
        grad_a = f * per_row if ctx.has_a else None
        grad_b = g * per_row if ctx.has_b else None
        return grad_a, grad_b, grad_C, None, None


def sinkhorn2_torch(a, b, C, reg, kwargs):
    C = torch.as_tensor(C)
    a = None if a is None else torch.as_tensor(a)
    b = None if b is None else torch.as_tensor(b)
    return _Sinkhorn2.apply(a, b, C, reg, kwargs)
