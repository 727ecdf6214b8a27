"""The M-FAC optimizer (``mlprims.mfac.MFAC``): preconditioned SGD with the inverse of the empirical
Fisher matrix over the last `ngrads` gradients. Importing this module imports torch."""

from __future__ import annotations

from typing import Any

import torch

from ._validation import check_integer, check_real
from .mfac import SlidingFisherInverse

__all__ = ["MFAC"]


def _check_hyperparameter(name: str, value) -> float:
    """lr, momentum and weight_decay, in the constructor and in every parameter group."""
    if name == "momentum":
        return check_real("MFAC", name, value, minimum=0, maximum=1, include_maximum=False)
    return check_real("MFAC", name, value, minimum=0)


class MFAC(torch.optim.Optimizer):
    """M-FAC (Frantar, Kurtic & Alistarh, NeurIPS 2021): each step preconditions the gradient with
    the inverse of F = damp I + (1/c) sum of the last c <= ngrads gradients g g^T.

    One step, with all parameters flattened into one vector (in parameter-group order):

        g = grad + weight_decay * p               (per group)
        u = F^{-1} g,  F over the window that now includes g
        v = momentum * v + (1 - momentum) * u     (when momentum > 0, per group; else v = u)
        p = p - lr * v                            (per group)

    This is the reference implementation's update (IST-DASLab/M-FAC ``optim.MFAC``), except that
    while the window fills F is built from the gradients present (the reference counts the empty
    slots as zero gradients), parameters without a gradient contribute zeros, and lr,
    momentum and weight_decay may differ between parameter groups. The window
    (:class:`mlprims.mfac.SlidingFisherInverse`) lives on the parameters' device and stores
    gradients in the parameters' dtype (float32, float64 or bfloat16); its m x m system is updated
    in O(ngrads^2) per step, so a step costs about two passes over the window.

    Choosing lr and damp. F^{-1} g acts differently in two kinds of directions:

    * orthogonal to the window's gradients F = damp I, so M-FAC is plain SGD there with learning
      rate ``lr / damp``: keep that ratio at a rate SGD is stable with for the problem (below
      2 / the loss's largest curvature);
    * along the gradients, F ~ (1/c) G^T G: for a gradient g that the window holds once, the step
      is lr g / (damp + ||g||^2 / c)-like, of length at most lr / ||g|| (and at most
      lr / (2 sqrt(damp)) for c = 1): lr bounds the step length there.

    damp is therefore not scale-free: multiplying the loss by s multiplies the gradients by s and
    asks for damp s^2 to keep the same steps. The defaults (lr = 0.1, damp = 1) make M-FAC SGD at
    rate 0.1 outside the window's span. The reference's lr = 1e-3, damp = 1e-5 means SGD at rate
    100 there; on a full-batch least-squares problem with curvature 2 it raised the loss from 24.3
    to 26.0 in 30 steps, while the defaults lowered it to 21.5 (30 steps) and 8.9 (200 steps).

    A gradient that is not finite (NaN/inf), or that is not finite once rounded to the window's
    dtype, or is too large for the float64 Gram matrix, is a ValueError from :meth:`step`, raised
    before anything changes: the parameters, momentum buffers and the window stay as they were.
    (Mixed-precision training with ``torch.cuda.amp.GradScaler`` already skips such steps.)

    Parameters
    ----------
    params : iterable of tensors or dicts
        All on one device, with one floating dtype.
    lr : float
        Learning rate (>= 0); see "Choosing lr and damp".
    momentum : float
        In [0, 1).
    weight_decay : float
        L2 penalty added to the gradient before preconditioning (>= 0).
    ngrads : int
        Gradients in the window (m).
    damp : float
        The damping (> 0), in units of squared gradient; see "Choosing lr and damp".
    refine : bool
        Compute each F^{-1} g with iterative refinement (about twice the passes; see
        :meth:`mlprims.mfac.SlidingFisherInverse.update_ihvp`).

    The gradient window is not part of ``state_dict()`` (it holds ngrads x d values); after
    ``load_state_dict`` it starts empty again.

    Examples
    --------
    >>> import torch
    >>> from mlprims.mfac import MFAC
    >>> generator = torch.Generator().manual_seed(0)
    >>> X, y = torch.randn(64, 8, generator=generator), torch.randn(64, 1, generator=generator)
    >>> model = torch.nn.Linear(8, 1)
    >>> optimizer = MFAC(model.parameters(), ngrads=4)
    >>> start = torch.nn.functional.mse_loss(model(X), y).item()
    >>> for _ in range(30):
    ...     optimizer.zero_grad()
    ...     torch.nn.functional.mse_loss(model(X), y).backward()
    ...     optimizer.step()
    >>> torch.nn.functional.mse_loss(model(X), y).item() < start
    True
    """

    def __init__(
        self,
        params,
        *,
        lr: float = 0.1,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        ngrads: int = 1024,
        damp: float = 1.0,
        refine: bool = False,
    ) -> None:
        for name, value in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
            _check_hyperparameter(name, value)
        damp = check_real("MFAC", "damp", damp, minimum=0, include_minimum=False)
        ngrads = check_integer("MFAC", "ngrads", ngrads, minimum=1, maximum=2**62)
        self._window = None
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})
        parameters = [p for group in self.param_groups for p in group["params"]]
        devices = {p.device for p in parameters}
        dtypes = {p.dtype for p in parameters}
        if len(devices) != 1:
            raise ValueError(f"MFAC: all parameters must be on one device, got {sorted(map(str, devices))}")
        if len(dtypes) != 1 or not next(iter(dtypes)).is_floating_point:
            raise ValueError(f"MFAC: all parameters must share one floating dtype, got {sorted(map(str, dtypes))}")
        dtype = next(iter(dtypes))
        storage = dtype if dtype in (torch.float32, torch.float64, torch.bfloat16) else torch.float32
        self._compute_dtype = torch.float64 if dtype == torch.float64 else torch.float32
        self._refine = bool(refine)
        self._window = SlidingFisherInverse(
            sum(p.numel() for p in parameters),
            ngrads,
            damp,
            dtype=storage,
            device=next(iter(devices)),
        )

    def add_param_group(self, param_group: dict) -> None:
        if self._window is not None:
            raise ValueError("MFAC: parameter groups cannot be added after construction (the window's dimension is fixed)")
        for name in ("lr", "momentum", "weight_decay"):
            if name in param_group:
                _check_hyperparameter(name, param_group[name])
        super().add_param_group(param_group)

    @property
    def window(self) -> SlidingFisherInverse:
        """The gradient window (read it, e.g. ``len(opt.window)``; do not update it yourself)."""
        return self._window

    @torch.no_grad()
    def step(self, closure=None) -> Any:
        """One M-FAC step (class docstring); returns what `closure` returns, if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        pieces = []
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad if p.grad is not None else torch.zeros_like(p)
                if grad.is_sparse:
                    raise ValueError("MFAC: sparse gradients are not supported")
                grad = grad.to(self._compute_dtype)
                if group["weight_decay"] != 0:
                    grad = grad.add(p.to(self._compute_dtype), alpha=group["weight_decay"])
                pieces.append(grad.reshape(-1))
        try:
            direction = self._window.update_ihvp(torch.cat(pieces), refine=self._refine)
        except ValueError as error:  # nothing has changed yet
            raise ValueError(f"MFAC.step: the gradient was refused, no parameter changed: {error}") from error
        offset = 0
        for group in self.param_groups:
            for p in group["params"]:
                u = direction[offset : offset + p.numel()].view(p.shape)
                offset += p.numel()
                if group["momentum"] > 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = torch.zeros_like(u)
                    buffer = state["momentum_buffer"]
                    buffer.mul_(group["momentum"]).add_(u, alpha=1 - group["momentum"])
                    u = buffer
                p.add_(u.to(p.dtype), alpha=-group["lr"])
        return loss
