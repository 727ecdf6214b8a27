"""Low-rank factorization W ~ left @ right: truncated SVD and Fisher-weighted SVD in closed form.

One problem behind FWSVD, LQ-LoRA, SVD-LLM and ASVD: minimize ``|| L^T (W - A B) R ||_F`` over A
(m x r) and B (r x n). What each weight argument means:

* ``row_weights`` (m,) and ``col_weights`` (n,) multiply the residual: L = diag(row_weights),
  R = diag(col_weights). FWSVD's weights, sqrt of the Fisher information summed along one axis, go
  here (see :func:`fwsvd`).
* ``left_gram`` (m, m) and ``right_gram`` (n, n) are Gram matrices: with E = W - A B the objective
  is ``tr(E^T left_gram E)`` and ``tr(E right_gram E^T)``; for SVD-LLM, ``right_gram = X X^T`` from
  calibration activations X (n x samples) makes it ``||E X||_F^2``. Their Cholesky roots are taken
  in float64; a Gram matrix that is singular or indefinite to rounding is shifted by the smallest
  ``delta I`` (delta = 1e-12 max|G| times a power of 10, below 1e-6 max|G|; more means the matrix
  is indefinite: ValueError) that makes Cholesky succeed, and the shift is reported.

The optimum is the rank-r SVD of ``M = L^T W R``; ``left = L^{-T} U S``, ``right = V^T R^{-1}`` (where
the singular values go is ``singular_values_on``).

* ``weights`` (m, n) are element-wise: the objective is ``sum_ij weights_ij (W - A B)_ij^2`` (the
  Fisher values themselves go here). No closed form: alternating least squares from the closed
  form above with the best rank-one (row x column) approximation of sqrt(weights).

Devices: numpy arrays and CPU torch tensors run on the CPU. CUDA torch tensors return CUDA
tensors: the closed forms run on their GPU (cuBLAS/cuSOLVER) with the same methods and defaults;
element-wise `weights` run on the host (W and the weights are copied there, the factors back).
Weight arrays may then be on W's device or in CPU memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._arrays import as_floating, is_tensor, stream_of, torch_module
from ._native import _core
from ._result import Result
from ._validation import check_callable, check_integer, check_real, check_string, resolve_seed

__all__ = ["LowRankResult", "fwsvd", "truncated_svd", "weighted_svd"]



@dataclass(frozen=True)
class LowRankResult(Result):
    """W ~ left @ right.

    left : (m, rank), right : (rank, n), singular_values : (rank,), descending; in W's dtype and
        array type (numpy or torch).
    weighted_error : || L^T (W - left @ right) R ||_F (the plain Frobenius error when no weights
        are given), in float64: sqrt(||L^T W R||^2 - sum(singular_values**2)) where that keeps
        its accuracy (the error is at least 10% (float32) or 0.1% (float64) of ||L^T W R||), else
        from the residual.
    method : 'exact', 'krylov' or 'randomized', the SVD used.
    iterations, converged : sweeps of the element-wise solver and whether its tolerance was met
        (0 and True for the closed forms).
    left_shift, right_shift : the shifts added to the Gram matrices' diagonals (0.0 if none).

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import lowrank
    >>> lowrank.truncated_svd(np.eye(300, 200), 5)
    LowRankResult(left=(300, 5) float64, right=(5, 200) float64, singular_values=(5,) float64, weighted_error=13.96424004, method='exact', iterations=0, converged=True, left_shift=0, right_shift=0)
    """

    left: Any
    right: Any
    singular_values: Any
    weighted_error: float
    method: str
    iterations: int = 0
    converged: bool = True
    left_shift: float = 0.0
    right_shift: float = 0.0


def _native_array(function: str, name: str, value, device=None):
    """`value` as the core reads it: a CUDA tensor on W's `device` stays there (made contiguous);
    anything else becomes a C-contiguous CPU numpy view or copy (numpy, CPU torch, list, DLPack).
    `device` is W's CUDA device, or None when W is in CPU memory."""
    array = as_floating(function, name, value)
    if is_tensor(array) and array.device.type != "cpu":
        if device is None or array.device != device:
            where = "in CPU memory like W" if device is None else f"on W's device {device} or in CPU memory"
            raise ValueError(f"{function}: '{name}' must be {where}, got a tensor on {array.device}")
        return array.contiguous()
    if is_tensor(array):
        array = array.numpy()
    return np.ascontiguousarray(array)


