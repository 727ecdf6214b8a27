"""Entropic optimal transport: log-stable Sinkhorn and Sinkhorn-Newton-Sparse.

The problem (POT's ``reg`` and objective)::

    min over P >= 0 with P 1 = a, P^T 1 = b of  <C, P> + reg * sum_ij P_ij log P_ij

Conventions, the same for every function here:

* The dual potentials ``f`` (n) and ``g`` (m) returned define the plan exactly:
  ``P_ij = exp((f_i + g_j - C_ij) / reg)``; ``plan()`` builds it on demand.
* They are unique up to a shift (f + t, g - t); the one returned has ``<a, f> = <b, g>``
  (sums over positive weights). A zero weight ``a_i`` gives ``f_i = -inf`` (its row of the plan
  is zero), likewise for ``b``.
* ``marginal_error`` is ``||P 1 - a||_1 + ||P^T 1 - b||_1`` for the potentials returned (after
  rounding to the output dtype), and ``tol`` bounds it.
* ``objective`` is ``<C, P> + reg sum P log P`` and ``transport_cost`` is ``<C, P>``, both of that
  plan. Near the optimum the objective's error is about ``marginal_error * max|potential|``.
* Nothing under- or overflows at any reg > 0 on costs of any scale: the solvers work on the
  potentials and rebuild their kernels from them whenever the scalings grow.

Methods: ``'sinkhorn'`` (alternating projections; on a dense cost each iteration is one read of a
kernel kept in memory), ``'sns'`` (Sinkhorn-Newton-Sparse, Tang et al., ICLR 2024: a few Sinkhorn
iterations, then the largest entries of each row and column of the plan, as many as hold
``newton_mass`` of its mass (or a quarter of each row), make a sparse Hessian for Newton steps on
the dual, widened while full steps converge slowly, solved by preconditioned conjugate gradient,
or where that stalls (small reg, where the plan nearly splits into blocks) and min(n, m) <= 3000 by
a dense Cholesky factorization of its Schur complement, and a line search), and ``'auto'`` (Sinkhorn while its observed rate predicts fewer
further iterations than a Newton phase on that many kept entries costs, then as 'sns'). At reg below 5e-4 times the cost range every method starts by epsilon scaling
(option ``eps_scaling``). Computation is in float64 on the CPU; float32 inputs give float32 potentials,
whose rounding limits the marginal error to about ``1e-7 * max|f| / reg`` (default ``tol`` 1e-5).
CUDA tensors are a TypeError for now: the GPU back end of ``ot`` is not built yet.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._arrays import as_floating, dtype_name, empty_like, is_tensor, torch_module
from ._native import _core
from ._result import Result
from ._validation import check_callable, check_integer, check_real, check_string

__all__ = ["SinkhornResult", "sinkhorn", "sinkhorn2", "sinkhorn_divergence", "sinkhorn_points"]

_METHODS = ("auto", "sinkhorn", "sns")


@dataclass(frozen=True)
class SinkhornResult(Result):
    """A solved entropic OT problem (arrays of the input's type and dtype; batched problems carry a
    leading batch axis on every field, numbers as float64/bool/int64 numpy arrays).

    f, g : the dual potentials, P_ij = exp((f_i + g_j - C_ij) / reg).
    objective : <C, P> + reg sum P log P.  transport_cost : <C, P>.
    marginal_error : ||P 1 - a||_1 + ||P^T 1 - b||_1 of the returned potentials.
    iterations : {'sinkhorn': ..., 'newton': ..., 'cg': ...}.
    converged : marginal_error <= tol.  method : 'sinkhorn' or 'sns', what ran.
    reg : the regularization.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import ot
    >>> C = np.random.default_rng(0).random((50, 40))
    >>> r = ot.sinkhorn(None, None, C, 0.05)
    >>> P = r.plan()
    >>> bool(np.allclose(P.sum(axis=1), 1 / 50))
    True
    """

    f: Any
    g: Any
    objective: Any
    transport_cost: Any
    marginal_error: Any
    iterations: dict
    converged: Any
    method: Any
    reg: float
    _cost: Any = field(default=None, repr=False)

    def plan(self):
        """The dense plan exp((f_i + g_j - C_ij) / reg), (n, m) (or (B, n, m)), in f's type and dtype."""
        C = self._cost() if callable(self._cost) else self._cost
        P = empty_like(self.f, C.shape, dtype_name(self.f))
        _core.ot.transport_plan(_host(self.f), _host(self.g), _host(C), self.reg, P=_host(P))
        return P


