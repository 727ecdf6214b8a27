"""Peers for bench/python/mfac.py, written here from the formulas (ALGORITHMS.md section 2 and the
M-FAC paper); they are reimplementations, not the original code. All use torch on the CPU with
float32 gradients, as the reference does.

* PaperStaticRecursion: the paper's static algorithm. V is built row by row in a copy of the
  gradient buffer (m sequential matrix-vector steps), then F^{-1} x = x/damp - sum_i (v_i.x/den_i) v_i.
* ReferenceSlidingWindow: the reference's dynamic algorithm in outline: a ring buffer and its Gram
  matrix G G^T, and a fresh O(m^3) factorization of the m x m system on every update (an LU with
  pivoting here: torch has no unpivoted LU on the CPU).
* TorchWoodbury: the plain Woodbury form in float32 with torch.linalg.cholesky.
"""

from __future__ import annotations

import torch


class PaperStaticRecursion:
    def __init__(self, grads: torch.Tensor, damp: float):
        m = grads.shape[0]
        self.damp = damp
        self.V = grads.clone()  # the reference overwrites its gradient buffer; we overwrite a copy
        self.den = torch.zeros(m, dtype=grads.dtype)
        for i in range(m):
            g = self.V[i].clone()
            v = g / damp
            if i > 0:
                coefficients = (self.V[:i] @ g) / self.den[:i]
                v -= coefficients @ self.V[:i]
            self.V[i] = v
            self.den[i] = m + g @ v

    def ihvp(self, x: torch.Tensor) -> torch.Tensor:
        return x / self.damp - ((self.V @ x) / self.den) @ self.V


class TorchWoodbury:
    def __init__(self, grads: torch.Tensor, damp: float):
        m = grads.shape[0]
        self.G, self.damp = grads, damp
        K = grads @ grads.T
        K.diagonal().add_(m * damp)
        self.L = torch.linalg.cholesky(K)  # raises when float32 rounding makes K indefinite

    def ihvp(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.cholesky_solve((self.G @ x)[:, None], self.L)[:, 0]
        return (x - self.G.T @ z) / self.damp


class ReferenceSlidingWindow:
    def __init__(self, dim: int, window: int, damp: float, dtype=torch.float32):
        self.G = torch.zeros((window, dim), dtype=dtype)
        self.dots = torch.zeros((window, window), dtype=dtype)
        self.damp, self.window, self.next = damp, window, 0

    def load(self, grads: torch.Tensor) -> None:
        """The state after `window` updates with the rows of grads (without replaying them)."""
        self.G.copy_(grads)
        self.dots = grads @ grads.T
        self.next = 0

    def update_ihvp(self, g: torch.Tensor) -> torch.Tensor:
        slot = self.next
        self.next = (slot + 1) % self.window
        self.G[slot] = g
        column = self.G @ g  # one pass: the new Gram row, and G g for the product
        self.dots[slot, :] = column
        self.dots[:, slot] = column
        K = self.dots.clone()
        K.diagonal().add_(self.window * self.damp)
        lu, pivots = torch.linalg.lu_factor(K)  # O(m^3) on every step
        z = torch.linalg.lu_solve(lu, pivots, column[:, None])[:, 0]
        return (g - self.G.T @ z) / self.damp