def _solve(function: str, W, rank, *, fisher=None, axis=None, row_weights=None, col_weights=None,
           left_gram=None, right_gram=None, weights=None, max_iter=None, tol=None, callback=None,
           method="auto", oversample=None, power_iters=None, seed=None,
           singular_values_on="left", _device_algorithm=False) -> LowRankResult:
    """The shared body of the public functions. `_device_algorithm` (tests only) runs CPU arrays
    through the CUDA back end's algorithm on the host."""
    returns_torch = is_tensor(W)
    W_arg = as_floating(function, "W", W)
    device = W_arg.device if is_tensor(W_arg) and W_arg.device.type == "cuda" else None
    W_np = _native_array(function, "W", W_arg, device)
    if W_np.ndim != 2:
        raise ValueError(f"{function}: 'W' must be a 2-D matrix, got shape {W_np.shape}")
    rank = check_integer(function, "rank", rank, minimum=1, maximum=min(W_np.shape),
                         why=f"min(m, n) for W of shape {W_np.shape}")
    oversample = -1 if oversample is None else check_integer(function, "oversample", oversample, minimum=0)
    power_iters = -1 if power_iters is None else check_integer(function, "power_iters", power_iters, minimum=0)
    seed = resolve_seed(function, seed, sampler=False)
    # None: the native defaults (mlprims/lowrank.hpp: 200 sweeps, tol 1e-8).
    max_iter = -1 if max_iter is None else check_integer(function, "max_iter", max_iter, minimum=0)
    tol = -1.0 if tol is None else check_real(function, "tol", tol, minimum=0)
    check_callable(function, "callback", callback)
    check_string(function, "method", method)
    check_string(function, "singular_values_on", singular_values_on)
    m, n = W_np.shape
    if device is not None:
        torch = torch_module()
        left, right, singular_values = (torch.empty(shape, dtype=W_np.dtype, device=device)
                                        for shape in ((m, rank), (rank, n), (rank,)))
    else:
        left = np.empty((m, rank), W_np.dtype)
        right = np.empty((rank, n), W_np.dtype)
        singular_values = np.empty(rank, W_np.dtype)
    options = {"left": left, "right": right, "singular_values": singular_values, "method": method,
               "oversample": oversample, "power_iters": power_iters, "seed": seed,
               "placement": singular_values_on, "stream": stream_of(W_np)}
    weight_arrays = {name: _native_array(function, name, value, device)
                     for name, value in (("row_weights", row_weights), ("col_weights", col_weights),
                                         ("left_gram", left_gram), ("right_gram", right_gram), ("weights", weights))
                     if value is not None}
    if fisher is not None:
        native = _core.lowrank.fwsvd(W_np, _native_array(function, "fisher", fisher, device), rank, axis, **options)
    elif _device_algorithm:
        solve = getattr(_core.testing, f"lowrank_{function}_device_algorithm")
        native = solve(W_np, rank, **weight_arrays, max_iter=max_iter, tol=tol, callback=callback, **options)
    elif function == "truncated_svd":
        native = _core.lowrank.truncated_svd(W_np, rank, **options)
    else:
        native = _core.lowrank.weighted_svd(W_np, rank, **weight_arrays, max_iter=max_iter, tol=tol,
                                            callback=callback, **options)
    if returns_torch and device is None:
        torch = torch_module()
        left, right, singular_values = (torch.from_numpy(a) for a in (left, right, singular_values))
    return LowRankResult(left, right, singular_values, native.error, native.method, iterations=native.iterations,
                         converged=native.converged, left_shift=native.left_shift, right_shift=native.right_shift)