def _host(array):
    return array.detach() if is_tensor(array) else array


def _contiguous(array):
    if is_tensor(array):
        return array.contiguous()
    return np.ascontiguousarray(array)


def _prepare(function: str, name: str, value, dtype: str):
    array = as_floating(function, name, value)
    if dtype_name(array) != dtype:
        array = array.to(getattr(torch_module(), dtype)) if is_tensor(array) else array.astype(dtype)
    return _contiguous(array)


def _same_framework(function: str, reference, name: str, array) -> None:
    if array is not None and is_tensor(array) != is_tensor(reference):
        raise TypeError(
            f"{function}: '{name}' must be of the same array type as the costs "
            f"({'torch' if is_tensor(reference) else 'numpy'}), got {'torch' if is_tensor(array) else 'numpy'}"
        )
    if array is not None and is_tensor(array) and array.device != reference.device:
        raise ValueError(f"{function}: '{name}' must be on {reference.device} like the costs, got {array.device}")


def _options(function: str, method: str, tol, max_iter, callback, dtype: str, options: dict) -> dict:
    method = check_string(function, "method", method)
    if method not in _METHODS:
        raise ValueError(f"{function}: 'method' must be one of {', '.join(map(repr, _METHODS))}, got {method!r}")
    tol = (1e-9 if dtype == "float64" else 1e-5) if tol is None else check_real(
        function, "tol", tol, minimum=0.0, include_minimum=False)
    known = {"eps_scaling", "warmup", "newton_mass", "max_warmup", "density", "cg_tol", "cg_max_iter", "armijo",
             "max_line_search"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"{function}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    native = {"method": method, "tol": float(tol),
              "max_iter": -1 if max_iter is None else check_integer(function, "max_iter", max_iter, minimum=0),
              "callback": check_callable(function, "callback", callback) if callback is not None else None}
    if options.get("eps_scaling") is not None:
        if not isinstance(options["eps_scaling"], (bool, np.bool_)):
            raise TypeError(f"{function}: 'eps_scaling' must be None (automatic) or a bool, "
                            f"got {type(options['eps_scaling']).__name__}")
        native["eps_scaling"] = bool(options["eps_scaling"])
    for name in ("warmup", "max_warmup", "cg_max_iter", "max_line_search"):
        if name in options:
            native[name] = check_integer(function, name, options[name], minimum=0)
    if "newton_mass" in options:
        native["newton_mass"] = check_real(function, "newton_mass", options["newton_mass"], minimum=0.0, maximum=1.0)
    for name in ("density", "cg_tol", "armijo"):
        if name in options:
            native[name] = check_real(function, name, options[name], minimum=0.0, maximum=1.0, include_minimum=False)
    return native


def _result(native, f, g, reg: float, cost, batched: bool) -> SinkhornResult:
    def field_of(name, dtype=np.float64):
        values = [getattr(r, name) for r in native]
        return np.asarray(values, dtype=dtype) if batched else values[0]

    result = SinkhornResult(
        f=f, g=g, objective=field_of("objective"), transport_cost=field_of("transport_cost"),
        marginal_error=field_of("error"),
        iterations={"sinkhorn": field_of("sinkhorn_iterations", np.int64),
                    "newton": field_of("newton_iterations", np.int64), "cg": field_of("cg_iterations", np.int64)},
        converged=field_of("converged", bool), method=[r.method for r in native] if batched else native[0].method,
        reg=reg, _cost=cost)
    if not all(r.converged for r in native):
        worst = max(r.error for r in native)
        warnings.warn(f"sinkhorn: not converged within max_iter (marginal error {worst:.3g}); "
                      "raise max_iter or tol, or try method='sns'", RuntimeWarning, stacklevel=3)
    return result


