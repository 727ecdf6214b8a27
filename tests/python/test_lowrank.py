"""mlprims.lowrank against dense float64 references (numpy's SVD of the weighted matrix)."""

from __future__ import annotations

import functools

import mlprims
import numpy as np
import pytest
from mlprims import lowrank

RNG_SEED = 20261122


@functools.cache
def decaying_matrix(m, n, decay, seed, dtype=np.float64):
    """m x n with singular values k^-decay (decay 0: flat, like transformer weights). Cached (the two
    QR factorizations take a second at 1400 x 1536) and read-only, so no test changes another's."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((m, min(m, n))))
    v, _ = np.linalg.qr(rng.standard_normal((n, min(m, n))))
    s = np.arange(1, min(m, n) + 1, dtype=np.float64) ** -decay
    matrix = ((u * s) @ v.T).astype(dtype)
    matrix.flags.writeable = False
    return matrix


def gapped_matrix(m, n, rank, dtype, seed):
    """Singular values 2 - k/20 for the top `rank`, then 0.1 k^-0.5: the rank-r subspace and its
    singular vectors are well separated, so any accurate method returns the same factors."""
    rng = np.random.default_rng(seed)
    p = min(m, n)
    u, _ = np.linalg.qr(rng.standard_normal((m, p)))
    v, _ = np.linalg.qr(rng.standard_normal((n, p)))
    k = np.arange(p, dtype=np.float64)
    s = np.where(k < rank, 2.0 - k / 20.0, 0.1 * (k + 1.0) ** -0.5)
    return ((u * s) @ v.T).astype(dtype)


def optimal_error(M, rank, singular_values=None):
    s = np.linalg.svd(M.astype(np.float64), compute_uv=False) if singular_values is None else singular_values
    return float(np.sqrt(np.sum(s[rank:] ** 2)))


@functools.cache
def decaying_matrix_singular_values(*args):
    """numpy's singular values of decaying_matrix(*args) as stored (rounded to its dtype)."""
    return np.linalg.svd(decaying_matrix(*args).astype(np.float64), compute_uv=False)


def cholesky_root(gram):
    return np.linalg.cholesky(gram)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(RNG_SEED)
    m, n = 120, 80
    W = rng.standard_normal((m, n))
    X = rng.standard_normal((n, 200)) * rng.uniform(0.1, 3, (n, 1))
    Y = rng.standard_normal((m, 150))
    return {
        "W": W,
        "row": rng.uniform(0.01, 10, m),
        "col": np.exp(rng.uniform(-3, 3, n)),
        "left_gram": Y @ Y.T,
        "right_gram": X @ X.T,
    }


def weighted_matrix(p, W, **kinds):
    L = np.diag(p["row"]) if "row" in kinds else cholesky_root(p["left_gram"]) if "left_gram" in kinds else None
    R = np.diag(p["col"]) if "col" in kinds else cholesky_root(p["right_gram"]) if "right_gram" in kinds else None
    M = W if L is None else L.T @ W
    return M if R is None else M @ R, L, R


CASES = [
    {"row": 1},
    {"col": 1},
    {"row": 1, "col": 1},
    {"left_gram": 1},
    {"right_gram": 1},
    {"left_gram": 1, "right_gram": 1},
    {"row": 1, "right_gram": 1},
]


@pytest.mark.parametrize("kinds", CASES, ids=lambda k: "+".join(k))
@pytest.mark.parametrize("rank", [1, 7, 40])
def test_closed_forms_reach_the_optimum(problem, kinds, rank):
    W = problem["W"]
    arguments = {
        {"row": "row_weights", "col": "col_weights", "left_gram": "left_gram", "right_gram": "right_gram"}[k]: problem[k]
        for k in kinds
    }
    result = lowrank.weighted_svd(W, rank, method="exact", **arguments)
    M, L, R = weighted_matrix(problem, W, **kinds)
    best = optimal_error(M, rank)
    assert abs(result.weighted_error - best) <= 1e-10 * best
    # The factors themselves attain it (recomputed from left @ right, independently of the core).
    E = W - result.left @ result.right
    E = E if L is None else L.T @ E
    E = E if R is None else E @ R
    assert abs(np.linalg.norm(E) - best) <= 1e-10 * best
    np.testing.assert_allclose(result.singular_values, np.linalg.svd(M, compute_uv=False)[:rank], rtol=1e-12)
    assert result.left_shift == 0.0 and result.right_shift == 0.0


