"""The von Mises-Fisher distribution on the unit sphere S^{p-1} in R^p, at any dimension.

    f(x; mu, kappa) = C_p(kappa) exp(kappa mu.x),
    C_p(kappa) = kappa^(p/2-1) / ((2 pi)^(p/2) I_{p/2-1}(kappa)).

Built on the log-Bessel functions of :mod:`mlprims.special`, so the normalizer, the density and
the maximum-likelihood fit work for p up to 1e5 and kappa from 0 to 1e300, where formulas on
I_v itself overflow (SciPy 1.17's ``vonmises_fisher.fit`` returns kappa = 1e-8 at p = 8192).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _core
from ._arrays import Array, host_float64, prepare
from ._result import Result
from ._validation import check_integer, check_real, resolve_seed

__all__ = [
    "KappaEstimate",
    "VonMisesFisherFit",
    "fit",
    "kappa_mle",
    "log_normalizer",
    "log_prob",
    "mean_resultant_length",
    "sample",
]


def _check_dim(function: str, dim) -> int:
    """The dimension p as an int in [2, 2**53] (p and p/2 - 1 exact in float64)."""
    return check_integer(function, "dim", dim, minimum=2, maximum=_core.vmf.max_dim)


def _stored_dtype(value):
    """The floating dtype an array argument is stored in (float16 and bfloat16 are widened before
    the core sees them, and unit-norm tolerances follow the stored precision), else None."""
    name = str(getattr(value, "dtype", "")).replace("torch.", "")
    return name if name in ("float16", "bfloat16", "float32", "float64") else None


def _normalizer(function: str, kappa, dim):
    dim = _check_dim(function, dim)
    if isinstance(kappa, (bool, int)):
        kappa = check_real(function, "kappa", kappa, finite=False)  # bool is a TypeError, 10**400 a ValueError
    prepared = prepare(function, kappa=kappa)
    k = prepared.native("kappa")
    out = prepared.empty(k.shape)
    getattr(_core.vmf, function)(k, dim, out, prepared.stream)
    return prepared.result(out)


def log_normalizer(kappa, dim: int) -> Array:
    """log C_p(kappa) = (p/2 - 1) log kappa - (p/2) log(2 pi) - log I_{p/2-1}(kappa).

    Parameters
    ----------
    kappa : array_like
        Concentration, kappa >= 0 (negative or NaN gives NaN). kappa = 0 gives minus the log
        of the sphere's area; kappa = inf gives -inf. A Python bool is a TypeError.
    dim : int
        The ambient dimension, 2 <= p <= 2**53 (the sphere S^{p-1}); other values are a
        ValueError, non-integers (bool included) a TypeError.

    Returns
    -------
    Array shaped like ``kappa`` (float32 for float32/float16/bfloat16 input, else float64). Accurate to ~1e-14
    relative; near kappa = 0 the kappa^(p/2-1) factor is cancelled analytically, not numerically.

    Examples
    --------
    >>> from mlprims import vmf
    >>> float(vmf.log_normalizer(0.0, 3))   # -log(4 pi)
    -2.5310242469692...
    >>> float(vmf.log_normalizer(5000.0, 8192))
    23953.1223335976...
    """
    return _normalizer("log_normalizer", kappa, dim)


def mean_resultant_length(kappa, dim: int) -> Array:
    """A_p(kappa) = I_{p/2}(kappa) / I_{p/2-1}(kappa) = E[mu.x], in [0, 1).

    Parameters
    ----------
    kappa : array_like
        Concentration, kappa >= 0 (negative or NaN gives NaN).
    dim : int
        The ambient dimension, 2 <= p <= 2**53.

    Examples
    --------
    >>> from mlprims import vmf
    >>> round(float(vmf.mean_resultant_length(1.0, 3)), 12)   # coth(1) - 1
    0.313035285499
    """
    return _normalizer("mean_resultant_length", kappa, dim)


def _as_points(function: str, X, mu=None, weights=None):
    arguments = {"X": X}
    if mu is not None:
        arguments["mu"] = mu
    if weights is not None:
        arguments["weights"] = weights
    prepared = prepare(function, **arguments)
    points = prepared.native("X")
    if points.ndim < 2:
        raise ValueError(f"{function}: 'X' must have shape (n, p) or (..., p), got shape {tuple(points.shape)}")
    return prepared, points


def log_prob(X, mu, kappa: float) -> Array:
    """log f(x; mu, kappa) = log C_p(kappa) + kappa mu.x for each row x of X.

    Parameters
    ----------
    X : array_like, shape (..., p)
        Points on the sphere: unit vectors along the last axis, to within the tolerance of the
        dtype they are stored in (| ||x|| - 1 | <= max(floor, 4u) for unit roundoff u, floor
        1e-5 for float64 and 1e-4 otherwise: 1e-5, 1e-4, 2.0e-3 and 1.6e-2 for float64,
        float32, float16 and bfloat16); rows outside it are a ValueError.
    mu : array_like, shape (p,)
        Mean direction, a unit vector (same tolerance, by its own dtype).
    kappa : float
        Concentration, finite and >= 0 (a real scalar; bool is a TypeError).

    Returns
    -------
    Array of shape ``X.shape[:-1]``. Cost: one pass over X (memory bound).

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import vmf
    >>> x = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    >>> vmf.log_prob(x, np.array([0.0, 0.0, 1.0]), 2.0).round(6)
    array([-1.126244, -3.126244])
    """
    kappa = check_real("log_prob", "kappa", kappa, minimum=0)
    prepared, points = _as_points("log_prob", X, mu=mu)
    leading = tuple(points.shape[:-1])
    flat = points.reshape(-1, points.shape[-1])
    out = prepared.empty((flat.shape[0],))
    _core.vmf.log_prob(flat, prepared.native("mu"), kappa, out, prepared.stream,
                       x_stored=_stored_dtype(X), mu_stored=_stored_dtype(mu))
    return out.reshape(leading)


@dataclass(frozen=True)
class KappaEstimate(Result):
    """The root kappa of A_p(kappa) = rbar and how it was reached (:func:`kappa_mle`).

    Examples
    --------
    >>> from mlprims import vmf
    >>> estimate = vmf.kappa_mle(0.9, 768)
    >>> estimate.converged, estimate.kappa > 0
    (True, True)
    """

    kappa: float
    iterations: int
    converged: bool
    error: float = 0.0  #: |A_p(kappa) - rbar| at the kappa returned


def kappa_mle(rbar: float, dim: int) -> KappaEstimate:
    """Maximum-likelihood concentration for a mean resultant length: solves A_p(kappa) = rbar.

    Safeguarded Newton from Banerjee et al.'s start inside the bracket
    rbar (p-2)/(1-rbar^2) <= kappa <= rbar p/(1-rbar^2) (Sra 2012). For rbar > 1/2 the
    residual uses 1 - A_p computed directly, so kappa stays accurate up to 1e7 and beyond:
    the relative error is below 1e-10 for p in [2, 32768] and kappa in [1e-3, 1e7].

    Parameters
    ----------
    rbar : float
        In [0, 1]; 0 gives kappa = 0 and 1 gives kappa = inf. Outside (NaN included) is a
        ValueError; a non-real scalar (bool included) is a TypeError.
    dim : int
        The ambient dimension, 2 <= p <= 2**53.

    Examples
    --------
    >>> from mlprims import vmf
    >>> round(vmf.kappa_mle(0.313035285499331, 3).kappa, 9)
    1.0
    """
    dim = _check_dim("kappa_mle", dim)
    native = _core.vmf.kappa_mle(check_real("kappa_mle", "rbar", rbar, minimum=0, maximum=1), dim)
    return KappaEstimate(native.kappa, native.iterations, native.converged, native.error)


@dataclass(frozen=True)
class VonMisesFisherFit(Result):
    """Result of :func:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import vmf
    >>> vmf.fit(np.array([[1.0, 0.0], [0.0, 1.0]]))
    VonMisesFisherFit(mu=(2,) float64, kappa=..., mean_resultant_length=0.7071067812, iterations=..., converged=True, error=...)
    """

    mu: Any  #: mean direction, shape (p,), the caller's array type
    kappa: float  #: concentration (inf when all points coincide)
    mean_resultant_length: float  #: rbar = |sum w_i x_i| / sum w_i
    iterations: int  #: Newton/bisection steps of the kappa solve
    converged: bool
    error: float = 0.0  #: |A_p(kappa) - rbar| at the kappa returned


def fit(X, *, weights=None) -> VonMisesFisherFit:
    """Maximum-likelihood von Mises-Fisher fit to the rows of X.

    mu = sum_i w_i x_i / |sum_i w_i x_i| and kappa solves A_p(kappa) = rbar (see
    :func:`kappa_mle`); sums accumulate in float64 even for float32 data.

    Parameters
    ----------
    X : array_like, shape (n, p)
        n >= 1 unit vectors, p >= 2, of any floating dtype (float16 and bfloat16 are read as
        float32). Each norm must be 1 within the tolerance of X's dtype, max(floor, 4u) for unit
        roundoff u: 1e-5 (float64), 1e-4 (float32), 2.0e-3 (float16), 1.6e-2 (bfloat16); else
        ValueError. Rounding the entries of a unit vector to the dtype moves its norm by at most
        u, and normalizing in the dtype by at most ~2u.
    weights : array_like, shape (n,), optional
        Non-negative finite weights with a positive sum.

    Returns
    -------
    VonMisesFisherFit with ``mu`` (same array type and device as X), ``kappa``,
    ``mean_resultant_length``, ``iterations`` and ``converged``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import vmf
    >>> X = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    >>> result = vmf.fit(X)
    >>> result.mu.round(6), round(result.mean_resultant_length, 6)
    (array([0.707107, 0.707107, 0.      ]), 0.707107)
    """
    prepared, points = _as_points("fit", X, weights=weights)
    if points.ndim != 2:
        raise ValueError(f"fit: 'X' must have shape (n, p), got shape {tuple(points.shape)}")
    mu = prepared.empty((points.shape[1],))
    weights = prepared.native("weights") if "weights" in prepared.arrays else None
    native = _core.vmf.fit(points, weights, mu, prepared.stream, x_stored=_stored_dtype(X))
    return VonMisesFisherFit(mu, native.kappa, native.mean_resultant_length, native.iterations, native.converged,
                             native.error)


def sample(mu, kappa: float, size: int, *, seed: int | np.random.Generator | None = None) -> np.ndarray:
    """Draws `size` points from the von Mises-Fisher distribution (numpy, on the CPU).

    Wood's (1994) rejection sampler: the component w = mu.x from its marginal density
    proportional to exp(kappa w) (1 - w^2)^((p-3)/2) by rejection from a transformed beta
    variate, then a uniformly random direction orthogonal to mu. The acceptance rate stays above
    ~0.6 for every p and kappa, so it is fast at any dimension (SciPy's sampler takes minutes at
    p = 8192).

    Parameters
    ----------
    mu : array_like, shape (p,)
        Mean direction (normalized here), p >= 2.
    kappa : float
        Concentration, finite and >= 0, up to 1.8e308 (a real scalar; bool is a TypeError).
    size : int
        Number of points, >= 0 (an integer; bool and floats are a TypeError), with
        size * p <= 2**60.
    seed : None, int or numpy.random.Generator
        None draws fresh entropy (a sampler's output is random by purpose; the package's seed
        policy, :mod:`mlprims._validation`); an int or a Generator makes the draw reproducible.

    Returns
    -------
    numpy.ndarray of shape (size, p), float64, rows of unit norm.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import vmf
    >>> X = vmf.sample(np.array([0.0, 0.0, 1.0]), 50.0, 10000, seed=0)
    >>> X.shape, round(float(X[:, 2].mean()), 2)   # E[mu.x] = A_3(50) = coth(50) - 1/50
    ((10000, 3), 0.98)
    """
    size = check_integer("sample", "size", size, minimum=0)
    mu = host_float64("sample", "mu", mu)  # the sampler runs in numpy: any array type, any device
    if mu.ndim != 1 or mu.shape[0] < 2:
        raise ValueError(f"sample: 'mu' must have shape (p,) with p >= 2, got shape {mu.shape}")
    p = mu.shape[0]
    if size * p > _MAX_SAMPLE_VALUES:
        raise ValueError(f"sample: 'size' * p must be <= 2**60 (numpy's largest float64 array), got "
                         f"{size} * {p}")
    scale = np.max(np.abs(mu))  # normalize by the largest entry first: no overflow at |mu| ~ 1e300
    if not np.isfinite(scale) or scale == 0:
        raise ValueError(f"sample: 'mu' must be a finite nonzero vector, got largest |entry| {scale}")
    mu = mu / scale
    mu /= np.linalg.norm(mu)
    kappa = check_real("sample", "kappa", kappa, minimum=0)
    rng = resolve_seed("sample", seed, sampler=True)
    w, tangent_scale = _wood_marginal(rng, kappa, p, size)
    tangent = rng.standard_normal((size, p))
    tangent -= np.outer(tangent @ mu, mu)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    return w[:, None] * mu + tangent_scale[:, None] * tangent


_MAX_SAMPLE_VALUES = 2**60


def _wood_marginal(rng: np.random.Generator, kappa: float, p: int, size: int):
    """`size` draws of w = mu.x and of sqrt(1 - w^2), by Wood's (1994) rejection sampler.

    Wood's proposal is w = 1 - b tau with tau = 2z / ((1 - z) + b z), z ~ Beta((p-1)/2, (p-1)/2),
    b = h / (kappa + sqrt(kappa^2 + h^2)), h = (p-1)/2, accepted when
        kappa b (2/(1+b) - tau) + (p-1) log((2 + (1-b) tau) (1+b) / 4) >= log U.
    This is Wood's kappa w + (p-1) log(1 - x0 w) - c >= log U, x0 = (1-b)/(1+b), rewritten in
    1 - w = b tau: his form subtracts terms of size kappa (an absolute error ~ kappa * 1e-16 in
    the exponent, and kappa^2 overflows past 1e154), while every term here is O(p) for any
    finite kappa (at kappa = 1e300, 1 - w ~ 1e-300 still reaches sqrt(1 - w^2) ~ 1e-150)."""
    half = (p - 1) / 2
    if kappa >= half:
        ratio = half / kappa
        root = 1 + np.sqrt(1 + ratio * ratio)
        b, kappa_b = ratio / root, half / root
    else:
        ratio = kappa / half
        b = 1 / (ratio + np.sqrt(ratio * ratio + 1))
        kappa_b = kappa * b
    accepted = [np.empty(0)]
    count = 0
    while count < size:
        z = rng.beta(half, half, 2 * size + 16)
        tau = 2 * z / ((1 - z) + b * z)
        exponent = kappa_b * (2 / (1 + b) - tau) + (p - 1) * np.log((2 + (1 - b) * tau) * (1 + b) / 4)
        keep = exponent >= np.log(rng.uniform(size=tau.shape))
        accepted.append(tau[keep])
        count += int(keep.sum())
    one_minus_w = b * np.concatenate(accepted)[:size]
    return 1 - one_minus_w, np.sqrt(one_minus_w * (2 - one_minus_w))
