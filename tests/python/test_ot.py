"""mlprims.ot against independent references: a dense Newton solve of the dual in float64 (its own
code, full Hessian, run to rounding level) and POT's log-domain Sinkhorn run long."""

import hashlib

import numpy as np
import pytest
from mlprims import ot

torch = pytest.importorskip("torch")


_reference_solves = {}


def _reference(a, b, C, reg, iterations=60):
    """_dense_newton_reference(a, b, C, reg, iterations), remembered by the inputs' bytes: several
    methods are checked against one problem, and a solve takes seconds at tiny reg."""
    arrays = [np.ascontiguousarray(x, dtype=np.float64) for x in (a, b, C)]
    key = (hashlib.sha256(b"".join(x.tobytes() for x in arrays)).hexdigest(), C.shape, reg, iterations)
    if key not in _reference_solves:
        _reference_solves[key] = _dense_newton_reference(*arrays, reg, iterations)
    return tuple(x.copy() if isinstance(x, np.ndarray) else x for x in _reference_solves[key])


def _dense_newton_reference(a, b, C, reg, iterations):
    """Potentials of the entropic problem by Newton's method on the dual with the exact Hessian
    (dense numpy algebra, last g held at 0, its diagonal raised by 1e-10 relative against the
    near-singularity of small reg, halving steps that lower the dual), from a log-domain Sinkhorn
    start; independent of mlprims' sparse solver."""
    from scipy.special import logsumexp, xlogy

    n, m = C.shape
    f, g = np.zeros(n), np.zeros(m)
    for stage_reg in [reg * 10.0**k for k in range(int(np.log10(max(np.ptp(C), reg) / reg)), 0, -1)] + [reg]:
        for _ in range(3000 if stage_reg == reg else 300):  # from reg 10^k down to reg: a start near the solution
            f = stage_reg * (np.log(a) - logsumexp((g[None, :] - C) / stage_reg, axis=1))
            g = stage_reg * (np.log(b) - logsumexp((f[:, None] - C) / stage_reg, axis=0))

    def dual(f, g):
        return a @ f + b @ g - reg * np.exp((f[:, None] + g[None, :] - C) / reg).sum()

    for _ in range(iterations):
        P = np.exp((f[:, None] + g[None, :] - C) / reg)
        grad = np.concatenate([a - P.sum(1), b - P.sum(0)])
        if np.abs(grad).sum() < 1e-15:
            break
        H = np.block([[np.diag(P.sum(1)), P], [P.T, np.diag(P.sum(0))]])[:-1, :-1]
        H[np.diag_indices_from(H)] *= 1 + 1e-10
        step = reg * np.append(np.linalg.solve(H, grad[:-1]), 0.0)
        alpha, start = 1.0, dual(f, g)
        while not dual(f + alpha * step[:n], g + alpha * step[n:]) >= start - 1e-15 * abs(start):
            alpha /= 2  # also when the trial overflows
            if alpha < 1e-6:
                raise AssertionError("the reference Newton iteration failed")
        f, g = f + alpha * step[:n], g + alpha * step[n:]
    P = np.exp((f[:, None] + g[None, :] - C) / reg)
    return f, g, P, float((P * C).sum() + reg * xlogy(P, P).sum())


def _problem(n=40, m=30, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    a = rng.random(n) + 0.1
    b = rng.random(m) + 0.1
    a /= a.sum()
    b /= b.sum()
    return a, b, scale * rng.random((n, m))


def _marginal_error(P, a, b):
    return np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - b).sum()


@pytest.mark.parametrize("method", ["sinkhorn", "sns", "auto"])
@pytest.mark.parametrize("reg", [1e-1, 1e-2, 2e-3])
def test_matches_the_dense_newton_reference(method, reg):
    a, b, C = _problem()
    f_ref, g_ref, P_ref, objective_ref = _reference(a, b, C, reg)
    assert _marginal_error(P_ref, a, b) < 1e-13  # the reference itself
    r = ot.sinkhorn(a, b, C, reg, method=method, tol=1e-13)
    assert r.converged and r.marginal_error <= 1e-13
    P = r.plan()
    # what is reported describes what is returned (to the rounding of n + m sums of mass 1)
    assert r.marginal_error == pytest.approx(_marginal_error(P, a, b), rel=1e-6, abs=4 * 70 * 2.2e-16)
    np.testing.assert_allclose(P, np.exp((r.f[:, None] + r.g[None, :] - C) / reg), rtol=1e-14)
    assert abs(r.objective - objective_ref) <= 1e-10 * abs(objective_ref)
    assert abs(r.transport_cost - (P_ref * C).sum()) <= 1e-10 * (P_ref * C).sum()
    # potentials match up to the shift; ours has <a, f> = <b, g>
    shift = np.mean(r.f - f_ref)
    np.testing.assert_allclose(r.f - shift, f_ref, atol=1e-9 * reg + 1e-12)
    np.testing.assert_allclose(r.g + shift, g_ref, atol=1e-9 * reg + 1e-12)
    assert np.dot(a, r.f) == pytest.approx(np.dot(b, r.g), rel=1e-12, abs=1e-15)