@pytest.mark.parametrize("placement", ["left", "right", "balanced"])
def test_singular_value_placement(problem, placement):
    W = problem["W"]
    r = lowrank.truncated_svd(W, 5, method="exact", singular_values_on=placement)
    s = r.singular_values
    column_norms = np.linalg.norm(r.left, axis=0)
    row_norms = np.linalg.norm(r.right, axis=1)
    expected_left = {"left": s, "right": np.ones(5), "balanced": np.sqrt(s)}[placement]
    expected_right = {"left": np.ones(5), "right": s, "balanced": np.sqrt(s)}[placement]
    np.testing.assert_allclose(column_norms, expected_left, rtol=1e-12)
    np.testing.assert_allclose(row_norms, expected_right, rtol=1e-12)
    assert abs(r.weighted_error - optimal_error(W, 5)) <= 1e-10 * optimal_error(W, 5)


@pytest.mark.parametrize("method", ["krylov", "randomized"])
@pytest.mark.parametrize("decay", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("rank", [8, 64, 256])
def test_randomized_float32_is_within_0_1_percent_of_the_optimum(decay, rank, method):
    matrix = (1400, 1536, decay, 1400, np.float32)  # m, n, decay, seed, dtype: a rank-256 Krylov basis fits
    W = decaying_matrix(*matrix)
    result = lowrank.truncated_svd(W, rank, method=method)
    # decay 0: all singular values equal, a cluster no half-rank block resolves; at rank 256 the
    # basis rebuilt with blocks of rank + oversample would exceed min(m, n): the exact SVD runs.
    cluster_falls_back = method == "krylov" and decay == 0.0 and rank == 256
    assert result.method == ("exact" if cluster_falls_back else method) and result.left.dtype == np.float32
    best = optimal_error(W, rank, decaying_matrix_singular_values(*matrix))
    achieved = np.linalg.norm(W.astype(np.float64) - result.left.astype(np.float64) @ result.right.astype(np.float64))
    assert achieved <= 1.001 * best
    assert abs(result.weighted_error - achieved) <= 1e-4 * achieved
    right = result.right.astype(np.float64)  # rows of V^T: orthonormal to float32 rounding
    assert np.abs(right @ right.T - np.eye(rank)).max() <= 1e-5
    u = result.left.astype(np.float64) / result.singular_values.astype(np.float64)  # left = U S
    assert np.abs(u.T @ u - np.eye(rank)).max() <= 1e-5


@pytest.mark.parametrize("m, n, rank", [(768, 3072, 64), (1024, 1024, 64), (512, 2048, 32), (256, 1024, 16)])
def test_default_float32_is_within_0_1_percent_on_gaussian_matrices(m, n, rank):
    """A Gaussian matrix's top singular values crowd together, the slowest spectrum for a Krylov or
    subspace basis. Regression: the README's 768 x 3072 W at rank 64 was 1.00115x the optimum."""
    W = np.random.default_rng(m + n + rank).standard_normal((m, n)).astype(np.float32)
    result = lowrank.truncated_svd(W, rank)
    assert result.method in ("krylov", "randomized")
    achieved = np.linalg.norm(W.astype(np.float64) - result.left.astype(np.float64) @ result.right.astype(np.float64))
    assert achieved <= 1.001 * optimal_error(W, rank)


@pytest.mark.parametrize("spectrum", ["gaussian", "flat", "decaying"])
def test_default_float64_is_within_1e_10_of_the_optimum(spectrum):
    m, n, rank = 768, 1536, 64
    if spectrum == "gaussian":
        W = np.random.default_rng(8).standard_normal((m, n))
    else:
        W = decaying_matrix(m, n, {"flat": 0.1, "decaying": 1.0}[spectrum], seed=8)
    result = lowrank.truncated_svd(W, rank)
    assert np.linalg.norm(W - result.left @ result.right) <= (1 + 1e-10) * optimal_error(W, rank)


@pytest.mark.parametrize("method", ["krylov", "randomized"])
def test_randomized_rank_512_float32(method):
    W = decaying_matrix(1024, 2048, 0.5, seed=512, dtype=np.float32)
    result = lowrank.truncated_svd(W, 512, method=method)
    achieved = np.linalg.norm(W.astype(np.float64) - result.left.astype(np.float64) @ result.right.astype(np.float64))
    assert achieved <= 1.001 * optimal_error(W, 512)


@pytest.mark.parametrize("method", ["krylov", "randomized"])
def test_randomized_float64_singular_values_match_lapack(method):
    W = decaying_matrix(600, 900, 1.0, seed=7)
    result = lowrank.truncated_svd(W, 20, method=method)
    exact = np.linalg.svd(W, compute_uv=False)[:20]
    # Ritz values from a randomized basis: below the true ones by the basis' approximation error
    np.testing.assert_allclose(result.singular_values, exact, rtol=1e-6)
    assert np.all(result.singular_values <= exact * (1 + 1e-12))
    achieved = np.linalg.norm(W - result.left @ result.right)
    assert abs(result.weighted_error - achieved) <= 1e-8 * achieved


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "name, W",
    [
        ("rank 3", decaying_matrix(400, 500, 0.0, seed=3)[:, :3] @ np.random.default_rng(3).standard_normal((3, 500))),
        ("zero", np.zeros((300, 400))),
        ("sparse diagonal", np.diag(np.r_[np.arange(5.0, 0.0, -1.0), np.zeros(295)])),
    ],
)
def test_krylov_on_matrices_of_lower_rank_keeps_orthonormal_factors(name, W, dtype):
    # The Krylov space is exhausted after the first block: later blocks are rounding noise or
    # exactly zero and must not break the basis (duplicate directions would inflate the
    # singular values).
    W = W.astype(dtype)
    result = lowrank.truncated_svd(W, 12, method="krylov", singular_values_on="right")
    exact = np.linalg.svd(W.astype(np.float64), compute_uv=False)[:12]
    scale = max(exact[0], 1.0)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert np.all(np.isfinite(result.left)) and np.all(np.isfinite(result.right))
    np.testing.assert_allclose(result.singular_values, exact, atol=tolerance * scale * 10)
    left = result.left.astype(np.float64)
    assert np.abs(left.T @ left - np.eye(12)).max() <= tolerance * 10
    product = left @ result.right.astype(np.float64)
    assert np.linalg.norm(W - product) <= tolerance * 10 * scale * np.sqrt(W.size)
    assert result.weighted_error <= tolerance * 10 * scale * np.sqrt(W.size)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rank", [8, 80])  # blocks of 18 columns (fused kernel in float32) and of 50 (GEMMs)
