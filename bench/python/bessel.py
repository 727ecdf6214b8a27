"""log I_v(x) and log K_v(x): mlprims against SciPy and TensorFlow Probability, same data, same
process.

The (v, x) plane (v in [1e-2, 1e5], x in [1e-3, 1e6], log-uniform) is cut into the seven regions
of the published scheme (Plesner et al. 2024, first match wins), so that the regions are not
ours. Per region and function:

* mlprims with 1 and 2 threads and SciPy's ``log(ive(v, x)) + x`` / ``log(kve(v, x)) - x`` run on
  the same points: those of the region where SciPy's result is finite (SciPy returns -inf/inf/NaN
  on a large part of the plane; those points are counted, not timed); all write into a
  preallocated output; mlprims (1 thread) and SciPy are timed in turn, repeatedly, and so are
  mlprims with 1 and 2 threads;
* TFP's ``log_bessel_ive``/``log_bessel_kve`` (NumPy substrate) on a subsample (it is ~1e4 times
  slower), if it imports;
* accuracy: mlprims against SciPy where SciPy is finite, and against Arb (python-flint) on a
  subsample when python-flint is installed.

Times are medians of repeated runs; ratios are what to read (the machines are noisy).

    python bench/python/bessel.py [--points 1000000] [--repeats 7] [--quick] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import warnings
from datetime import date
from pathlib import Path

import mlprims
import numpy as np
from mlprims import special
from mlprims._timing import interleaved_medians, interleaved_times, median_time

REGIONS = {
    1: lambda v, x: ((x > 1400) & (v < 3.05)) | ((v > 3.1) & (v < 0.0395 * x**0.6229)),
    2: lambda v, x: ((x > 30) & (v < 15.3919)) | ((x > 59.6925) & (v < 2.212 * x**0.5113)),
    3: lambda v, x: ((x > 274.2377) & (v > 0.3)) | (v > 163.6993),
    4: lambda v, x: ((x > 84.4153) & (v > 0.46)) | (v > 56.9971),
    5: lambda v, x: ((x > 35.9074) & (v > 0.6)) | (v > 20.1534),
    6: lambda v, x: ((x > 19.6931) & (v > 0.7)) | (v > 12.6964),
    7: lambda v, x: np.ones_like(v, dtype=bool),
}
REGION_NAMES = {
    1: "large argument, 3 terms",
    2: "large argument, 20 terms",
    3: "Debye, 4 terms",
    4: "Debye, 6 terms",
    5: "Debye, 9 terms",
    6: "Debye, 13 terms",
    7: "power series",
}


def region_points(rng: np.random.Generator, n: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """n log-uniform points per region (first matching region wins)."""
    pools: dict[int, list] = {r: [] for r in REGIONS}
    counts = dict.fromkeys(REGIONS, 0)
    while min(counts.values()) < n:
        v = 10 ** rng.uniform(-2, 5, 4_000_000)
        x = 10 ** rng.uniform(-3, 6, 4_000_000)
        unassigned = np.ones_like(v, dtype=bool)
        for r, test in REGIONS.items():
            mine = unassigned & test(v, x)
            unassigned &= ~mine
            if counts[r] < n:
                pools[r].append((v[mine], x[mine]))
                counts[r] += int(mine.sum())
    return {r: (np.concatenate([p[0] for p in pools[r]])[:n], np.concatenate([p[1] for p in pools[r]])[:n]) for r in REGIONS}


def scipy_log_bessel(kind: str):
    """SciPy's log I / log K through the exponentially scaled functions; writes into `out` when
    given (as the timed runs do, for every contestant, so that no one pays for allocation)."""
    from scipy import special as scipy_special

    scaled = scipy_special.ive if kind == "i" else scipy_special.kve
    sign = 1.0 if kind == "i" else -1.0

    def log_bessel(v, x, out=None):
        out = scaled(v, x, out=out)
        np.log(out, out=out)
        out += sign * x
        return out

    return log_bessel


def tfp_log_bessel(kind: str):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from tensorflow_probability.substrates import numpy as tfp
    except Exception as error:
        return None, f"{type(error).__name__}: {error}"
    if kind == "i":
        return (lambda v, x: tfp.math.log_bessel_ive(v, x) + x), None
    return (lambda v, x: tfp.math.log_bessel_kve(v, x) - x), None


def arb_log_bessel(kind: str, v: np.ndarray, x: np.ndarray):
    try:
        from flint import arb, ctx
    except ImportError:
        return None
    ctx.prec = 256

    def exact(value):
        numerator, denominator = float(value).as_integer_ratio()
        return arb(numerator) / arb(denominator)

    out = []
    for a, b in zip(v, x):
        value = (exact(b).bessel_i(exact(a)) if kind == "i" else exact(b).bessel_k(exact(a))).log()
        out.append(float(value.mid()) if value.is_finite() and float(value.rad()) < 1e-25 * max(1, abs(float(value.mid()))) else np.nan)
    return np.array(out)


def guarded_error(got, ref):
    return np.abs(got - ref) / np.maximum(1.0, np.abs(ref))


def run(points: int, repeats: int, tfp_points: int, arb_points: int) -> dict:
    rng = np.random.default_rng(12345)
    data = region_points(rng, points)
    results = {"regions": {}}
    ours = {"i": special.log_iv, "k": special.log_kv}
    threads_before = mlprims.get_num_threads()
    for r, (v_all, x_all) in data.items():
        entry = {"name": REGION_NAMES[r], "points": len(v_all)}
        for kind in ("i", "k"):
            peer = scipy_log_bessel(kind)
            with np.errstate(all="ignore"):
                peer_all = peer(v_all, x_all)
            finite = np.isfinite(peer_all)
            v, x = np.ascontiguousarray(v_all[finite]), np.ascontiguousarray(x_all[finite])
            n = len(v)
            row = {"scipy_nonfinite": int((~finite).sum()), "timed_points": n}

            out = np.empty_like(v)

            def ours_threads(threads, function=ours[kind], v=v, x=x, out=out):
                mlprims.set_num_threads(threads)
                function(v, x, out=out)

            def scipy_run(peer=peer, v=v, x=x, out=out):
                with np.errstate(all="ignore"):
                    peer(v, x, out)

            ours_threads(1)  # warm up
            # Two interleaved groups: against SciPy, then one thread against two.
            versus_scipy = interleaved_medians({"one": lambda: ours_threads(1), "scipy": scipy_run}, repeats)
            scaling_times = interleaved_times({"one": lambda: ours_threads(1), "two": lambda: ours_threads(2)}, repeats)
            scaling = {name: statistics.median(values) for name, values in scaling_times.items()}
            t1, t_scipy = versus_scipy["one"], versus_scipy["scipy"]
            t2 = scaling["two"] * t1 / scaling["one"]  # two threads, in the units of the first group
            mlprims.set_num_threads(1)
            got = ours[kind](v, x)
            row.update(
                ns_per_value_1_thread=t1 / n * 1e9,
                ns_per_value_2_threads=t2 / n * 1e9,
                scipy_ns_per_value=t_scipy / n * 1e9,
                speedup_vs_scipy_1_thread=t_scipy / t1,
                speedup_2_threads_vs_1=scaling["one"] / scaling["two"],
                # the ratio of the fastest runs: what the code does when the machine is quiet
                speedup_2_threads_vs_1_fastest_runs=min(scaling_times["one"]) / min(scaling_times["two"]),
                max_difference_vs_scipy=float(guarded_error(got, peer_all[finite]).max()) if n else None,
                ours_nonfinite=int((~np.isfinite(ours[kind](v_all, x_all))).sum()),
            )
            tfp, why = tfp_log_bessel(kind)
            if tfp is not None and tfp_points > 0:
                sub = slice(0, min(tfp_points, n))
                tfp(v[sub][:10], x[sub][:10])  # warm up (tracing)
                t_tfp = median_time(lambda: np.asarray(tfp(v[sub], x[sub])), 3)
                tfp_out = np.asarray(tfp(v[sub], x[sub]))
                row.update(
                    tfp_ns_per_value=t_tfp / len(v[sub]) * 1e9,
                    speedup_vs_tfp_1_thread=(t_tfp / len(v[sub])) / (t1 / n),
                    max_difference_vs_tfp=float(guarded_error(got[sub], tfp_out).max()),
                )
            elif why:
                row["tfp"] = why
            if arb_points > 0:
                sub = rng.choice(len(v_all), size=min(arb_points, len(v_all)), replace=False)
                reference = arb_log_bessel(kind, v_all[sub], x_all[sub])
                if reference is not None:
                    ok = np.isfinite(reference)
                    err = guarded_error(ours[kind](v_all[sub][ok], x_all[sub][ok]), reference[ok])
                    row["max_error_vs_arb"] = float(err.max())
                    row["arb_points"] = int(ok.sum())
            entry[f"log_{kind}v"] = row
        results["regions"][str(r)] = entry
    mlprims.set_num_threads(threads_before)
    summary = {}
    for kind in ("i", "k"):
        rows = [results["regions"][str(r)][f"log_{kind}v"] for r in REGIONS]
        summary[f"log_{kind}v"] = {
            "median_speedup_vs_scipy_1_thread": statistics.median(row["speedup_vs_scipy_1_thread"] for row in rows),
            "median_speedup_2_threads_vs_1": statistics.median(row["speedup_2_threads_vs_1"] for row in rows),
            "median_speedup_vs_tfp_1_thread": statistics.median(row["speedup_vs_tfp_1_thread"] for row in rows)
            if all("speedup_vs_tfp_1_thread" in row for row in rows) else None,
        }
    all_rows = [results["regions"][str(r)][f"log_{k}v"] for r in REGIONS for k in ("i", "k")]
    summary["both"] = {
        "median_speedup_vs_scipy_1_thread": statistics.median(row["speedup_vs_scipy_1_thread"] for row in all_rows),
        "median_speedup_2_threads_vs_1": statistics.median(row["speedup_2_threads_vs_1"] for row in all_rows),
        "median_speedup_2_threads_vs_1_fastest_runs": statistics.median(
            row["speedup_2_threads_vs_1_fastest_runs"] for row in all_rows
        ),
    }
    results["summary"] = summary
    return results


def gpu_throughput(points: int, repeats: int) -> dict:
    """Evaluations per second on the GPU for `points` mixed random (v, x) (log-uniform over
    v in [1e-2, 1e5], x in [1e-3, 1e6]), float32 and float64, timed with CUDA events."""
    try:
        import torch
    except ImportError:
        return {"skipped": "torch is not installed"}
    if not (torch.cuda.is_available() and mlprims.build_info()["cuda_devices"] > 0):
        return {"skipped": "no CUDA device, or mlprims built without CUDA"}
    generator = torch.Generator(device="cuda").manual_seed(0)
    results = {"points": points, "device": torch.cuda.get_device_name()}
    for name, dtype in (("float32", torch.float32), ("float64", torch.float64)):
        v = 10 ** (torch.rand(points, device="cuda", generator=generator, dtype=torch.float64) * 7 - 2)
        x = 10 ** (torch.rand(points, device="cuda", generator=generator, dtype=torch.float64) * 9 - 3)
        v, x = v.to(dtype), x.to(dtype)
        out = torch.empty_like(v)
        for function_name, function in (("log_iv", special.log_iv), ("log_kv", special.log_kv)):
            function(v, x, out=out)  # warm up
            times = []
            for _ in range(repeats):
                start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                function(v, x, out=out)
                stop.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(stop) / 1e3)
            results[f"{function_name}_{name}_evaluations_per_second"] = points / statistics.median(times)
        del v, x, out
    return results


def print_table(results: dict) -> None:
    print(f"{'region':28s} {'fn':6s} {'ours ns':>8s} {'2 thr':>6s} {'SciPy ns':>9s} {'x SciPy':>8s} {'x TFP':>8s} "
          f"{'SciPy fails':>11s} {'err vs Arb':>10s}")
    for r, entry in results["regions"].items():
        for kind in ("i", "k"):
            row = entry[f"log_{kind}v"]
            tfp = row.get("speedup_vs_tfp_1_thread")
            arb = row.get("max_error_vs_arb")
            print(
                f"{r + ' ' + entry['name']:28s} log_{kind}v {row['ns_per_value_1_thread']:8.1f} "
                f"{row['speedup_2_threads_vs_1']:5.2f}x {row['scipy_ns_per_value']:9.1f} "
                f"{row['speedup_vs_scipy_1_thread']:7.1f}x {('%7.0fx' % tfp) if tfp else '      -':>8s} "
                f"{row['scipy_nonfinite']:11d} {('%.1e' % arb) if arb is not None else '-':>10s}"
            )
    print("summary:", json.dumps(results["summary"], indent=1))
    if "gpu" in results:
        print("GPU:", json.dumps(results["gpu"], indent=1))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--tfp-points", type=int, default=2000)
    parser.add_argument("--arb-points", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="small smoke run (CI)")
    parser.add_argument("--gpu-points", type=int, default=100_000_000,
                        help="points for the GPU throughput run (skipped without a CUDA device)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.points, args.repeats, args.tfp_points, args.arb_points = 20_000, 3, 50, 20
    results = run(args.points, args.repeats, args.tfp_points, args.arb_points)
    results["gpu"] = gpu_throughput(1_000_000 if args.quick else args.gpu_points, 3 if args.quick else 7)
    results["machine"] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "mlprims": mlprims.build_info(),
    }
    results["date"] = date.today().isoformat()
    results["arguments"] = vars(args) | {"out": str(args.out) if args.out else None}
    print_table(results)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
