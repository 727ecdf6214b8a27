"""Checkpoint-level sparse deltas: time and peak memory of extract, apply, merge and stats over a
synthetic sharded bfloat16 checkpoint (~1 GB by default), each run in a fresh child process so
that its peak RSS (ru_maxrss) is its own.

The claim measured: tensors are read memory-mapped one at a time and outputs are streamed, so a
run's peak RSS grows by a few tensors (the issue's bound: 2x the largest tensor plus a constant),
not by a model. Growth = the peak RSS of the task (VmHWM, reset after the imports) minus the RSS
before it; the 'baseline' row (a task that does nothing) is the constant.

    python bench/python/sparse_checkpoint.py [--gigabytes 1.0] [--out bench/results/NAME.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, sys, time
import mlprims
from mlprims import sparse
import torch, safetensors  # imported before the measurement starts, by every task
task, args = sys.argv[1], json.loads(sys.argv[2])
mlprims.set_num_threads(args.get("threads", 2))

def status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":"))

# Reset the peak-RSS mark (Linux: "5" to clear_refs), so that the peak read below is the task's
# own, not the import's; RSS counts the memory-mapped checkpoint pages that the task has read.
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
rss_before = status("VmRSS")
start = time.perf_counter()
if task == "baseline":
    summary = None
elif task == "extract":
    summary = sparse.extract_checkpoint(args["base"], args["tuned"], args["out"], progress=False, **args["options"])
elif task == "apply":
    summary = sparse.apply_checkpoint(args["base"], args["delta"], args["out"], progress=False)
elif task == "merge":
    summary = sparse.merge_checkpoints(args["base"], args["tuned_list"], args["out"], progress=False, **args["options"])
elif task == "stats":
    summary = sparse.checkpoint_stats(args["base"], args["tuned"], progress=False)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_rss": status("VmHWM"), "rss_before": rss_before,
                  "nnz": getattr(summary, "nnz", None)}))
"""


def _make_checkpoints(root: str, gigabytes: float) -> dict:
    """Base and two fine-tunes (RL-like: 10% of the entries moved, the rest bit-identical), built
    one shard at a time so that this process never holds a whole model."""
    import torch

    width = 2048
    layers = max(1, round(gigabytes * 1e9 / 2 / (12 * width * width)))  # 12 w^2 bf16 weights a layer
    shapes = {}
    for layer in range(layers):
        shapes[f"layers.{layer}.attn.qkv.weight"] = (3 * width, width)
        shapes[f"layers.{layer}.attn.out.weight"] = (width, width)
        shapes[f"layers.{layer}.mlp.up.weight"] = (4 * width, width)
        shapes[f"layers.{layer}.mlp.down.weight"] = (width, 4 * width)
        shapes[f"layers.{layer}.norm.weight"] = (width,)
    shards = max(2, layers // 2)
    folders = {name: os.path.join(root, name) for name in ("base", "tuned", "tuned2")}
    names = list(shapes)
    for s in range(shards):
        part = names[s::shards]
        generator = torch.Generator().manual_seed(s)
        base = {n: (0.02 * torch.randn(shapes[n], generator=generator)).to(torch.bfloat16) for n in part}
        for which, seed in (("tuned", 1), ("tuned2", 2)):
            g = torch.Generator().manual_seed(1000 * seed + s)
            tuned = {}
            for n, w in base.items():
                moved = torch.rand(w.shape, generator=g) < 0.1
                tuned[n] = (w.float() + moved * 1e-3 * torch.randn(w.shape, generator=g)).to(torch.bfloat16)
            _write_part(torch, folders[which], tuned, s, shards)
        _write_part(torch, folders["base"], base, s, shards)
    for folder in folders.values():
        _write_index(folder, shards)
    largest = max(2 * (shapes[n][0] * (shapes[n][1] if len(shapes[n]) > 1 else 1)) for n in shapes)
    total = sum(2 * (s[0] * (s[1] if len(s) > 1 else 1)) for s in shapes.values())
    return {"folders": folders, "largest_tensor_bytes": largest, "model_bytes": total, "tensors": len(shapes),
            "shards": shards}


def _write_part(torch, folder: str, tensors: dict, shard: int, shards: int) -> None:
    from safetensors.torch import save_file

    os.makedirs(folder, exist_ok=True)
    save_file(tensors, os.path.join(folder, f"model-{shard + 1:05d}-of-{shards:05d}.safetensors"))


def _write_index(folder: str, shards: int) -> None:
    from safetensors import safe_open

    weight_map, total = {}, 0
    for s in range(shards):
        file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        with safe_open(os.path.join(folder, file), framework="pt") as f:
            for name in f.keys():
                weight_map[name] = file
                t = f.get_slice(name)
                shape = t.get_shape()
                total += 2 * math.prod(shape)
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f)


