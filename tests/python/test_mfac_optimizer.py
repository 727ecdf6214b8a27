"""mlprims.mfac.MFAC against a dense float64 implementation of the same update, step for step."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from mlprims.mfac import MFAC  # noqa: E402  (needs torch)


def logistic_problem(seed=0, n=200, p=12):
    rng = np.random.default_rng(seed)
    X = torch.from_numpy(rng.standard_normal((n, p)))
    truth = rng.standard_normal(p)
    labels = torch.from_numpy((rng.random(n) < 1 / (1 + np.exp(-X.numpy() @ truth))).astype(np.float64))
    return X, labels


def make_model(p):
    torch.manual_seed(0)
    weight = torch.nn.Parameter(torch.zeros(p - 2, dtype=torch.float64))
    head = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    bias = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    return weight, head, bias


def loss_of(X, labels, weight, head, bias):
    logits = X[:, :-2] @ weight + X[:, -2:] @ head + bias
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)


class DenseReference:
    """The same step with an explicit d x d Fisher matrix over the gradients present."""

    def __init__(self, groups, ngrads, damp):
        self.groups, self.ngrads, self.damp = groups, ngrads, damp
        self.window, self.momentum = [], None

    def step(self, params_with_grads):
        pieces = []
        for (_lr, _momentum, decay), params in zip(self.groups, params_with_grads):
            for p, grad in params:
                pieces.append(grad + decay * p)
        g = np.concatenate(pieces)
        self.window = (self.window + [g])[-self.ngrads :]
        G = np.array(self.window)
        F = self.damp * np.eye(g.size) + G.T @ G / len(self.window)
        u = np.linalg.solve(F, g)
        updates, offset = [], 0
        if self.momentum is None:
            self.momentum = np.zeros_like(u)
        for (lr, momentum, _decay), params in zip(self.groups, params_with_grads):
            for p, _ in params:
                piece = u[offset : offset + p.size]
                if momentum > 0:
                    self.momentum[offset : offset + p.size] = (
                        momentum * self.momentum[offset : offset + p.size] + (1 - momentum) * piece
                    )
                    piece = self.momentum[offset : offset + p.size]
                updates.append(p - lr * piece)
                offset += p.size
        return updates


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_follows_dense_reference_step_for_step(momentum):
    X, labels = logistic_problem()
    weight, head, bias = make_model(X.shape[1])
    groups = [(0.05, momentum, 1e-3), (0.02, momentum, 0.0)]
    optimizer = MFAC(
        [
            {"params": [weight], "lr": groups[0][0], "weight_decay": groups[0][2]},
            {"params": [head, bias], "lr": groups[1][0], "weight_decay": groups[1][2]},
        ],
        momentum=momentum,
        ngrads=5,
        damp=0.1,
    )
    reference = DenseReference(groups, ngrads=5, damp=0.1)
    ref_params = [p.detach().numpy().copy() for p in (weight, head, bias)]
    losses = []
    for _ in range(25):
        optimizer.zero_grad()
        loss = loss_of(X, labels, weight, head, bias)
        loss.backward()
        losses.append(loss.item())
        # The reference takes its gradient at its own parameters, which must equal ours.
        ref_tensors = [torch.tensor(p, requires_grad=True) for p in ref_params]
        ref_loss = loss_of(X, labels, *ref_tensors)
        ref_loss.backward()
        grads = [t.grad.numpy() for t in ref_tensors]
        ref_params = reference.step(
            [[(ref_params[0], grads[0])], [(ref_params[1], grads[1]), (ref_params[2], grads[2])]]
        )
        optimizer.step()
        # Norm-wise over all parameters: each step's F^{-1} g has a forward error <= c u cond(F)
        # with cond(F) <= 1 + ||g||^2 / damp ~ 3 here (about 1e-14); 25 steps of a non-expansive
        # descent add them up to ~4e-13, and the bound leaves room for the dynamics.
        ours = np.concatenate([p.detach().numpy() for p in (weight, head, bias)])
        theirs = np.concatenate(ref_params)
        assert np.linalg.norm(ours - theirs) <= 1e-10 * max(np.linalg.norm(theirs), 1e-3)
    assert losses[-1] < 0.9 * losses[0]
    assert len(optimizer.window) == 5


def test_closure_parameters_without_gradient_and_float32():
    X, labels = logistic_problem(n=50, p=6)
    weight = torch.nn.Parameter(torch.zeros(6, dtype=torch.float32))
    unused = torch.nn.Parameter(torch.ones(3, dtype=torch.float32))
    optimizer = MFAC([weight, unused], lr=0.1, ngrads=4, damp=1e-3)

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(X.float() @ weight, labels.float())
        loss.backward()
        return loss

    first = optimizer.step(closure).item()
    for _ in range(10):
        last = optimizer.step(closure).item()
    assert last < first
    assert torch.equal(unused.detach(), torch.ones(3))  # zero gradient, zero step
    assert optimizer.window.dtype == "float32"


def test_optimizer_bad_arguments():
    p = torch.nn.Parameter(torch.zeros(3))
    with pytest.raises(ValueError, match="'lr' must be finite and >= 0, got -1"):
        MFAC([p], lr=-1)
    with pytest.raises(ValueError, match=r"'momentum' must be in \[0, 1\), got 1.0"):
        MFAC([p], momentum=1.0)
    with pytest.raises(ValueError, match=r"'ngrads' must be >= 1 and <= 2\*\*62, got 0"):
        MFAC([p], ngrads=0)
    with pytest.raises(ValueError, match="'damp' must be finite and > 0, got 0"):
        MFAC([p], damp=0)
    with pytest.raises(ValueError, match="one floating dtype"):
        MFAC([p, torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))])
    optimizer = MFAC([p])
    with pytest.raises(ValueError, match="cannot be added after construction"):
        optimizer.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))]})


def test_non_finite_gradient_is_refused_and_nothing_changes():
    weight = torch.nn.Parameter(torch.ones(4, dtype=torch.float32))
    optimizer = MFAC([weight], lr=0.1, momentum=0.5, ngrads=2)
    weight.grad = torch.ones(4)
    optimizer.step()
    before = weight.detach().clone()
    buffer = optimizer.state[weight]["momentum_buffer"].clone()
    for bad in (float("nan"), float("inf")):
        weight.grad = torch.tensor([1.0, bad, 0.0, 0.0])
        with pytest.raises(ValueError, match="MFAC.step: the gradient was refused, no parameter changed.*'g' must be finite"):
            optimizer.step()
    assert torch.equal(weight.detach(), before)
    assert torch.equal(optimizer.state[weight]["momentum_buffer"], buffer)
    assert len(optimizer.window) == 1


def test_bfloat16_gradient_beyond_the_storage_range_is_refused():
    """g = grad + weight_decay p is formed in float32: 3.2965e38 + 1e37 is finite there but beyond
    bfloat16's largest value (3.3895e38), so the bfloat16 window refuses it instead of storing inf."""
    weight = torch.nn.Parameter(torch.full((3,), 1e37).to(torch.bfloat16))
    optimizer = MFAC([weight], ngrads=2, weight_decay=1.0)
    weight.grad = torch.zeros(3, dtype=torch.bfloat16)
    optimizer.step()
    before = weight.detach().clone()
    weight.grad = torch.tensor([3.2965e38, 0.0, 0.0]).to(torch.bfloat16)
    assert torch.isfinite(weight.grad.float() + weight.detach().float()).all()
    with pytest.raises(ValueError, match="no parameter changed.*not finite once rounded to the window's dtype bfloat16"):
        optimizer.step()
    assert torch.equal(weight.detach(), before) and len(optimizer.window) == 1


