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
