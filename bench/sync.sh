#!/bin/bash
# The sync engine and the local runtime (issue 8). No peer runs here (no
# Argo CD, no cluster): the figures are absolute, against the issue's goals.
#  1. a no-op sync pass of the engine over 1,000 apps / 10,000 objects
#     (desired against live copies carrying status, server metadata): goal <= 1 s;
#  2. commit-to-serving: `idp up` the example app (release build), then R times
#     commit a new webservice component to its GitOps repository with git and
#     time until the new service answers through the gateway (render on top,
#     sync, one process started, its readiness probe passed): goal <= 300 ms
#     (Argo CD polls git every 3 minutes by default);
#  3. the daemon's resident memory, idle, with the example running: goal <= 20 MB.
# Needs redis-server and PostgreSQL (./build.sh test installs them). Never gates CI.
# Usage: bench/sync.sh [R]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
build=${BENCH_BUILD_DIR:-build-bench}
[ -f "$build/build.ninja" ] || meson setup "$build" -Dbuildtype=release -Dtests=false >/dev/null
ninja -C "$build" idp bench-sync >/dev/null
[ -f examples/counter/build/build.ninja ] || meson setup examples/counter/build examples/counter >/dev/null
ninja -C examples/counter/build >/dev/null
idp=$PWD/$build/idp
echo "sync: $(nproc) CPUs; $($idp version)"
echo "  engine: $("$build/bench-sync" 1000 10 5)   (goal <= 1,000 ms; no peer)"

state=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
trap '"$idp" down --purge --state "$state" >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
"$idp" up --state "$state" --listen "127.0.0.1:$port" >/dev/null
repo=$state/gitops/counter-gitops
oam=$repo/oam/applications/application.yaml
cp "$oam" "$state/base.yaml"
lat=()
for i in $(seq "$runs"); do
	python3 - "$state/base.yaml" "$oam" "svc$i" <<'PY'
import sys
base, out, name = sys.argv[1], sys.argv[2], sys.argv[3]
s = open(base).read()
comp = f"""  - name: {name}
    type: webservice
    properties:
      image: local:examples/counter/build/counter
      port: 8080
      healthPath: /health
      envFrom:
      - secretRef:
          name: counter-postgres-secret
      - secretRef:
          name: counter-redis-secret
"""
i = s.index("  - name: counter-infrastructure")
open(out, "w").write(s[:i] + comp + s[i:])
PY
	git -C "$repo" -c user.name=bench -c user.email=bench@localhost commit -qam "add svc$i"
	t=$(python3 - "$port" "svc$i.default.localhost" <<'PY'
import http.client, sys, time
port, host = int(sys.argv[1]), sys.argv[2]
t0 = time.monotonic()
while time.monotonic() - t0 < 30:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", "/health", headers={"Host": host})
        if c.getresponse().status == 200:
            print(f"{(time.monotonic() - t0) * 1000:.0f}")
            break
    except OSError:
        pass
    time.sleep(0.002)
PY
)
	lat+=("$t")
	cp "$state/base.yaml" "$oam"
	git -C "$repo" -c user.name=bench -c user.email=bench@localhost commit -qam "remove svc$i"
	sleep 0.5
done
sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
median=$(printf '%s\n' "$sorted" | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
echo "  commit-to-serving: median ${median} ms over $runs commits (all: $(echo $sorted | tr '\n' ' '); goal <= 300 ms; no peer)"
sleep 3
pid=$(pgrep -f "idp daemon --state $state" | head -1)
rss=$(awk '/VmRSS/{print $2}' /proc/"$pid"/status)
echo "  daemon idle RSS with the example running: $((rss / 1024)) MB ($rss kB; goal <= 20 MB; no peer)"
