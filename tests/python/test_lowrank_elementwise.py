"""weighted_svd with element-wise weights against an independent NumPy reference.

The reference is the recipe for this NP-hard problem: several float64 runs from different starts
(the closed form for the rank-one root of the weights, and EM from the plain SVD), each
polished by plain alternating least squares until the objective stops moving; the best one counts.
"""

from __future__ import annotations

import numpy as np
import pytest
from mlprims import lowrank

SEED = 20261122


def fisher_like(m, n, seed, tokens=32):
    """W (flat spectrum, like transformer weights) and per-weight Fisher values of a linear layer,
    mean over tokens of (g_t^2)(x_t^2)^T with heavy-tailed feature scales: ~10 orders of magnitude."""
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((tokens, m)) * np.exp(rng.normal(0, 1, m))
    x = rng.standard_t(3, (tokens, n)) * np.exp(rng.normal(0, 1, n))
    W = rng.standard_normal((m, n)) / np.sqrt(n)
    return W, (g**2).T @ (x**2) / tokens


def objective(W, w, A, B):
    return float(np.sum(w * (W.astype(np.float64) - A.astype(np.float64) @ B.astype(np.float64)) ** 2))


def rows_given(W, w, B):
    """Each row of A minimizing sum_j w_ij (W_ij - a_i . b_j)^2 for fixed B (rank x n)."""
    r = B.shape[0]
    products = (B[:, None, :] * B[None, :, :]).reshape(r * r, -1).T
    G = (w @ products).reshape(-1, r, r)
    G += 1e-13 * np.trace(G, axis1=1, axis2=2)[:, None, None] / r * np.eye(r)
    return np.linalg.solve(G, ((w * W) @ B.T)[..., None])[..., 0]


def polish(W, w, A, B, sweeps=1000):
    """ALS until a sweep gains <= 1e-10 relative: on the cases below the objective is then within
    ~1.4e-9 of where a 1e-14 stop ends (measured), far inside the 1e-6 the tests allow."""
    f = objective(W, w, A, B)
    for _ in range(sweeps):
        A = rows_given(W, w, B)
        B = rows_given(W.T, w.T, A.T).T
        f_new = objective(W, w, A, B)
        if f - f_new <= 1e-10 * f_new:
            return f_new
        f = f_new
    return f


def em(W, w, A, B, iterations):
    share, X, r = w / w.max(), A @ B, A.shape[1]
    for _ in range(iterations):
        U, S, Vt = np.linalg.svd(share * W + (1 - share) * X, full_matrices=False)
        X = (U[:, :r] * S[:r]) @ Vt[:r]
    return U[:, :r] * S[:r], Vt[:r]


def closed_form_start(W, w, r):
    """The documented start: the closed form for row x column weights = best rank-one sqrt(w)."""
    u, s, vt = np.linalg.svd(np.sqrt(w), full_matrices=False)
    rows, cols = np.abs(u[:, 0]) * np.sqrt(s[0]), np.abs(vt[0]) * np.sqrt(s[0])
    U, S, Vt = np.linalg.svd(rows[:, None] * W * cols, full_matrices=False)
    return U[:, :r] * S[:r] / rows[:, None], Vt[:r] / cols


REFERENCE_CASES = [(256, 1024, 16), (768, 768, 16)]


@pytest.fixture(scope="module", params=REFERENCE_CASES, ids=lambda c: "x".join(map(str, c)))
def reference(request):
    m, n, r = request.param
    W, w = fisher_like(m, n, SEED + m)
    start = closed_form_start(W, w, r)
    U, S, Vt = np.linalg.svd(W, full_matrices=False)
    plain = (U[:, :r] * S[:r], Vt[:r])
    runs = [start, em(W, w, *plain, 10)]  # EM starts from the plain SVD
    return {"W": W, "w": w, "rank": r, "start": objective(W, w, *start),
            "best": min(polish(W, w, *run) for run in runs)}


def test_reaches_the_best_reference_and_beats_the_start(reference):
    W, w, r = reference["W"], reference["w"], reference["rank"]
    assert w.max() / w.min() > 1e8  # weights over several orders of magnitude
    result = lowrank.weighted_svd(W, r, weights=w)
    ours = objective(W, w, result.left, result.right)
    assert result.converged and 0 < result.iterations <= 200
    assert result.weighted_error**2 == pytest.approx(ours, rel=1e-12)
    assert ours <= reference["best"] * (1 + 1e-6)
    assert ours < reference["start"]


def test_float32_input_reaches_the_same_objective(reference):
    W, w, r = reference["W"], reference["w"], reference["rank"]
    result = lowrank.weighted_svd(W.astype(np.float32), r, weights=w.astype(np.float32))
    assert result.left.dtype == np.float32
    # float32 data and factors: the objective moves by ~ float32 rounding of W, w and the factors.
    assert objective(W, w, result.left, result.right) <= reference["best"] * (1 + 1e-4)


def test_max_iter_zero_returns_the_closed_form_start(reference):
    W, w, r = reference["W"], reference["w"], reference["rank"]
    result = lowrank.weighted_svd(W, r, weights=w, max_iter=0, method="exact")
    assert result.iterations == 0
    assert objective(W, w, result.left, result.right) == pytest.approx(reference["start"], rel=1e-9)


def small_problem(seed=1, m=60, n=40):
    W, w = fisher_like(m, n, seed, tokens=4)
    return W, w


