#!/usr/bin/env python3
"""Make the stored reference values for the log-Bessel and von Mises-Fisher tests.

    pip install python-flint mpmath numpy
    python tests/data/make_reference.py        # writes tests/data/bessel_reference.npz
                                               # and tests/data/bessel_reference_small.csv

Every value comes from Arb (python-flint) ball arithmetic at 256 bits and is accepted only when
the ball's radius is below 1e-30 * max(1, |midpoint|); otherwise it is recomputed at 512, 1024
and 4096 bits. Where Arb returns no finite ball (K_v at tiny x for large v), mpmath at 60 digits
with a large maxprec takes over. Inputs are exact binary doubles (float32 grids: exact floats),
so the references are the true function values at the very inputs the tests pass in.

Only this script needs python-flint and mpmath; the tests read the stored file.
"""

from __future__ import annotations

import csv
import math
import sys
import time
from pathlib import Path

import mpmath
import numpy as np
from flint import arb, ctx

HERE = Path(__file__).resolve().parent
PRECISIONS = (256, 512, 1024, 4096)
RNG = np.random.default_rng(20261122)


def exact(value: float) -> arb:
    """The exact value of a double as an arb."""
    numerator, denominator = float(value).as_integer_ratio()
    return arb(numerator) / arb(denominator)


def accept(ball: arb) -> float | None:
    if not ball.is_finite():
        return None
    mid = float(ball.mid())
    if float(ball.rad()) <= 1e-30 * max(1.0, abs(mid)):
        return mid
    return None


def arb_value(compute, *args: float) -> float | None:
    for precision in PRECISIONS:
        ctx.prec = precision
        value = accept(compute(*[exact(a) for a in args]))
        if value is not None:
            return value
    return None


def log_bessel(kind: str, v: float, x: float) -> float:
    """log I_v(x) (kind "i") or log K_v(x) (kind "k")."""
    if x == 0.0:
        if kind == "k":
            return math.inf
        return 0.0 if v == 0.0 else -math.inf
    value = arb_value(lambda a, b: (b.bessel_i(a) if kind == "i" else b.bessel_k(a)).log(), v, x)
    if value is None:
        mpmath.mp.dps = 60
        f = mpmath.besseli if kind == "i" else mpmath.besselk
        value = float(mpmath.log(f(mpmath.mpf(v), mpmath.mpf(x), maxprec=200000)))
    return value


def log_i(v: float, x: float) -> float:
    return log_bessel("i", v, x)


def log_k(v: float, x: float) -> float:
    return log_bessel("k", v, x)


def iv_ratio(v: float, x: float) -> float:
    return arb_value(lambda a, b: (b.bessel_i(a).log() - b.bessel_i(a - 1).log()).exp(), v, x)


def log_iv_derivative(v: float, x: float) -> float:
    # I_{v+1}/I_v + v/x
    return arb_value(lambda a, b: (b.bessel_i(a + 1).log() - b.bessel_i(a).log()).exp() + a / b, v, x)


def log_kv_derivative(v: float, x: float) -> float:
    # v/x - K_{v+1}/K_v
    return arb_value(lambda a, b: a / b - (b.bessel_k(a + 1).log() - b.bessel_k(a).log()).exp(), v, x)


def iv_ratio_derivative(v: float, x: float) -> float:
    def compute(a, b):
        r = (b.bessel_i(a).log() - b.bessel_i(a - 1).log()).exp()
        return 1 - r * r - (2 * a - 1) * r / b

    return arb_value(compute, v, x)


def log_uniform(low: float, high: float, n: int) -> np.ndarray:
    return 10.0 ** RNG.uniform(math.log10(low), math.log10(high), n)


# --- grids -------------------------------------------------------------------------------------

W0 = 0.6627434193491816  # eta(w0) = 0, the Debye exponent's zero (x = w0 v)
# Region boundaries of the published scheme (Plesner et al. 2024), as curves v = f(x) or x = c.
PUBLISHED_BOUNDARIES = [
    ("x", 1400.0), ("v", 3.05), ("vx", (0.0395, 0.6229)), ("x", 30.0), ("v", 15.3919),
    ("x", 59.6925), ("vx", (2.212, 0.5113)), ("x", 274.2377), ("v", 163.6993), ("x", 84.4153),
    ("v", 56.9971), ("x", 35.9074), ("v", 20.1534), ("x", 19.6931), ("v", 12.6964),
]
# This library's own (keep in sync with cpp/src/special/math/regions.hpp): rho = 25 and the radii
# where the Debye term count changes, the band |x/v - w0| < 0.08, the Hankel region x >= 1000 with
# v^2 <= 0.005 x, and the small-region switches in x (I: 6; K: 1e-100, 1e-10, 0.5, 2, 8).
RHO_BOUNDARIES = [25.0, 58.6, 555.0]
SMALL_REGION_SWITCHES = [1e-100, 1e-10, 0.5, 2.0, 6.0, 8.0]
FACTORS = (0.99, 0.999, 1.001, 1.01)


