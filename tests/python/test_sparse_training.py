"""Training and unlearning on masked coordinates (mlprims.sparse): Mask, MaskedAdam, masked_perturb_,
ZerothOrderSGD, ssd_dampen_ and importance, against torch's AdamW, float64 numpy references of
MeZO and SSD, and distribution tests of the regenerated Gaussian."""

from __future__ import annotations

import io
import math

import mlprims
import numpy as np
import pytest
from mlprims import sparse
from mlprims._native import _core

torch = pytest.importorskip("torch")

from _sparse_reference import bits, round_to, to64  # noqa: E402  (needs torch)


def random_mask(shape, density, seed=0, framework="torch"):
    selected = np.random.default_rng(seed).random(shape) < density
    return sparse.Mask.from_bool(torch.from_numpy(selected) if framework == "torch" else selected), selected


def ulp(values64: np.ndarray, dtype: str) -> np.ndarray:
    """The spacing of `dtype` at |values| (normal numbers)."""
    digits = {"float32": 24, "bfloat16": 8, "float16": 11, "float64": 53}[dtype]
    _, exponent = np.frexp(np.abs(values64))
    return np.ldexp(1.0, exponent - digits)


# --- Mask ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("density, encoding", [(0.01, "indices"), (0.3, "bitmask")])
@pytest.mark.parametrize("framework", ["numpy", "torch"])
def test_mask_from_bool_picks_the_smaller_encoding_and_round_trips(density, encoding, framework):
    mask, selected = random_mask((97, 131), density, framework=framework)
    assert mask.encoding == encoding
    assert mask.nnz == selected.sum() and mask.density == pytest.approx(selected.mean())
    assert np.array_equal(np.asarray(mask.positions()), np.flatnonzero(selected))
    assert np.array_equal(np.asarray(mask.to_bool()), selected)
    assert mask.nbytes < selected.size * 4 * density + selected.size / 8 + 8


def test_mask_from_delta_shares_the_support():
    base = torch.zeros(1000)
    tuned = base.clone()
    tuned[[3, 70, 500]] = 1.0
    delta = sparse.extract(base, tuned)
    mask = sparse.Mask.from_delta(delta)
    assert mask.indices.data_ptr() == delta.indices.data_ptr() and mask.nnz == 3
    assert np.array_equal(mask.positions().numpy(), [3, 70, 500])


@pytest.mark.parametrize("dtype", ["bfloat16", "float32", "float64"])
def test_mask_below_and_above_equal_the_float64_comparison(dtype):
    values = np.random.default_rng(1).standard_normal((64, 300)) * 1e-2
    values[0, :5] = [np.nan, 2e-3, -2e-3, 0.0, np.inf]
    W = round_to(values, dtype)
    W64 = to64(W)
    for threshold in (2e-3, 1e-2):
        below, above = sparse.Mask.below(W, threshold), sparse.Mask.above(W, threshold)
        assert np.array_equal(below.to_bool().numpy(), np.abs(W64) < threshold)  # NaN in neither
        assert np.array_equal(above.to_bool().numpy(), np.abs(W64) > threshold)
    assert sparse.Mask.below(W, 0.0).nnz == 0
    assert sparse.Mask.above(W, -1.0).nnz == np.count_nonzero(~np.isnan(W64))


def test_mask_topk_is_the_exact_top_k_of_the_score():
    score = torch.from_numpy(np.random.default_rng(2).exponential(size=(50, 40)))
    for k in (0, 7, 1000, 2000):
        mask = sparse.Mask.topk(score, k)
        order = np.lexsort((np.arange(score.numel()), -score.numpy().ravel()))
        assert np.array_equal(np.asarray(mask.positions()), np.sort(order[:k]))
    assert sparse.Mask.topk(score, density=0.25).nnz == 500


@pytest.mark.parametrize("encoding_density", [0.02, 0.5])
def test_gather_and_scatter_move_the_masked_values(encoding_density):
    mask, selected = random_mask((33, 77), encoding_density, seed=3)
    W = torch.randn(33, 77, dtype=torch.float64)
    values = mask.gather(W)
    assert torch.equal(values, W[torch.from_numpy(selected)])
    before = W.clone()
    assert mask.scatter_(W, values * 3) is W
    assert torch.equal(W[torch.from_numpy(selected)], 3 * before[torch.from_numpy(selected)])
    assert torch.equal(W[~torch.from_numpy(selected)], before[~torch.from_numpy(selected)])