def test_default_tolerance_and_pot_agree():
    pot = pytest.importorskip("ot")
    a, b, C = _problem(60, 50, seed=1)
    r = ot.sinkhorn(a, b, C, 0.05)
    assert r.converged and r.marginal_error <= 1e-9
    P_pot = pot.sinkhorn(a, b, C, 0.05, method="sinkhorn_log", numItermax=100000, stopThr=1e-14)
    np.testing.assert_allclose(r.plan(), P_pot, atol=1e-9)


def test_sns_needs_far_fewer_iterations_at_small_reg():
    rng = np.random.default_rng(3)
    C = rng.random((300, 300))
    sinkhorn = ot.sinkhorn(None, None, C, 2e-3, method="sinkhorn")
    sns = ot.sinkhorn(None, None, C, 2e-3, method="sns")
    assert sinkhorn.converged and sns.converged and sns.method == "sns"
    assert sns.iterations["newton"] > 0
    total = sns.iterations["sinkhorn"] + sns.iterations["newton"]
    assert 10 * total <= sinkhorn.iterations["sinkhorn"], (sns.iterations, sinkhorn.iterations)
    np.testing.assert_allclose(sns.plan(), sinkhorn.plan(), atol=2e-9)


@pytest.mark.parametrize("method", ["sinkhorn", "sns", "auto"])
@pytest.mark.parametrize("case", ["tiny reg", "large costs"])
def test_extreme_scales_stay_finite_and_converge(case, method):
    rng = np.random.default_rng(4)
    C = rng.random((120, 100))
    a, b = np.full(120, 1 / 120), np.full(100, 1 / 100)
    reg = 1e-4
    if case == "large costs":  # costs on a scale of 1e3 at reg 1e-2: reg / range 1e-5
        C, reg = 1e3 * C, 1e-2
    if method == "sinkhorn":
        # Sinkhorn's rate degrades like exp(-range / reg): here it needs more than max_iter, and says so
        with pytest.warns(RuntimeWarning, match="not converged"):
            r = ot.sinkhorn(None, None, C, reg, method=method)
        assert not r.converged and np.isfinite(r.f).all() and r.marginal_error > 1e-9
        assert r.marginal_error == pytest.approx(_marginal_error(r.plan(), a, b), rel=1e-6)
        return
    r = ot.sinkhorn(None, None, C, reg, method=method)
    assert r.converged and np.isfinite(r.f).all() and np.isfinite(r.g).all()
    assert np.isfinite(r.objective) and r.marginal_error <= 1e-9
    P = r.plan()
    assert _marginal_error(P, a, b) <= 2e-9
    _, _, P_ref, objective_ref = _reference(a, b, C, reg)
    # the reference itself, to the rounding of (f + g - C) / reg: about eps range / reg per entry
    assert _marginal_error(P_ref, a, b) < 1e-12 + 4 * np.finfo(float).eps * np.ptp(C) / reg
    # two plans with marginal errors e1, e2 differ by about e1 + e2 in l1 (not more than 1e3x that)
    assert np.abs(P - P_ref).sum() <= 1e-6
    assert abs(r.objective - objective_ref) <= 1e-9 * abs(objective_ref)


