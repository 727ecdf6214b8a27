"""Command line of mlprims.

  python -m mlprims tour [--quick]   each primitive on built-in data against the best installed peer
  python -m mlprims info             what this build contains, including why CUDA is on or off
  python -m mlprims cmake-dir        the folder to pass as -Dmlprims_DIR to CMake
  python -m mlprims sparse ...       extract, apply, merge sparse deltas of safetensors checkpoints
  python -m mlprims --version        the installed version
"""

from __future__ import annotations

import argparse
import json
import sys

# Wall-clock times measured once each: 562 s and 253 s (--quick) on 2 Xeon cores shared with other
# jobs (load average 4.5), with SciPy and mpmath installed and python-flint absent; the mpmath
# references of the log-Bessel section take much of it.
TOUR_TIME = "about 10 minutes"
QUICK_TOUR_TIME = "about 4 minutes"


def _parser(version: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlprims",
        description="Fast, accurate numeric primitives for machine learning.",
        epilog="Run 'python -m mlprims COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"mlprims {version}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    tour = commands.add_parser(
        "tour",
        help=f"run each primitive on built-in data against the best installed peer ({TOUR_TIME})",
        description=f"Run each primitive on built-in data: its error against a reference and its time "
        f"against the best installed peer. Takes {TOUR_TIME}; --quick takes {QUICK_TOUR_TIME}.",
    )
    tour.add_argument("--quick", action="store_true", help=f"smaller data ({QUICK_TOUR_TIME})")
    commands.add_parser("info", help="print what this build contains, including why CUDA is on or off (JSON)")
    commands.add_parser("cmake-dir", help="print the folder to pass as -Dmlprims_DIR to CMake")
    from ._sparse_cli import add_parser as add_sparse_parser

    add_sparse_parser(commands)
    return parser


def main(argv=None) -> int:
    import mlprims

    args = _parser(mlprims.__version__).parse_args(argv)
    if args.command == "info":
        print(json.dumps(mlprims.build_info(), indent=2))
    elif args.command == "cmake-dir":
        print(mlprims.cmake_dir())
    elif args.command == "sparse":
        from ._sparse_cli import run as run_sparse

        return run_sparse(args)
    else:
        from ._tour import run

        run(quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