def test_scatter_rounds_once_to_bfloat16():
    mask, selected = random_mask((200,), 0.5, seed=4)
    W = torch.zeros(200, dtype=torch.bfloat16)
    values64 = np.random.default_rng(5).standard_normal(mask.nnz)
    mask.scatter_(W, torch.from_numpy(values64))
    assert np.array_equal(bits(W[torch.from_numpy(selected)]), bits(round_to(values64, "bfloat16")))


def test_mask_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="strictly ascending"):
        sparse.Mask((10,), indices=np.array([3, 2], dtype=np.int32))
    with pytest.raises(ValueError, match="strictly ascending"):
        sparse.Mask((10,), indices=np.array([3, 10], dtype=np.int32))
    with pytest.raises(ValueError, match="bits set past"):
        sparse.Mask((10,), bitmask=np.array([0, 0xFF], dtype=np.uint8))
    with pytest.raises(ValueError, match="shape"):
        sparse.Mask((10,), bitmask=np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="exactly one"):
        sparse.Mask((10,))
    with pytest.raises(TypeError, match="dtype bool"):
        sparse.Mask.from_bool(np.zeros(4))
    mask = sparse.Mask.from_bool(np.array([True, False, True]))
    with pytest.raises(ValueError, match="mask's shape"):
        mask.gather(np.zeros(4))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        mask.scatter_(np.zeros(3), np.zeros(5))
    with pytest.raises(ValueError, match="requires grad"):
        mask.scatter_(torch.zeros(3, requires_grad=True), torch.zeros(2))
    with pytest.raises(ValueError, match="exactly one of 'k' and 'density'"):
        sparse.Mask.topk(np.ones(3))
    assert sparse.Mask(10, indices=np.array([2], dtype=np.int32)).shape == (10,)
    with pytest.raises(ValueError, match="'shape' must have non-negative sizes"):
        sparse.Mask((-2, 5), indices=np.zeros(0, dtype=np.int32))
    with pytest.raises(TypeError, match="'shape' must be a tuple of integers"):
        sparse.Mask((2.5,), indices=np.zeros(0, dtype=np.int32))
    for k in (-1, 4):
        with pytest.raises(ValueError, match=r"sparse.Mask.topk: 'k' must be >= 0 and <= 3"):
            sparse.Mask.topk(np.ones(3), k)
    with pytest.raises(TypeError, match="sparse.Mask.topk: 'k'"):
        sparse.Mask.topk(np.ones(3), 1.5)


# --- MaskedAdam ---------------------------------------------------------------------------------


def dense_masked_adamw(p0: torch.Tensor, selected: np.ndarray, gradients, **hyper) -> torch.Tensor:
    """torch.optim.AdamW with the gradient masked and the update masked (unmasked coordinates
    restored after every step): the reference for MaskedAdam."""
    p = torch.nn.Parameter(p0.clone())
    opt = torch.optim.AdamW([p], foreach=False, **hyper)
    keep = torch.from_numpy(selected)
    for g in gradients:
        p.grad = g * keep
        before = p.detach().clone()
        opt.step()
        with torch.no_grad():
            p[~keep] = before[~keep]
    return p.detach()


@pytest.mark.parametrize("density", [0.03, 0.4, None])
def test_masked_adam_equals_torch_adamw_in_float64_and_leaves_the_rest_bit_for_bit(density):
    shape = (40, 60)
    rng = np.random.default_rng(6)
    if density is None:
        mask, selected = None, np.ones(shape, dtype=bool)
    else:
        mask, selected = random_mask(shape, density, seed=7)
    p0 = torch.from_numpy(rng.standard_normal(shape))
    gradients = [torch.from_numpy(rng.standard_normal(shape)) for _ in range(100)]
    hyper = {"lr": 1e-2, "betas": (0.8, 0.99), "eps": 1e-8, "weight_decay": 0.1}
    p = torch.nn.Parameter(p0.clone())
    opt = sparse.MaskedAdam([p], [mask], **hyper)
    for g in gradients:
        p.grad = g
        opt.step()
    reference = dense_masked_adamw(p0, selected, gradients, **hyper)
    keep = torch.from_numpy(selected)
    assert torch.max(torch.abs(p.detach()[keep] - reference[keep])) <= 1e-12 * torch.max(torch.abs(reference))
    assert np.array_equal(bits(p.detach()[~keep]), bits(p0[~keep]))
    assert opt.state[p]["exp_avg"].shape == (int(selected.sum()),)