def test_sns_widens_its_sparse_hessian_where_the_plan_spreads():
    # smooth costs at a moderate reg: each row of the plan spreads over tens of points, more than
    # the 10 entries a row kept at first hold 0.99 of; sns keeps more of them (up to a quarter of
    # a row) instead of never starting Newton
    rng = np.random.default_rng(7)
    x, y = rng.random((200, 2)), rng.random((200, 2)) + 0.5
    C = _squared_distances(x, y)
    C /= C.max()
    sns = ot.sinkhorn(None, None, C, 1e-2, method="sns", tol=1e-12)
    sinkhorn = ot.sinkhorn(None, None, C, 1e-2, method="sinkhorn", tol=1e-12)
    assert sns.converged and sns.iterations["newton"] > 0
    assert sns.iterations["sinkhorn"] + sns.iterations["newton"] < sinkhorn.iterations["sinkhorn"]
    assert abs(sns.objective - sinkhorn.objective) <= 1e-10 * sinkhorn.objective
    # a density given is kept: 10 entries a row never hold 0.99 of this plan, so no Newton step
    fixed = ot.sinkhorn(None, None, C, 1e-2, method="sns", tol=1e-12, density=0.05)
    assert fixed.converged and fixed.iterations["newton"] == 0


def test_auto_resumes_its_kernel_and_matches_sinkhorn_on_easy_problems():
    # auto stops Sinkhorn to decide on Newton and goes on from the kernel it had: the same iterates
    rng = np.random.default_rng(8)
    C = rng.random((150, 120))
    auto = ot.sinkhorn(None, None, C, 0.1, method="auto", tol=1e-12, warmup=3)
    sinkhorn = ot.sinkhorn(None, None, C, 0.1, method="sinkhorn", tol=1e-12)
    assert auto.iterations["newton"] == 0
    assert abs(auto.iterations["sinkhorn"] - sinkhorn.iterations["sinkhorn"]) <= 1
    np.testing.assert_allclose(auto.plan(), sinkhorn.plan(), rtol=0, atol=1e-13)


def test_sns_converges_in_few_steps_where_the_plan_nearly_splits():
    # reg / range 1e-5 on a random cost: the sparse Hessian's condition number passes 1e16 and
    # conjugate gradient stalls; the direct solve and the epsilon-scaling start keep Newton fast.
    rng = np.random.default_rng(6)
    C = rng.random((400, 400))
    r = ot.sinkhorn(None, None, C, 1e-5, method="sns", tol=1e-8)
    assert r.converged and r.marginal_error <= 1e-8
    assert r.iterations["newton"] <= 60 and r.iterations["sinkhorn"] <= 5000, r.iterations


def test_float32_reaches_its_documented_tolerance():
    a, b, C = _problem(50, 40, seed=5)
    r = ot.sinkhorn(a.astype(np.float32), b.astype(np.float32), C.astype(np.float32), 0.05)
    assert r.f.dtype == np.float32 and r.converged and r.marginal_error <= 1e-5
    P = np.exp((r.f.astype(np.float64)[:, None] + r.g.astype(np.float64)[None, :] - C.astype(np.float32)) / 0.05)
    assert r.marginal_error == pytest.approx(_marginal_error(P, a.astype(np.float32), b.astype(np.float32)), rel=1e-3)


def test_batched_equals_looped():
    problems = [_problem(30, 20, seed=s) for s in range(4)]
    a = np.stack([p[0] for p in problems])
    b = np.stack([p[1] for p in problems])
    C = np.stack([p[2] for p in problems])
    batch = ot.sinkhorn(a, b, C, 0.01, tol=1e-12)
    assert batch.f.shape == (4, 30) and batch.objective.shape == (4,) and batch.converged.all()
    for k, (ak, bk, Ck) in enumerate(problems):
        one = ot.sinkhorn(ak, bk, Ck, 0.01, tol=1e-12)
        np.testing.assert_allclose(batch.f[k], one.f, atol=1e-13)
        assert batch.objective[k] == pytest.approx(one.objective, rel=1e-12)
    assert batch.plan().shape == (4, 30, 20)


@pytest.mark.parametrize("cost", ["sqeuclidean", "euclidean"])
@pytest.mark.parametrize("method", ["sinkhorn", "sns"])
def test_points_equal_dense(cost, method):
    rng = np.random.default_rng(6)
    x, y = rng.random((70, 3)), rng.random((50, 3))
    C = ((x[:, None] - y[None]) ** 2).sum(-1)
    if cost == "euclidean":
        C = np.sqrt(C)
    dense = ot.sinkhorn(None, None, C, 5e-3, method=method, tol=1e-12)
    points = ot.sinkhorn_points(x, y, 5e-3, cost=cost, method=method, tol=1e-12)
    assert points.converged
    np.testing.assert_allclose(points.f, dense.f, atol=1e-11)
    np.testing.assert_allclose(points.plan(), dense.plan(), atol=1e-12)
    assert points.objective == pytest.approx(dense.objective, rel=1e-10)