def _child(task: str, args: dict) -> dict:
    completed = subprocess.run([sys.executable, "-c", CHILD, task, json.dumps(args)], capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"{task} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gigabytes", type=float, default=1.0, help="size of the base checkpoint (bfloat16)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each task (median time, max RSS)")
    parser.add_argument("--out", default=None, help="JSON results file")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="mlprims-ckpt-bench-")
    try:
        made = _make_checkpoints(root, args.gigabytes)
        f = made["folders"]
        tasks = {
            "baseline": {},
            "stats": {"base": f["base"], "tuned": f["tuned"]},
            "extract (changed entries)": {"base": f["base"], "tuned": f["tuned"], "out": os.path.join(root, "d.safetensors"),
                                          "options": {}},
            "extract (density 0.05)": {"base": f["base"], "tuned": f["tuned"], "out": os.path.join(root, "d5.safetensors"),
                                       "options": {"density": 0.05}},
            "apply": {"base": f["base"], "delta": os.path.join(root, "d.safetensors"), "out": os.path.join(root, "applied")},
            "merge (ties, 2 fine-tunes)": {"base": f["base"], "tuned_list": [f["tuned"], f["tuned2"]],
                                           "out": os.path.join(root, "merged"), "options": {"method": "ties", "density": 0.2}},
        }
        rows = []
        for name, task_args in tasks.items():
            task = name.split(" ")[0]
            runs = [_child(task, task_args) for _ in range(args.repeats)]
            seconds = sorted(r["seconds"] for r in runs)[len(runs) // 2]
            growth = max(r["peak_rss"] - r["rss_before"] for r in runs)
            rows.append({"task": name, "median_seconds": seconds, "peak_rss_growth_bytes": growth,
                         "nnz": runs[0]["nnz"], "runs": runs})
        largest = made["largest_tensor_bytes"]
        print(f"checkpoint: {made['model_bytes'] / 1e9:.2f} GB bfloat16, {made['tensors']} tensors in {made['shards']} "
              f"shards; largest tensor {largest / 1e6:.1f} MB; RSS after the imports "
              f"{rows[0]['runs'][0]['rss_before'] / 1e6:.0f} MB")
        print(f"{'task':30s} {'median s':>9s} {'peak RSS growth MB':>19s} {'growth / largest tensor':>24s}")
        for row in rows:
            ratio = row["peak_rss_growth_bytes"] / largest
            row["growth_over_largest_tensor"] = ratio
            print(f"{row['task']:30s} {row['median_seconds']:9.2f} {row['peak_rss_growth_bytes'] / 1e6:19.1f} {ratio:24.2f}")
        if args.out:
            result = {
                "machine": {"cpu": _cpu_model(), "python": platform.python_version(), "threads": 2},
                "checkpoint": {k: v for k, v in made.items() if k != "folders"},
                "rows": rows,
                "date": time.strftime("%Y-%m-%d"),
            }
            with open(args.out, "w") as out:
                json.dump(result, out, indent=1)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