def test_objective_never_increases_and_callback_sees_every_sweep():
    W, w = small_problem()
    seen = []
    result = lowrank.weighted_svd(W, 5, weights=w, callback=lambda k, error: seen.append((k, error)))
    start = lowrank.weighted_svd(W, 5, weights=w, max_iter=0).weighted_error
    assert [k for k, _ in seen] == list(range(1, result.iterations + 1))
    errors = [start] + [error for _, error in seen]
    assert all(later <= earlier for earlier, later in zip(errors, errors[1:]))
    assert seen[-1][1] == pytest.approx(result.weighted_error, rel=1e-12)


def test_callback_returning_true_stops_and_its_exception_propagates():
    W, w = small_problem()
    stopped = lowrank.weighted_svd(W, 5, weights=w, tol=0.0, callback=lambda k, error: k == 3)
    assert stopped.iterations == 3 and not stopped.converged

    def fail(k, error):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        lowrank.weighted_svd(W, 5, weights=w, callback=fail)


def test_rank_one_weights_make_the_start_optimal():
    # w = (r c^T)^2 exactly: the closed form with row r and column c weights is the optimum.
    rng = np.random.default_rng(SEED)
    W = rng.standard_normal((50, 70))
    rows, cols = rng.uniform(0.1, 10, 50), np.exp(rng.uniform(-3, 3, 70))
    closed = lowrank.weighted_svd(W, 6, row_weights=rows, col_weights=cols, method="exact")
    result = lowrank.weighted_svd(W, 6, weights=np.outer(rows, cols) ** 2, method="exact")
    assert result.weighted_error == pytest.approx(closed.weighted_error, rel=1e-10)
    np.testing.assert_allclose(result.left @ result.right, closed.left @ closed.right, rtol=0, atol=1e-8)


def test_binary_weights_complete_a_low_rank_matrix():
    # Weights 0/1 = matrix completion: a rank-4 matrix seen at 60% of its entries is recovered.
    rng = np.random.default_rng(SEED)
    truth = rng.standard_normal((80, 4)) @ rng.standard_normal((4, 60))
    seen = (rng.random(truth.shape) < 0.6).astype(np.float64)
    result = lowrank.weighted_svd(truth, 4, weights=seen, max_iter=2000, tol=1e-14)
    assert result.weighted_error < 1e-6 * np.linalg.norm(truth)
    np.testing.assert_allclose(result.left @ result.right, truth, atol=1e-5 * np.abs(truth).max())


def test_zero_weight_rows_and_columns_keep_finite_fitted_factors():
    W, w = small_problem()
    w[3] = 0.0
    w[:, 7] = 0.0
    result = lowrank.weighted_svd(W, 5, weights=w)
    assert np.all(np.isfinite(result.left)) and np.all(np.isfinite(result.right))
    assert result.weighted_error**2 == pytest.approx(objective(W, w, result.left, result.right), rel=1e-12)
    start = lowrank.weighted_svd(W, 5, weights=w, max_iter=0)
    assert result.weighted_error <= start.weighted_error
    # The zero-weight row is the start's least-squares fit of W's row: far better than nothing.
    assert np.linalg.norm(W[3] - (result.left @ result.right)[3]) < np.linalg.norm(W[3])


def test_singular_values_and_placement_describe_the_product():
    W, w = small_problem()
    left = lowrank.weighted_svd(W, 5, weights=w)
    for placement in ("right", "balanced"):
        other = lowrank.weighted_svd(W, 5, weights=w, singular_values_on=placement)
        np.testing.assert_allclose(other.left @ other.right, left.left @ left.right, atol=1e-10)
    s = left.singular_values
    assert np.all(np.diff(s) <= 0)
    np.testing.assert_allclose(s, np.linalg.svd(left.left @ left.right, compute_uv=False)[:5], rtol=1e-10)
    np.testing.assert_allclose(left.right @ left.right.T, np.eye(5), atol=1e-10)


def test_torch_in_torch_out():
    torch = pytest.importorskip("torch")
    W, w = small_problem()
    result = lowrank.weighted_svd(torch.from_numpy(W), 5, weights=torch.from_numpy(w))
    assert isinstance(result.left, torch.Tensor) and result.left.dtype == torch.float64
    assert result.weighted_error == pytest.approx(lowrank.weighted_svd(W, 5, weights=w).weighted_error, rel=1e-12)


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda W, w: {"weights": -w}, ValueError, r"'weights' must be finite and >= 0, got -"),
        (lambda W, w: {"weights": np.where(w > w.mean(), np.nan, w)}, ValueError, r"'weights' must be finite"),
        (lambda W, w: {"weights": w[:, :-1]}, ValueError, r"'weights' must have W's shape \(60, 40\), got \(60, 39\)"),
        (lambda W, w: {"weights": 0 * w}, ValueError, r"'weights' must not be all zero"),
        (lambda W, w: {"weights": w, "row_weights": np.ones(60)}, ValueError, r"cannot be combined with row_weights"),
        (lambda W, w: {"weights": w, "max_iter": -1}, ValueError, r"'max_iter' must be >= 0, got -1"),
        (lambda W, w: {"weights": w, "max_iter": 2.5}, TypeError, r"'max_iter' must be an integer"),
        (lambda W, w: {"weights": w, "tol": -1e-3}, ValueError, r"'tol' must be finite and >= 0"),
        (lambda W, w: {"weights": w, "tol": "small"}, TypeError, r"'tol' must be a real number"),
        (lambda W, w: {"weights": w, "callback": 3}, TypeError, r"'callback' must be callable"),
    ],
)
def test_bad_input(change, error, match):
    W, w = small_problem()
    with pytest.raises(error, match=match):
        lowrank.weighted_svd(W, 5, **change(W, w))


def test_non_finite_W_is_rejected():
    W, w = small_problem()
    W[2, 2] = np.inf
    with pytest.raises(ValueError, match=r"'W' must be finite"):
        lowrank.weighted_svd(W, 5, weights=w)