@pytest.mark.parametrize("shape", [(700, 300), (300, 700)])  # row-space basis; column space when wide
def test_krylov_on_tall_and_wide_matrices(shape, rank, dtype):
    W = decaying_matrix(*shape, 0.3, seed=rank, dtype=dtype)
    result = lowrank.truncated_svd(W, rank, method="krylov", oversample=10, power_iters=4)
    assert result.method == "krylov" and result.left.dtype == dtype
    exact = np.linalg.svd(W.astype(np.float64), compute_uv=False)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert np.all(result.singular_values <= exact[:rank] * (1 + tolerance))
    product = result.left.astype(np.float64) @ result.right.astype(np.float64)
    assert np.linalg.norm(W.astype(np.float64) - product) <= 1.001 * optimal_error(W, rank)
    u = result.left.astype(np.float64) / result.singular_values.astype(np.float64)
    v = result.right.astype(np.float64)
    assert np.abs(u.T @ u - np.eye(rank)).max() <= 10 * tolerance
    assert np.abs(v @ v.T - np.eye(rank)).max() <= 10 * tolerance


@pytest.mark.parametrize("rank", [8, 64])  # 18-column blocks take the fused Gram kernel, 42 two GEMMs
def test_krylov_agrees_on_one_thread_and_on_all(rank):
    W = decaying_matrix(700, 900, 0.3, seed=3, dtype=np.float32)
    before = mlprims.get_num_threads()
    try:
        mlprims.set_num_threads(1)
        one = lowrank.truncated_svd(W, rank, method="krylov")
    finally:
        mlprims.set_num_threads(before)
    every = lowrank.truncated_svd(W, rank, method="krylov")
    np.testing.assert_allclose(one.singular_values, every.singular_values, rtol=1e-5)
    best = optimal_error(W, rank)
    for result in (one, every):
        product = result.left.astype(np.float64) @ result.right.astype(np.float64)
        assert np.linalg.norm(W.astype(np.float64) - product) <= 1.001 * best


