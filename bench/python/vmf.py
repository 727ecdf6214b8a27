"""von Mises-Fisher fit and log-density: mlprims against SciPy's ``vonmises_fisher``, same data,
same process.

For each dimension p (3 ... 32768, as for embeddings) and concentration, n points are drawn with
``mlprims.vmf.sample`` and both libraries fit them. Reported: the median time of each fit, the
kappa each returns, the true kappa, and the error of mlprims' kappa against the exact maximum-
likelihood kappa for the same mean resultant length (mpmath, 40 digits); then log_prob against
SciPy's logpdf where SciPy's is finite.

    python bench/python/vmf.py [--repeats 7] [--quick] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import warnings
from datetime import date
from pathlib import Path

import mlprims
import numpy as np
from mlprims import vmf
from mlprims._timing import median_time

CASES = [(3, 20.0, 20000), (64, 150.0, 20000), (768, 300.0, 4000), (2048, 500.0, 4000), (8192, 5000.0, 2000),
         (32768, 20000.0, 500)]


def exact_kappa(rbar: float, p: int) -> float | None:
    try:
        import mpmath
    except ImportError:
        return None
    mpmath.mp.dps = 40
    nu = mpmath.mpf(p) / 2

    def equation(k):
        return mpmath.besseli(nu, k) / mpmath.besseli(nu - 1, k) - mpmath.mpf(rbar)

    return float(mpmath.findroot(equation, mpmath.mpf(rbar * (p - rbar**2) / (1 - rbar**2))))


def run(repeats: int, quick: bool) -> dict:
    from scipy import stats

    rng = np.random.default_rng(7)
    rows = []
    cases = CASES[:4] if quick else CASES
    for p, kappa, n in cases:
        n = min(n, 500) if quick else n
        mu = rng.standard_normal(p)
        mu /= np.linalg.norm(mu)
        X = vmf.sample(mu, kappa, n, seed=rng)
        ours = vmf.fit(X)
        t_ours = median_time(lambda: vmf.fit(X), repeats)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = stats.vonmises_fisher.fit(X)
            t_scipy = median_time(lambda: stats.vonmises_fisher.fit(X), max(3, repeats // 2))
        exact = exact_kappa(ours.mean_resultant_length, p) if p <= 8192 else None
        row = {
            "p": p, "n": n, "true_kappa": kappa, "kappa": ours.kappa, "scipy_kappa": float(theirs[1]),
            "ms": t_ours * 1e3, "scipy_ms": t_scipy * 1e3, "speedup_vs_scipy": t_scipy / t_ours,
            "kappa_solve_error_vs_mpmath": abs(ours.kappa - exact) / exact if exact else None,
        }
        logpdf = stats.vonmises_fisher(ours.mu, ours.kappa).logpdf(X)
        ok = np.isfinite(logpdf)
        ours_lp = vmf.log_prob(X, ours.mu, ours.kappa)
        row["log_prob_finite"] = bool(np.isfinite(ours_lp).all())
        row["scipy_logpdf_nonfinite"] = int((~ok).sum())
        if ok.any():
            row["max_log_prob_difference_vs_scipy"] = float(
                np.max(np.abs(ours_lp[ok] - logpdf[ok]) / np.maximum(1, np.abs(logpdf[ok])))
            )
        rows.append(row)
    return {"cases": rows}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    mlprims.set_num_threads(1)
    results = run(args.repeats, args.quick)
    results["machine"] = mlprims.build_info()
    results["date"] = date.today().isoformat()
    print(f"{'p':>6s} {'n':>6s} {'true kappa':>10s} {'kappa':>12s} {'SciPy kappa':>12s} {'ms':>8s} {'SciPy ms':>9s} "
          f"{'x SciPy':>8s} {'solve err':>9s}")
    for row in results["cases"]:
        err = row["kappa_solve_error_vs_mpmath"]
        print(f"{row['p']:6d} {row['n']:6d} {row['true_kappa']:10g} {row['kappa']:12.6g} {row['scipy_kappa']:12.6g} "
              f"{row['ms']:8.2f} {row['scipy_ms']:9.2f} {row['speedup_vs_scipy']:7.1f}x "
              f"{('%.1e' % err) if err is not None else '-':>9s}")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