@pytest.mark.parametrize("encoding", ["bitmask", "indices"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_masked_adam_step_is_within_one_rounding_of_the_float32_reference(dtype, encoding):
    shape = (64, 64)
    rng = np.random.default_rng(8)
    mask, selected = random_mask(shape, 0.2, seed=9)  # 819 coordinates: several blocks of 256
    if encoding == "indices":
        mask = sparse.Mask(shape, indices=torch.from_numpy(np.flatnonzero(selected).astype(np.int32)))
    assert mask.encoding == encoding
    keep = torch.from_numpy(selected)
    p = torch.nn.Parameter(round_to(rng.standard_normal(shape) * 0.1, dtype))
    opt = sparse.MaskedAdam([p], [mask], lr=1e-2, weight_decay=0.01)
    for _ in range(20):
        g = round_to(rng.standard_normal(shape), dtype)
        # The float32 reference: torch AdamW on a float32 copy, from our moments.
        p32 = torch.nn.Parameter(p.detach().float().clone())
        ref = torch.optim.AdamW([p32], lr=1e-2, weight_decay=0.01, foreach=False)
        p32.grad = g.float() * keep
        if opt.state[p]:
            m = torch.zeros(shape)
            v = torch.zeros(shape)
            m[keep], v[keep] = opt.state[p]["exp_avg"], opt.state[p]["exp_avg_sq"]
            ref.state[p32] = {"step": torch.tensor(float(opt.state[p]["step"])), "exp_avg": m, "exp_avg_sq": v}
        before = p.detach().clone()
        p.grad = g
        opt.step()
        ref.step()
        ours, theirs, start = to64(p.detach()[keep]), to64(p32.detach()[keep]), to64(before[keep])
        # One rounding of ours to the dtype, plus the float32 reference's own few roundings, which
        # scale with its operands (the weight and the update), not with a result that cancels.
        bound = ulp(theirs, dtype) + 8 * ulp(np.abs(start) + np.abs(theirs - start), "float32")
        assert np.all(np.abs(ours - theirs) <= bound)
        assert np.array_equal(bits(p.detach()[~keep]), bits(before[~keep]))
    assert opt.state[p]["exp_avg"].dtype == torch.float32


def test_masked_adam_state_dict_round_trips_and_keeps_float32_moments_of_bfloat16():
    shape = (30, 30)
    rng = np.random.default_rng(10)
    mask, _ = random_mask(shape, 0.1, seed=11)
    gradients = [round_to(rng.standard_normal(shape), "bfloat16") for _ in range(6)]
    p0 = round_to(rng.standard_normal(shape), "bfloat16")

    def run(steps, p, opt):
        for g in steps:
            p.grad = g
            opt.step()

    p_full = torch.nn.Parameter(p0.clone())
    opt_full = sparse.MaskedAdam([p_full], [mask], lr=1e-2)
    run(gradients, p_full, opt_full)

    p = torch.nn.Parameter(p0.clone())
    opt = sparse.MaskedAdam([p], [mask], lr=1e-2)
    run(gradients[:3], p, opt)
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    other_mask, _ = random_mask(shape, 0.5, seed=12)
    resumed = sparse.MaskedAdam([p], [other_mask], lr=1e-2)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))  # plain tensors: loads with weights_only=True
    assert resumed.mask(p).nnz == mask.nnz
    assert resumed.state[p]["exp_avg"].dtype == torch.float32
    run(gradients[3:], p, resumed)
    assert np.array_equal(bits(p.detach()), bits(p_full.detach()))
    saved = resumed.state_dict()
    saved["masks"] = ["not a mask"]
    with pytest.raises(ValueError, match="a saved mask must be None or a dict"):
        resumed.load_state_dict(saved)