@pytest.mark.parametrize("rank, used", [(20, "krylov"), (30, "krylov"), (31, "exact"), (290, "exact")])
def test_krylov_basis_larger_than_the_matrix_runs_the_exact_svd(rank, used):
    # W is wide: 6 blocks of rank + 10 columns (rank <= 30), 240 at rank 30, fit in 300 columns;
    # from rank 31 on, 9 blocks of max(40, ceil(rank / 2) + 10) columns, 360 or more, do not.
    W = decaying_matrix(300, 700, 0.3, seed=rank)
    result = lowrank.truncated_svd(W, rank, method="krylov")
    assert result.method == used
    assert np.linalg.norm(W - result.left @ result.right) <= 1.001 * optimal_error(W, rank)


@pytest.mark.parametrize("method", ["auto", "krylov", "randomized"])
def test_huge_oversampling_is_capped_not_overflowed(method):
    W = decaying_matrix(300, 400, 0.3, seed=1)
    result = lowrank.truncated_svd(W, 5, method=method, oversample=2**63 - 1, power_iters=1)
    assert result.method == ("randomized" if method == "randomized" else "exact")
    assert np.linalg.norm(W - result.left @ result.right) <= (1 + 1e-9) * optimal_error(W, 5)


def test_auto_picks_exact_for_small_or_high_rank_problems(problem):
    single = np.float32
    assert lowrank.truncated_svd(problem["W"].astype(single), 5).method == "exact"
    assert lowrank.truncated_svd(np.ones((300, 300), single) + np.eye(300, dtype=single), 90).method == "exact"
    assert lowrank.truncated_svd(np.eye(600, dtype=single), 8).method == "krylov"
    assert lowrank.truncated_svd(decaying_matrix(600, 700, 0.3, seed=2, dtype=single), 120).method == "randomized"


def test_auto_for_float64_is_the_exact_svd():
    """float64 is asked for accuracy: the default reaches the optimum to rounding (a float32-grade
    Krylov default was 1.3e-6 above it on fwsvd of a 300 x 500 matrix at rank 16)."""
    W = np.random.default_rng(5).standard_normal((300, 500))
    fisher = np.random.default_rng(6).uniform(0.5, 2.0, W.shape)
    result = lowrank.fwsvd(W, fisher, 16)
    assert result.method == "exact"
    assert result.method == lowrank.truncated_svd(W, 16).method == lowrank.weighted_svd(W, 16, row_weights=np.ones(300)).method
    assert lowrank.truncated_svd(W, 16, method="krylov").method == "krylov"  # asked for: still there


def test_auto_keeps_krylov_with_one_block_less_near_a_ninth_of_the_width():
    # p = 600: 9 blocks of 45 columns (rank 70) exceed 0.6 p = 360, 8 blocks fit.
    W = decaying_matrix(600, 800, 0.3, seed=70, dtype=np.float32)
    result = lowrank.truncated_svd(W, 70)
    assert result.method == "krylov"
    product = result.left.astype(np.float64) @ result.right.astype(np.float64)
    assert np.linalg.norm(W.astype(np.float64) - product) <= 1.001 * optimal_error(W, 70)
    assert lowrank.truncated_svd(W, 70, power_iters=8).method == "randomized"  # 9 blocks do not fit


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spread", [0.0, 1e-7, 1e-3])
def test_krylov_finds_every_copy_of_a_repeated_singular_value(spread, dtype):
    # 100 singular values at 10 (exactly, or spread by a relative 1e-7 or 1e-3) above a decaying
    # tail, rank 128: blocks of 74 columns hold only 74 directions of an exactly repeated value
    # (the result would miss 26 of them); the cluster shows in the Ritz values and the blocks widen.
    rng = np.random.default_rng(100)
    m, n = 900, 1000
    s = np.r_[10.0 * (1 + spread * np.linspace(0, 1, 100)), 2.0 * np.arange(1, m - 99) ** -0.3]
    u, _ = np.linalg.qr(rng.standard_normal((m, m)))
    v, _ = np.linalg.qr(rng.standard_normal((n, m)))
    W = ((u * s) @ v.T).astype(dtype)
    result = lowrank.truncated_svd(W, 128, method="krylov")
    assert result.method == "krylov"
    product = result.left.astype(np.float64) @ result.right.astype(np.float64)
    assert np.linalg.norm(W.astype(np.float64) - product) <= 1.001 * optimal_error(W, 128)