def truncated_svd(W, rank: int, *, method: str = "auto", oversample: int | None = None,
                  power_iters: int | None = None, seed: int | None = None,
                  singular_values_on: str = "left") -> LowRankResult:
    """The best rank-`rank` approximation of W (m, n) in the Frobenius norm, W ~ left @ right.

    Parameters
    ----------
    W : array (m, n), float32 or float64 (other real dtypes are converted), numpy or torch (CPU or
        CUDA: a CUDA tensor is factored on its GPU). The computation runs in W's dtype. NaN/inf is
        a ValueError.
    rank : int in [1, min(m, n)].
    method : 'exact' (LAPACK divide-and-conquer SVD of W), 'krylov' (randomized block Krylov,
        Musco & Musco 2015, on W's row space: power_iters + 1 blocks [G, (W^T W) G, ...], all
        kept; each product with W^T W is one read of W), 'randomized' (subspace iteration: one
        block of rank + oversample columns, renormalized after each of power_iters products with
        W W^T, Halko, Martinsson & Tropp 2011) or 'auto'. 'auto' for float64 W is 'exact': the
        caller chose float64 for accuracy, and on flat spectra a Krylov basis gets within 1e-10
        of the optimum only with ~16 blocks, which costs as much as the exact SVD or more (times
        in BENCHMARKS.md, "Truncated SVD"; pass method='krylov' for the float32-grade 1.001x at a
        fraction of the time). 'auto' for float32 W: 'exact' when min(m, n) < 256;
        otherwise 'krylov' when its basis is at most 0.6 min(m, n) columns, else 'randomized'
        when 3 (rank + oversample) <= min(m, n), else 'exact'. For the same error 'krylov' makes about half the
        flops of 'randomized'.
    oversample : 'krylov': blocks of rank + oversample columns where that is at most 40, else of
        ceil(rank / 2) + oversample, at least 40 (and 40 where that is at most 44 and W is not
        wide): narrower blocks and more of
        them reach a smaller error for the same basis size (Meyer, Musco & Musco 2024). A
        singular value repeated more often than a block holds shows as a run of equal Ritz
        values; the basis is then rebuilt with blocks of rank + oversample. 'randomized': extra
        columns of the block. Default 10 ('krylov') or 10 + rank // 2 ('randomized').
    power_iters : products with W^T W ('krylov': default 5 for blocks of rank + oversample, 8 for
        the half-rank blocks (9 where min(m, n) > 2048), one less where the basis would exceed
        0.6 min(m, n) columns and one block less would not) or W W^T ('randomized', default 10).
        A 'krylov' basis of more than min(m, n) columns would span everything: the exact SVD
        runs instead (``method`` of the result says so). The defaults keep the error within 0.1%
        of the optimum in float32 on flat, slowly decaying and Gaussian spectra, whose crowded
        top singular values converge slowest (tested from 256 x 256 to 2048 x 2048; 5.6e-4 above
        the optimum at worst up to 4096 x 4096).
    seed : seed of the Gaussian test matrix; None (default) means 0, so results are reproducible.
    singular_values_on : 'left' (left = U S, right = V^T), 'right' (left = U, right = S V^T) or
        'balanced' (sqrt(S) on both).

    Returns
    -------
    LowRankResult; ``weighted_error`` is ``||W - left @ right||_F``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import lowrank
    >>> W = np.random.default_rng(0).standard_normal((300, 200))
    >>> r = lowrank.truncated_svd(W, 10, method="exact")
    >>> bool(np.isclose(r.weighted_error, np.linalg.norm(W - r.left @ r.right)))
    True
    """
    return _solve("truncated_svd", W, rank, method=method, oversample=oversample, power_iters=power_iters,
                  seed=seed, singular_values_on=singular_values_on)


