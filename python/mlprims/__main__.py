"""Command line: ``python -m mlprims tour | info | cmake-dir``."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlprims", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    tour = commands.add_parser("tour", help="run each primitive on built-in data against the best installed peer")
    tour.add_argument("--quick", action="store_true", help="smaller data (a few seconds)")
    commands.add_parser("info", help="print what this build contains")
    commands.add_parser("cmake-dir", help="print the folder to pass as -Dmlprims_DIR to CMake")
    args = parser.parse_args(argv)

    import mlprims

    if args.command == "info":
        print(json.dumps(mlprims.build_info(), indent=2))
    elif args.command == "cmake-dir":
        print(mlprims.cmake_dir())
    else:
        from ._tour import run

        run(quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