def test_zero_weights_give_minus_infinity_potentials_and_zero_plan_rows():
    a, b, C = _problem(20, 15, seed=7)
    a[3] = 0.0
    b[[0, 14]] = 0.0
    a /= a.sum()
    b /= b.sum()
    r = ot.sinkhorn(a, b, C, 0.02, tol=1e-12)
    assert r.converged and r.f[3] == -np.inf and np.isneginf(r.g[[0, 14]]).all()
    assert not np.isnan(r.f).any() and not np.isnan(r.g).any()
    P = r.plan()
    assert (P[3] == 0).all() and (P[:, [0, 14]] == 0).all()
    keep_a, keep_b = np.flatnonzero(a), np.flatnonzero(b)
    sub = ot.sinkhorn(a[keep_a], b[keep_b], C[np.ix_(keep_a, keep_b)], 0.02, tol=1e-12)
    assert r.objective == pytest.approx(sub.objective, rel=1e-12)


def test_warm_start_from_the_solution_needs_one_iteration():
    a, b, C = _problem(seed=8)
    r = ot.sinkhorn(a, b, C, 0.01, method="sinkhorn")
    again = ot.sinkhorn(a, b, C, 0.01, method="sinkhorn", warm_start=(r.f, r.g))
    assert again.iterations["sinkhorn"] <= 2


def test_eps_scaling_converges_to_the_same_plan():
    a, b, C = _problem(seed=9)
    plain = ot.sinkhorn(a, b, C, 1e-3, method="sinkhorn", tol=1e-11)
    scaled = ot.sinkhorn(a, b, C, 1e-3, method="sinkhorn", tol=1e-11, eps_scaling=True)
    np.testing.assert_allclose(scaled.plan(), plain.plan(), atol=1e-11)


def test_not_converging_warns_and_says_so():
    a, b, C = _problem(seed=10)
    with pytest.warns(RuntimeWarning, match="not converged"):
        r = ot.sinkhorn(a, b, C, 1e-3, method="sinkhorn", max_iter=3)
    assert not r.converged and r.marginal_error > 1e-9
    P = r.plan()
    assert r.marginal_error == pytest.approx(_marginal_error(P, a, b), rel=1e-9)


def test_callback_sees_each_iteration_and_can_stop():
    a, b, C = _problem(seed=11)
    seen = []
    with pytest.warns(RuntimeWarning):
        r = ot.sinkhorn(a, b, C, 1e-3, method="sinkhorn", callback=lambda k, e: seen.append((k, e)) or k >= 5)
    assert [k for k, _ in seen] == [1, 2, 3, 4, 5] and r.iterations["sinkhorn"] == 5


def test_sinkhorn2_gradients_match_finite_differences():
    a, b, C = _problem(12, 10, seed=12)
    reg = 0.05
    Ct = torch.tensor(C, requires_grad=True)
    at, bt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    value = ot.sinkhorn2(at, bt, Ct, reg, tol=1e-14)
    value.backward()

    def objective(a_, b_, C_):
        return float(ot.sinkhorn2(a_, b_, C_, reg, tol=1e-14))

    h = 1e-4  # central differences: truncation O(h^2), rounding ~1e-17 / h
    E = np.zeros_like(C)
    E[2, 3] = h
    fd = (objective(a, b, C + E) - objective(a, b, C - E)) / (2 * h)
    assert Ct.grad[2, 3].item() == pytest.approx(fd, rel=1e-6, abs=1e-11)
    # a direction that keeps the sums equal: mass moved between two entries of a and of b
    da, db = np.zeros_like(a), np.zeros_like(b)
    da[[1, 4]] = [h, -h]
    db[[0, 7]] = [h, -h]
    fd = (objective(a + da, b + db, C) - objective(a - da, b - db, C)) / (2 * h)
    predicted = (at.grad.numpy() @ da + bt.grad.numpy() @ db) / h
    assert predicted == pytest.approx(fd, rel=1e-5)
    assert abs(at.grad.sum().item()) < 1e-12  # centered


def test_sinkhorn2_is_not_twice_differentiable_silently():
    C = torch.rand(6, 5, dtype=torch.float64, requires_grad=True)
    value = ot.sinkhorn2(None, None, C, 0.1)
    (grad,) = torch.autograd.grad(value, C, create_graph=True)
    with pytest.raises(RuntimeError):
        grad.sum().backward()