def test_zero_weights_give_finite_factors_fitted_without_weights(problem):
    W = problem["W"]
    rows = problem["row"].copy()
    rows[[0, 5, 17]] = 0.0
    cols = problem["col"].copy()
    cols[[3, 60]] = 0.0
    r = lowrank.weighted_svd(W, 6, row_weights=rows, col_weights=cols, method="exact")
    assert np.all(np.isfinite(r.left)) and np.all(np.isfinite(r.right))
    best = optimal_error(rows[:, None] * W * cols, 6)
    assert abs(r.weighted_error - best) <= 1e-10 * best
    # A zero-weight column of right: the least-squares fit of W's column by left's weighted rows;
    # a zero-weight row of left: the fit of W's row by the rows of the final right.
    weighted = rows > 0
    fitted_column, *_ = np.linalg.lstsq(r.left[weighted], W[weighted, 60], rcond=None)
    np.testing.assert_allclose(r.right[:, 60], fitted_column, rtol=1e-8, atol=1e-12)
    fitted, *_ = np.linalg.lstsq(r.right.T, W[5], rcond=None)
    np.testing.assert_allclose(r.left[5], fitted, rtol=1e-8, atol=1e-12)


def test_singular_gram_is_shifted(problem):
    W = problem["W"]
    X = np.random.default_rng(1).standard_normal((80, 20))  # X X^T has rank 20 < 80
    gram = X @ X.T
    r = lowrank.weighted_svd(W, 10, right_gram=gram, method="exact")
    assert r.right_shift > 0 and r.right_shift <= 1e-6 * np.abs(gram).max()
    assert np.all(np.isfinite(r.left)) and np.all(np.isfinite(r.right))
    # The objective ||(W - AB) X|| is still (nearly) optimal for rank <= 20.
    best = optimal_error(W @ X, 10)
    assert np.linalg.norm((W - r.left @ r.right) @ X) <= best * (1 + 1e-6)


def test_fwsvd_matches_weighted_svd_on_the_input_axis(problem):
    W = problem["W"]  # (out, in) like nn.Linear.weight
    fisher = np.random.default_rng(3).exponential(size=W.shape) ** 3
    r = lowrank.fwsvd(W, fisher, 9, method="exact")
    ref = lowrank.weighted_svd(W, 9, col_weights=np.sqrt(fisher.sum(axis=0)), method="exact")
    np.testing.assert_allclose(r.left @ r.right, ref.left @ ref.right, rtol=1e-12, atol=1e-12)
    r0 = lowrank.fwsvd(W.T, fisher.T, 9, axis=0, method="exact")  # the paper's (in, out) layout
    np.testing.assert_allclose(r0.left @ r0.right, (r.left @ r.right).T, rtol=1e-10, atol=1e-10)
    # FWSVD beats the plain SVD on the weighted objective, and vice versa on the plain one.
    plain = lowrank.truncated_svd(W, 9, method="exact")
    d = np.sqrt(fisher.sum(axis=0))
    assert np.linalg.norm((W - r.left @ r.right) * d) < np.linalg.norm((W - plain.left @ plain.right) * d)


def test_fwsvd_zero_fisher_features_stay_finite(problem):
    W = problem["W"]
    fisher = np.ones_like(W)
    fisher[:, [2, 4]] = 0.0
    r = lowrank.fwsvd(W, fisher, 5)
    assert np.all(np.isfinite(r.left)) and np.all(np.isfinite(r.right))


