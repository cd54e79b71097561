#!/bin/bash
# Composition throughput: the catalog's RealtimePlatformClaim (its XRD, its
# ~25-resource Pipeline composition of function-patch-and-transform) composed
# N times in one process on one core: claim -> XR (prune, default, validate),
# every patch and transform, names, labels, readiness. No peer runs here:
# `crossplane render` needs Docker and does not run classic patch-and-transform,
# so the figure is absolute. Benchmarks never gate CI.
# Usage: bench/compose.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
build=${BENCH_BUILD_DIR:-build-bench}
[ -f "$build/build.ninja" ] || meson setup "$build" -Dbuildtype=release -Dtests=false >/dev/null
ninja -C "$build" >/dev/null
idp=$build/idp
claims=catalog/claims
claim=$claims/examples/realtime-platform-claim.yaml
comp=$claims/realtime-platform-claim-composition.yaml
xrd=$claims/realtime-platform-claim-xrd.yaml
resources=$("$idp" compose "$claim" "$comp" --xrd "$xrd" 2>/dev/null | grep -c '^kind:')
echo "compose: $(nproc) CPUs, pinned to one; $($idp version); $claim -> $((resources - 1)) composed resources; $n compositions"
line=$(taskset -c 0 "$idp" compose "$claim" "$comp" --xrd "$xrd" --repeat "$n" 2>&1 >/dev/null | grep 'compositions/s')
echo "  $line"
echo "  (absolute figure: no peer runs here without Docker)"
