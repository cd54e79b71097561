#!/bin/bash
# Render throughput: the seed's complex-app (a webservice, an ApplicationClaim,
# a realtime platform with its claim) deployed to namespace prod with one image
# overridden, against the peer `kubectl kustomize` building the same result
# from a pre-rendered base plus an overlay (namespace + image patch) -- the
# work a GitOps pipeline does when the manifests are already rendered.
#   1. in-process rate: `idp render --repeat N` on one core (goal >= 5,000/s);
#   2. per invocation, both tools as processes (what a pipeline step pays),
#      median of R runs each, interleaved, and the ratio.
# Both outputs are checked to hold the same objects first. Never gates CI.
# Usage: bench/render.sh [N] [R]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-5000}
runs=${2:-30}
build=${BENCH_BUILD_DIR:-build-bench}
[ -f "$build/build.ninja" ] || meson setup "$build" -Dbuildtype=release -Dtests=false >/dev/null
ninja -C "$build" >/dev/null
idp=$build/idp
app=bench/render/complex-app-prod.yaml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "render: $(nproc) CPUs, pinned to one; $($idp version); $app"
line=$(taskset -c 0 "$idp" render -f "$app" --repeat "$n" 2>&1 >/dev/null | grep 'renders/s')
echo "  idp in-process: $line (goal >= 5,000/s)"

if ! command -v kubectl >/dev/null; then
	echo "  kubectl absent: no peer, absolute figure only"
	exit 0
fi
# The base: complex-app rendered as is; the overlay: namespace and image.
"$idp" render -f examples/complex-app.yaml --out "$work/base"
mkdir "$work/overlay"
cat >"$work/overlay/kustomization.yaml" <<'YAML'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: prod
resources:
- ../base
patches:
- target:
    group: serving.knative.dev
    kind: Service
    name: health-api
  patch: |
    - op: replace
      path: /spec/template/spec/containers/0/image
      value: health-api:v2
YAML
"$idp" render -f "$app" >"$work/idp.yaml"
kubectl kustomize "$work/overlay" >"$work/kustomize.yaml"
# Same objects (kind/name/namespace), same image.
ids() { "$idp" fmt -f "$1" -o json | python3 -c '
import json,sys
d=json.load(sys.stdin); items=d["items"] if d.get("kind")=="List" else [d]
print(sorted((o["kind"],o["metadata"]["name"],o["metadata"].get("namespace","")) for o in items))'; }
if [ "$(ids "$work/idp.yaml")" != "$(ids "$work/kustomize.yaml")" ]; then
	echo "render: idp and kustomize disagree on the objects" >&2
	exit 1
fi
grep -q 'image: health-api:v2' "$work/idp.yaml" && grep -q 'image: health-api:v2' "$work/kustomize.yaml"

time_one() { # prints seconds for one run of "$@"
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	echo "scale=6; ($t1 - $t0) / 1000000000" | bc
}
: >"$work/t_idp"
: >"$work/t_kust"
for _ in $(seq "$runs"); do
	time_one taskset -c 0 "$idp" render -f "$app" >>"$work/t_idp"
	time_one taskset -c 0 kubectl kustomize "$work/overlay" >>"$work/t_kust"
done
median() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mi=$(median "$work/t_idp")
mk=$(median "$work/t_kust")
echo "  per invocation (median of $runs): idp render $(echo "$mi * 1000" | bc) ms, kubectl kustomize $(echo "$mk * 1000" | bc) ms ($(kubectl version --client 2>/dev/null | head -1))"
echo "render: idp $(echo "scale=1; $mk / $mi" | bc)x faster than kubectl kustomize per invocation"