def test_torch_in_torch_out(problem):
    torch = pytest.importorskip("torch")
    W = torch.from_numpy(problem["W"].astype(np.float32))
    r = lowrank.truncated_svd(W, 4)
    assert isinstance(r.left, torch.Tensor) and r.left.dtype == torch.float32 and r.right.shape == (4, 80)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"rank": 0}, ValueError, "'rank' must be >= 1 and <= 80 (min(m, n) for W of shape (120, 80)), got 0"),
        ({"rank": 81}, ValueError, "'rank' must be >= 1 and <= 80 (min(m, n) for W of shape (120, 80)), got 81"),
        ({"rank": 2.5}, TypeError, "'rank' must be an integer"),
        ({"row_weights": -np.ones(120)}, ValueError, "'row_weights' must be finite and >= 0"),
        # the value as it reads back (it was printed "-0.000000")
        ({"row_weights": np.r_[1.0, -1e-9, np.ones(118)]}, ValueError, "got -1e-09 at index 1"),
        ({"right_gram": -1e-3 * np.eye(80)}, ValueError, "with a shift of 1e-09 = 1e-6 max|G|)"),
        ({"col_weights": np.full(80, np.nan)}, ValueError, "'col_weights' must be finite and >= 0"),
        ({"row_weights": np.ones(7)}, ValueError, "'row_weights' must have shape (120,), got (7,)"),
        ({"left_gram": np.ones((120, 120)) + np.triu(np.ones((120, 120)), 1)}, ValueError, "must be symmetric"),
        ({"right_gram": -np.eye(80)}, ValueError, "positive semi-definite"),
        ({"row_weights": np.ones(120), "left_gram": np.eye(120)}, ValueError, "at most one of 'row_weights'"),
        ({"method": "qr"}, ValueError, "'method' must be 'auto', 'exact', 'krylov' or 'randomized'"),
        ({"singular_values_on": "middle"}, ValueError, "'singular_values_on' must be"),
        ({"oversample": -3}, ValueError, "'oversample' must be >= 0"),
    ],
)
def test_bad_input(problem, kwargs, error, words):
    arguments = {"rank": 3, **kwargs}
    rank = arguments.pop("rank")
    with pytest.raises(error) as info:
        lowrank.weighted_svd(problem["W"], rank, **arguments)
    assert words in str(info.value)


def test_bad_matrices():
    with pytest.raises(ValueError, match="'W' must be finite"):
        lowrank.truncated_svd(np.array([[1.0, np.inf], [0.0, 1.0]]), 1)
    with pytest.raises(ValueError, match="'W' must be a 2-D matrix"):
        lowrank.truncated_svd(np.ones(5), 1)
    with pytest.raises(TypeError, match="'W' must be real"):
        lowrank.truncated_svd(np.ones((3, 3), dtype=complex), 1)
    with pytest.raises(ValueError, match="'fisher' must have W's shape"):
        lowrank.fwsvd(np.ones((4, 3)), np.ones((3, 4)), 1)
    with pytest.raises(ValueError, match="'fisher' must be finite and >= 0"):
        lowrank.fwsvd(np.ones((4, 3)), -np.ones((4, 3)), 1)


@pytest.mark.parametrize("shape", [(300, 500), (500, 300), (400, 400)])
@pytest.mark.parametrize("method", ["krylov", "randomized"])
def test_float64_randomized_factors_converge_to_the_exact_svd(shape, method):
    # A 20x gap after rank 12: with the defaults both methods land on the exact SVD to rounding.
    # (Krylov blocks once replaced slightly overlapping columns by random ones, which stopped it
    # ~2e-6 away.)
    W = gapped_matrix(*shape, 12, np.float64, seed=3)
    ours = lowrank.truncated_svd(W, 12, method=method)
    exact = lowrank.truncated_svd(W, 12, method="exact")
    assert ours.method == method
    difference = np.linalg.norm(ours.left @ ours.right - exact.left @ exact.right)
    assert difference <= 1e-12 * np.linalg.norm(W)


