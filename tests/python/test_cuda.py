"""The CUDA back end through torch CUDA tensors: the same results as the CPU, on the caller's
device and stream. Marked `cuda`; skipped without a CUDA device (see conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import guarded_relative_error
from mlprims import special, vmf

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.cuda


@pytest.mark.parametrize("name", ["log_iv", "log_kv", "iv_ratio"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_special_matches_cpu(reference, name, dtype):
    v = torch.from_numpy(reference["grid_v"]).to(dtype)
    x = torch.from_numpy(reference["grid_x"]).to(dtype)
    cpu = getattr(special, name)(v, x)
    gpu = getattr(special, name)(v.cuda(), x.cuda())
    assert gpu.device.type == "cuda" and gpu.dtype == dtype
    err = guarded_relative_error(gpu.cpu().double().numpy(), cpu.double().numpy())
    assert err.max() <= (1e-14 if dtype == torch.float64 else 1e-6)


def test_broadcasting_non_contiguous_and_streams():
    v = torch.linspace(0, 50, 7, dtype=torch.float64, device="cuda")[:, None]
    x = torch.linspace(0.1, 500, 30, dtype=torch.float64, device="cuda")[::3]
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        out = special.log_kv(v, x)
    stream.synchronize()
    expected = special.log_kv(v.cpu(), x.cpu())
    np.testing.assert_allclose(out.cpu().numpy(), expected.numpy(), rtol=1e-14)


def test_autograd_on_gpu():
    x = torch.tensor([0.5, 3.0, 70.0], dtype=torch.float64, device="cuda", requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: special.log_iv(2.5, t), (x,), eps=1e-6, atol=1e-8, rtol=1e-5)


def test_mixed_devices_are_refused():
    with pytest.raises(ValueError, match=r"all inputs must be on one device"):
        special.log_iv(torch.ones(3, device="cuda"), torch.ones(3))
    with pytest.raises(ValueError, match=r"numpy array"):
        special.log_iv(np.ones(3), torch.ones(3, device="cuda"))


def test_vmf_on_gpu():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 32))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    cpu = vmf.fit(X)
    gpu = vmf.fit(torch.from_numpy(X).cuda())
    assert gpu.mu.device.type == "cuda"
    assert gpu.kappa == pytest.approx(cpu.kappa, rel=1e-12)
    np.testing.assert_allclose(gpu.mu.cpu().numpy(), cpu.mu, rtol=1e-12, atol=1e-14)
    lp = vmf.log_prob(torch.from_numpy(X).cuda(), gpu.mu, cpu.kappa)
    np.testing.assert_allclose(lp.cpu().numpy(), vmf.log_prob(X, cpu.mu, cpu.kappa), rtol=1e-12)
    k = torch.logspace(-3, 7, 50, dtype=torch.float64, device="cuda")
    np.testing.assert_allclose(vmf.log_normalizer(k, 8192).cpu().numpy(), vmf.log_normalizer(k.cpu().numpy(), 8192), rtol=1e-14)


# ---------------------------------------------------------------------------------------------
# M-FAC on the GPU: the same answers as the CPU engine (itself tested against dense float64).


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
@pytest.mark.parametrize("block", [None, 16, 100])
def test_mfac_fisher_inverse_matches_cpu(dtype, block):
    from mlprims.mfac import FisherInverse

    rng = np.random.default_rng(0)
    G = torch.from_numpy(rng.standard_normal((24, 300)) * np.logspace(-2, 2, 24)[:, None]).to(dtype)
    cpu = FisherInverse(G, 1e-5, block_size=block)
    gpu = FisherInverse(G.cuda(), 1e-5, block_size=block)
    X = torch.from_numpy(rng.standard_normal((3, 300))).to(torch.float64)
    X[1] = G[5].double()
    tolerance = 1e-12 if dtype == torch.float64 else 1e-5
    for refine in (False, True):
        expected = cpu.ihvp(X, refine=refine)
        got = gpu.ihvp(X.cuda(), refine=refine)
        assert got.device.type == "cuda" and got.dtype == torch.float64
        scale = expected.abs().max()
        assert (got.cpu() - expected).abs().max() <= tolerance * scale
    np.testing.assert_allclose(gpu.diagonal().cpu().numpy(), cpu.diagonal(), rtol=1e-10)
    rows, cols = rng.integers(0, 300, 20), rng.integers(0, 300, 20)
    np.testing.assert_allclose(
        gpu.entries(torch.from_numpy(rows).cuda(), torch.from_numpy(cols).cuda()).cpu().numpy(),
        cpu.entries(rows, cols),
        rtol=1e-10,
        atol=1e-10 * np.abs(cpu.diagonal()).max(),
    )


def test_mfac_refined_backward_error_on_gpu():
    from mlprims.mfac import FisherInverse

    rng = np.random.default_rng(1)
    G = rng.standard_normal((64, 5000)) * np.logspace(-3, 3, 64)[:, None]
    F_apply = lambda y: 1e-8 * y + G.T @ (G @ y) / 64  # noqa: E731
    finv = FisherInverse(torch.from_numpy(G).cuda(), 1e-8)
    for x in (G[3], G[63], rng.standard_normal(5000)):
        y, info = finv.ihvp(torch.from_numpy(x).cuda(), refine=True, return_info=True)
        y = y.cpu().numpy()
        norm_f = np.linalg.norm(G, 2) ** 2 / 64 + 1e-8
        eta = np.linalg.norm(F_apply(y) - x) / (norm_f * np.linalg.norm(y) + np.linalg.norm(x))
        assert eta <= 1e-14, info


@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16"])
def test_mfac_sliding_window_matches_cpu(dtype):
    from mlprims.mfac import SlidingFisherInverse

    rng = np.random.default_rng(2)
    cpu = SlidingFisherInverse(400, 6, 1e-4, dtype=dtype)
    gpu = SlidingFisherInverse(400, 6, 1e-4, dtype=dtype, device="cuda")
    for _ in range(20):
        g = torch.from_numpy(rng.standard_normal(400)).float()
        expected = cpu.update_ihvp(g, refine=True)
        got = gpu.update_ihvp(g.cuda(), refine=True)
        assert got.device.type == "cuda" and got.dtype == torch.float32
        assert (got.cpu() - expected).abs().max() <= 1e-5 * expected.abs().max()
    assert len(gpu) == 6


def test_mfac_obs_prune_and_optimizer_on_gpu():
    from mlprims.mfac import MFAC, FisherInverse, obs_prune

    rng = np.random.default_rng(3)
    G = torch.from_numpy(rng.standard_normal((8, 64)))
    w = torch.from_numpy(rng.standard_normal(64))
    pruned_cpu, mask_cpu = obs_prune(w, FisherInverse(G, 0.01), 0.5)
    pruned_gpu, mask_gpu = obs_prune(w.cuda(), FisherInverse(G.cuda(), 0.01), 0.5)
    assert torch.equal(mask_gpu.cpu(), mask_cpu)
    np.testing.assert_allclose(pruned_gpu.cpu().numpy(), pruned_cpu.numpy(), rtol=1e-10, atol=1e-12)

    models = [torch.nn.Linear(10, 1).double() for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    models[1].cuda()
    optimizers = [MFAC(m.parameters(), lr=0.05, ngrads=4, damp=0.1) for m in models]
    X = torch.from_numpy(rng.standard_normal((32, 10)))
    y = X.sum(dim=1, keepdim=True)
    for _ in range(10):
        for model, optimizer, device in zip(models, optimizers, ("cpu", "cuda")):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(X.to(device)), y.to(device)).backward()
            optimizer.step()
    np.testing.assert_allclose(models[1].weight.detach().cpu().numpy(), models[0].weight.detach().numpy(), rtol=1e-9)
