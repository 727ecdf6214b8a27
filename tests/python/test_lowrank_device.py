"""The CUDA back end's algorithm for mlprims.lowrank (cpp/src/lowrank/device_factors.cpp).

Each case runs on two back ends: "host" (the same algorithm on CPU arrays, through the host
implementation of its dense operations; runs everywhere) and "cuda" (CUDA torch tensors; skipped
without a GPU). Both are checked against dense float64 references and against the CPU path, which
has its own, separately tuned implementation: the two must agree to float tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
from mlprims import lowrank
from test_lowrank import decaying_matrix, gapped_matrix, optimal_error

BACKENDS = ["host", pytest.param("cuda", marks=pytest.mark.cuda)]


def solve(backend, function, W, rank, **kwargs):
    """lowrank.<function> on `backend`; the result's arrays come back as float64 numpy."""
    if backend == "host":
        result = lowrank._solve(function, W, rank, _device_algorithm=True, **kwargs)
    else:
        import torch

        def on_gpu(value):
            return torch.from_numpy(np.ascontiguousarray(value)).cuda() if isinstance(value, np.ndarray) else value

        result = getattr(lowrank, function)(on_gpu(W), rank, **{k: on_gpu(v) for k, v in kwargs.items()})
        assert result.left.device.type == "cuda" and result.right.device.type == "cuda"
        result = lowrank.LowRankResult(*(t.cpu().numpy() for t in (result.left, result.right, result.singular_values)),
                                       result.weighted_error, result.method, result.iterations, result.converged,
                                       result.left_shift, result.right_shift)
    return result


def product(result):
    return result.left.astype(np.float64) @ result.right.astype(np.float64)


