"""The torch autograd rules of ot.sinkhorn2 and ot.sinkhorn_divergence: gradients from the
potentials and the plan at the optimum (envelope theorem), so that no Sinkhorn iteration is
recorded on the tape."""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from . import ot
from ._arrays import as_floating


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


class _SinkhornDivergence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y, a, b, reg, solve):
        inputs, parts = ot._divergence_solves("sinkhorn_divergence", x, y, a, b, reg, solve)
        grads = ot._divergence_gradients(reg, solve["cost"], inputs, parts)
        # each gradient in its input's dtype; the value in the dtype policy's (float32 for half inputs)
        ctx.save_for_backward(*(torch.from_numpy(grad).to(v.dtype if v is not None else torch.float64)
                                for grad, v in zip(grads, (x, y, a, b))))
        ctx.has_weights = (a is not None, b is not None)
        return torch.as_tensor(ot._divergence_value(parts), dtype=as_floating("sinkhorn_divergence", "x", x).dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        grad_x, grad_y, grad_a, grad_b = ctx.saved_tensors
        weights = [_centered(grad) * grad_output if given else None
                   for grad, given in zip((grad_a, grad_b), ctx.has_weights)]
        return grad_x * grad_output, grad_y * grad_output, weights[0], weights[1], None, None


def sinkhorn_divergence_torch(x, y, a, b, reg, solve):
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    a = None if a is None else torch.as_tensor(a)
    b = None if b is None else torch.as_tensor(b)
    return _SinkhornDivergence.apply(x, y, a, b, reg, solve)