def _warm_start(function, warm_start, f, g, reference):
    if warm_start is None:
        return False
    if not isinstance(warm_start, (tuple, list)) or len(warm_start) != 2:
        raise TypeError(f"{function}: 'warm_start' must be a pair (f, g) of potentials, got {type(warm_start).__name__}")
    for name, target, value in (("f", f, warm_start[0]), ("g", g, warm_start[1])):
        array = _prepare(function, f"warm_start[{name}]", value, dtype_name(target))
        if tuple(array.shape) != tuple(target.shape):
            raise ValueError(f"{function}: 'warm_start' {name} must have shape {tuple(target.shape)}, "
                             f"got {tuple(array.shape)}")
        target[...] = array
    return True


def sinkhorn(a, b, C, reg: float, *, method: str = "auto", tol: float | None = None, max_iter: int | None = None,
             check_finite: bool = True, warm_start=None, callback=None, **options: Any) -> SinkhornResult:
    """Solve the entropic OT problem between weights a (n) and b (m) with costs C (n, m).

    Parameters
    ----------
    a, b : weights, non-negative, with equal sums (within tol: they are never rescaled), or None
        for uniform 1/n (1/m). Batched: a (B, n), b (B, m).
    C : costs (n, m), or (B, n, m) for B problems solved in one call (in parallel over problems),
        numpy or CPU torch, float32 or float64 (other real dtypes are converted).
    reg : the entropic regularization, > 0.
    method : 'auto' (default), 'sinkhorn' or 'sns' (see the module docstring).
    tol : bound on the marginal error (default 1e-9 for float64, 1e-5 for float32).
    max_iter : Sinkhorn iterations plus Newton steps at most (default 100000).
    check_finite : NaN/inf in C is a ValueError (C is read once for its range anyway).
    warm_start : (f, g) potentials to start from (g is what the first half-step uses).
    callback : callback(iteration, marginal_error) after every iteration; a true result stops.
    **options : eps_scaling (solve at reg 4^k times the target first, from the cost range down;
        None, the default: when reg < 5e-4 times the cost range, where it pays), warmup
        (Sinkhorn iterations before the first Newton check, 10), newton_mass (0.99), max_warmup
        (Sinkhorn iterations after which Newton starts regardless), density (fraction of the
        plan kept in the sparse Hessian, default 10/n with at least two entries per row, doubled,
        up to a quarter of a row, while the kept entries hold less than newton_mass of the plan
        or a full Newton step cuts the error by less than 4x; each row's and column's largest
        entry are always kept), cg_tol
        (default
        min(0.1, sqrt(marginal error))), cg_max_iter (500), armijo (1e-4), max_line_search (30).

    Returns
    -------
    SinkhornResult. Not converging within max_iter warns (RuntimeWarning) and returns the
    potentials reached with converged=False.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import ot
    >>> rng = np.random.default_rng(0)
    >>> C = rng.random((200, 200))
    >>> r = ot.sinkhorn(None, None, C, 1e-3, method="sns")
    >>> bool(r.converged and r.marginal_error <= 1e-9), r.method
    (True, 'sns')
    """
    function = "sinkhorn"
    C = as_floating(function, "C", C)
    dtype = dtype_name(C)
    C = _contiguous(C)
    reg = check_real(function, "reg", reg, minimum=0.0, include_minimum=False)
    for name, value in (("a", a), ("b", b)):
        if is_tensor(value) or isinstance(value, np.ndarray):  # lists and scalars take the costs' type
            _same_framework(function, C, name, value)
    a = None if a is None else _prepare(function, "a", a, dtype)
    b = None if b is None else _prepare(function, "b", b, dtype)
    batched = getattr(C, "ndim", 0) == 3
    shape = tuple(C.shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"{function}: 'C' must be 2-D (n, m) or 3-D (batch, n, m), got shape {shape}")
    f = empty_like(C, shape[:-1], dtype)
    g = empty_like(C, shape[:-2] + shape[-1:], dtype)
    native_options = _options(function, method, tol, max_iter, callback, dtype, options)
    warm = _warm_start(function, warm_start, f, g, C)
    native = _core.ot.sinkhorn(_host(a), _host(b), _host(C),
                               reg, f=_host(f), g=_host(g), check_finite=bool(check_finite), warm_start=warm,
                               **native_options)
    return _result(native, f, g, reg, C, batched)


