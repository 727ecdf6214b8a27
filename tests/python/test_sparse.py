"""mlprims.sparse at the tensor level, against plain float64 numpy references (torch for bfloat16
storage): selections equal the reference exactly, applied and merged weights to one rounding of
the reference computed in float64, reconstructions bit for bit."""

from __future__ import annotations

import math

import mlprims
import numpy as np
import pytest
from mlprims import sparse
from mlprims._native import _core

torch = pytest.importorskip("torch")

from _sparse_reference import bits, round_to, to64  # noqa: E402  (needs torch)

DTYPES = ("float16", "bfloat16", "float32", "float64")


# --- references ---------------------------------------------------------------------------------


def make(dtype: str, values64: np.ndarray):
    return round_to(values64, dtype)


def pair(dtype: str, shape=(301, 257), changed=0.1, scale=1e-2, seed=0):
    """A base tensor and a tuned copy with a fraction of entries changed (some crossing zero)."""
    rng = np.random.default_rng(seed)
    base64 = rng.standard_normal(shape)
    mask = rng.random(shape) < changed
    tuned64 = base64 + mask * rng.standard_normal(shape) * scale
    base, tuned = make(dtype, base64), make(dtype, tuned64)
    return base, tuned


def reference_delta(base, tuned, value_dtype: str) -> np.ndarray:
    return to64(round_to((to64(tuned) - to64(base)).ravel(), value_dtype))