def weighted_svd(W, rank: int, *, row_weights=None, col_weights=None, left_gram=None, right_gram=None,
                 weights=None, method: str = "auto", oversample: int | None = None,
                 power_iters: int | None = None, max_iter: int | None = None, tol: float | None = None,
                 seed: int | None = None, callback=None, singular_values_on: str = "left") -> LowRankResult:
    """Minimize ``|| L^T (W - left @ right) R ||_F`` exactly (closed form; see the module docstring),
    or ``sum_ij weights_ij (W - left @ right)_ij^2`` (element-wise weights, iterative).

    Parameters
    ----------
    W : array (m, n), float32 or float64, numpy or torch (CPU or CUDA; with element-wise
        `weights` a CUDA W is factored on the host).
    rank : int in [1, min(m, n)].
    row_weights : (m,) >= 0, optional. Multiplies the residual's rows.
    col_weights : (n,) >= 0, optional. Multiplies the residual's columns.
    left_gram : (m, m) symmetric positive semi-definite, optional (not with row_weights).
    right_gram : (n, n) symmetric positive semi-definite, optional (not with col_weights).
    weights : (m, n) >= 0, optional, alone (not with the four above). Element-wise weights that
        multiply the squared residual: put the Fisher values themselves here. There is no closed
        form (the problem has local minima): mlprims starts from the closed form with row and
        column weights r_i c_j equal to the best rank-one approximation of sqrt(weights), then runs
        alternating least squares (each sweep solves one k x k weighted least-squares problem per
        row of `left`, then per column of `right`, extrapolating along the sweep when that helps).
        The objective never increases and the result is never worse than that start; if a sweep
        makes no progress one EM step (Srebro & Jaakkola 2003) is tried before stopping. The
        computation runs in float64 for float32 W too; rows (columns) whose weights are all 0 keep
        the start's values (see below). Cost: about 2 m n k^2 flops per sweep (the k x k systems
        of all rows are built by two GEMMs; times per sweep in BENCHMARKS.md, "Element-wise
        weighted low-rank"); how many sweeps depends on the weights: Fisher values of a linear
        layer (per-token squared gradients times squared inputs) take 15-90 sweeps, while
        unstructured weights (independent random values) can need more than the 200 of
        `max_iter`.
    max_iter : sweeps for `weights` (default 200; 0 returns the closed-form start).
    tol : for `weights`: stop when the estimated remaining decrease of the objective (from the
        ratio of the last two decreases, linear convergence) is below tol times the objective
        (default 1e-8).
    callback : for `weights`: called as ``callback(iteration, weighted_error)`` after each sweep;
        returning True stops the iterations (``converged`` is then False unless the tolerance was
        met). An exception raised in it propagates.
    method, oversample, power_iters, seed, singular_values_on : as :func:`truncated_svd`, applied to
        the SVD of ``L^T W R`` (for `weights`: of the start).

    Zero weights: a row (column) with weight 0 does not enter the objective, so any finite choice is
    optimal; mlprims fits it to W without weights. Zero-weight columns of `right` are the
    least-squares fits of W's columns by the columns of `left` restricted to the rows of nonzero
    weight; then zero-weight rows of `left` are the least-squares fits of W's rows by the rows of the
    final `right`. The factors stay finite and ``left @ right`` stays close to W there. Negative, NaN or
    inf weights, weight shapes that do not match W, and non-symmetric Gram matrices are ValueErrors.

    Returns
    -------
    LowRankResult with the weighted error of the result and the Gram shifts used; for `weights`,
    ``weighted_error`` is ``sqrt(sum(weights * (W - left @ right)**2))`` and ``iterations`` /
    ``converged`` report the sweeps. ``left @ right = U diag(singular_values) V^T`` in every case.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import lowrank
    >>> rng = np.random.default_rng(0)
    >>> W, d = rng.standard_normal((300, 200)), rng.uniform(0.1, 10, 300)
    >>> r = lowrank.weighted_svd(W, 10, row_weights=d, method="exact")
    >>> bool(np.isclose(r.weighted_error, np.linalg.norm(d[:, None] * (W - r.left @ r.right))))
    True
    >>> fisher = rng.uniform(0, 1, (300, 1)) * rng.uniform(0, 1, (1, 200)) * rng.lognormal(0, 2, (300, 200))
    >>> start = lowrank.weighted_svd(W, 10, weights=fisher, max_iter=0)
    >>> e = lowrank.weighted_svd(W, 10, weights=fisher)
    >>> bool(np.isclose(e.weighted_error ** 2, np.sum(fisher * (W - e.left @ e.right) ** 2)))
    True
    >>> bool(e.weighted_error < start.weighted_error)
    True
    """
    return _solve("weighted_svd", W, rank, row_weights=row_weights, col_weights=col_weights, left_gram=left_gram,
                  right_gram=right_gram, weights=weights, max_iter=max_iter, tol=tol, callback=callback,
                  method=method, oversample=oversample, power_iters=power_iters, seed=seed,
                  singular_values_on=singular_values_on)


def fwsvd(W, fisher, rank: int, *, axis: int = 1, method: str = "auto", oversample: int | None = None,
          power_iters: int | None = None, seed: int | None = None,
          singular_values_on: str = "left") -> LowRankResult:
    """Fisher-weighted SVD as published (Hsu et al., ICLR 2022).

    The paper writes a layer as y = x W with W of shape (in, out) and weights each input feature i
    by sqrt(sum_j F_ij), F the Fisher information per parameter (the mean over samples of squared
    per-sample gradients), then solves min || diag(d) (W - A B) ||_F exactly.

    Parameters
    ----------
    W : array (m, n)
    fisher : array of W's shape, >= 0: Fisher information per weight.
    axis : the axis of W that indexes input features, each of which gets one weight. Default 1, the
        layout of a torch ``nn.Linear.weight`` (out x in); use ``axis=0`` for the paper's (in x out).
        The weight is sqrt of `fisher` summed over the other axis.
    method, oversample, power_iters, seed, singular_values_on : as :func:`truncated_svd`.

    A feature whose Fisher sum is 0 gets weight 0: see :func:`weighted_svd` for how its factors are
    set (finite, never inf/NaN).

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import lowrank
    >>> rng = np.random.default_rng(0)
    >>> W = rng.standard_normal((64, 128))          # nn.Linear(128, 64).weight: (out, in)
    >>> fisher = rng.exponential(size=W.shape)      # mean squared per-sample gradients
    >>> r = lowrank.fwsvd(W, fisher, 8)
    >>> d = np.sqrt(fisher.sum(axis=0))             # one weight per input feature
    >>> bool(np.isclose(r.weighted_error, np.linalg.norm((W - r.left @ r.right) * d)))
    True
    """
    axis = check_integer("fwsvd", "axis", axis, minimum=0, maximum=1)
    return _solve("fwsvd", W, rank, fisher=fisher, axis=axis, method=method, oversample=oversample,
                  power_iters=power_iters, seed=seed, singular_values_on=singular_values_on)
