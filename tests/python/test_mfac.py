"""M-FAC against dense float64 algebra: F = damp I + (1/m) G^T G built explicitly (small d), or, at
large d, the residual checked in O(dm) with ||F|| from power iterations.

Accuracy is judged by the backward error eta = ||F y - x|| / (||F|| ||y|| + ||x||) and, for well
conditioned problems, by the forward error against the dense inverse."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlprims.mfac import FisherInverse, SlidingFisherInverse, SolveInfo, obs_prune

DAMPS = [1e-8, 1e-6, 1e-4, 1e-2, 1.0]


def dense_fisher(G, damp):
    G = np.asarray(G, dtype=np.float64)
    return damp * np.eye(G.shape[1]) + G.T @ G / G.shape[0]


def backward_error(F, y, x):
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    return np.linalg.norm(F @ y - x) / (np.linalg.norm(F, 2) * np.linalg.norm(y) + np.linalg.norm(x))


def hard_gradients(rng, m=24, d=200, largest=1e3):
    """Rows of mixed scales (norms 1/largest .. largest), an exact duplicate and a nearly collinear pair."""
    G = rng.standard_normal((m, d))
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    G *= np.logspace(-np.log10(largest), np.log10(largest), m)[rng.permutation(m)][:, None]
    G[1] = G[0]
    G[3] = G[2] + 1e-9 * np.linalg.norm(G[2]) * G[5] / np.linalg.norm(G[5])
    return G


# ---------------------------------------------------------------------------------------------
# FisherInverse.ihvp


@pytest.mark.parametrize("damp", DAMPS)
def test_refined_backward_error_float64(damp):
    rng = np.random.default_rng(1)
    G = hard_gradients(rng)
    F = dense_fisher(G, damp)
    finv = FisherInverse(G, damp)
    largest = int(np.argmax(np.linalg.norm(G, axis=1)))
    for x in [rng.standard_normal(G.shape[1]), G[0], G[2], G[largest], G.T @ rng.standard_normal(G.shape[0])]:
        y, info = finv.ihvp(x, refine=True, return_info=True)
        eta = backward_error(F, y, x)
        assert eta <= 1e-14, f"damp={damp}: eta={eta:.2e}, {info}"
        # The first solve is already accurate: at most two corrections.
        assert info.backward_error <= 1e-14 and info.refinement_steps <= 2


def test_refined_where_plain_refinement_stalls():
    """cond(F) ~ 1e17: plain Woodbury refinement contracts by only ~eps cond(F) per step (and
    diverges here); the non-cancelling form still reaches rounding level."""
    rng = np.random.default_rng(21)
    G = np.delete(hard_gradients(rng, largest=3e4), [1, 3], axis=0)  # no duplicates: K stays representable
    damp = 1e-8
    F = dense_fisher(G, damp)
    assert np.linalg.cond(F) > 1e14
    finv = FisherInverse(G, damp)
    largest = int(np.argmax(np.linalg.norm(G, axis=1)))
    for x in [G[0], G[largest], rng.standard_normal(G.shape[1])]:
        y, info = finv.ihvp(x, refine=True, return_info=True)
        assert backward_error(F, y, x) <= 1e-14, info


def test_backward_error_estimate_is_conservative():
    rng = np.random.default_rng(2)
    G = hard_gradients(rng)
    F = dense_fisher(G, 1e-6)
    y, info = FisherInverse(G, 1e-6).ihvp(G[4], refine=True, return_info=True)
    # The estimate uses a lower bound on ||F||, so it cannot be below the true backward error by
    # more than the rounding of the dense check itself.
    assert info.backward_error >= 0.5 * backward_error(F, y, G[4]) - 1e-17
    assert np.isfinite(info.relative_residual)


@pytest.mark.parametrize("damp", [1e-3, 1e-1, 1.0])
def test_unrefined_forward_error_within_condition_number(damp):
    rng = np.random.default_rng(3)
    G = rng.standard_normal((16, 120))
    F = dense_fisher(G, damp)
    cond = np.linalg.cond(F)
    x = rng.standard_normal((3, 120))
    y, info = FisherInverse(G, damp).ihvp(x, return_info=True)
    exact = np.linalg.solve(F, x.T).T
    forward = np.linalg.norm(y - exact, axis=1) / np.linalg.norm(exact, axis=1)
    assert forward.max() <= 1e-14 * cond, (forward.max(), cond)
    assert info.refinement_steps == 0 and math.isnan(info.backward_error)


def test_float32_gradient_storage_keeps_eta_below_1e6():
    """A plain float32 Woodbury gives eta ~ 0.03-0.7 for x = a stored gradient at damp = 1e-6."""
    rng = np.random.default_rng(4)
    G = rng.standard_normal((32, 400)).astype(np.float32)
    F = dense_fisher(G, 1e-6)  # the F of the stored (float32) gradients
    finv = FisherInverse(G, 1e-6)
    for refine in (False, True):
        for i in (0, 7, 31):
            y = finv.ihvp(G[i], refine=refine)
            assert y.dtype == np.float32
            assert backward_error(F, y, G[i]) <= 1e-6


def test_bfloat16_gradients_through_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    G = torch.from_numpy(rng.standard_normal((16, 300))).to(torch.bfloat16)
    F = dense_fisher(G.double().numpy(), 1e-6)  # F of the stored (rounded) gradients
    finv = FisherInverse(G, 1e-6)
    x = G[3].float()
    y = finv.ihvp(x, refine=True)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32
    assert backward_error(F, y.numpy(), x.numpy()) <= 1e-6
    y16 = finv.ihvp(G[3])  # bfloat16 in, bfloat16 out
    assert y16.dtype == torch.bfloat16


def test_batches_of_right_hand_sides_match_single_solves():
    rng = np.random.default_rng(6)
    G = rng.standard_normal((10, 90))
    finv = FisherInverse(G, 1e-3)
    X = rng.standard_normal((19, 90))  # more than one batch of 8
    Y = finv.ihvp(X, refine=True)
    for i in (0, 8, 18):
        np.testing.assert_allclose(Y[i], finv.ihvp(X[i], refine=True), rtol=1e-13, atol=0)


def test_strided_input_and_torch_in_torch_out():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    G = rng.standard_normal((8, 60))
    finv = FisherInverse(torch.from_numpy(G), 0.1)
    X = torch.from_numpy(rng.standard_normal((60, 4)))
    y = finv.ihvp(X.T)  # non-contiguous (4, 60) view
    assert isinstance(y, torch.Tensor) and y.shape == (4, 60)
    np.testing.assert_allclose(y.numpy(), np.linalg.solve(dense_fisher(G, 0.1), X.numpy()).T, rtol=1e-11)


def test_grads_are_read_in_place():
    G = np.random.default_rng(8).standard_normal((4, 30))
    finv = FisherInverse(G, 1.0)
    assert finv._grads is G  # no copy was made
    assert (finv.num_grads, finv.dim, finv.damp, finv.block_size) == (4, 30, 1.0, None)


# ---------------------------------------------------------------------------------------------
# diagonal and entries


@pytest.mark.parametrize("damp", [1e-6, 1e-2, 1.0])
def test_diagonal_and_entries_absolute_error(damp):
    rng = np.random.default_rng(9)
    G = hard_gradients(rng, m=12, d=100)
    F = dense_fisher(G, damp)
    inverse = np.linalg.inv(F)
    cond = np.linalg.cond(F)
    finv = FisherInverse(G, damp)
    bound = 1e-14 * cond / damp
    assert np.abs(finv.diagonal() - np.diag(inverse)).max() <= bound
    rows, cols = rng.integers(0, 100, 40), rng.integers(0, 100, 40)
    assert np.abs(finv.entries(rows, cols) - inverse[rows, cols]).max() <= bound


def test_diagonal_and_entries_relative_error_when_well_conditioned():
    rng = np.random.default_rng(10)
    G = rng.standard_normal((20, 150)) * 0.5
    damp = 0.5
    F = dense_fisher(G, damp)
    assert np.linalg.cond(F) <= 1e4
    inverse = np.linalg.inv(F)
    finv = FisherInverse(G, damp)
    np.testing.assert_allclose(finv.diagonal(), np.diag(inverse), rtol=1e-10, atol=0)
    rows = np.array([[0, 5], [149, 3]])
    cols = np.array([[0, 7], [149, 140]])
    got = finv.entries(rows, cols)
    assert got.shape == (2, 2)
    np.testing.assert_allclose(got, inverse[rows, cols], rtol=1e-10, atol=1e-12 * np.abs(inverse).max())


# ---------------------------------------------------------------------------------------------
# block-diagonal F


def block_dense_fisher(G, damp, block):
    d = G.shape[1]
    F = np.zeros((d, d))
    for begin in range(0, d, block):
        end = min(d, begin + block)
        F[begin:end, begin:end] = dense_fisher(G[:, begin:end], damp)
    return F


@pytest.mark.parametrize("block", [7, 16, 40, 64])  # dense blocks (<= m) and Woodbury blocks (> m)
def test_block_diagonal(block):
    rng = np.random.default_rng(11)
    G = hard_gradients(rng, m=16, d=150)  # 150 is not a multiple of any block size: a shorter last block
    damp = 1e-4
    F = block_dense_fisher(G, damp, block)
    finv = FisherInverse(G, damp, block_size=block)
    assert finv.block_size == block
    for x in [rng.standard_normal(150), G[0], G[9]]:
        assert backward_error(F, finv.ihvp(x, refine=True), x) <= 1e-14
    inverse = np.linalg.inv(F)
    # Each block meets its own dense problem's bounds.
    for begin in range(0, 150, block):
        end = min(150, begin + block)
        cond = np.linalg.cond(F[begin:end, begin:end])
        err = np.abs(finv.diagonal()[begin:end] - np.diag(inverse)[begin:end]).max()
        assert err <= 1e-14 * cond / damp
    rows, cols = rng.integers(0, 150, 60), rng.integers(0, 150, 60)
    got = finv.entries(rows, cols)
    across = rows // block != cols // block
    assert np.all(got[across] == 0.0)
    assert np.abs(got - inverse[rows, cols]).max() <= 1e-14 * np.linalg.cond(F) / damp


def test_block_size_at_least_d_is_the_full_matrix():
    G = np.random.default_rng(12).standard_normal((5, 40))
    finv = FisherInverse(G, 0.1, block_size=40)
    assert finv.block_size is None
    x = np.ones(40)
    np.testing.assert_allclose(finv.ihvp(x), FisherInverse(G, 0.1).ihvp(x), rtol=1e-14)


# ---------------------------------------------------------------------------------------------
# SlidingFisherInverse


@pytest.mark.parametrize("damp", [1e-8, 1e-5, 1e-2])
def test_sliding_window_after_ten_windows_of_updates(damp):
    rng = np.random.default_rng(13)
    window, d = 8, 120
    finv = SlidingFisherInverse(d, window, damp, dtype="float64")
    history = []
    for step in range(10 * window + 3):
        g = rng.standard_normal(d) * 10.0 ** rng.uniform(-2, 2)
        history.append(g)
        y = finv.update_ihvp(g, refine=True)
        F = dense_fisher(np.array(history[-window:]), damp)
        assert backward_error(F, y, g) <= 1e-13, f"step {step}"
    x = rng.standard_normal(d)
    assert backward_error(F, finv.ihvp(x, refine=True), x) <= 1e-13
    assert len(finv) == window


def test_sliding_window_while_filling_uses_the_gradients_present():
    rng = np.random.default_rng(14)
    finv = SlidingFisherInverse(50, 10, 1e-3, dtype="float64")
    grads = rng.standard_normal((4, 50))
    for g in grads:
        finv.update(g)
    assert len(finv) == 4
    x = rng.standard_normal(50)
    np.testing.assert_allclose(finv.ihvp(x), np.linalg.solve(dense_fisher(grads, 1e-3), x), rtol=1e-10)


def test_update_ihvp_equals_update_then_ihvp_and_reset():
    rng = np.random.default_rng(15)
    a = SlidingFisherInverse(70, 5, 1e-4, dtype="float64")
    b = SlidingFisherInverse(70, 5, 1e-4, dtype="float64")
    for _ in range(12):
        g = rng.standard_normal(70)
        y = a.update_ihvp(g)
        b.update(g)
        np.testing.assert_allclose(y, b.ihvp(g), rtol=1e-9)
    a.reset()
    assert len(a) == 0
    with pytest.raises(ValueError, match="no gradient yet"):
        a.ihvp(np.ones(70))
    a.update(np.ones(70))
    assert len(a) == 1


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_sliding_window_low_precision_storage(dtype):
    rng = np.random.default_rng(16)
    window, d = 6, 200
    finv = SlidingFisherInverse(d, window, 1e-6, dtype=dtype)
    assert finv.dtype == dtype
    stored = []
    for _ in range(2 * window):
        g = rng.standard_normal(d).astype(np.float32)
        y = finv.update_ihvp(g, refine=True)
        if dtype == "bfloat16":  # the window holds g rounded to bfloat16
            bits = g.view(np.uint32).astype(np.uint64)
            bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16
            stored.append(bits.astype(np.uint32).view(np.float32))
        else:
            stored.append(g)
        assert y.dtype == np.float32
    F = dense_fisher(np.array(stored[-window:]), 1e-6)
    assert backward_error(F, y, g) <= 1e-6


# ---------------------------------------------------------------------------------------------
# obs_prune


def dense_obs(w, inverse, sparsity):
    diag = np.diag(inverse)
    scores = w**2 / (2 * diag)
    count = int(math.floor(sparsity * w.size))
    dropped = np.lexsort((np.arange(w.size), scores))[:count]
    v = np.zeros_like(w)
    v[dropped] = -w[dropped] / diag[dropped]
    pruned = w + inverse @ v
    pruned[dropped] = 0.0
    mask = np.ones(w.size, bool)
    mask[dropped] = False
    return pruned, mask


@pytest.mark.parametrize("block", [None, 10, 32])
def test_obs_prune_matches_dense_reference(block):
    rng = np.random.default_rng(17)
    G = rng.standard_normal((12, 80))
    w = rng.standard_normal(80)
    damp = 1e-2
    finv = FisherInverse(G, damp, block_size=block)
    F = dense_fisher(G, damp) if block is None else block_dense_fisher(G, damp, block)
    pruned, mask = obs_prune(w, finv, 0.4)
    expected, expected_mask = dense_obs(w, np.linalg.inv(F), 0.4)
    assert mask.dtype == bool and mask.sum() == 80 - 32
    np.testing.assert_array_equal(mask, expected_mask)
    np.testing.assert_allclose(pruned, expected, rtol=1e-10, atol=1e-12)
    assert np.all(pruned[~mask] == 0.0)


def test_obs_prune_keeps_shape_and_dtype_and_zero_sparsity_is_identity():
    rng = np.random.default_rng(18)
    G = rng.standard_normal((6, 24)).astype(np.float32)
    w = rng.standard_normal((4, 6)).astype(np.float32)
    finv = FisherInverse(G, 0.1)
    pruned, mask = obs_prune(w, finv, 0.0)
    assert pruned.shape == (4, 6) and pruned.dtype == np.float32 and mask.all()
    np.testing.assert_array_equal(pruned, w)
    pruned, mask = obs_prune(w, finv, 0.5)
    assert (~mask).sum() == 12


# ---------------------------------------------------------------------------------------------
# large d


def test_large_dimension_refined_backward_error():
    """d = 1e6, m = 256, float64: eta <= 1e-14 checked in O(dm), ||F|| from power iterations."""
    rng = np.random.default_rng(19)
    m, d, damp = 256, 1_000_000, 1e-6
    G = rng.standard_normal((m, d)) * np.logspace(-1, 1, m)[:, None]
    finv = FisherInverse(G, damp)

    def apply_f(v):
        return damp * v + G.T @ (G @ v) / m

    v = rng.standard_normal(d)
    for _ in range(30):
        v = apply_f(v)
        v /= np.linalg.norm(v)
    norm_f = np.linalg.norm(apply_f(v))  # a lower bound, within 1e-3 of ||F|| here
    for x in [G[17], rng.standard_normal(d)]:
        y = finv.ihvp(x, refine=True)
        eta = np.linalg.norm(apply_f(y) - x) / (norm_f * np.linalg.norm(y) + np.linalg.norm(x))
        assert eta <= 1e-14


# ---------------------------------------------------------------------------------------------
# bad input


def test_bad_input_errors():
    G = np.random.default_rng(20).standard_normal((4, 10))
    bad = G.copy()
    bad[2, 3] = np.nan
    with pytest.raises(ValueError, match="'grads' must be finite"):
        FisherInverse(bad, 0.1)
    FisherInverse(bad, 0.1, check_finite=False)  # the caller vouches for the data
    with pytest.raises(ValueError, match="'damp' must be finite and > 0, got 0.0"):
        FisherInverse(G, 0.0)
    with pytest.raises(ValueError, match="'damp'"):
        FisherInverse(G, -1.0)
    with pytest.raises(ValueError, match="'block_size' must be >= 1, got 0"):
        FisherInverse(G, 0.1, block_size=0)
    with pytest.raises(TypeError, match="'block_size' must be an integer"):
        FisherInverse(G, 0.1, block_size=2.5)
    with pytest.raises(ValueError, match=r"at least one gradient \(m >= 1\)"):
        FisherInverse(np.zeros((0, 10)), 0.1)
    with pytest.raises(ValueError, match=r"shape \(m, d\)"):
        FisherInverse(np.zeros(10), 0.1)
    with pytest.raises(TypeError, match="complex"):
        FisherInverse(G.astype(complex), 0.1)
    finv = FisherInverse(G, 0.1)
    with pytest.raises(ValueError, match=r"'x' must have shape \(10,\) or \(k, 10\).*got \(11,\)"):
        finv.ihvp(np.ones(11))
    with pytest.raises(ValueError, match="'rows' must hold indices in"):
        finv.entries([10], [0])
    with pytest.raises(TypeError, match="'rows' must hold integers"):
        finv.entries([1.5], [0])
    with pytest.raises(ValueError, match="one shape"):
        finv.entries([1, 2], [0])
    with pytest.raises(ValueError, match=r"'sparsity' must be in \[0, 1\), got 1"):
        obs_prune(np.ones(10), finv, 1.0)
    with pytest.raises(ValueError, match="'sparsity'"):
        obs_prune(np.ones(10), finv, -0.1)
    with pytest.raises(ValueError, match="must have 10 elements"):
        obs_prune(np.ones(9), finv, 0.5)
    with pytest.raises(TypeError, match="'finv' must be a mlprims.mfac.FisherInverse"):
        obs_prune(np.ones(10), object(), 0.5)


def test_sliding_bad_input_errors():
    with pytest.raises(ValueError, match="'window' must be >= 1, got 0"):
        SlidingFisherInverse(10, 0, 0.1)
    with pytest.raises(ValueError, match="'dim' must be >= 1"):
        SlidingFisherInverse(0, 3, 0.1)
    with pytest.raises(ValueError, match="'damp'"):
        SlidingFisherInverse(10, 3, 0.0)
    with pytest.raises(TypeError, match="'dtype' must be float32, float64 or bfloat16"):
        SlidingFisherInverse(10, 3, 0.1, dtype="float16")
    with pytest.raises(ValueError, match="'device' must be"):
        SlidingFisherInverse(10, 3, 0.1, device="tpu")
    finv = SlidingFisherInverse(10, 3, 0.1, dtype="float64")
    with pytest.raises(ValueError, match=r"'g' must have shape \(10,\)"):
        finv.update(np.ones(11))
    finv.update(np.ones(10))
    bad = np.ones(10)
    bad[4] = np.inf
    with pytest.raises(ValueError, match="'g' must be finite"):
        finv.update(bad)
    assert len(finv) == 1  # the failed update changed nothing
    with pytest.raises(ValueError, match="'x' must have shape"):
        finv.ihvp(np.ones((2, 9)))


def test_solve_info_fields():
    info = SolveInfo(1, 1e-3, 1e-16)
    assert info.refinement_steps == 1 and info.backward_error == 1e-16