@pytest.mark.parametrize("device_algorithm", [False, True])
@pytest.mark.parametrize(
    "function, kwargs, words",
    [
        ("weighted_svd", {"row_weights": np.zeros(120)}, "weighted_svd: 'row_weights' must not be all zero"),
        ("weighted_svd", {"col_weights": np.zeros(80)}, "weighted_svd: 'col_weights' must not be all zero"),
        ("weighted_svd", {"row_weights": np.zeros(120), "col_weights": np.ones(80)},
         "weighted_svd: 'row_weights' must not be all zero"),
        ("weighted_svd", {"left_gram": np.zeros((120, 120))}, "weighted_svd: 'left_gram' must not be zero"),
        ("weighted_svd", {"right_gram": np.zeros((80, 80))}, "weighted_svd: 'right_gram' must not be zero"),
        ("fwsvd", {"fisher": np.zeros((120, 80)), "axis": 0}, "fwsvd: 'fisher' must not be all zero"),
        ("fwsvd", {"fisher": np.zeros((120, 80)), "axis": 1}, "fwsvd: 'fisher' must not be all zero"),
    ],
)
def test_all_zero_weights_are_an_error(problem, function, kwargs, words, device_algorithm):
    # All-zero weights make the objective 0 for any factors: once reported as error 0.0 with
    # factors 1.3x the optimal unweighted error away from W.
    with pytest.raises(ValueError) as info:
        lowrank._solve(function, problem["W"], 3, _device_algorithm=device_algorithm, **kwargs)
    assert words in str(info.value)


@pytest.mark.parametrize("device_algorithm", [False, True])
@pytest.mark.parametrize("function", ["truncated_svd", "weighted_svd", "fwsvd"])
def test_error_messages_name_the_function_called(function, device_algorithm):
    W = np.ones((6, 5))
    W[2, 3] = np.nan
    kwargs = {"fisher": np.ones((6, 5)), "axis": 1} if function == "fwsvd" else {}
    with pytest.raises(ValueError, match=rf"^{function}: 'W' must be finite"):
        lowrank._solve(function, W, 2, _device_algorithm=device_algorithm, **kwargs)
    with pytest.raises(ValueError, match=rf"^{function}: 'oversample' must be >= 0"):
        lowrank._solve(function, np.ones((6, 5)), 2, oversample=-2, **kwargs)


@pytest.mark.parametrize("device_algorithm", [False, True])
@pytest.mark.parametrize("noise", [1.0, 1e-6])
@pytest.mark.parametrize("scale", [1e-300, 1e-160, 1e160, 1e200])
def test_reported_error_is_right_at_extreme_scales(scale, noise, device_algorithm):
    """Regression: the error was summed as plain squares, so truncated_svd(W * 1e200) reported inf
    and row_weights=1e-300 reported 0.0, although the factors were right (on the CPU path, and on
    the device algorithm, which the CUDA back end runs). noise 1e-6: W is nearly of rank 3, so
    the error comes from the residual, not from ||W||^2 - sum s^2. Reference: numpy's SVD of the
    unscaled problem, times the scale (exact for powers of ten up to rounding)."""
    rng = np.random.default_rng(11)
    W = rng.standard_normal((40, 3)) @ rng.standard_normal((3, 30)) + noise * rng.standard_normal((40, 30))
    singular = np.linalg.svd(W, compute_uv=False)
    optimum = np.sqrt(np.sum(singular[3:] ** 2))
    solve = functools.partial(lowrank._solve, method="exact", _device_algorithm=device_algorithm)
    result = solve("truncated_svd", W * scale, 3)
    tolerance = 1e-12 if noise == 1.0 else 1e-8  # the residual of a 1e-6 tail: rounding of W over it
    assert abs(result.weighted_error / (optimum * scale) - 1) <= tolerance
    weights = rng.uniform(0.5, 2.0, 40)
    weighted_singular = np.linalg.svd(weights[:, None] * W, compute_uv=False)
    weighted_optimum = np.sqrt(np.sum(weighted_singular[3:] ** 2))
    weighted = solve("weighted_svd", W, 3, row_weights=weights * scale)
    assert abs(weighted.weighted_error / (weighted_optimum * scale) - 1) <= tolerance