def test_bad_input_is_a_clear_error():
    a, b, C = _problem(5, 4)
    with pytest.raises(ValueError, match=r"sinkhorn: 'a' must hold finite non-negative weights, got -0.1"):
        ot.sinkhorn(np.array([0.5, 0.3, 0.2, 0.1, -0.1]), b, C, 0.1)
    with pytest.raises(ValueError, match=r"sinkhorn: 'a' must hold finite non-negative weights, got nan"):
        ot.sinkhorn(np.array([0.5, 0.3, np.nan, 0.1, 0.1]), b, C, 0.1)
    with pytest.raises(ValueError, match=r"same total mass .* got sums"):
        ot.sinkhorn(2 * a, b, C, 0.1)
    with pytest.raises(ValueError, match=r"sinkhorn: 'a' must have shape \(5,\)"):
        ot.sinkhorn(a[:3], b, C, 0.1)
    with pytest.raises(ValueError, match=r"sinkhorn: 'reg' must be"):
        ot.sinkhorn(a, b, C, 0.0)
    with pytest.raises(ValueError, match=r"sinkhorn: 'reg' must be"):
        ot.sinkhorn(a, b, C, np.inf)
    bad = C.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"sinkhorn: 'C' must be finite, got nan"):
        ot.sinkhorn(a, b, bad, 0.1)
    with pytest.raises(ValueError, match=r"sinkhorn: 'C' must not be empty"):
        ot.sinkhorn(None, None, np.zeros((0, 3)), 0.1)
    with pytest.raises(ValueError, match=r"sinkhorn: 'C' must be 2-D"):
        ot.sinkhorn(None, None, np.zeros(3), 0.1)
    with pytest.raises(ValueError, match=r"sinkhorn: 'method' must be one of"):
        ot.sinkhorn(a, b, C, 0.1, method="newton")
    with pytest.raises(TypeError, match=r"sinkhorn: unknown option\(s\) lambda_"):
        ot.sinkhorn(a, b, C, 0.1, lambda_=3)
    with pytest.raises(TypeError, match=r"sinkhorn: 'b' must be of the same array type"):
        ot.sinkhorn(a, torch.tensor(b), C, 0.1)
    with pytest.raises(ValueError, match=r"sinkhorn_points: 'y' must have as many columns as 'x' \(2\)"):
        ot.sinkhorn_points(np.zeros((4, 2)), np.zeros((3, 3)), 0.1)
    with pytest.raises(ValueError, match=r"sinkhorn_points: 'cost' must be 'sqeuclidean' or 'euclidean'"):
        ot.sinkhorn_points(np.zeros((4, 2)), np.zeros((3, 2)), 0.1, cost="l1")


@pytest.mark.cuda
def test_cuda_inputs_are_a_type_error_until_the_back_end_exists():
    C = torch.rand(5, 4, device="cuda", dtype=torch.float64)
    with pytest.raises(TypeError, match=r"sinkhorn: 'C' must be a CPU array: the CUDA back end of ot is not built yet"):
        ot.sinkhorn(None, None, C, 0.1)


def _clouds(n=30, m=25, d=2, seed=20):
    rng = np.random.default_rng(seed)
    a, b = rng.random(n) + 0.2, rng.random(m) + 0.2
    return rng.random((n, d)), rng.random((m, d)) + 0.3, a / a.sum(), b / b.sum()


def _squared_distances(p, q):
    return ((p[:, None, :] - q[None, :, :]) ** 2).sum(-1)


@pytest.mark.parametrize("cost", ["sqeuclidean", "euclidean"])
def test_sinkhorn_divergence_matches_three_dense_reference_solves(cost):
    x, y, a, b = _clouds()
    reg = 0.05

    def reference(p, q, wp, wq):
        C = _squared_distances(p, q)
        return _reference(wp, wq, C if cost == "sqeuclidean" else np.sqrt(C), reg)[3]

    expected = reference(x, y, a, b) - 0.5 * (reference(x, x, a, a) + reference(y, y, b, b))
    value = ot.sinkhorn_divergence(x, y, reg, a=a, b=b, cost=cost, tol=1e-13)
    assert value.dtype == np.float64 and value.shape == ()
    assert abs(float(value) - expected) <= 1e-10 * abs(expected)
    assert float(ot.sinkhorn_divergence(x, x, reg, a=a, b=a, cost=cost)) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("cost", ["sqeuclidean", "euclidean"])
