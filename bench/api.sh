#!/bin/bash
# The API (issue 9): GET /api/v1/applications with 1,000 applications in the
# store, under wrk on loopback: requests/s and p99, on the direct listener and
# through the gateway. No peer runs here (no KubeVela or Argo CD API server):
# the figures are absolute. The 1,000 records are written into the store
# with sqlite3's CLI, as a daemon that ran them would have left them; they do
# not run (the list reads the store and asks the daemon for the ones that do).
# Never gates CI. Usage: bench/api.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
build=${BENCH_BUILD_DIR:-build-bench}
for p in wrk sqlite3; do
	command -v $p >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $p >/dev/null
done
[ -f "$build/build.ninja" ] || meson setup "$build" -Dbuildtype=release -Dtests=false >/dev/null
ninja -C "$build" idp >/dev/null
idp=$PWD/$build/idp
state=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api=$(free_port)
gw=$(free_port)
"$idp" token create bench --state "$state" >/dev/null # creates the store
python3 - "$state/state.db" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
now = int(time.time())
db.executemany("INSERT INTO apps(name, gitops, revision, status, updated) VALUES(?,?,?,?,?)",
               [(f"app{i:04d}", f"/srv/gitops/app{i:04d}-gitops", f"{i:040x}", "Synced", now) for i in range(1000)])
db.commit()
PY
"$idp" serve --state "$state" --listen "127.0.0.1:$api" --gateway "127.0.0.1:$gw" 2>"$state/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$state"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$api/health" >/dev/null && break; sleep 0.05; done
n=$(curl -s "http://127.0.0.1:$api/api/v1/applications" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
bytes=$(curl -s "http://127.0.0.1:$api/api/v1/applications" | wc -c)
echo "api: $(nproc) CPUs; $($idp version); $n applications, $bytes bytes a response"
for target in "direct 127.0.0.1:$api" "gateway 127.0.0.1:$gw"; do
	set -- $target
	threads=$(( conns < 2 ? 1 : 2 ))
	out=$(wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "http://$2/api/v1/applications")
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
	p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
	echo "  $1: $rps requests/s, p50 $p50, p99 $p99 ($conns connections, ${secs} s; no peer)"
done