def test_set_mask_keeps_the_moments_of_coordinates_that_stay():
    p = torch.nn.Parameter(torch.zeros(10, dtype=torch.float64))
    old = sparse.Mask.from_bool(torch.tensor([1, 1, 0, 1, 0, 0, 1, 0, 0, 0], dtype=torch.bool))
    opt = sparse.MaskedAdam([p], [old])
    p.grad = torch.arange(10, dtype=torch.float64)
    opt.step()
    m_old = dict(zip([0, 1, 3, 6], opt.state[p]["exp_avg"].tolist()))
    new = sparse.Mask.from_bool(torch.tensor([0, 1, 1, 1, 0, 0, 0, 0, 0, 1], dtype=torch.bool))
    opt.set_mask(p, new)
    assert opt.state[p]["exp_avg"].tolist() == [m_old[1], 0.0, m_old[3], 0.0]
    assert opt.state[p]["step"] == 1
    p.grad = torch.ones(10, dtype=torch.float64)
    before = p.detach().clone()
    opt.step()
    changed = (p.detach() != before).numpy()
    assert np.array_equal(changed, new.to_bool().numpy())


def test_masked_adam_refuses_non_finite_gradients_before_changing_anything():
    a = torch.nn.Parameter(torch.ones(8))
    b = torch.nn.Parameter(torch.ones(8))
    masks = [sparse.Mask.from_bool(torch.arange(8) < 4), sparse.Mask.from_bool(torch.arange(8) >= 4)]
    opt = sparse.MaskedAdam([a, b], masks)
    a.grad = torch.ones(8)
    b.grad = torch.ones(8)
    b.grad[6] = float("nan")
    with pytest.raises(ValueError, match="non-finite masked gradients in parameter 1"):
        opt.step()
    assert torch.equal(a.detach(), torch.ones(8)) and torch.equal(b.detach(), torch.ones(8))
    assert not opt.state[a] and not opt.state[b]
    b.grad[6] = 1.0
    b.grad[0] = float("inf")  # unmasked: not used, not a reason to refuse
    opt.step()
    assert opt.state[a]["step"] == 1


