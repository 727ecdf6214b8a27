#!/usr/bin/env bash
# Lints the Python code with ruff (its rules are in pyproject.toml, [tool.ruff]) and checks that the
# native module's type stubs match the bindings (scripts/stubs.sh) and that the C++/CUDA code is
# formatted (scripts/format.sh); CI runs this.
# Usage: scripts/lint.sh [ruff check arguments, e.g. --fix]
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
cd "$ROOT"
make_venv
"$VENV/bin/pip" install --quiet "ruff==0.17.6"
"$VENV/bin/ruff" check python tests bench scripts "$@"
scripts/stubs.sh --check
scripts/format.sh --check
