#!/usr/bin/env bash
# Type stubs of the native module: python/mlprims/_core/*.pyi, generated from the installed
# mlprims._core by pybind11-stubgen (pinned). `scripts/stubs.sh` rewrites them after a binding
# changed; `scripts/stubs.sh --check` (run by scripts/lint.sh) fails when they are out of date.
# Needs mlprims installed in the venv (scripts/test.sh does that).
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
cd "$ROOT"
make_venv
"$VENV/bin/pip" install --quiet "pybind11-stubgen==3.0.0"
generated="$(mktemp -d)"
trap 'rm -rf "$generated"' EXIT
"$VENV/bin/pybind11-stubgen" mlprims._core -o "$generated" >/dev/null
if [ "${1:-}" = "--check" ]; then
  if ! diff -ru python/mlprims/_core "$generated/mlprims/_core"; then
    echo "== python/mlprims/_core/*.pyi are out of date with the bindings: run scripts/stubs.sh"
    exit 1
  fi
  echo "stubs up to date"
else
  rm -rf python/mlprims/_core
  cp -r "$generated/mlprims/_core" python/mlprims/_core
fi