def bessel_grid() -> tuple[np.ndarray, np.ndarray]:
    v_values = np.concatenate([[0.0, 0.5, 1.0, 1.5, 2.0, 10.0, 100.0], np.logspace(-2, 5, 54)])
    x_values = np.concatenate([np.logspace(-300, 9, 64), np.logspace(-3, 6, 46), [2.0**30, 1e12, 5e-324]])
    v, x = np.meshgrid(v_values, x_values, indexing="ij")
    points = [np.stack([v.ravel(), x.ravel()], axis=1)]

    boundary = []
    for rho in RHO_BOUNDARIES:
        for factor in FACTORS:
            for angle in np.linspace(0.02, math.pi / 2 - 0.02, 5):
                boundary.append((rho * factor * math.sin(angle), rho * factor * math.cos(angle)))
    for v in log_uniform(20, 1e5, 40):
        for offset in (-0.0801, -0.0799, 0.0799, 0.0801, 0.0):
            boundary.append((v, (W0 + offset) * v))
    for x_switch in SMALL_REGION_SWITCHES:
        for factor in FACTORS:
            for v in (0.0, 0.01, 0.3, 0.5, 0.7, 1.0, 2.5, 7.3, 12.0, 24.9):
                boundary.append((v, x_switch * factor))
    for factor in FACTORS:  # Hankel region: x = 1000 and v = sqrt(0.005 x)
        for v in (0.0, 0.3, 1.0, 2.2):
            boundary.append((v, 1000.0 * factor))
        for x in log_uniform(1e3, 1e9, 8):
            boundary.append((math.sqrt(0.005 * x) * factor, x))
    for kind, parameter in PUBLISHED_BOUNDARIES:
        for factor in FACTORS:
            if kind == "x":
                for v in log_uniform(1e-2, 1e3, 4):
                    boundary.append((v, parameter * factor))
            elif kind == "v":
                for x in log_uniform(1e-3, 1e6, 4):
                    boundary.append((parameter * factor, x))
            else:
                scale, power = parameter
                for x in log_uniform(1e2, 1e9, 6):
                    boundary.append((scale * x**power * factor, x))
    points.append(np.array(boundary))
    points = np.concatenate(points)
    return points[:, 0].copy(), points[:, 1].copy()


