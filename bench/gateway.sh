#!/bin/bash
# The gateway against nginx, same upstream, same connections, same run.
#  1. Throughput and added latency: wrk against (a) the upstream directly, (b) `idp gateway`
#     with the upstream as a ready replica, (c) nginx (one worker, proxy_pass with upstream
#     keepalive 64, access log off). Rounds alternate gateway/nginx; medians reported, and
#     the ratio gateway/nginx. The upstream is tests/gw_backend.c (a small C service, /hello:
#     5 bytes). All processes share this machine's cores with wrk: read ratios, not absolutes.
#  2. Cold start: `idp gateway --exec` starts the service on the first request after it scaled
#     to zero; time to first byte from zero, median of N (Knative reports 2-15 s).
# Installs nginx-light, wrk and curl when missing. Benchmarks never gate CI.
# Usage: bench/gateway.sh [SECONDS_PER_RUN] [ROUNDS] [COLD_STARTS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
rounds=${2:-3}
colds=${3:-50}
conns=${CONNS:-32}
need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
build=${BENCH_BUILD_DIR:-build-bench}
[ -f "$build/build.ninja" ] || meson setup "$build" -Dbuildtype=release -Dtests=false >/dev/null
ninja -C "$build" >/dev/null
idp=$PWD/$build/idp
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
cc -O2 -DH2O_USE_LIBUV=0 -o "$tmp/gw_backend" tests/gw_backend.c -lh2o-evloop -lwslay -lssl -lcrypto
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.02; done; return 1; }
up=$(port); gw=$(port); ng=$(port)
"$tmp/gw_backend" "$up" demo/a & pids+=($!)
cat >"$tmp/app.yaml" <<'APP'
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: a, namespace: demo}
spec:
  template:
    spec: {containers: [{image: bench}]}
APP
"$idp" gateway -f "$tmp/app.yaml" --listen 127.0.0.1:"$gw" --replica demo/a=127.0.0.1:"$up" 2>/dev/null & pids+=($!)
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream up { server 127.0.0.1:$up; keepalive 64; }
  server {
    listen 127.0.0.1:$ng;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' & pids+=($!)
wait_port "$up"; wait_port "$gw"; wait_port "$ng"
curl -s -H 'Host: a.demo.localhost' "http://127.0.0.1:$gw/hello" | grep -q hello
# wrk prints latency percentiles in us/ms/s; normalise to microseconds.
run_wrk() {
	wrk -t1 -c"$conns" -d"${secs}s" --latency -H 'Host: a.demo.localhost' "http://127.0.0.1:$1/hello" 2>/dev/null |
		awk 'function us(v){ if (v ~ /us$/) {sub(/us/,"",v); return v} if (v ~ /ms$/) {sub(/ms/,"",v); return v*1000} sub(/s/,"",v); return v*1000000 }
		     /Requests\/sec/ {rps=$2} $1=="50%" {p50=us($2)} $1=="99%" {p99=us($2)} END {printf "%d %.0f %.0f\n", rps, p50, p99}'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "gateway bench: $(nproc) CPUs; $($idp version); wrk -t1 -c$conns -d${secs}s, $rounds rounds, GET /hello (5 bytes)"
: >"$tmp/direct"; : >"$tmp/gw"; : >"$tmp/ng"
for r in $(seq "$rounds"); do
	run_wrk "$up" >>"$tmp/direct"
	if [ $((r % 2)) = 1 ]; then run_wrk "$gw" >>"$tmp/gw"; run_wrk "$ng" >>"$tmp/ng"; else run_wrk "$ng" >>"$tmp/ng"; run_wrk "$gw" >>"$tmp/gw"; fi
done
col() { cut -d' ' -f"$1" "$2" | median; }
d_rps=$(col 1 "$tmp/direct"); d50=$(col 2 "$tmp/direct"); d99=$(col 3 "$tmp/direct")
g_rps=$(col 1 "$tmp/gw"); g50=$(col 2 "$tmp/gw"); g99=$(col 3 "$tmp/gw")
n_rps=$(col 1 "$tmp/ng"); n50=$(col 2 "$tmp/ng"); n99=$(col 3 "$tmp/ng")
printf '  %-28s %9s req/s   p50 %6s us   p99 %6s us\n' "upstream directly" "$d_rps" "$d50" "$d99"
printf '  %-28s %9s req/s   p50 %6s us   p99 %6s us   added p50 %5s us  p99 %6s us\n' "idp gateway" "$g_rps" "$g50" "$g99" $((g50 - d50)) $((g99 - d99))
printf '  %-28s %9s req/s   p50 %6s us   p99 %6s us   added p50 %5s us  p99 %6s us\n' "nginx 1 worker, keepalive" "$n_rps" "$n50" "$n99" $((n50 - d50)) $((n99 - d99))
echo "gateway/nginx throughput ratio: $(awk -v a="$g_rps" -v b="$n_rps" 'BEGIN{printf "%.2f", a/b}')x (goal >= 1.0, stretch 1.5)"

# Cold starts: a fresh gateway that starts the service per request and scales it to zero.
cg=$(port)
"$idp" gateway -f "$tmp/app.yaml" --listen 127.0.0.1:"$cg" --exec "demo/a=exec $tmp/gw_backend \$PORT demo/a" \
	--stable-window 0.2 --grace 0.1 2>/dev/null & pids+=($!)
wait_port "$cg"
ready() { curl -s "http://127.0.0.1:$cg/metrics" | awk '/^idp_gateway_ready_replicas\{service="demo\/a"\}/ {print $2}'; }
: >"$tmp/cold"
for _ in $(seq "$colds"); do
	for _ in $(seq 200); do [ "$(ready)" = "0" ] || [ -z "$(ready)" ] && break; sleep 0.05; done
	curl -s -o /dev/null -w '%{time_starttransfer}\n' -H 'Host: a.demo.localhost' "http://127.0.0.1:$cg/hello" >>"$tmp/cold"
done
cold_ms=$(awk '{print $1*1000}' "$tmp/cold" | median)
echo "cold start (first byte from zero replicas, median of $colds): ${cold_ms} ms (goal <= 10 ms; Knative: 2-15 s)"
