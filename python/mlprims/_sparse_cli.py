"""``python -m mlprims sparse extract|apply|merge|stats``: the checkpoint functions of
:mod:`mlprims._sparse_checkpoint` on the command line, with a progress bar on stderr (when it is a
terminal) and a summary table on stdout. Errors in the inputs or options print ``error: ...`` on
stderr and exit with status 2, like argparse's own usage errors."""

from __future__ import annotations

import argparse
import sys

_SELECTS = ("magnitude", "random", "breadcrumbs")
_SCOPES = ("tensor", "row")
_DTYPES = ("float16", "bfloat16", "float32", "float64")
_ENCODINGS = ("auto", "indices", "bitmask")
_METHODS = ("task_arithmetic", "ties", "dare_ties", "breadcrumbs_ties")
_CHECKPOINT = "a .safetensors file, a sharded checkpoint folder (model.safetensors.index.json) or a folder with model.safetensors"


def _progress_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="a progress bar on stderr (default: when stderr is a terminal)")


def add_parser(commands) -> None:
    """Adds the ``sparse`` command to the subparsers of ``python -m mlprims``."""
    sparse = commands.add_parser(
        "sparse",
        help="extract, apply and merge sparse deltas of safetensors checkpoints; measure what a fine-tune changed",
        description="Sparse deltas of whole safetensors checkpoints, read one tensor at a time. A checkpoint is "
        f"{_CHECKPOINT}. Outputs are written under temporary names and moved into place once complete.",
    )
    actions = sparse.add_subparsers(dest="sparse_command", required=True, metavar="ACTION")

    extract = actions.add_parser(
        "extract", help="write the sparse delta of TUNED against BASE to a delta file",
        description="Write the sparse delta of TUNED against BASE, tensor by tensor, to the delta file OUT. "
        "Without --k or --density: every changed entry (bits differ, or |tuned - base| > --atol). "
        "Tensors that are not floating point (integer buffers) are skipped.")
    extract.add_argument("base", metavar="BASE", help="the base checkpoint")
    extract.add_argument("tuned", metavar="TUNED", help="the fine-tuned checkpoint")
    extract.add_argument("out", metavar="OUT", help="the delta file to write (.safetensors)")
    extract.add_argument("--k", type=int, help="keep the K entries of largest |tuned - base| per tensor (per row with --scope row)")
    extract.add_argument("--density", type=float, help="keep this fraction of entries, in (0, 1]")
    extract.add_argument("--atol", type=float, help="keep the entries with |tuned - base| > ATOL (default 0: every changed entry)")
    extract.add_argument("--select", choices=_SELECTS, help="how entries are chosen with --k/--density (default magnitude)")
    extract.add_argument("--scope", choices=_SCOPES, help="magnitude selection per tensor or per row (default tensor)")
    extract.add_argument("--seed", type=int, help="seed of --select random (each tensor gets its own, derived from it)")
    extract.add_argument("--drop-top", type=float, help="breadcrumbs: fraction of each row's largest changes dropped (default 0.01)")
    extract.add_argument("--keep", type=float, help="breadcrumbs: fraction of each row kept (default --density)")
    extract.add_argument("--value-dtype", choices=_DTYPES,
                         help="dtype of the stored values (default float32 for 16-bit tensors, float64 otherwise)")
    extract.add_argument("--encoding", choices=_ENCODINGS, help="support encoding (default auto: the smaller)")
    _progress_option(extract)

    apply = actions.add_parser(
        "apply", help="write BASE + ALPHA * DELTA as a new checkpoint",
        description="Write BASE + ALPHA * DELTA to OUT, in the layout of BASE (a sharded folder when BASE is one, "
        "else one file). The delta file is verified in full before anything is written.")
    apply.add_argument("base", metavar="BASE", help="the base checkpoint")
    apply.add_argument("delta", metavar="DELTA", help="a delta file written by 'sparse extract'")
    apply.add_argument("out", metavar="OUT", help="the checkpoint to write")
    apply.add_argument("--alpha", type=float, default=1.0, help="scale of the delta (default 1)")
    _progress_option(apply)

    merge = actions.add_parser(
        "merge", help="merge fine-tunes of one base checkpoint (TIES, DARE-TIES, breadcrumbs, task arithmetic)",
        description="Merge the fine-tunes TUNED of BASE tensor by tensor and write the result to OUT, in the layout "
        "of BASE. Tensors that are not floating point are copied from BASE.")
    merge.add_argument("base", metavar="BASE", help="the base checkpoint")
    merge.add_argument("tuned", metavar="TUNED", nargs="+", help="the fine-tuned checkpoints")
    merge.add_argument("--out", required=True, metavar="OUT", help="the checkpoint to write")
    merge.add_argument("--method", choices=_METHODS, default="ties", help="the merge method (default ties)")
    merge.add_argument("--weights", type=float, nargs="+", metavar="W", help="one weight per TUNED (default 1 each)")
    merge.add_argument("--density", type=float, help="fraction of each task vector kept, in (0, 1] (ties, dare_ties)")
    merge.add_argument("--divisor", choices=("weights", "count"), default="weights",
                       help="TIES average: divide by the agreeing weights' sum (default) or their count")
    merge.add_argument("--seed", type=int, help="seed of dare_ties (each tensor gets its own, derived from it)")
    merge.add_argument("--drop-top", type=float, help="breadcrumbs_ties: fraction of each row's largest changes dropped")
    merge.add_argument("--keep", type=float, help="breadcrumbs_ties: fraction of each row kept (default --density)")
    _progress_option(merge)

    stats = actions.add_parser(
        "stats", help="how many entries of each tensor a fine-tune changed, and by how much",
        description="Per tensor and in total: entries changed (bits differ, or |tuned - base| > --atol), NaN "
        "deltas, max and mean |tuned - base|. Writes nothing.")
    stats.add_argument("base", metavar="BASE", help="the base checkpoint")
    stats.add_argument("tuned", metavar="TUNED", help="the fine-tuned checkpoint")
    stats.add_argument("--atol", type=float, default=0.0, help="entries count as changed when |tuned - base| > ATOL (default 0: bits differ)")
    _progress_option(stats)


def run(args: argparse.Namespace) -> int:
    """Runs the parsed ``sparse`` command; returns the exit status."""
    from . import _sparse_checkpoint as ckpt

    try:
        if args.sparse_command == "extract":
            options = {name: getattr(args, name) for name in ("k", "density", "atol", "select", "scope", "seed",
                                                               "drop_top", "keep", "value_dtype", "encoding")}
            summary = ckpt.extract_checkpoint(args.base, args.tuned, args.out, progress=args.progress,
                                              **{name: value for name, value in options.items() if value is not None})
        elif args.sparse_command == "apply":
            summary = ckpt.apply_checkpoint(args.base, args.delta, args.out, alpha=args.alpha, progress=args.progress)
        elif args.sparse_command == "merge":
            summary = ckpt.merge_checkpoints(args.base, args.tuned, args.out, method=args.method, weights=args.weights,
                                             density=args.density, divisor=args.divisor, seed=args.seed,
                                             drop_top=args.drop_top, keep=args.keep, progress=args.progress)
        else:
            summary = ckpt.checkpoint_stats(args.base, args.tuned, atol=args.atol, progress=args.progress)
    except (ValueError, TypeError, OSError) as error:  # bad inputs or options: the message, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary.table())
    return 0
