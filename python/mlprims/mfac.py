"""M-FAC: products with the inverse of a damped empirical Fisher matrix, without a d x d matrix.

The gradients g_1..g_m are the rows of G (m x d) and

    F = damp * I + (1/m) * G^T G,      F^{-1} = (I - G^T K^{-1} G) / damp,   K = m damp I + G G^T,

(Frantar, Kurtic & Alistarh, "M-FAC: Efficient Matrix-Free Approximations of Second-Order
Information", NeurIPS 2021). Setup is one Gram product and an m x m Cholesky factorization;
``ihvp`` is two passes over G. Gradients may be stored in float32, float64 or bfloat16: every sum
(Gram matrix, passes, m x m solves) accumulates in float64, so storage precision limits only how
exactly G itself is represented.

Accuracy, as the backward error eta = ||F y - x|| / (||F|| ||y|| + ||x||) of y = F^{-1} x, with
u = 2^-53 (float64 unit roundoff) and cond(F) = 1 + sigma_max(G)^2 / (m damp) = ||K|| / (m damp)
(>= the condition number of K):

* ``refine=False`` (two passes): y = (x - G^T z) / damp with z = K^{-1} G x. The rounding of G x,
  the Cholesky solve's backward error (~ u ||K|| ||z||) and the cancellation in x - G^T z are all
  multiplied by ||K|| / (m damp), so eta <= c u cond(F), c a small multiple of the rounding steps
  (sums of m and d terms: ~ sqrt(m) + sqrt(d) in the probabilistic analysis, the tests use twice
  that). This is not a fixed figure: gradients in groups of nearly parallel rows (cosine
  1 - 5e-7) at damp = 1e-6 reach cond(F) ~ 1e10 and eta ~ 1e-6 (measured 0.001-0.2 u cond(F)).
* ``refine=True``: a product that does not cancel (three passes), then iterative refinement (three
  passes per step) until the estimated eta is <= 4 eps or stops halving: eta ~ 1e-16 whatever
  cond(F) (<= 9e-16 measured, correlated gradients included).
* Results in float32 (x float32) add at most 2^-24 (6e-8) to eta: the rounding of y.
* Storage: the bounds are for F built from the stored gradients. float32 and bfloat16 gradients
  are exact in float64 and all sums are float64, so they hold as stated; relative to unrounded
  gradients, F itself is off by the storage rounding (relative 6e-8 for float32, 4e-3 for
  bfloat16).

Range. Norms are accumulated with scaling and each right-hand side is solved at norm ~1 (a
power-of-two rescaling, exact), so products and reported figures are right for any finite G, x
and damp whose K = m damp I + G G^T fits in float64 (diagonal <= 4.5e307) and whose answer is
representable. Gradients beyond that (squared row norms near 1e308), or that are not finite once
stored in the window's dtype, are a ValueError.

Classes and functions: :class:`FisherInverse` (static, for pruning), :class:`SlidingFisherInverse`
(the last ``window`` gradients, for optimization), :func:`obs_prune` (one Optimal Brain Surgeon
step) and :class:`MFAC` (a ``torch.optim.Optimizer``; importing it imports torch).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _core
from ._arrays import Array, is_tensor, stream_of, torch_module
from ._arrays import as_array as _as_array
from ._arrays import as_floating as _as_floating
from ._arrays import describe as _describe
from ._arrays import dtype_name as _dtype_name
from ._arrays import empty_like as _empty_like
from ._result import Result
from ._validation import check_integer, check_real

__all__ = ["MFAC", "FisherInverse", "PruneResult", "SlidingFisherInverse", "SolveInfo", "obs_prune"]


@dataclass(frozen=True)
class SolveInfo(Result):
    """How a product F^{-1} x was obtained (``return_info=True``).

    With ``refine=True`` the residual r = x - F y is computed and with it the backward error
    ``||r|| / (||F|| ||y|| + ||x||)``, where ||F|| is a lower bound from a few power iterations on
    the m x m system (so the estimate errs on the high side). Refinement stops when that estimate
    reaches 4 eps (about 9e-16) or stops halving. Without refinement both figures are nan.

    The figures describe the array returned: for a float32 result they are measured again on y
    rounded to float32 (two more passes over the gradients); float16/bfloat16 x computes and returns
    float32 (the package's half-precision policy), so the same holds for it. Norms
    are scaled sums, right at any finite magnitude. The residual is evaluated in float64: a
    relative residual below ~eps ||F|| ||y|| / ||x|| (= eps cond(F) for x outside the gradients'
    span) is rounding noise; read the backward error.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import mfac
    >>> G = np.random.default_rng(0).standard_normal((16, 200))
    >>> y, info = mfac.FisherInverse(G, 1e-3).ihvp(G[0], refine=True, return_info=True)
    >>> bool(info.backward_error <= 1e-15), info.refinement_steps >= 0
    (True, True)
    """

    refinement_steps: int
    """Corrections applied after the first solve (each three passes over the gradients)."""
    relative_residual: float
    """||x - F y|| / ||x||, the largest over right-hand sides."""
    backward_error: float
    """The backward-error estimate above, the largest over right-hand sides."""


def _info(native) -> SolveInfo:
    """The native report with -1 ("not measured": no refinement) as NaN."""
    residual, backward = native.relative_residual, native.backward_error
    return SolveInfo(native.refinement_steps, residual if residual >= 0 else math.nan,
                     backward if backward >= 0 else math.nan)


def _device_of(array) -> str:
    return str(array.device) if is_tensor(array) else "cpu"


# Sizes that cross into C++: d * window must fit int64 with room to spare.
_MAX_SIZE = 2**62


def _check_damp(function: str, damp) -> float:
    return check_real(function, "damp", damp, minimum=0, include_minimum=False)


def _solve(function: str, native_solve, x, refine: bool, return_info: bool) -> Array | tuple[Array, SolveInfo]:
    """y = F^{-1} x through `native_solve(x, out, refine, stream)`, in x's compute dtype and library."""
    work = _as_floating(function, "x", x)
    out = _empty_like(work, work.shape, _dtype_name(work))
    info = _info(native_solve(work, out, bool(refine), stream_of(work)))
    return (out, info) if return_info else out


class FisherInverse:
    """F^{-1} for F = damp I + (1/m) G^T G from the m gradients in the rows of `grads`.

    Parameters
    ----------
    grads : array (m, d)
        The gradients, float32, float64 or (torch) bfloat16, numpy or torch, CPU or CUDA. Read in
        place, not copied: keep it unchanged while this object is used (it holds a reference).
        Other dtypes are converted (float16 to float32, integers to float64), and arrays whose
        rows are not contiguous are copied once.
    damp : float
        The damping, > 0.
    block_size : int, optional
        Block-diagonal F: each run of `block_size` consecutive coordinates gets its own inverse
        from its own columns of G; the last block is shorter when block_size does not divide d.
        Blocks no wider than m are inverted as dense b x b matrices, wider ones by Woodbury.
        None (default) or block_size >= d: the full F.
    check_finite : bool
        Kept for compatibility; NaN/inf in `grads` is always a ValueError (the check is part of
        the Gram product and free, and a non-finite G would make every product NaN), and so is a
        Gram matrix that overflows float64 (squared row norms near 1e308, or m * damp).

    Setup is a Gram product G G^T (BLAS syrk, float64 accumulation) and an m x m Cholesky
    factorization (Bunch-Kaufman LDL^T if rounding defeats Cholesky); memory beyond G is O(m^2)
    per block. ``ihvp`` costs two passes over G; ``diagonal`` one triangular solve with G
    (O(m^2 d)); ``entries`` O(m^2) per distinct column plus O(m) per entry.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims.mfac import FisherInverse
    >>> G = np.random.default_rng(0).standard_normal((16, 1000))
    >>> finv = FisherInverse(G, damp=1e-3)
    >>> y = finv.ihvp(G[0], refine=True)      # F^{-1} g_0
    >>> bool(np.allclose(1e-3 * y + G.T @ (G @ y) / 16, G[0]))
    True
    """

    def __init__(self, grads, damp: float, *, block_size: int | None = None, check_finite: bool = True) -> None:
        function = "FisherInverse"
        grads = _as_floating(function, "grads", grads, stored=("float32", "float64", "bfloat16"))
        if grads.ndim != 2:
            raise ValueError(f"{function}: 'grads' must have shape (m, d), got shape {tuple(grads.shape)}")
        grads = _with_contiguous_rows(grads)
        damp = _check_damp(function, damp)
        size = 0 if block_size is None else check_integer(function, "block_size", block_size, minimum=1)
        size = min(size, grads.shape[1])  # block_size >= d is the full F
        self._grads = grads  # the native object reads it in place
        self._native = _core.mfac.FisherInverse(grads, damp, size, bool(check_finite), stream_of(grads))

    @property
    def dim(self) -> int:
        """d, the number of coordinates."""
        return self._native.dim

    @property
    def num_grads(self) -> int:
        """m, the number of gradients."""
        return self._native.num_grads

    @property
    def damp(self) -> float:
        return self._native.damp

    @property
    def block_size(self) -> int | None:
        """The block size, or None for the full F."""
        return self._native.block_size or None

    @property
    def device(self) -> str:
        return _device_of(self._grads)

    def ihvp(self, x, *, refine: bool = False, return_info: bool = False) -> Array | tuple[Array, SolveInfo]:
        """F^{-1} x for x of shape (d,) or (k, d).

        The result has x's shape, library and device; float64 for float64 and integer x, float32
        for float32, float16 and bfloat16 x (they compute in float32 and the float32 result is
        returned, not rounded back). ``refine=False``: two passes over G, backward
        error <= c u cond(F) (module docstring). ``refine=True`` runs iterative refinement until
        the residual stops shrinking (use it when x lies in the span of the gradients and damp is
        small): backward error ~1e-16, three passes plus three per correction (at most two were
        needed in the tests), two more for float32 results to measure what is returned.
        ``return_info=True`` returns the pair ``(y, info)`` with a :class:`SolveInfo` (a tuple, as
        SciPy's iterative solvers return ``(x, info)``: the answer stays the array itself).
        """
        return _solve("FisherInverse.ihvp", self._native.ihvp, x, refine, return_info)

    def diagonal(self) -> Array:
        """diag(F^{-1}) as d float64 values (numpy, or torch on the gradients' device)."""
        out = _empty_like(self._grads, (self.dim,), "float64")
        self._native.diagonal(out, stream_of(out))
        return out

    def entries(self, rows, cols) -> Array:
        """F^{-1}[rows, cols] elementwise, float64, for integer index arrays of one shape
        (entries across different blocks of a block-diagonal F are 0)."""
        function = "FisherInverse.entries"
        rows_array = _as_index_array(function, "rows", rows, self._grads, self.dim)
        cols_array = _as_index_array(function, "cols", cols, self._grads, self.dim)
        if tuple(rows_array.shape) != tuple(cols_array.shape):
            raise ValueError(
                f"{function}: 'rows' and 'cols' must have one shape, got {tuple(rows_array.shape)} "
                f"and {tuple(cols_array.shape)}"
            )
        shape = tuple(rows_array.shape)
        out = _empty_like(self._grads, (int(np.prod(shape, dtype=np.int64)),), "float64")
        self._native.entries(rows_array.reshape(-1), cols_array.reshape(-1), out, stream_of(out))
        return out.reshape(shape)

    def __repr__(self) -> str:
        blocks = f", block_size={self.block_size}" if self.block_size else ""
        return (
            f"FisherInverse(num_grads={self.num_grads}, dim={self.dim}, damp={self.damp!r}{blocks}, "
            f"dtype={_dtype_name(self._grads)}, device={self.device})"
        )


def _with_contiguous_rows(grads):
    """The gradient matrix, copied only when its rows are not contiguous (stride 1 along d)."""
    if grads.shape[1] <= 1:
        return grads
    if is_tensor(grads):
        return grads if grads.stride(1) == 1 else grads.contiguous()
    return grads if grads.strides[1] == grads.itemsize else np.ascontiguousarray(grads)


def _as_index_array(function: str, name: str, value, like, dim: int):
    """Integer indices in [0, dim) as int64, in the library and on the device of `like`. The range
    is checked on the caller's values, before any conversion could wrap them (uint64 2**63 is not
    -2**63)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{function}: '{name}' must hold integers, got {_describe(value)}")
    if isinstance(value, numbers.Integral):
        value = [int(value)]
    if isinstance(value, (list, tuple)):
        flat = np.asarray(value, dtype=object).reshape(-1)
        if any(isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) for v in flat):
            raise TypeError(f"{function}: '{name}' must hold integers, got {value!r}")
        _check_index_range(function, name, [int(v) for v in flat], dim)
        value = np.asarray([int(v) for v in flat], dtype=np.int64).reshape(np.shape(np.asarray(value, dtype=object)))
    array = _as_array(function, name, value)
    dtype = _dtype_name(array)
    if not (dtype.startswith(("int", "uint"))):
        raise TypeError(f"{function}: '{name}' must hold integers, got dtype {dtype}")
    if int(np.prod(tuple(array.shape), dtype=np.int64)) > 0:
        host = array.detach().cpu().numpy() if is_tensor(array) else np.asarray(array)
        _check_index_range(function, name, [int(host.min()), int(host.max())], dim)
    if is_tensor(like):
        torch = torch_module()
        tensor = array if is_tensor(array) else torch.from_numpy(np.asarray(array))
        return tensor.to(device=like.device, dtype=torch.int64).contiguous()
    if is_tensor(array):
        raise ValueError(f"{function}: '{name}' is a torch tensor but the gradients are a numpy array")
    return np.ascontiguousarray(array, dtype=np.int64)


def _check_index_range(function: str, name: str, values, dim: int) -> None:
    for value in values:
        if not 0 <= value < dim:
            raise ValueError(f"{function}: '{name}' must hold indices in [0, {dim}), got {value}")


def _storage_dtype_name(function: str, dtype) -> str:
    name = str(dtype).replace("torch.", "") if dtype is not None else "float32"
    if not isinstance(dtype, str) and dtype is not None:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = str(dtype).replace("torch.", "")
    if name not in ("float32", "float64", "bfloat16"):
        raise TypeError(f"{function}: 'dtype' must be float32, float64 or bfloat16, got {dtype!r}")
    return name


def _cuda_index(function: str, device) -> int:
    """-1 for the CPU, else the CUDA device index."""
    text = str(device)
    if text == "cpu":
        return -1
    if text == "cuda":
        # torch's current device when torch can tell (torch.cuda.current_device() raises an
        # AssertionError without CUDA); otherwise device 0, which the core checks.
        torch = torch_module()
        available = torch is not None and torch.cuda.is_available()
        return int(torch.cuda.current_device()) if available else 0
    if text.startswith("cuda:") and text[5:].isascii() and text[5:].isdigit():
        index = int(text[5:])
        if index > 2**31 - 1:
            raise ValueError(f"{function}: 'device' index must be < 2**31, got {device!r}")
        return index
    raise ValueError(f"{function}: 'device' must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")


class SlidingFisherInverse:
    """F^{-1} over the last `window` gradients, for optimization.

    Parameters
    ----------
    dim : int
        d, the length of each gradient.
    window : int
        m, the number of gradients kept (>= 1).
    damp : float
        The damping, > 0.
    dtype : {'float32', 'float64', 'bfloat16'} or a numpy/torch dtype
        How the window stores gradients (sums still accumulate in float64).
    device : str or torch.device
        'cpu' or a CUDA device; results on CUDA come back as torch tensors.
    refactor_interval : int, optional
        Refactor the m x m system from the exact Gram matrix every this many updates (default:
        `window`). In between, each update changes the Cholesky factor by one rank-one update and
        one downdate, O(window^2); a downdate that loses positive definiteness refactors at once.

    While the window fills, F is built from the c gradients present:
    F = damp I + (1/c) sum of them (the paper's reference code counts the empty slots as zero
    gradients, which divides by `window` instead). The window owns a copy of each gradient.

    A gradient that is not finite, that is not finite once rounded to `dtype` (|g_j| >= 3.4e38
    for float32 and bfloat16), or whose squared norm would overflow the float64 Gram matrix
    (||g|| > 4.7e153) is a ValueError, and the window is left exactly as it was. ``window * damp``
    must be <= 2.2e307.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims.mfac import SlidingFisherInverse
    >>> finv = SlidingFisherInverse(dim=1000, window=8, damp=1e-4, dtype="float64")
    >>> rng = np.random.default_rng(0)
    >>> for _ in range(20):
    ...     step = finv.update_ihvp(rng.standard_normal(1000), refine=True)
    >>> len(finv)
    8
    """

    def __init__(
        self,
        dim: int,
        window: int,
        damp: float,
        *,
        dtype="float32",
        device="cpu",
        refactor_interval: int | None = None,
    ) -> None:
        function = "SlidingFisherInverse"
        dim = check_integer(function, "dim", dim, minimum=1, maximum=_MAX_SIZE)
        window = check_integer(function, "window", window, minimum=1, maximum=_MAX_SIZE)
        if dim * window > 2**62:
            raise ValueError(
                f"{function}: 'window' * 'dim' gradient values must be <= 2**62, got {window} * {dim} = {window * dim}"
            )
        damp = _check_damp(function, damp)
        interval = 0
        if refactor_interval is not None:
            interval = min(check_integer(function, "refactor_interval", refactor_interval, minimum=1), _MAX_SIZE)
        self._dtype = _storage_dtype_name(function, dtype)
        self._cuda_index = _cuda_index(function, device)
        self._native = _core.mfac.SlidingFisherInverse(dim, window, damp, self._dtype, self._cuda_index, interval)

    @property
    def dim(self) -> int:
        return self._native.dim

    @property
    def window(self) -> int:
        return self._native.window

    @property
    def damp(self) -> float:
        return self._native.damp

    @property
    def dtype(self) -> str:
        """The storage dtype of the window."""
        return self._dtype

    @property
    def device(self) -> str:
        return "cpu" if self._cuda_index < 0 else f"cuda:{self._cuda_index}"

    def __len__(self) -> int:
        """Gradients held now (at most `window`)."""
        return len(self._native)

    def _gradient(self, function: str, g):
        g = _as_floating(function, "g", g)
        return g

    def update(self, g) -> None:
        """Adds g (d,) to the window, evicting the oldest gradient once it is full (ValueError for
        a g the window cannot hold: see the class docstring; the window is then unchanged)."""
        g = self._gradient("SlidingFisherInverse.update", g)
        self._native.update(g, stream_of(g))

    def ihvp(self, x, *, refine: bool = False, return_info: bool = False) -> Array | tuple[Array, SolveInfo]:
        """F^{-1} x over the current window, as :meth:`FisherInverse.ihvp`."""
        return _solve("SlidingFisherInverse.ihvp", self._native.ihvp, x, refine, return_info)

    def update_ihvp(self, g, *, refine: bool = False, return_info: bool = False) -> Array | tuple[Array, SolveInfo]:
        """``update(g)`` then F^{-1} g, in fewer passes over the window than the two calls."""
        return _solve("SlidingFisherInverse.update_ihvp", self._native.update_ihvp, g, refine, return_info)

    def reset(self) -> None:
        """Empties the window."""
        self._native.reset()

    def __repr__(self) -> str:
        return (
            f"SlidingFisherInverse(dim={self.dim}, window={self.window}, damp={self.damp!r}, "
            f"dtype={self.dtype}, device={self.device}, size={len(self)})"
        )


@dataclass(frozen=True)
class PruneResult(Result):
    """The result of :func:`obs_prune`; unpacks as ``weights, mask = obs_prune(...)``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import mfac
    >>> rng = np.random.default_rng(0)
    >>> mfac.obs_prune(rng.standard_normal(50), mfac.FisherInverse(rng.standard_normal((16, 50)), 1e-2), 0.5)
    PruneResult(weights=(50,) float64, mask=(50,) bool)
    """

    _unpacks_as = ("weights", "mask")

    weights: Any
    """The pruned weights: the input's shape, array type and compute dtype, exactly 0 where dropped."""
    mask: Any
    """bool, the input's shape: True where a weight is kept."""


def obs_prune(weights, finv: FisherInverse, sparsity: float) -> PruneResult:
    """One Optimal Brain Surgeon pruning step with the M-FAC inverse.

    Scores ``w_j^2 / (2 [F^{-1}]_jj)``; the ``floor(sparsity * d)`` lowest are dropped (ties
    broken by index), the others are updated by ``dw = F^{-1}(-v)`` with
    ``v_q = w_q / [F^{-1}]_qq`` on the dropped set Q and 0 elsewhere (each dropped weight's
    single-weight OBS correction, summed, as in the M-FAC paper), and the dropped weights are set
    to exactly 0. With a block-diagonal `finv` the correction stays within each block.

    Parameters
    ----------
    weights : array with d elements (any shape), float32 or float64
    finv : FisherInverse
        Built from gradients with respect to these weights (flattened in C order).
    sparsity : float in [0, 1)

    Returns
    -------
    PruneResult with the pruned ``weights`` (weights' shape and compute dtype) and a bool ``mask``,
    True where kept; it unpacks as ``pruned, mask = obs_prune(...)``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import mfac
    >>> rng = np.random.default_rng(0)
    >>> finv = mfac.FisherInverse(rng.standard_normal((16, 50)), 1e-2)
    >>> pruned, mask = mfac.obs_prune(rng.standard_normal(50), finv, 0.5)
    >>> int(mask.sum()), bool(np.all(pruned[~mask] == 0))
    (25, True)
    """
    function = "obs_prune"
    if not isinstance(finv, FisherInverse):
        raise TypeError(f"{function}: 'finv' must be a mlprims.mfac.FisherInverse, got {_describe(finv)}")
    sparsity = check_real(function, "sparsity", sparsity, minimum=0, maximum=1, include_maximum=False)
    weights = _as_floating(function, "weights", weights)
    shape = tuple(weights.shape)
    if int(np.prod(shape, dtype=np.int64)) != finv.dim:
        raise ValueError(
            f"{function}: 'weights' must have {finv.dim} elements to match finv's dimension, got shape {shape}"
        )
    flat = weights.reshape(-1)
    pruned = _empty_like(flat, flat.shape, _dtype_name(flat))
    mask = _empty_like(flat, flat.shape, "bool")
    _core.mfac.obs_prune(flat, finv._native, sparsity, pruned, mask, stream_of(flat))
    return PruneResult(pruned.reshape(shape), mask.reshape(shape))


def __getattr__(name: str):
    # The optimizer subclasses torch.optim.Optimizer: import torch only when it is asked for.
    if name == "MFAC":
        from ._mfac_optimizer import MFAC

        return MFAC
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