def reference_top(values64: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest |v|, ties to the lower position, ascending."""
    order = np.lexsort((np.arange(values64.size), -np.abs(values64)))
    return np.sort(order[:k])


def default_value_dtype(dtype: str) -> str:
    return "float32" if dtype in ("float16", "bfloat16") else "float64"


@pytest.fixture
def two_threads():
    before = mlprims.get_num_threads()
    mlprims.set_num_threads(2)
    yield
    mlprims.set_num_threads(before)


# --- extract: the changed entries ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_changed_entries_are_exactly_those_whose_bits_differ_and_reproduce_tuned(dtype):
    base, tuned = pair(dtype)
    delta = sparse.extract(base, tuned)
    expected = np.flatnonzero(bits(base).ravel() != bits(tuned).ravel())
    np.testing.assert_array_equal(to64(delta.positions()), expected)
    assert delta.nnz == expected.size and delta.value_dtype == default_value_dtype(dtype)
    np.testing.assert_array_equal(to64(delta.values), reference_delta(base, tuned, delta.value_dtype)[expected])
    rebuilt = base.clone()
    delta.apply_(rebuilt)
    if dtype == "float64":  # no wider type: to one rounding of tuned
        np.testing.assert_allclose(to64(rebuilt), to64(tuned), rtol=2.3e-16, atol=0)
    else:
        np.testing.assert_array_equal(bits(rebuilt), bits(tuned))


def test_changed_rule_counts_nan_and_signed_zero_and_numpy_works():
    base = np.array([0.0, 1.0, np.nan, 2.0, 3.0, -0.0], dtype=np.float32)
    tuned = np.array([-0.0, 1.0, np.nan, np.nan, 3.5, -0.0], dtype=np.float32)
    delta = sparse.extract(base, tuned, encoding="indices")
    # +0 -> -0 differs in bits; NaN -> NaN with equal bits does not; 2 -> NaN does.
    np.testing.assert_array_equal(delta.indices, [0, 3, 4])
    assert isinstance(delta.values, np.ndarray) and delta.values.dtype == np.float64
    assert delta.values[0] == 0 and np.isnan(delta.values[1]) and delta.values[2] == 0.5


@pytest.mark.parametrize("dtype", ("bfloat16", "float32"))
def test_atol_keeps_changes_above_it_computed_in_float64(dtype):
    base, tuned = pair(dtype, changed=0.3)
    atol = 5e-3
    delta = sparse.extract(base, tuned, atol=atol)
    exact = (to64(tuned) - to64(base)).ravel()
    np.testing.assert_array_equal(to64(delta.positions()), np.flatnonzero(np.abs(exact) > atol))


# --- extract: exact magnitude selection ----------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("density", (0.0001, 0.05, 0.3, 1.0))
def test_magnitude_selection_is_exactly_the_k_largest(dtype, density):
    base, tuned = pair(dtype, changed=0.5)
    delta = sparse.extract(base, tuned, density=density)
    n = base.numel()
    k = math.floor(density * n)
    values = reference_delta(base, tuned, delta.value_dtype)
    assert delta.nnz == k
    np.testing.assert_array_equal(to64(delta.positions()), reference_top(values, k))
    np.testing.assert_array_equal(to64(delta.values), values[reference_top(values, k)])


def test_ties_go_to_the_lower_position_on_any_thread_count(two_threads):
    # Quantized deltas over many selection chunks: most magnitudes are shared by thousands of entries.
    rng = np.random.default_rng(3)
    n = 1_100_001  # above 2**20: the sampled bracket
    base = np.zeros(n, dtype=np.float32)
    tuned = (rng.integers(-20, 21, n) * 0.125).astype(np.float32)
    values = tuned.astype(np.float64)
    for k in (1, 12_345, 350_000, n - 1, n):
        expected = reference_top(values, k)
        results = []
        for threads in (1, 2):
            mlprims.set_num_threads(threads)
            results.append(sparse.extract(base, tuned, k=k, encoding="indices").indices)
        for got in results:
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32"])
def test_fine_tune_deltas_above_the_sample_size(dtype, two_threads):
    # The vectorized passes over n > 2**20 (the sampled bracket), on a fine-tune's deltas: in 16 bits
    # they take few distinct values, so the bracket's ends are keys shared by many entries.
    gen = torch.Generator().manual_seed(11)
    n = 1_200_007
    base = (0.02 * torch.randn(n, generator=gen)).to(getattr(torch, dtype))
    tuned = (base.double() + 1e-3 * torch.randn(n, generator=gen, dtype=torch.float64)).to(base.dtype)
    value_dtype = default_value_dtype(dtype)
    values = reference_delta(base, tuned, value_dtype)
    for density in (0.01, 0.05, 0.3):
        k = math.floor(density * n)
        delta = sparse.extract(base, tuned, density=density)
        expected = reference_top(values, k)
        np.testing.assert_array_equal(to64(delta.positions()), expected)
        np.testing.assert_array_equal(to64(delta.values), values[expected])
        top = sparse.topk_abs(tuned, k)
        expected = reference_top(to64(tuned).ravel(), k)
        np.testing.assert_array_equal(to64(top.indices), expected)
        np.testing.assert_array_equal(bits(top.values), bits(tuned.ravel()[expected]))


def test_a_radix_bracket_held_by_one_thread(two_threads):
    # Below 2**20 entries the radix passes choose the bracket; here its 74,600 keys all lie in the
    # second thread's chunks. Such a selection used to come back empty (nothing written, no error).
    n, split = 149_000, 74_400
    x = np.full(n, 0.5, dtype=np.float32)
    x[split:] = 1.0 + (1 + np.arange(n - split) % 65534) * 2.0**-23
    for k in (100, 50_000):
        expected = reference_top(x.astype(np.float64), k)
        top = sparse.topk_abs(x, k)
        np.testing.assert_array_equal(to64(top.indices), expected)
        np.testing.assert_array_equal(top.values, x[expected])
        delta = sparse.extract(np.zeros_like(x), x, k=k, encoding="indices")
        np.testing.assert_array_equal(to64(delta.indices), expected)


def test_all_equal_magnitudes_and_all_zero_deltas(two_threads):
    n = 300_000
    base = np.zeros(n)
    for tuned in (np.full(n, 1e-300), np.zeros(n), np.where(np.arange(n) % 2 == 0, 1e300, -1e300)):
        delta = sparse.extract(base, tuned, k=1000, encoding="indices")
        np.testing.assert_array_equal(delta.indices, np.arange(1000))
        np.testing.assert_array_equal(delta.values, tuned[:1000])


def test_magnitude_selection_refuses_nan():
    base = np.zeros(10, dtype=np.float32)
    tuned = np.arange(10, dtype=np.float32)
    tuned[4] = np.nan
    with pytest.raises(ValueError, match=r"sparse.extract: 'tuned' - 'base' has 1 NaN"):
        sparse.extract(base, tuned, k=3)
    with pytest.raises(ValueError, match="NaN"):
        sparse.extract(base.reshape(2, 5), tuned.reshape(2, 5), k=2, scope="row")


def test_infinite_deltas_rank_above_every_number():
    base = np.zeros(6)
    tuned = np.array([1.0, -np.inf, 3.0, np.inf, -5.0, 2.0])
    delta = sparse.extract(base, tuned, k=3, encoding="indices")
    np.testing.assert_array_equal(delta.indices, [1, 3, 4])


@pytest.mark.parametrize("dtype", ("bfloat16", "float32"))
def test_row_scope_keeps_k_per_row(dtype):
    base, tuned = pair(dtype, shape=(40, 97), changed=0.6)
    delta = sparse.extract(base, tuned, k=7, scope="row")
    values = reference_delta(base, tuned, delta.value_dtype).reshape(40, 97)
    expected = np.concatenate([r * 97 + reference_top(values[r], 7) for r in range(40)])
    np.testing.assert_array_equal(to64(delta.positions()), expected)
    assert sparse.extract(base, tuned, density=0.1, scope="row").nnz == 40 * 9


# --- extract: DARE and breadcrumbs ----------------------------------------------------------------


def test_dare_is_reproducible_from_its_seed_and_keeps_about_density(two_threads):
    base, tuned = pair("float32", shape=(600, 500), changed=0.5)
    changed = np.flatnonzero(bits(base).ravel() != bits(tuned).ravel())
    density = 0.3
    runs = []
    for threads in (1, 2):
        mlprims.set_num_threads(threads)
        runs.append(sparse.extract(base, tuned, select="random", density=density, seed=123))
    a, b = runs
    np.testing.assert_array_equal(to64(a.positions()), to64(b.positions()))
    np.testing.assert_array_equal(to64(a.values), to64(b.values))
    positions = to64(a.positions()).astype(np.int64)
    assert np.isin(positions, changed).all()
    # Binomial(changed, 0.3): 6 standard deviations.
    sd = math.sqrt(changed.size * density * (1 - density))
    assert abs(a.nnz - density * changed.size) < 6 * sd
    exact = (to64(tuned) - to64(base)).ravel()[positions]
    np.testing.assert_array_equal(to64(a.values), exact / density)
    other = sparse.extract(base, tuned, select="random", density=density, seed=124)
    assert not np.array_equal(to64(other.positions()), positions)


@pytest.mark.parametrize("drop_top, keep", [(0.05, 0.2), (0.001, 0.1), (0.0, 0.3), (0.5, 0.6)])
def test_breadcrumbs_drop_the_top_and_keep_the_next(drop_top, keep):
    base, tuned = pair("float32", shape=(30, 200), changed=0.8)
    delta = sparse.extract(base, tuned, select="breadcrumbs", drop_top=drop_top, keep=keep)
    values = reference_delta(base, tuned, delta.value_dtype).reshape(30, 200)
    first = math.floor(drop_top * 200)  # 0 for drop_top 0.001: nothing dropped, the top kept
    count = min(200 - first, math.floor(keep * 200))
    expected = []
    for r in range(30):
        order = np.lexsort((np.arange(200), -np.abs(values[r])))
        expected.append(r * 200 + np.sort(order[first:first + count]))
    np.testing.assert_array_equal(to64(delta.positions()), np.concatenate(expected))


# --- encodings and apply_ --------------------------------------------------------------------------


@pytest.mark.parametrize("density", (0.01, 0.2))
def test_both_encodings_hold_the_same_delta_and_auto_picks_the_smaller(density):
    base, tuned = pair("bfloat16", changed=0.5)
    by_index = sparse.extract(base, tuned, density=density, encoding="indices")
    by_mask = sparse.extract(base, tuned, density=density, encoding="bitmask")
    auto = sparse.extract(base, tuned, density=density)
    assert by_index.indices.dtype == torch.int32 and by_mask.bitmask.dtype == torch.uint8
    np.testing.assert_array_equal(to64(by_mask.positions()), to64(by_index.indices))
    assert auto.nbytes == min(by_index.nbytes, by_mask.nbytes)
    assert auto.encoding == ("indices" if density < 1 / 32 else "bitmask")
    np.testing.assert_array_equal(bits(by_mask.to_dense()), bits(by_index.to_dense()))


@pytest.mark.parametrize("weights_dtype", DTYPES)
@pytest.mark.parametrize("encoding", ("indices", "bitmask"))
def test_apply_rounds_once_from_float64(weights_dtype, encoding):
    base, tuned = pair("float32", changed=0.3)
    delta = sparse.extract(base, tuned, density=0.2, encoding=encoding)
    W64 = np.random.default_rng(5).standard_normal(base.shape)
    W = make(weights_dtype, W64)
    start = to64(W)
    alpha = -0.37
    sparse.apply_(W, delta, alpha=alpha)
    expected = start.ravel().copy()
    positions = to64(delta.positions()).astype(np.int64)
    expected[positions] += alpha * to64(delta.values)
    np.testing.assert_array_equal(bits(W).ravel(), bits(round_to(expected, weights_dtype)))


def test_apply_leaves_w_untouched_when_the_delta_is_corrupted():
    W = np.arange(10.0)
    values = np.ones(3)
    for indices in (np.array([1, 1, 5], np.int32), np.array([5, 2, 7], np.int32), np.array([0, 3, 10], np.int32)):
        delta = sparse.SparseDelta((10,), "float64", values, indices=indices)
        with pytest.raises(ValueError, match="sparse.apply_: 'indices' must hold strictly ascending positions"):
            sparse.apply_(W, delta)
        np.testing.assert_array_equal(W, np.arange(10.0))
    bad_mask = np.array([0b00000111, 0b00001100], np.uint8)  # bits 10 and 11 are past 10 elements
    with pytest.raises(ValueError, match="bits set past"):
        sparse.apply_(W, sparse.SparseDelta((10,), "float64", np.ones(5), bitmask=bad_mask))
    short = np.array([0b00000111, 0], np.uint8)
    with pytest.raises(ValueError, match="'values' must have shape \\(3,\\)"):
        sparse.apply_(W, sparse.SparseDelta((10,), "float64", np.ones(4), bitmask=short))
    np.testing.assert_array_equal(W, np.arange(10.0))


def test_apply_checks_shape_and_grad():
    delta = sparse.extract(np.zeros(4), np.ones(4))
    with pytest.raises(ValueError, match=r"sparse.apply_: 'W' must have the delta's shape \(4,\), got \(5,\)"):
        sparse.apply_(np.zeros(5), delta)
    with pytest.raises(ValueError, match="requires grad"):
        sparse.apply_(torch.zeros(4, dtype=torch.float64, requires_grad=True), delta)
    with pytest.raises(TypeError, match="'delta' must be a SparseDelta"):
        sparse.apply_(np.zeros(4), np.ones(4))
    with pytest.raises(ValueError, match="'alpha' must be finite"):
        sparse.apply_(np.zeros(4), delta, alpha=float("nan"))


def test_int64_indices_write_the_same_positions():
    base, tuned = pair("float32", changed=0.4)
    plan = _core.sparse.Extraction(base, tuned, select="magnitude", k=1000, value_dtype="float32")
    indices, values = torch.empty(1000, dtype=torch.int64), torch.empty(1000, dtype=torch.float32)
    plan.write(indices, values)
    reference = sparse.extract(base, tuned, k=1000, value_dtype="float32", encoding="indices")
    np.testing.assert_array_equal(indices.numpy(), reference.indices.numpy())
    np.testing.assert_array_equal(values.numpy(), reference.values.numpy())


def test_narrow_value_dtype_rounds_the_delta_once():
    base, tuned = pair("bfloat16", changed=0.5)
    delta = sparse.extract(base, tuned, density=0.1, value_dtype="bfloat16")
    assert delta.value_dtype == "bfloat16"
    values = reference_delta(base, tuned, "bfloat16")
    np.testing.assert_array_equal(to64(delta.positions()), reference_top(values, delta.nnz))
    np.testing.assert_array_equal(bits(delta.values), bits(round_to(values[reference_top(values, delta.nnz)], "bfloat16")))


# --- selection on one tensor -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_topk_abs_and_kth_largest_abs(dtype):
    x = make(dtype, np.random.default_rng(8).standard_t(2, 200_003))
    x64 = to64(x)
    for k in (1, 17, 100_000, 200_003):
        top = sparse.topk_abs(x, k)
        expected = reference_top(x64, k)
        np.testing.assert_array_equal(to64(top.indices), expected)
        np.testing.assert_array_equal(bits(top.values), bits(x)[expected])
        assert sparse.kth_largest_abs(x, k) == np.sort(np.abs(x64))[-k]


def test_topk_abs_takes_any_shape_and_numpy():
    x = np.array([[3.0, -7.0], [1.0, 7.0]])
    values, indices = sparse.topk_abs(x, 2)
    np.testing.assert_array_equal(indices, [1, 3])
    np.testing.assert_array_equal(values, [-7.0, 7.0])
    assert sparse.kth_largest_abs(x, 3) == 3.0
    with pytest.raises(ValueError, match=r"sparse.topk_abs: 'k' must be >= 1 and <= 4, got 5"):
        sparse.topk_abs(x, 5)
    with pytest.raises(ValueError, match="NaN"):
        sparse.kth_largest_abs(np.array([1.0, np.nan]), 1)


def test_update_stats():
    base, tuned = pair("bfloat16", changed=0.2)
    stats = sparse.update_stats(base, tuned)
    exact = to64(tuned) - to64(base)
    changed = int((bits(base) != bits(tuned)).sum())
    assert stats.numel == base.numel() and stats.changed == changed and stats.nan == 0
    assert stats.fraction == changed / base.numel()
    assert stats.max_abs == np.abs(exact).max()
    np.testing.assert_allclose(stats.mean_abs, np.abs(exact).mean(), rtol=1e-12)
    assert sparse.update_stats(base, tuned, atol=1e-2).changed == int((np.abs(exact) > 1e-2).sum())


# --- merge ----------------------------------------------------------------------------------------


def reference_merge(base, tuned_list, method, weights, density, divisor, drop_top=0.0, keep=0.0):
    b = to64(base).ravel()
    deltas = [to64(t).ravel() - b for t in tuned_list]
    w = np.asarray(weights, dtype=np.float64)
    if method == "task_arithmetic":
        return b + sum(wt * d for wt, d in zip(w, deltas))
    trimmed = []
    for d in deltas:
        kept = np.zeros_like(d)
        if method == "ties":
            top = reference_top(d, math.floor(density * d.size))
            kept[top] = d[top]
        else:  # breadcrumbs_ties, rows of the last dimension
            m = tuned_list[0].shape[-1]
            first, count = math.floor(drop_top * m), math.floor(keep * m)
            for r in range(d.size // m):
                row = d[r * m:(r + 1) * m]
                order = np.lexsort((np.arange(m), -np.abs(row)))[first:first + count]
                kept[r * m + order] = row[order]
        trimmed.append(kept)
    weighted = np.stack([wt * t for wt, t in zip(w, trimmed)])
    sign = np.where(weighted.sum(0) >= 0, 1.0, -1.0)
    agree = np.sign(weighted) == sign
    total = (weighted * agree).sum(0)
    div = (agree * (w[:, None] if divisor == "weights" else 1.0)).sum(0)
    return b + np.where(div != 0, total / np.where(div != 0, div, 1), 0.0)


@pytest.mark.parametrize("dtype", ("bfloat16", "float32", "float64"))
@pytest.mark.parametrize("method, divisor", [("task_arithmetic", "weights"), ("ties", "weights"), ("ties", "count"),
                                             ("breadcrumbs_ties", "weights")])
def test_merge_equals_the_float64_reference_rounded_once(dtype, method, divisor):
    base, first = pair(dtype, shape=(120, 90), changed=0.6, seed=1)
    tuned = [first] + [pair(dtype, shape=(120, 90), changed=0.6, seed=s)[1] for s in (2, 3)]
    tuned = [t + (base - pair(dtype, shape=(120, 90), seed=1)[0]) for t in tuned]  # the same base for all
    weights = [1.0, 0.5, 2.0]
    options = {"density": 0.3} if method == "ties" else {"drop_top": 0.02, "keep": 0.4} if method == "breadcrumbs_ties" else {}
    merged = sparse.merge(base, tuned, method=method, weights=weights, divisor=divisor, **options)
    expected = reference_merge(base, tuned, method, weights, options.get("density"), divisor,
                               options.get("drop_top", 0.0), options.get("keep", 0.0))
    assert merged.dtype == base.dtype
    np.testing.assert_array_equal(bits(merged).ravel(), bits(round_to(expected, dtype)).ravel())


def test_dare_ties_uses_the_extract_coin_flips_per_task():
    base, t0 = pair("float32", changed=0.5, seed=1)
    t1 = pair("float32", changed=0.5, seed=2)[1] - pair("float32", seed=2)[0] + base
    merged = sparse.merge(base, [t0, t1], method="dare_ties", density=0.4, seed=10)
    kept = []
    for t, tuned in enumerate((t0, t1)):
        delta = sparse.extract(base, tuned, select="random", density=0.4, seed=10 + t, value_dtype="float64")
        dense = np.zeros(base.numel())
        dense[to64(delta.positions()).astype(np.int64)] = to64(delta.values)
        kept.append(dense)
    weighted = np.stack(kept)
    sign = np.where(weighted.sum(0) >= 0, 1.0, -1.0)
    agree = np.sign(weighted) == sign
    div = agree.sum(0)
    expected = to64(base).ravel() + np.where(div > 0, (weighted * agree).sum(0) / np.maximum(div, 1), 0)
    np.testing.assert_array_equal(bits(merged).ravel(), bits(round_to(expected, "float32")).ravel())
    again = sparse.merge(base, [t0, t1], method="dare_ties", density=0.4, seed=10)
    np.testing.assert_array_equal(bits(again), bits(merged))


def test_merge_in_place_into_base_and_out_checks():
    base, tuned = pair("float32", changed=0.5)
    expected = sparse.merge(base, [tuned], method="ties", density=0.2)
    target = base.clone()
    result = sparse.merge(target, [tuned], method="ties", density=0.2, out=target)
    assert result is target
    np.testing.assert_array_equal(bits(target), bits(expected))
    with pytest.raises(ValueError, match=r"sparse.merge: 'out' must not share memory with 'tuned_list\[0\]'"):
        sparse.merge(base, [tuned], method="ties", density=0.2, out=tuned)
    with pytest.raises(ValueError, match="sparse.merge: 'out' must have the shape and dtype of 'base'"):
        sparse.merge(base, [tuned], method="task_arithmetic", out=torch.empty(3))


def test_merge_matches_peft_ties_with_the_count_divisor():
    merge_utils = pytest.importorskip("peft.utils.merge_utils")
    # float64 data: no two task-vector entries of equal magnitude, whose order torch.topk leaves open.
    base, t0 = pair("float64", changed=0.7, seed=1)
    tuned = [t0] + [pair("float64", changed=0.7, seed=s)[1] - pair("float64", seed=s)[0] + base for s in (2, 3)]
    ours = sparse.merge(base, tuned, method="ties", density=0.25, divisor="count")
    task_vectors = [(t.double() - base.double()) for t in tuned]
    theirs = merge_utils.ties(task_vectors, torch.ones(3, dtype=torch.float64), density=0.25)
    np.testing.assert_allclose(to64(ours), to64(base) + theirs.numpy(), rtol=0, atol=1e-15)


# --- bad input ------------------------------------------------------------------------------------


def test_extract_bad_input_names_the_argument():
    base = np.zeros((4, 5), np.float32)
    with pytest.raises(ValueError, match=r"sparse.extract: 'tuned' must have the shape and dtype of 'base' \(\(4, 5\), float32\), got \(5, 4\), float32"):
        sparse.extract(base, np.zeros((5, 4), np.float32))
    with pytest.raises(ValueError, match="float32\\), got \\(4, 5\\), float64"):
        sparse.extract(base, np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"sparse.extract: 'k' must be >= 0 and <= 20, got 21"):
        sparse.extract(base, base, k=21)
    with pytest.raises(ValueError, match=r"sparse.extract: 'k' must be >= 0 and <= 20, got -1"):
        sparse.extract(base, base, k=-1)
    for density in (0, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"'density' must be"):
            sparse.extract(base, base, density=density)
    with pytest.raises(ValueError, match="'select' must be one of 'magnitude', 'random', 'breadcrumbs', got 'top'"):
        sparse.extract(base, base, select="top", k=1)
    with pytest.raises(ValueError, match="give 'k' or 'density', not both"):
        sparse.extract(base, base, k=1, density=0.5)
    with pytest.raises(ValueError, match="'atol' selects the changed entries"):
        sparse.extract(base, base, k=1, atol=0.1)
    with pytest.raises(ValueError, match="'atol' must be"):
        sparse.extract(base, base, atol=-1.0)
    with pytest.raises(ValueError, match="needs 'density'"):
        sparse.extract(base, base, select="random")
    with pytest.raises(ValueError, match=r"sparse.extract: 'seed' must be >= 0"):
        sparse.extract(base, base, select="random", density=0.5, seed=-1)
    with pytest.raises(TypeError, match="'value_dtype' bfloat16 needs torch"):
        sparse.extract(base, base, value_dtype="bfloat16")
    with pytest.raises(TypeError, match="'value_dtype' must be one of"):
        sparse.extract(base, base, value_dtype="int8")
    with pytest.raises(TypeError, match="'base' must be real"):
        sparse.extract(np.zeros(3, complex), np.zeros(3, complex))


def test_merge_bad_input_names_the_argument():
    base = np.zeros(6)
    with pytest.raises(ValueError, match="'method' must be one of 'task_arithmetic', 'ties', 'dare_ties', 'breadcrumbs_ties', got 'mean'"):
        sparse.merge(base, [base], method="mean")
    with pytest.raises(ValueError, match="needs 'density'"):
        sparse.merge(base, [base], method="ties")
    with pytest.raises(ValueError, match="'tuned_list' must be a non-empty list"):
        sparse.merge(base, [], method="ties", density=0.5)
    with pytest.raises(ValueError, match=r"'weights' must have one entry per tuned tensor \(2\), got 1"):
        sparse.merge(base, [base, base], method="task_arithmetic", weights=[1.0])
    with pytest.raises(ValueError, match=r"'tuned_list\[1\]' must have the shape and dtype of 'base'"):
        sparse.merge(base, [base, np.zeros(5)], method="task_arithmetic")
    with pytest.raises(ValueError, match="'divisor' must be 'weights' or 'count'"):
        sparse.merge(base, [base], method="ties", density=0.5, divisor="mean")
    tuned = base.copy()
    tuned[2] = np.nan
    with pytest.raises(ValueError, match=r"'tuned\[0\]' - 'base' has 1 NaN"):
        sparse.merge(base, [tuned], method="ties", density=0.5)


@pytest.mark.cuda
def test_cuda_tensors_are_a_type_error_until_the_cuda_back_end_exists():
    x = torch.zeros(4, device="cuda")
    with pytest.raises(TypeError, match="must be in CPU memory"):
        sparse.extract(x, x)


@pytest.mark.parametrize("shape", [(0,), (3, 0), ()])
def test_empty_and_zero_dimensional_tensors(shape):
    base, tuned = np.zeros(shape), np.full(shape, 2.0)
    for options in ({}, {"k": 0}, {"density": 0.5}, {"select": "random", "density": 0.5, "seed": 1},
                    {"select": "breadcrumbs", "keep": 1.0, "drop_top": 0.0}, {"k": 0, "scope": "row"}):
        delta = sparse.extract(base, tuned, **options)
        assert delta.shape == shape and delta.to_dense().shape == shape
        rebuilt = base.copy()
        delta.apply_(rebuilt)
        np.testing.assert_array_equal(rebuilt, tuned if delta.nnz else base)
    np.testing.assert_array_equal(sparse.merge(base, [tuned], method="ties", density=1.0), tuned)
    assert sparse.update_stats(base, tuned).changed == base.size


def _available_memory_bytes() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


@pytest.mark.skipif(_available_memory_bytes() < 8 * 2**30, reason="needs 8 GiB of free memory (a 4.3 GB tensor)")
def test_selection_past_two_to_the_31_elements_uses_int64_positions():
    # np.zeros leaves its pages unwritten (calloc): reading them costs no memory, so the 4.3 GB
    # tensor takes a few pages of RSS and one pass of reading time.
    n = 2**31 + 64
    x = np.zeros(n, dtype=np.float16)
    x[10], x[2**31 + 3], x[n - 1] = 3.0, -7.0, 5.0
    top = sparse.topk_abs(x, 3)
    assert top.indices.dtype == np.int64
    assert top.indices.tolist() == [10, 2**31 + 3, n - 1] and top.values.tolist() == [3.0, -7.0, 5.0]
    assert sparse.kth_largest_abs(x, 2) == 5.0
    with pytest.raises(TypeError, match="must have dtype int64 for a tensor of 2147483712 elements"):
        _core.sparse.topk_abs(x, 3, indices=np.empty(3, np.int32), values=np.empty(3, np.float16))