def sinkhorn_points(x, y, reg: float, *, a=None, b=None, cost: str = "sqeuclidean", method: str = "auto",
                    tol: float | None = None, max_iter: int | None = None, check_finite: bool = True,
                    warm_start=None, callback=None, **options: Any) -> SinkhornResult:
    """:func:`sinkhorn` with costs computed on the fly from point clouds x (n, d) and y (m, d):
    C_ij = ||x_i - y_j||^2 (cost='sqeuclidean') or ||x_i - y_j|| ('euclidean'), by differences
    (accurate for close points). Memory O((n + m) d), never an n x m matrix; ``plan()`` builds the
    dense plan (and the costs) only when called. Options as for :func:`sinkhorn`.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import ot
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.random((300, 2)), rng.random((200, 2))
    >>> r = ot.sinkhorn_points(x, y, 0.01)
    >>> bool(r.converged), r.f.shape
    (True, (300,))
    """
    return _sinkhorn_points("sinkhorn_points", x, y, reg, a, b, cost, method, tol, max_iter, check_finite, warm_start,
                            callback, options)


def _sinkhorn_points(function, x, y, reg, a, b, cost, method, tol, max_iter, check_finite, warm_start, callback,
                     options) -> SinkhornResult:
    x = as_floating(function, "x", x)
    dtype = dtype_name(x)
    x = _contiguous(x)
    y = _prepare(function, "y", y, dtype)
    _same_framework(function, x, "y", y)
    reg = check_real(function, "reg", reg, minimum=0.0, include_minimum=False)
    cost = check_string(function, "cost", cost)
    a = None if a is None else _prepare(function, "a", a, dtype)
    b = None if b is None else _prepare(function, "b", b, dtype)
    if getattr(x, "ndim", 0) != 2 or getattr(y, "ndim", 0) != 2:
        raise ValueError(f"{function}: 'x' and 'y' must be 2-D (points, dimensions), got shapes "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")
    f = empty_like(x, (x.shape[0],), dtype)
    g = empty_like(x, (y.shape[0],), dtype)
    native_options = _options(function, method, tol, max_iter, callback, dtype, options)
    warm = _warm_start(function, warm_start, f, g, x)
    try:
        native = _core.ot.sinkhorn_points(_host(x), _host(y), reg, a=_host(a),
                                          b=_host(b), cost=cost, f=_host(f), g=_host(g),
                                          check_finite=bool(check_finite), warm_start=warm, **native_options)
    except (ValueError, TypeError) as error:  # the native checks name the function they serve
        prefix = "sinkhorn_points:"
        if function == "sinkhorn_points" or not str(error).startswith(prefix):
            raise
        raise type(error)(f"{function}:{str(error)[len(prefix):]}") from None

    def dense_cost():
        xs, ys = (np.asarray(v.detach().cpu()) if is_tensor(v) else v for v in (x, y))
        squared = ((xs[:, None, :] - ys[None, :, :]) ** 2).sum(axis=-1)
        C = squared if cost == "sqeuclidean" else np.sqrt(squared)
        if is_tensor(x):
            return torch_module().from_numpy(C.astype(dtype))
        return C.astype(dtype)

    return _result([native], f, g, reg, dense_cost, False)


def sinkhorn2(a, b, C, reg: float, **kwargs: Any):
    """The objective <C, P> + reg sum P log P of :func:`sinkhorn`: a 0-d array (numpy) or tensor
    (torch) of the costs' dtype (shape (B,) when batched), differentiable with respect to
    C (gradient P), a and b (gradients the potentials, centered over the positive weights) by the
    envelope theorem: no iterations are unrolled, memory O(n m). Not twice differentiable
    (a second backward raises). Keywords as for :func:`sinkhorn`.

    Examples
    --------
    >>> import torch
    >>> from mlprims import ot
    >>> C = torch.rand(30, 20, dtype=torch.float64, requires_grad=True)
    >>> value = ot.sinkhorn2(None, None, C, 0.1)
    >>> value.backward()
    >>> bool(torch.allclose(C.grad, torch.as_tensor(ot.sinkhorn(None, None, C.detach(), 0.1).plan())))
    True
    """
    if not any(is_tensor(v) for v in (a, b, C)):
        result = sinkhorn(a, b, C, reg, **kwargs)
        return np.asarray(result.objective, dtype=dtype_name(result.f))
    from ._ot_autograd import sinkhorn2_torch

    return sinkhorn2_torch(a, b, C, reg, kwargs)


def sinkhorn_divergence(x, y, reg: float, *, a=None, b=None, cost: str = "sqeuclidean", method: str = "auto",
                        tol: float | None = None, max_iter: int | None = None, check_finite: bool = True,
                        **options: Any):
    """The debiased Sinkhorn divergence between point clouds x (n, d) and y (m, d) with weights a
    and b (None: uniform)::

        S = OT(x, y) - OT(x, x) / 2 - OT(y, y) / 2

    where OT is the entropic objective of :func:`sinkhorn_points` (the same with reg * KL(P | a b^T)
    in place of reg * sum P log P: the difference cancels in S). S >= 0, 0 when the weighted clouds
    coincide, and it tends to the unregularized OT cost as reg -> 0. Three solves with costs on the
    fly, memory O((n + m) d). Returns a 0-d array (numpy) or tensor (torch) of x's dtype, which
    torch differentiates in x, y, a and b by the envelope theorem (the transport gradients are
    computed on the fly; the weights' gradients are centered to mean zero, and finite at zero
    weights too); not twice differentiable. The solves run in float64 whatever x's dtype. GeomLoss's ``SamplesLoss("sinkhorn", p=2, blur=sqrt(reg / 2))`` is S / 2 for
    cost='sqeuclidean' (its cost is |x - y|^2 / 2), up to its epsilon schedule's inexactness.
    Keywords as for :func:`sinkhorn_points`.

    Examples
    --------
    >>> import torch
    >>> from mlprims import ot
    >>> x = torch.rand(100, 2, dtype=torch.float64, requires_grad=True)
    >>> y = torch.rand(80, 2, dtype=torch.float64) + 0.5
    >>> loss = ot.sinkhorn_divergence(x, y, 0.01)
    >>> loss.backward()
    >>> bool(loss > 0), tuple(x.grad.shape)
    (True, (100, 2))
    """
    function = "sinkhorn_divergence"
    solve = {"cost": cost, "method": method, "tol": tol, "max_iter": max_iter, "check_finite": check_finite,
             **options}
    if not any(is_tensor(v) for v in (x, y, a, b)):
        _, parts = _divergence_solves(function, x, y, a, b, reg, solve)
        return np.asarray(_divergence_value(parts), dtype=dtype_name(as_floating(function, "x", x)))
    from ._ot_autograd import sinkhorn_divergence_torch

    return sinkhorn_divergence_torch(x, y, a, b, reg, solve)


def _divergence_solves(function, x, y, a, b, reg, solve):
    """The three problems of the divergence, (x, y), (x, x) and (y, y), solved in float64 whatever
    the inputs' dtype: S is a difference of nearly equal values, which float32 potentials would
    swamp."""
    def float64(name, v):
        if v is None:
            return None
        v = _host(v).cpu().double().numpy() if is_tensor(v) else as_floating(function, name, v)
        return np.ascontiguousarray(v, dtype=np.float64)

    # the default tolerance follows x's dtype, as the weights' rounding does
    default_tol = 1e-9 if dtype_name(as_floating(function, "x", _host(x))) == "float64" else 1e-5
    tol = default_tol if solve["tol"] is None else solve["tol"]
    x, y, a, b = (float64(name, v) for name, v in (("x", x), ("y", y), ("a", a), ("b", b)))
    options = {k: v for k, v in solve.items() if k not in ("cost", "method", "tol", "max_iter", "check_finite")}

    def points(p, q, wp, wq):
        return _sinkhorn_points(function, p, q, reg, wp, wq, solve["cost"], solve["method"], tol, solve["max_iter"],
                                solve["check_finite"], None, None, options)

    return (x, y, a, b), (points(x, y, a, b), points(x, x, a, a), points(y, y, b, b))


def _divergence_value(parts) -> float:
    xy, xx, yy = parts
    return float(xy.objective) - 0.5 * (float(xx.objective) + float(yy.objective))


def _kl_potential(result, side: str, points, other_points, weights, reg: float, cost: str) -> np.ndarray:
    """f - reg log a (side 'f'; g - reg log b for 'g'): the potential of the same problem with
    reg * KL(P | a b^T), finite at zero weights too, where it is the c-transform of the other
    side's (the entropic potential there is -inf, and log a_i cancels from S's gradient)."""
    own, other = (result.f, result.g) if side == "f" else (result.g, result.f)
    own, other = np.asarray(own, dtype=np.float64), np.asarray(other, dtype=np.float64)
    n = own.shape[0]
    w = np.full(n, 1.0 / n) if weights is None else weights
    out = np.empty(n)
    positive = w > 0
    out[positive] = own[positive] - reg * np.log(w[positive])
    zero = np.flatnonzero(~positive)
    if zero.size:
        alive = np.isfinite(other)
        squared = ((points[zero, None, :] - other_points[None, alive, :]) ** 2).sum(-1)
        exponent = (other[alive][None, :] - (squared if cost == "sqeuclidean" else np.sqrt(squared))) / reg
        top = exponent.max(axis=1)
        out[zero] = -reg * (top + np.log(np.exp(exponent - top[:, None]).sum(axis=1)))
    return out


def _divergence_gradients(reg, cost, inputs, parts):
    """d S / d (x, y, a, b) as float64 numpy arrays (the weights' ones not yet centered)."""
    x, y, a, b = inputs
    xy, xx, yy = parts

    def transport_gradients(p, q, result):
        grad_p, grad_q = np.empty_like(p), np.empty_like(q)
        _core.ot.transport_gradient_points(p, q, result.f, result.g, reg, cost=cost, grad_x=grad_p, grad_y=grad_q)
        return grad_p, grad_q

    xy_x, xy_y = transport_gradients(x, y, xy)
    xx_1, xx_2 = transport_gradients(x, x, xx)  # x enters OT(x, x) twice
    yy_1, yy_2 = transport_gradients(y, y, yy)
    grad_a = _kl_potential(xy, "f", x, y, a, reg, cost) - 0.5 * (
        _kl_potential(xx, "f", x, x, a, reg, cost) + _kl_potential(xx, "g", x, x, a, reg, cost))
    grad_b = _kl_potential(xy, "g", y, x, b, reg, cost) - 0.5 * (
        _kl_potential(yy, "f", y, y, b, reg, cost) + _kl_potential(yy, "g", y, y, b, reg, cost))
    return xy_x - 0.5 * (xx_1 + xx_2), xy_y - 0.5 * (yy_1 + yy_2), grad_a, grad_b