SHAPES = [(300, 500), (500, 300), (400, 400)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("method", ["exact", "krylov", "randomized"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_truncated_svd_reaches_the_optimum_and_agrees_with_the_cpu_path(backend, shape, method, dtype):
    rank = 40
    W = decaying_matrix(*shape, 0.5, seed=7, dtype=np.dtype(dtype))
    optimum = optimal_error(W, rank)
    # 'krylov' at rank 40: 7 blocks of 40 columns fit in min(m, n) = 300; the default 9 would not.
    options = {"power_iters": 6} if method == "krylov" else {}
    result = solve(backend, "truncated_svd", W, rank, method=method, **options)
    assert result.method == method
    error = np.linalg.norm(W.astype(np.float64) - product(result))
    # Subspace iteration with its defaults stays within 1e-4 of the optimum; the others reach it.
    limit = {"exact": 1e-6 if dtype == "float32" else 1e-12, "krylov": 1e-4, "randomized": 1e-4}[method]
    assert error / optimum - 1 <= limit
    assert abs(result.weighted_error - error) <= (1e-5 if dtype == "float32" else 1e-10) * optimum
    s = np.linalg.svd(W.astype(np.float64), compute_uv=False)[:rank]
    assert np.all(np.diff(result.singular_values) <= 0)
    # Subspace iteration's trailing Ritz values converge last (~1e-5 of s_1 here, on the CPU path too).
    tolerance = 1e-4 if method == "randomized" else 1e-5 if dtype == "float32" else 1e-12 if method == "exact" else 1e-6
    assert np.max(np.abs(result.singular_values - s)) <= tolerance * s[0]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("method", ["exact", "krylov", "randomized"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("placement", ["left", "right", "balanced"])
def test_factors_agree_with_the_cpu_exact_svd(backend, shape, method, dtype, placement):
    # Against LAPACK's SVD on the CPU: every method converges to it to rounding on this gapped
    # spectrum.
    rank = 12
    W = gapped_matrix(*shape, rank, np.dtype(dtype), seed=3)
    ours = solve(backend, "truncated_svd", W, rank, method=method, singular_values_on=placement)
    cpu = lowrank.truncated_svd(W, rank, method="exact", singular_values_on=placement)
    eps = np.finfo(dtype).eps
    scale = np.linalg.norm(W.astype(np.float64))
    assert np.linalg.norm(product(ours) - product(cpu)) <= 200 * eps * scale
    np.testing.assert_allclose(ours.singular_values, cpu.singular_values, rtol=100 * eps)
    # The same factors up to the sign of each singular pair.
    signs = np.sign(np.sum(ours.left.astype(np.float64) * cpu.left, axis=0))
    np.testing.assert_allclose(ours.left * signs, cpu.left, atol=1000 * eps * np.abs(cpu.left).max())
    np.testing.assert_allclose(ours.right * signs[:, None], cpu.right, atol=1000 * eps * np.abs(cpu.right).max())


def weighted_problem(m, n, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2 * n)) * rng.uniform(0.1, 3, (n, 1))
    Y = rng.standard_normal((m, 2 * m))
    rows = rng.uniform(0.01, 10, m)
    cols = np.exp(rng.uniform(-3, 3, n))
    rows[[3, 17]] = 0.0
    cols[[5]] = 0.0
    return {
        "W": decaying_matrix(m, n, 0.3, seed=seed + 1),
        "row_weights": rows,
        "col_weights": cols,
        "left_gram": Y @ Y.T,
        "right_gram": X @ X.T,
    }


WEIGHT_CASES = [
    ("row_weights",),
    ("col_weights",),
    ("row_weights", "col_weights"),
    ("left_gram",),
    ("right_gram",),
    ("left_gram", "right_gram"),
    ("row_weights", "right_gram"),
]


def weighted_norm(E, weights):
    """|| L^T E R ||_F for the weights given (Gram weights through their Cholesky roots)."""
    M = E
    if "row_weights" in weights:
        M = weights["row_weights"][:, None] * M
    if "left_gram" in weights:
        M = np.linalg.cholesky(weights["left_gram"]).T @ M
    if "col_weights" in weights:
        M = M * weights["col_weights"][None, :]
    if "right_gram" in weights:
        M = M @ np.linalg.cholesky(weights["right_gram"])
    return np.linalg.norm(M)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [(320, 280), (280, 320)])
@pytest.mark.parametrize("kinds", WEIGHT_CASES, ids="+".join)
@pytest.mark.parametrize("method", ["exact", "krylov"])
def test_weighted_closed_forms_agree_with_the_cpu_path(backend, shape, kinds, method):
    p = weighted_problem(*shape, seed=11)
    weights = {kind: p[kind] for kind in kinds}
    rank = 16
    ours = solve(backend, "weighted_svd", p["W"], rank, method=method, **weights)
    cpu = lowrank.weighted_svd(p["W"], rank, method="exact", **weights)
    assert ours.method == method
    assert ours.left_shift == cpu.left_shift and ours.right_shift == cpu.right_shift
    assert np.all(np.isfinite(ours.left)) and np.all(np.isfinite(ours.right))
    # The reported error is that of the factors returned, and optimal (Krylov: within 1e-4).
    assert weighted_norm(p["W"] - product(ours), weights) == pytest.approx(ours.weighted_error, rel=1e-9)
    if method == "krylov":
        assert cpu.weighted_error * (1 - 1e-12) <= ours.weighted_error <= 1.0001 * cpu.weighted_error
    else:
        assert ours.weighted_error == pytest.approx(cpu.weighted_error, rel=1e-9)
        # Same factors, zero-weight rows and columns included (fitted by the same rule).
        assert np.linalg.norm(product(ours) - product(cpu)) <= 1e-9 * np.linalg.norm(p["W"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_weighted_error_is_the_weighted_residual(backend):
    p = weighted_problem(200, 150, seed=5)
    result = solve(backend, "weighted_svd", p["W"], 10, method="exact", row_weights=p["row_weights"],
                   col_weights=p["col_weights"])
    residual = p["row_weights"][:, None] * (p["W"] - product(result)) * p["col_weights"][None, :]
    assert result.weighted_error == pytest.approx(np.linalg.norm(residual), rel=1e-10)
    M = p["row_weights"][:, None] * p["W"] * p["col_weights"][None, :]
    assert result.weighted_error == pytest.approx(optimal_error(M, 10), rel=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_singular_gram_gets_the_documented_shift(backend):
    rng = np.random.default_rng(2)
    W = rng.standard_normal((60, 40))
    X = rng.standard_normal((40, 10))  # rank 10 < 40: singular
    ours = solve(backend, "weighted_svd", W, 5, right_gram=X @ X.T, method="exact")
    cpu = lowrank.weighted_svd(W, 5, right_gram=X @ X.T, method="exact")
    assert ours.right_shift > 0 and ours.right_shift == cpu.right_shift
    assert ours.weighted_error == pytest.approx(cpu.weighted_error, rel=1e-8)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("axis", [0, 1])
def test_fwsvd_matches_the_cpu_path(backend, axis):
    rng = np.random.default_rng(4)
    W = decaying_matrix(300, 260, 0.2, seed=9).astype(np.float32)
    fisher = (rng.lognormal(0, 2, W.shape) * rng.uniform(0, 1, (300, 1))).astype(np.float32)
    fisher[:, 7] = 0.0  # a zero Fisher sum along axis 0
    fisher[11, :] = 0.0
    if backend == "host":
        # fwsvd's weights are formed in lowrank.cpp; the device algorithm gets them as row/column weights.
        d = np.sqrt(fisher.astype(np.float64).sum(axis=1 - axis))
        key = "row_weights" if axis == 0 else "col_weights"
        ours = solve(backend, "weighted_svd", W, 8, method="exact", **{key: d})
    else:
        ours = solve(backend, "fwsvd", W, 8, fisher=fisher, axis=axis, method="exact")
    cpu = lowrank.fwsvd(W, fisher, 8, axis=axis, method="exact")
    assert ours.weighted_error == pytest.approx(cpu.weighted_error, rel=1e-5)
    assert np.linalg.norm(product(ours) - product(cpu)) <= 1e-4 * np.linalg.norm(W)
    assert np.all(np.isfinite(ours.left)) and np.all(np.isfinite(ours.right))


RANK_DEFICIENT_CASES = [  # (m, n, rank of W, rank asked for)
    (400, 300, 5, 8),
    (300, 500, 3, 40),
    (500, 300, 20, 40),
    (600, 600, 1, 128),
    (400, 300, 0, 8),  # W = 0
]


@pytest.mark.parametrize("backend", ["cpu"] + BACKENDS)
@pytest.mark.parametrize("case", RANK_DEFICIENT_CASES, ids=lambda c: "x".join(map(str, c)))
@pytest.mark.parametrize("method", ["krylov", "randomized", "exact"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rank_deficient_matrix_is_reproduced_to_rounding(backend, case, method, dtype):
    # W of rank below the one asked for is its own best approximation: the factors must give it back
    # to the rounding of an SVD, ||W - left @ right|| <= c sqrt(min(m, n)) eps ||W|| (the exact SVD
    # reaches ~2 sqrt(p) eps here). Basis directions past the Krylov space's end were rounding noise
    # that overlapped the basis: 2e-9 relative under OpenBLAS's Haswell kernels, 5e-13 on the CPU path.
    m, n, k, rank = case
    rng = np.random.default_rng(8)
    W = (rng.standard_normal((m, k)) @ rng.standard_normal((k, n))).astype(dtype)
    if backend == "cpu":
        result = lowrank.truncated_svd(W, rank, method=method)
    else:
        result = solve(backend, "truncated_svd", W, rank, method=method)
    assert np.all(np.isfinite(result.left)) and np.all(np.isfinite(result.right))
    W64 = W.astype(np.float64)
    error = np.linalg.norm(W64 - product(result))
    assert error <= 10 * np.sqrt(min(m, n)) * np.finfo(dtype).eps * np.linalg.norm(W64)
    if k == 0:
        assert error == 0.0 and result.weighted_error == 0.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_repeated_singular_value_is_resolved(backend):
    # 100 copies of the top singular value at rank 128: more than a half-rank Krylov block holds.
    m = n = 600
    rng = np.random.default_rng(6)
    u, _ = np.linalg.qr(rng.standard_normal((m, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = np.concatenate([np.full(100, 1.0), np.linspace(0.9, 0.01, n - 100)])
    W = ((u * s) @ v.T).astype(np.float32)
    result = solve(backend, "truncated_svd", W, 128, method="krylov")
    error = np.linalg.norm(W.astype(np.float64) - product(result))
    assert error / optimal_error(W, 128) <= 1.001


@pytest.mark.cuda
def test_cuda_elementwise_weights_run_on_the_host_with_the_cpu_result():
    import torch

    rng = np.random.default_rng(12)
    W = rng.standard_normal((96, 64))
    weights = rng.lognormal(0, 1.5, W.shape)
    cpu = lowrank.weighted_svd(W, 4, weights=weights)
    gpu = lowrank.weighted_svd(torch.from_numpy(W).cuda(), 4, weights=torch.from_numpy(weights).cuda())
    assert gpu.left.device.type == "cuda" and gpu.right.device.type == "cuda"
    assert gpu.weighted_error == cpu.weighted_error and gpu.iterations == cpu.iterations
    np.testing.assert_array_equal(gpu.left.cpu().numpy(), cpu.left)
    np.testing.assert_array_equal(gpu.right.cpu().numpy(), cpu.right)


@pytest.mark.cuda
def test_cuda_bad_input():
    import torch

    W = torch.randn(64, 48, device="cuda")
    with pytest.raises(ValueError, match="'W' must be finite"):
        lowrank.truncated_svd(W.clone().fill_(float("nan")), 4)
    with pytest.raises(ValueError, match="'row_weights' must be finite and >= 0"):
        lowrank.weighted_svd(W, 4, row_weights=-torch.ones(64, device="cuda"))
    # CPU weights are accepted with a CUDA W.
    result = lowrank.weighted_svd(W, 4, row_weights=np.ones(64, np.float32))
    assert result.left.device.type == "cuda"


def test_cuda_weights_need_a_cuda_w():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device visible")
    with pytest.raises(ValueError, match="'row_weights' must be in CPU memory like W"):
        lowrank.weighted_svd(np.ones((8, 6)), 2, row_weights=torch.ones(8, device="cuda"))