def test_masked_adam_bad_input_is_a_clear_error():
    p = torch.nn.Parameter(torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r"masks\[0\]' has shape \(12,\)"):
        sparse.MaskedAdam([p], [sparse.Mask.from_bool(torch.zeros(12, dtype=torch.bool))])
    with pytest.raises(ValueError, match="one entry per parameter"):
        sparse.MaskedAdam([p], [None, None])
    with pytest.raises(TypeError, match="sparse.Mask or None"):
        sparse.MaskedAdam([p], [torch.ones(3, 4)])
    with pytest.raises(ValueError, match=r"betas\[1\]"):
        sparse.MaskedAdam([p], [None], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="'lr'"):
        sparse.MaskedAdam([p], [None], lr=-1.0)
    # A dict keyed by names, or one that leaves a parameter out, would train every coordinate.
    q = torch.nn.Parameter(torch.zeros(2))
    empty = sparse.Mask.from_bool(torch.zeros(3, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"keyed by the parameter tensors.*'weight'"):
        sparse.MaskedAdam([p], {"weight": empty})
    with pytest.raises(ValueError, match=r"no entry for params\[1\]"):
        sparse.MaskedAdam([p, q], {p: empty})
    with pytest.raises(ValueError, match="not parameters of this optimizer"):
        sparse.MaskedAdam([p], {p: empty, q: None})
    with pytest.raises(ValueError, match="constructor's parameter groups"):
        sparse.MaskedAdam([{"params": [p], "masks": [None]}], [None])
    opt = sparse.MaskedAdam([p], {p: None})  # a dict of masks works too
    # A group added later brings its masks (checked; nothing half-added on error).
    with pytest.raises(ValueError, match=r"sparse.MaskedAdam.add_param_group: 'masks\[0\]' has shape \(3, 4\)"):
        opt.add_param_group({"params": [q], "masks": [empty]})
    assert len(opt.param_groups) == 1
    opt.add_param_group({"params": [q], "masks": [sparse.Mask.from_bool(torch.tensor([True, False]))], "lr": 0.5})
    q.grad = torch.ones(2)
    p.grad = torch.ones(3, 4)
    opt.step()
    assert opt.state[p]["step"] == 1
    assert q[1].item() == 0.0 and q[0].item() != 0.0 and opt.state[q]["exp_avg"].shape == (1,)


# --- masked_perturb_ ------------------------------------------------------------------------------


def test_bfloat16_perturbation_in_blocks_is_the_same_z_rounded_once_for_every_encoding():
    """16-bit weights take the blocked path (256 coordinates a block): every encoding, both index
    types and several blocks per chunk give z rounded once to bfloat16, and nothing else moves."""
    n = 200_000
    dense = sparse.masked_perturb_(np.zeros(n), None, seed=21, scale=1.0)
    for density in (0.01, 0.3):
        selected = np.random.default_rng(22).random(n) < density
        positions = np.flatnonzero(selected)
        masks = [sparse.Mask((n,), indices=positions.astype(np.int32)),
                 sparse.Mask((n,), indices=positions.astype(np.int64)),
                 sparse.Mask.from_bool(selected)]
        start = torch.from_numpy(np.random.default_rng(23).standard_normal(n)).to(torch.bfloat16)
        for mask in masks:
            w = sparse.masked_perturb_(start.clone(), mask, seed=21, scale=0.5)
            expected = round_to(to64(start[torch.from_numpy(selected)]) + 0.5 * dense[selected], "bfloat16")
            assert np.array_equal(bits(w[torch.from_numpy(selected)]), bits(expected)), mask.encoding
            assert np.array_equal(bits(w[torch.from_numpy(~selected)]), bits(start[torch.from_numpy(~selected)]))
    everywhere = sparse.masked_perturb_(torch.zeros(n, dtype=torch.bfloat16), None, seed=21, scale=1.0)
    assert np.array_equal(bits(everywhere), bits(round_to(dense, "bfloat16")))


def test_perturbation_is_the_same_z_for_any_mask_encoding_and_thread_count():
    n = 300_000
    dense = sparse.masked_perturb_(np.zeros(n), None, seed=11, scale=1.0)
    assert dense.dtype == np.float64
    for density in (0.01, 0.5):
        mask, selected = random_mask((n,), density, seed=12, framework="numpy")
        for threads in (1, 2):
            before = mlprims.get_num_threads()
            mlprims.set_num_threads(threads)
            try:
                w = sparse.masked_perturb_(np.zeros(n), mask, seed=11, scale=1.0)
            finally:
                mlprims.set_num_threads(before)
            assert np.array_equal(w[selected], dense[selected]) and not np.any(w[~selected])
    again = sparse.masked_perturb_(np.zeros(n), None, seed=11, scale=1.0)
    assert np.array_equal(again, dense)
    assert not np.array_equal(sparse.masked_perturb_(np.zeros(n), None, seed=12, scale=1.0), dense)


def test_perturbation_z_is_standard_normal():
    stats = pytest.importorskip("scipy.stats")
    n = 400_000
    z = sparse.masked_perturb_(np.zeros(n), None, seed=2024, scale=1.0)
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.var() - 1.0) < 5 * math.sqrt(2 / n)
    assert abs(stats.skew(z)) < 5 * math.sqrt(6 / n)
    assert abs(stats.kurtosis(z)) < 5 * math.sqrt(24 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # neighbouring positions and neighbouring parameters are uncorrelated
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 5 / math.sqrt(n)
    first, second = sparse.masked_perturb_([np.zeros(n), np.zeros(n)], None, seed=2024, scale=1.0)
    assert np.array_equal(first, z) and abs(np.corrcoef(first, second)[0, 1]) < 5 / math.sqrt(n)


def test_perturb_and_unperturb_restores_float32_to_one_rounding():
    rng = np.random.default_rng(13)
    w0 = rng.standard_normal(200_000).astype(np.float32)
    eps = 1e-3
    w = w0.copy()
    sparse.masked_perturb_(w, None, seed=5, scale=eps)
    perturbed = w.astype(np.float64)
    sparse.masked_perturb_(w, None, seed=5, scale=-eps)
    error = np.abs(w.astype(np.float64) - w0)
    assert np.all(error <= ulp(np.maximum(np.abs(perturbed), np.abs(w0)), "float32"))
    same_binade = np.frexp(perturbed)[1] == np.frexp(w0.astype(np.float64))[1]
    assert np.array_equal(w[same_binade], w0[same_binade])  # exact unless the perturbation changed binade
    assert same_binade.mean() > 0.99


def test_perturb_bad_input_is_a_clear_error():
    w = np.zeros(4)
    with pytest.raises(TypeError, match="'seed' must be an integer"):
        sparse.masked_perturb_(w, None, seed=1.5, scale=1.0)
    with pytest.raises(ValueError, match="'seed'"):
        sparse.masked_perturb_(w, None, seed=-1, scale=1.0)
    with pytest.raises(ValueError, match="'scale'"):
        sparse.masked_perturb_(w, None, seed=1, scale=float("nan"))
    with pytest.raises(ValueError, match="one entry"):
        sparse.masked_perturb_([w, w.copy()], [None], seed=1, scale=1.0)
    with pytest.raises(ValueError, match="has shape"):
        sparse.masked_perturb_(w, sparse.Mask.from_bool(np.ones(5, dtype=bool)), seed=1, scale=1.0)
    with pytest.raises(TypeError, match="dtype"):
        sparse.masked_perturb_(np.zeros(4, dtype=np.int64), None, seed=1, scale=1.0)


# --- ZerothOrderSGD -------------------------------------------------------------------------------


def regression_problem(seed=14, n=64, d=12):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.01 * rng.standard_normal(n)
    return X, y


def test_zeroth_order_sgd_equals_a_dense_numpy_mezo_with_the_same_z_and_reduces_the_loss():
    X, y = regression_problem()
    d = X.shape[1]
    selected = np.arange(d) % 3 != 0
    mask = sparse.Mask.from_bool(torch.from_numpy(selected))
    theta = torch.nn.Parameter(torch.zeros(d, dtype=torch.float64))
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    lr, eps, seed = 0.02, 1e-3, 99
    opt = sparse.ZerothOrderSGD([theta], lr=lr, eps=eps, masks=[mask], seed=seed)

    def loss_torch():
        return float(((Xt @ theta - yt) ** 2).mean())

    def loss_numpy(t):
        return float(((X @ t - y) ** 2).mean())

    reference = np.zeros(d)
    losses = []
    for step in range(200):
        losses.append(opt.step(loss_torch))
        # the reference draws the same z: the step's seed, parameter 0
        z = sparse.masked_perturb_([np.zeros(d)], None, seed=_core.sparse.stream_seed(seed, step), scale=1.0)[0]
        z = z * selected
        g = (loss_numpy(reference + eps * z) - loss_numpy(reference - eps * z)) / (2 * eps)
        reference = reference - lr * g * z
    assert np.allclose(theta.detach().numpy(), reference, rtol=1e-9, atol=1e-12)
    assert np.array_equal(theta.detach().numpy()[~selected], np.zeros(int((~selected).sum())))
    assert losses[-1] < 0.5 * losses[0]


def test_zeroth_order_mask_rule_sees_the_unperturbed_weights():
    theta = torch.nn.Parameter(torch.linspace(-1, 1, 50, dtype=torch.float64))
    seen = []

    def rule(p):
        seen.append(p.clone())
        return sparse.Mask.below(p, 0.5)

    opt = sparse.ZerothOrderSGD([theta], lr=1e-2, masks=rule, seed=1)
    for _ in range(3):
        before = theta.detach().clone()
        opt.step(lambda: float((theta**2).sum()))
        assert torch.equal(seen[-1], before)
        changed = (theta.detach() != before).numpy()
        assert not np.any(changed[np.abs(before.numpy()) >= 0.5])


def test_zeroth_order_sgd_state_dict_and_bad_input():
    theta = torch.nn.Parameter(torch.ones(5))
    opt = sparse.ZerothOrderSGD([theta], lr=1e-3, seed=3)
    opt.step(lambda: float(theta.sum()))
    saved = opt.state_dict()
    other = sparse.ZerothOrderSGD([theta], lr=1e-3, seed=4)
    other.load_state_dict(saved)
    assert other.seed == 3 and other.steps == 1
    with pytest.raises(TypeError, match="closure"):
        opt.step(None)
    before = theta.detach().clone()
    with pytest.raises(ValueError, match="not finite"):
        opt.step(lambda: float("nan"))
    assert torch.allclose(theta.detach(), before, rtol=0, atol=2**-23)  # restored (to rounding), not updated
    # A closure that raises or returns a non-scalar: the error propagates and theta is put back.
    with pytest.raises(TypeError, match="'closure' must return a number or a one-element tensor, got Tensor of shape"):
        opt.step(lambda: torch.ones(3))
    assert torch.allclose(theta.detach(), before, rtol=0, atol=2**-22)
    calls = []

    def fails_second_time():
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("loss failed")
        return 0.0

    with pytest.raises(RuntimeError, match="loss failed"):
        opt.step(fails_second_time)
    assert torch.allclose(theta.detach(), before, rtol=0, atol=2**-21)
    with pytest.raises(TypeError, match="'seed' must be an integer"):
        sparse.ZerothOrderSGD([theta], seed="x")
    with pytest.raises(ValueError, match="'eps'"):
        sparse.ZerothOrderSGD([theta], eps=0.0)
    # The parameters are checked at construction whatever the masks (not at the first step).
    transposed = torch.nn.Parameter(torch.zeros(3, 4).t())
    for masks in (None, lambda p: None):
        with pytest.raises(ValueError, match=r"sparse.ZerothOrderSGD: 'params\[0\]'"):
            sparse.ZerothOrderSGD([transposed], masks=masks)


# --- SSD ------------------------------------------------------------------------------------------


def ssd_reference(param64, forget64, retain64, alpha, lam):
    selected = forget64 > alpha * retain64
    factor = np.ones_like(param64)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor[selected] = np.minimum(lam * retain64[selected] / forget64[selected], 1.0)
    return param64 * factor, int(selected.sum())


@pytest.mark.parametrize("dtype", ["bfloat16", "float32", "float64"])
def test_ssd_equals_the_numpy_reference_exactly(dtype):
    rng = np.random.default_rng(15)
    shape = (70, 90)
    param = round_to(rng.standard_normal(shape), dtype)
    forget = torch.from_numpy(rng.exponential(size=shape).astype(np.float32))
    retain = torch.from_numpy(rng.exponential(size=shape).astype(np.float32) * 0.2)
    retain[0, :3] = 0.0
    forget[0, 3] = 0.0
    expected64, count = ssd_reference(to64(param), to64(forget), to64(retain), alpha=2.0, lam=0.7)
    got = sparse.ssd_dampen_(param, forget, retain, alpha=2.0, lam=0.7)
    assert got == count > 0
    assert np.array_equal(bits(param), bits(round_to(expected64, dtype)))


def test_ssd_refuses_bad_importances_before_changing_anything():
    param = torch.ones(6)
    forget, retain = torch.ones(6), torch.ones(6)
    retain[2] = -1.0
    with pytest.raises(ValueError, match="non-negative"):
        sparse.ssd_dampen_(param, forget, retain)
    forget[1] = float("nan")
    retain[2] = 1.0
    with pytest.raises(ValueError, match="non-negative"):
        sparse.ssd_dampen_(param, forget, retain)
    assert torch.equal(param, torch.ones(6))
    with pytest.raises(ValueError, match="'alpha'"):
        sparse.ssd_dampen_(param, torch.ones(6), torch.ones(6), alpha=-1.0)
    with pytest.raises(ValueError, match="'lam'"):
        sparse.ssd_dampen_(param, torch.ones(6), torch.ones(6), lam=float("inf"))
    with pytest.raises(ValueError, match="parameter's shape"):
        sparse.ssd_dampen_(param, torch.ones(5), torch.ones(6))


@pytest.mark.parametrize("framework", ["numpy", "torch"])
def test_ssd_widens_importances_of_different_dtypes_instead_of_narrowing(framework):
    """A float16 forget importance with a float64 retain one: the tiny retain value must not be
    cast to float16 (it would become 0 and dampen the weight to 0)."""
    forget = np.array([1e-3, 0.0, 0.0], dtype=np.float16)
    retain = np.array([1e-9, 1.0, 1.0])
    param = np.array([1.0, 2.0, 3.0])
    if framework == "torch":
        forget, retain, param = (torch.from_numpy(a) for a in (forget, retain, param))
    assert sparse.ssd_dampen_(param, forget, retain, alpha=10.0, lam=1.0) == 1
    expected = 1e-9 / float(np.float16(1e-3))
    assert np.isclose(float(param[0]), expected, rtol=1e-15, atol=0) and list(map(float, param[1:])) == [2.0, 3.0]


def test_importance_is_the_mean_squared_minibatch_gradient_and_drives_ssd():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    batches = [(torch.randn(4, 5), torch.randn(4, 1)) for _ in range(3)]
    loss_fn = torch.nn.functional.mse_loss
    result = sparse.importance(model, batches, loss_fn)
    for name, p in model.named_parameters():
        expected = torch.zeros_like(p)
        for x, y in batches:
            (grad,) = torch.autograd.grad(loss_fn(model(x), y), p)
            expected += grad**2
        assert torch.allclose(result[name], expected / 3, rtol=1e-6, atol=0)
        assert p.grad is None
    weight = model[0].weight
    count = sparse.ssd_dampen_(weight, result["0.weight"], torch.full_like(weight, 1e-3), alpha=1.0)
    assert 0 < count <= weight.numel()
    with pytest.raises(ValueError, match="no batches"):
        sparse.importance(model, [], loss_fn)
    with pytest.raises(TypeError, match="pairs"):
        sparse.importance(model, [torch.randn(4, 5)], loss_fn)


# --- the worked example -----------------------------------------------------------------------------


def test_training_the_mask_of_a_dense_fine_tune_reaches_its_loss():
    """Fine-tune a randomly initialized MLP densely on a noisy synthetic task, take the 30% largest
    entries of each tensor's delta as the mask, and train only those from the base with MaskedAdam
    (three times as many steps, each touching 30% of the coordinates): the loss comes within 5% of
    the dense fine-tune's, with optimizer state for 30% of the parameters."""
    torch.manual_seed(1)
    X = torch.randn(4096, 16, dtype=torch.float64)

    def mlp():
        return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1)).double()

    teacher = mlp()
    with torch.no_grad():
        y = teacher(X) + 0.2 * torch.randn(4096, 1, dtype=torch.float64)
    base_state = {k: v.clone() for k, v in mlp().state_dict().items()}

    def loss(model):
        return torch.nn.functional.mse_loss(model(X), y)

    def train(optimizer_for, steps):
        model = mlp()
        model.load_state_dict(base_state)
        optimizer = optimizer_for(model)
        with torch.no_grad():
            start = float(loss(model))
        for _ in range(steps):
            optimizer.zero_grad()
            loss(model).backward()
            optimizer.step()
        with torch.no_grad():
            return model, optimizer, start, float(loss(model))

    dense, _, base_loss, dense_loss = train(lambda m: torch.optim.AdamW(m.parameters(), lr=1e-2, weight_decay=0.0), 200)
    masks = [sparse.Mask.from_delta(sparse.extract(base_state[name], p.detach(), density=0.3))
             for name, p in dense.named_parameters()]
    masked, opt, _, masked_loss = train(
        lambda m: sparse.MaskedAdam(list(m.parameters()), masks, lr=1e-2, weight_decay=0.0), 600)
    assert masked_loss <= 1.05 * dense_loss and dense_loss < 0.2 * base_loss, (masked_loss, dense_loss, base_loss)
    state_bytes = sum(s["exp_avg"].nbytes + s["exp_avg_sq"].nbytes for s in opt.state.values())
    assert state_bytes <= 0.31 * sum(2 * p.nbytes for p in masked.parameters())
    for (name, p), mask in zip(masked.named_parameters(), masks):  # nothing outside the mask moved
        outside = ~mask.to_bool()
        assert torch.equal(p.detach()[outside], base_state[name][outside])


