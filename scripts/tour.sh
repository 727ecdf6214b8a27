#!/usr/bin/env bash
# Sets everything up on a fresh machine and runs the tour: each primitive on built-in data, its
# error against a reference and its time against the best installed peer.
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
cd "$ROOT"

make_venv
"$VENV/bin/pip" install --quiet . scipy mpmath python-flint
"$VENV/bin/python" -m mlprims tour "$@"