def test_sinkhorn_divergence_gradients_match_finite_differences(cost):
    x, y, a, b = _clouds(12, 10, seed=21)
    reg, h = 0.1, 1e-5
    tensors = [torch.tensor(v, requires_grad=True) for v in (x, y, a, b)]
    ot.sinkhorn_divergence(*tensors[:2], reg, a=tensors[2], b=tensors[3], cost=cost, tol=1e-14).backward()

    def value(xv, yv, av, bv):
        return float(ot.sinkhorn_divergence(xv, yv, reg, a=av, b=bv, cost=cost, tol=1e-14))

    rng = np.random.default_rng(22)
    for which in range(4):
        direction = rng.standard_normal(tensors[which].shape)
        if which >= 2:  # weights move within their simplex: a zero-sum direction
            direction -= direction.mean()
        args = [x, y, a, b]
        plus = [v + h * direction if k == which else v for k, v in enumerate(args)]
        minus = [v - h * direction if k == which else v for k, v in enumerate(args)]
        numeric = (value(*plus) - value(*minus)) / (2 * h)
        analytic = float((tensors[which].grad.numpy() * direction).sum())
        assert analytic == pytest.approx(numeric, rel=1e-6, abs=1e-9), which


def test_sinkhorn_divergence_weight_gradient_is_finite_at_zero_weights():
    x, y, a, b = _clouds(20, 15, seed=23)
    a[:3] = 0.0
    a /= a.sum()
    reg, h = 0.05, 1e-7
    weights = torch.tensor(a, requires_grad=True)
    value = ot.sinkhorn_divergence(torch.tensor(x), torch.tensor(y), reg, a=weights, b=b, tol=1e-14)
    value.backward()
    assert torch.isfinite(weights.grad).all()
    direction = np.zeros_like(a)
    direction[0], direction[5] = 1.0, -1.0  # mass onto a point of zero weight: one-sided differences
    numeric = (float(ot.sinkhorn_divergence(x, y, reg, a=a + h * direction, b=b, tol=1e-14)) - value.item()) / h
    analytic = float(weights.grad[0] - weights.grad[5])
    assert analytic == pytest.approx(numeric, rel=1e-4)


def test_sinkhorn_divergence_agrees_with_geomloss():
    geomloss = pytest.importorskip("geomloss")
    torch.manual_seed(0)
    x = torch.rand(60, 2, dtype=torch.float64)
    y = torch.rand(50, 2, dtype=torch.float64) + 0.3
    reg = 0.01
    ours = ot.sinkhorn_divergence(x, y, reg, tol=1e-12)
    # GeomLoss's cost is |x - y|^2 / 2 and its epsilon blur^2: S / 2 at blur = sqrt(reg / 2); its
    # epsilon schedule (scaling 0.999) leaves about 1e-5 of relative error
    loss = geomloss.SamplesLoss("sinkhorn", p=2, blur=np.sqrt(reg / 2), scaling=0.999, backend="tensorized")
    assert float(loss(x, y)) == pytest.approx(float(ours) / 2, rel=1e-4)


def test_sinkhorn_divergence_bad_input_names_the_function():
    x, y, a, b = _clouds()
    with pytest.raises(ValueError, match="sinkhorn_divergence: 'a' and 'b' must have the same total mass"):
        ot.sinkhorn_divergence(x, y, 0.1, a=a, b=2 * b)
    with pytest.raises(ValueError, match="sinkhorn_divergence: 'cost' must be"):
        ot.sinkhorn_divergence(x, y, 0.1, cost="cosine")
    with pytest.raises(ValueError, match="sinkhorn_divergence: 'y' must have as many columns"):
        ot.sinkhorn_divergence(x, y[:, :1], 0.1)
    with pytest.raises(ValueError, match="sinkhorn_divergence: 'reg'"):
        ot.sinkhorn_divergence(x, y, -1.0)
    value = ot.sinkhorn_divergence(torch.tensor(x, requires_grad=True), torch.tensor(y), 0.1)
    value.backward()
    with pytest.raises(RuntimeError):
        x_twice = torch.tensor(x, requires_grad=True)
        (grad,) = torch.autograd.grad(ot.sinkhorn_divergence(x_twice, torch.tensor(y), 0.1), x_twice,
                                      create_graph=True)
        grad.sum().backward()