def least_squares(seed=0, n=256, p=20):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, p, generator=generator, dtype=torch.float64)
    y = X @ torch.randn(p, 1, generator=generator, dtype=torch.float64)
    y += 0.1 * torch.randn(n, 1, generator=generator, dtype=torch.float64)
    model = torch.nn.Linear(p, 1).double()
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    return X, y, model


def train(optimizer, model, X, y, steps):
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(X), y)
        loss.backward()
        losses.append(loss.item())
        optimizer.step()
    return losses


def test_default_settings_decrease_a_full_batch_least_squares_loss():
    """The defaults (lr = 0.1, damp = 1: SGD at rate lr / damp = 0.1 where the window has no
    curvature; the loss's curvature is ~2, stable below 1) lower the loss; the reference's lr =
    1e-3, damp = 1e-5 (SGD at rate 100 there) raise it: 24.3 -> 26.0 in 30 steps."""
    X, y, model = least_squares()
    losses = train(MFAC(model.parameters()), model, X, y, 30)
    assert losses[-1] < 0.95 * losses[0]
    assert all(later <= earlier * (1 + 1e-12) for earlier, later in zip(losses, losses[1:]))
    X, y, model = least_squares()
    losses = train(MFAC(model.parameters(), lr=1e-3, damp=1e-5), model, X, y, 30)
    assert losses[-1] > losses[0]  # what the docstring explains


def test_optimizer_arguments_at_number_edges():
    p = torch.nn.Parameter(torch.zeros(3))
    with pytest.raises(ValueError, match=r"MFAC: 'damp' must be finite in float64 .* and > 0"):
        MFAC([p], damp=10**400)
    with pytest.raises(ValueError, match=r"MFAC: 'ngrads' must be >= 1 and <= 2\*\*62, got 1180591620717411303424"):
        MFAC([p], ngrads=2**70)
    with pytest.raises(TypeError, match="MFAC: 'lr' must be a real number"):
        MFAC([p], lr=True)
