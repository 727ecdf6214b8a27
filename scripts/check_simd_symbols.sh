#!/usr/bin/env bash
# Fails when an object of a *.simd.cpp file (compiled for one instruction set) defines a weak
# function (nm type W) outside its own namespaces: the plain sources may define the same symbol,
# and the linker keeps one copy for the whole library, possibly the AVX-512 one
# (docs/design_notes.md, "Vectorized kernels per instruction set"). Weak data (typeinfo) is the
# same bytes for every instruction set and is not reported.
# Usage: scripts/check_simd_symbols.sh [build dir, default build/cpp-tests]
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
BUILD="${1:-$ROOT/build/cpp-tests}"
status=0
checked=0
while IFS= read -r object; do
  isa="$(basename "$(dirname "$(dirname "$(dirname "$(dirname "$object")")")")")"  # mlprims_simd_<isa>.dir
  isa="${isa#mlprims_simd_}"
  isa="${isa%.dir}"
  shared="$(nm -C --defined-only "$object" | grep ' W ' | grep -vE "::${isa}::|::copies_${isa}::" || true)"
  checked=$((checked + 1))
  if [ -n "$shared" ]; then
    echo "weak symbols outside the ${isa} namespaces in ${object#"$BUILD"/}:"
    printf "%s\n" "$shared" | sed -n 1,10p  # sed reads it all: no SIGPIPE under pipefail
    status=1
  fi
done < <(find "$BUILD" -path '*mlprims_simd_*' -name '*.simd.cpp.o')
[ "$checked" -gt 0 ] || { echo "no per-instruction-set objects under $BUILD"; exit 1; }
[ $status -eq 0 ] && echo "per-instruction-set objects: $checked checked, no shared weak symbols"
exit $status