@pytest.mark.cuda
def test_cuda_parameters_and_masks_are_a_type_error_until_the_cuda_back_end_exists():
    w = torch.nn.Parameter(torch.zeros(8, device="cuda"))
    mask = sparse.Mask.from_bool(torch.arange(8) < 3)
    with pytest.raises(TypeError, match="CPU memory"):
        sparse.MaskedAdam([w], [mask])
    with pytest.raises(TypeError, match="CPU memory"):
        sparse.masked_perturb_(w, mask, seed=0, scale=1.0)
    with pytest.raises(TypeError, match="CPU memory"):
        sparse.Mask.from_bool(torch.ones(8, dtype=torch.bool, device="cuda"))
    with pytest.raises(TypeError, match="CPU memory"):
        sparse.ssd_dampen_(w, torch.ones(8, device="cuda"), torch.ones(8, device="cuda"))


@pytest.mark.parametrize("shape", [(0,), (3, 0)])
def test_empty_parameters_and_masks(shape):
    w = torch.nn.Parameter(torch.zeros(shape))
    mask = sparse.Mask.from_bool(torch.zeros(shape, dtype=torch.bool))
    assert mask.nnz == 0 and mask.density == 0.0
    opt = sparse.MaskedAdam([w], [mask])
    w.grad = torch.zeros(shape)
    opt.step()
    sparse.masked_perturb_(w, mask, seed=0, scale=1.0)
    assert sparse.ssd_dampen_(w, torch.zeros(shape), torch.zeros(shape)) == 0
    assert mask.gather(w).shape == (0,)
