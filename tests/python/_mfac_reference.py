"""Dense float64 references and the error bounds the M-FAC tests assert (one copy for all of them).

Notation: u = 2^-53 (float64 unit roundoff), F = damp I + G^T G / m, cond(F) = ||F|| ||F^{-1}||
= 1 + sigma_max(G)^2 / (m damp), and the norm-wise backward error of y as a solution of F y = x,

    eta(y) = ||F y - x|| / (||F|| ||y|| + ||x||).

Where the bounds come from (see the docstring of mlprims.mfac):

* Plain product (refine=False), y = (x - G^T K^{-1} G x) / damp with K = m damp I + G G^T: the
  rounding of G x, of the Cholesky solve (a backward error ~ u ||K|| ||z||) and of x - G^T z is
  multiplied by ||K|| / (m damp) = cond(F), so eta <= c u cond(F). c counts the rounding steps:
  sums of m and d terms contribute ~sqrt(m) + sqrt(d) in the usual probabilistic analysis
  (Higham & Mary 2019); ``plain_bound`` takes twice that.
* Refined product: refinement stops when its own estimate is <= 4 eps; the estimate is evaluated
  in float64 (error ~ (sqrt(m) + sqrt(d)) u), so eta <= 4 eps + ``reference_slack``.
* Rounding y to float32 adds at most the float32 unit roundoff 2^-24 to eta.
* Forward error: ||y - y_ref|| / ||y_ref|| <= cond(F) (eta(y) + eta(y_ref)) to first order.
* The check itself rounds: F is formed in float64 (entries off by ~m u |G|^T |G| / m) and F y
  sums d terms, so every measured eta carries up to ``reference_slack`` = (sqrt(m) + sqrt(d)) u.
"""

from __future__ import annotations

import math

import numpy as np

UNIT_ROUNDOFF = 2.0**-53
FLOAT32_UNIT_ROUNDOFF = 2.0**-24
EPS = np.finfo(np.float64).eps  # 2 u


def dense_fisher(G, damp):
    G = np.asarray(G, dtype=np.float64)
    return damp * np.eye(G.shape[1]) + G.T @ G / G.shape[0]


def backward_error(F, y, x):
    """eta(y), the largest over the rows of y and x when they are (k, d)."""
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    norm_f = np.linalg.norm(F, 2)
    residual = np.linalg.norm(y @ F.T - x, axis=1)
    return float(np.max(residual / (norm_f * np.linalg.norm(y, axis=1) + np.linalg.norm(x, axis=1))))


def condition_number(F):
    return float(np.linalg.cond(F))


def reference_slack(m, d):
    """Rounding of the float64 check itself (forming F, evaluating F y - x)."""
    return (math.sqrt(m) + math.sqrt(d)) * UNIT_ROUNDOFF


def plain_bound(m, d, cond):
    """Backward error bound of the plain (refine=False) Woodbury product in float64."""
    return 2.0 * (math.sqrt(m) + math.sqrt(d)) * UNIT_ROUNDOFF * cond + reference_slack(m, d)


def refined_bound(m, d):
    """Backward error bound of refine=True in float64 (the stopping test plus its evaluation)."""
    return 4.0 * EPS + 4.0 * reference_slack(m, d)


def forward_error(y, y_ref):
    """||y - y_ref|| / ||y_ref||, the largest over rows."""
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    y_ref = np.atleast_2d(np.asarray(y_ref, dtype=np.float64))
    return float(np.max(np.linalg.norm(y - y_ref, axis=1) / np.linalg.norm(y_ref, axis=1)))


def forward_bound(cond, eta, d):
    """||y - y_ref|| / ||y_ref|| for y with backward error eta and y_ref = np.linalg.solve(F, x)
    (LU with partial pivoting: backward error ~ sqrt(d) u)."""
    return cond * (eta + 2.0 * math.sqrt(d) * UNIT_ROUNDOFF)


def correlated_gradients(rng, groups=4, per_group=8, d=300, cosine_gap=5e-7, dtype=np.float64):
    """m = groups * per_group gradients in groups of nearly parallel rows: within a group the
    cosine between rows is about 1 - cosine_gap, so G G^T has tiny eigenvalues and, at a small
    damp, cond(F) reaches ~1e10 (the case the plain product is hardest on)."""
    centers = rng.standard_normal((groups, d))
    spread = math.sqrt(2.0 * cosine_gap)  # 1 - cos(angle) ~ angle^2 / 2
    rows = []
    for center in centers:
        center /= np.linalg.norm(center)
        for _ in range(per_group):
            noise = rng.standard_normal(d)
            noise -= (noise @ center) * center
            noise *= spread / np.linalg.norm(noise) * rng.uniform(0.5, 1.0)
            rows.append((center + noise) * 10.0 ** rng.uniform(0, 2))
    return np.array(rows).astype(dtype)