def float32_grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    v = log_uniform(1e-2, 1e5, n).astype(np.float32)
    v[: n // 20] = 0.0
    x = log_uniform(1e-40, 1e9, n).astype(np.float32)
    return v.astype(np.float64), x.astype(np.float64)


def evaluate(function, v: np.ndarray, x: np.ndarray, label: str) -> np.ndarray:
    start = time.time()
    out = np.array([function(float(a), float(b)) for a, b in zip(v, x)], dtype=np.float64)
    print(f"  {label}: {len(out)} values in {time.time() - start:.0f} s", file=sys.stderr)
    return out


# --- von Mises-Fisher ------------------------------------------------------------------------


def vmf_log_normalizer(kappa: float, p: int) -> float:
    def compute(k):
        nu = arb(p) / 2 - 1
        return nu * k.log() - arb(p) / 2 * (2 * arb.pi()).log() - k.bessel_i(nu).log()

    for precision in PRECISIONS:
        ctx.prec = precision
        value = accept(compute(exact(kappa)))
        if value is not None:
            return value
    raise RuntimeError(f"log normalizer did not converge at kappa={kappa}, p={p}")


def vmf_solve_kappa(rbar: float, p: int, start: float) -> float:
    """The exact root of A_p(kappa) = rbar (rbar an exact double), by Newton in Arb."""
    ctx.prec = 320
    target = exact(rbar)
    nu = arb(p) / 2
    kappa = arb(start)
    for _ in range(60):
        a = (kappa.bessel_i(nu).log() - kappa.bessel_i(nu - 1).log()).exp()
        slope = 1 - a * a - (arb(p) - 1) * a / kappa
        step = (a - target) / slope
        kappa = arb((kappa - step).mid())
        if abs(float(step.mid())) <= 1e-40 * float(kappa.mid()):
            break
    return float(kappa.mid())


def vmf_tables() -> dict[str, np.ndarray]:
    dims = np.array([2, 3, 4, 16, 64, 256, 2048, 8192, 32768, 100000])
    kappas = np.concatenate([np.logspace(-3, 7, 21), [1e-300, 1e-30, 0.5, 25.0, 1e9]])
    p, k = np.meshgrid(dims, kappas, indexing="ij")
    p, k = p.ravel(), k.ravel()
    start = time.time()
    log_c = np.array([vmf_log_normalizer(float(a), int(b)) for a, b in zip(k, p)])
    resultant = np.array([iv_ratio(b / 2.0, float(a)) for a, b in zip(k, p)])
    print(f"  vmf normalizer and A_p: {len(p)} values in {time.time() - start:.0f} s", file=sys.stderr)

    solve_dims = np.array([2, 3, 64, 2048, 8192, 32768])
    solve_kappas = np.logspace(-3, 7, 21)
    sp, sk = np.meshgrid(solve_dims, solve_kappas, indexing="ij")
    sp, sk = sp.ravel(), sk.ravel()
    rbar = np.array([iv_ratio(b / 2.0, float(a)) for a, b in zip(sk, sp)])
    root = np.array([vmf_solve_kappa(float(r), int(b), float(a)) for r, a, b in zip(rbar, sk, sp)])
    print(f"  vmf kappa roots: {len(sp)} values", file=sys.stderr)
    return {
        "vmf_dim": p, "vmf_kappa": k, "vmf_log_normalizer": log_c, "vmf_mean_resultant_length": resultant,
        "solve_dim": sp, "solve_kappa_true": sk, "solve_rbar": rbar, "solve_kappa_root": root,
    }


def main() -> None:
    tables: dict[str, np.ndarray] = {}
    print("log I and log K, float64 grid and boundaries", file=sys.stderr)
    v, x = bessel_grid()
    tables.update(grid_v=v, grid_x=x, grid_log_iv=evaluate(log_i, v, x, "log I"),
                  grid_log_kv=evaluate(log_k, v, x, "log K"))

    print("float32 grid", file=sys.stderr)
    v32, x32 = float32_grid(3000)
    tables.update(f32_v=v32, f32_x=x32, f32_log_iv=evaluate(log_i, v32, x32, "log I"),
                  f32_log_kv=evaluate(log_k, v32, x32, "log K"))

    print("I_v/I_{v-1}", file=sys.stderr)
    vr = np.concatenate([log_uniform(0.5, 1e5, 2500), np.repeat([0.5, 1.0, 1.5, 2.5, 10.0, 1e5], 50)])
    xr = np.concatenate([log_uniform(1e-6, 1e9, 2500), np.tile(log_uniform(1e-6, 1e9, 50), 6)])
    tables.update(ratio_v=vr, ratio_x=xr, ratio=evaluate(iv_ratio, vr, xr, "ratio"))

    print("derivatives", file=sys.stderr)
    vd = np.concatenate([[0.0] * 40, log_uniform(1e-2, 1e4, 760)])
    xd = log_uniform(1e-3, 1e6, len(vd))
    tables.update(deriv_v=vd, deriv_x=xd,
                  deriv_log_iv=evaluate(log_iv_derivative, vd, xd, "d log I"),
                  deriv_log_kv=evaluate(log_kv_derivative, vd, xd, "d log K"))
    vdr = log_uniform(0.5, 1e4, 600)
    xdr = log_uniform(1e-3, 1e6, 600)
    tables.update(deriv_ratio_v=vdr, deriv_ratio_x=xdr,
                  deriv_ratio=evaluate(iv_ratio_derivative, vdr, xdr, "d ratio"))

    print("von Mises-Fisher", file=sys.stderr)
    tables.update(vmf_tables())

    np.savez_compressed(HERE / "bessel_reference.npz", **tables)
    write_small_csv(tables)


def write_small_csv(tables: dict[str, np.ndarray]) -> None:
    """A few hundred grid points for the C++ tests (v, x, log I, log K as exact decimal)."""
    v, x = tables["grid_v"], tables["grid_x"]
    finite = np.isfinite(tables["grid_log_iv"]) & np.isfinite(tables["grid_log_kv"]) & (x > 0)
    chosen = RNG.choice(np.flatnonzero(finite), size=300, replace=False)
    with open(HERE / "bessel_reference_small.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["v", "x", "log_iv", "log_kv"])
        for i in sorted(chosen):
            writer.writerow([repr(float(v[i])), repr(float(x[i])), repr(float(tables["grid_log_iv"][i])),
                             repr(float(tables["grid_log_kv"][i]))])


if __name__ == "__main__":
    main()
