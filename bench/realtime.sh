#!/bin/bash
# MQTT → service → WebSocket fan-out against mosquitto's own fan-out, same
# broker, same messages, same run (issue: >= 50,000 msg/s ingest, p99 <= 5 ms
# on loopback, 100 clients).
#  ws:   a publisher sends N messages to bench/x on mosquitto; tests/sdk_service
#        (the SDK, MQTT_TOPICS='bench/#', REALTIME=1) receives them and fans
#        each out as a `data_processed` event to CLIENTS WebSocket clients
#        subscribed to bench/#.
#  mqtt: the same publisher, the same messages; CLIENTS MQTT subscribers of
#        bench/# on mosquitto itself receive them (the peer).
# Every message carries its CLOCK_MONOTONIC send time; every delivery's latency
# is measured (bench/realtime/bench_realtime.c: libmosquitto, a small epoll
# WebSocket client). Two passes per mode and round, rounds alternating ws/mqtt:
#  1. throughput: the publisher as fast as the broker takes the messages;
#  2. latency: a fixed offered rate (BENCH_LAT_RATE msg/s for BENCH_LAT_SECS s).
# The service runs only during its own runs (started fresh each time), so it
# does not consume the peer's messages. Everything shares this machine's cores
# (and whatever else runs on it): read ratios, not absolutes. Benchmarks never
# gate CI. Knobs (environment): BENCH_BUILD_DIR, BENCH_QOS (0), BENCH_LAT_RATE
# (500), BENCH_LAT_SECS (3), BENCH_SERVICE (a service binary to use instead).
# Installs mosquitto, libmosquitto-dev, pkg-config and curl when missing.
# Usage: bench/realtime.sh [N] [CLIENTS] [ROUNDS]        (defaults 20000 100 2)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
clients=${2:-100}
rounds=${3:-2}
qos=${BENCH_QOS:-0}
lat_rate=${BENCH_LAT_RATE:-500}
lat_secs=${BENCH_LAT_SECS:-3}
export PATH=$PATH:/usr/sbin
need=()
command -v mosquitto >/dev/null || need+=(mosquitto)
pkg-config --exists libmosquitto 2>/dev/null || need+=(libmosquitto-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then echo "realtime.sh: install ${need[*]}" >&2; exit 2; fi
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
build=${BENCH_BUILD_DIR:-build-bench}
[ -f "$build/build.ninja" ] || meson setup "$build" -Dbuildtype=release -Dtests=false >/dev/null
tmp=$(mktemp -d)
pids=()
svc_pid=
cleanup() {
	[ -n "$svc_pid" ] && kill "$svc_pid" 2>/dev/null || true
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
# The service: meson's tests/sdk_service when the build has the tests, else
# the same file linked with cc to the SDK library that build built
# (BENCH_SERVICE: another binary of the same kind, to compare an SDK change.)
if [ -n "${BENCH_SERVICE:-}" ]; then
	svc_bin=$(realpath "$BENCH_SERVICE")
elif ninja -C "$build" -t targets all 2>/dev/null | grep -q '^tests/sdk_service:'; then
	ninja -C "$build" tests/sdk_service >/dev/null
	svc_bin=$PWD/$build/tests/sdk_service
else
	ninja -C "$build" subprojects/idp-service/libidp-service.a >/dev/null
	# (meson writes idp-service-uninstalled.pc when it configures the build)
	cc -O2 -D_GNU_SOURCE -o "$tmp/sdk_service" tests/sdk_service.c \
		$(PKG_CONFIG_PATH=$PWD/$build/meson-uninstalled pkg-config --cflags --libs idp-service)
	svc_bin=$tmp/sdk_service
fi
cc -std=c17 -O2 -Wall -Wextra -o "$tmp/bench_realtime" bench/realtime/bench_realtime.c \
	$(pkg-config --cflags --libs libmosquitto) -lpthread
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.02; done; return 1; }
# CPU seconds (user+system) a process has used so far.
tck=$(getconf CLK_TCK)
cpu_of() { awk -v t="$tck" '{printf "%.2f", ($14+$15)/t}' "/proc/$1/stat" 2>/dev/null || echo 0; }

mq=$(port)
cat >"$tmp/mosquitto.conf" <<CONF
listener $mq 127.0.0.1
allow_anonymous true
persistence false
# no in-flight window, a deep queue: the broker neither throttles nor drops
max_inflight_messages 0
max_queued_messages 100000
log_dest none
CONF
mosquitto -c "$tmp/mosquitto.conf" & pids+=($!)
mq_pid=$!
wait_port "$mq"

# The service's per-client queue is as deep as the broker's (64 MiB, about
# 140,000 of these frames, against mosquitto's 100,000 messages): neither
# side drops what a burst queues.
start_service() {
	local p
	p=$(port)
	env -i PATH="$PATH" PORT="$p" HOST=127.0.0.1 SERVICE_NAME=bench-realtime MQTT_HOST=127.0.0.1 MQTT_PORT="$mq" \
		MQTT_TOPICS='bench/#' REALTIME=1 LOG_LEVEL=WARNING WS_MAX_QUEUED_BYTES=$((64 << 20)) "$svc_bin" 2>>"$tmp/service.log" &
	svc_pid=$!
	for _ in $(seq 250); do
		case "$(curl -sf "http://127.0.0.1:$p/health" 2>/dev/null || true)" in
		*'"connected":true'*) svc_port=$p; return 0 ;;
		esac
		sleep 0.02
	done
	echo "realtime.sh: the service did not come up (its log: $(tail -3 "$tmp/service.log"))" >&2
	exit 1
}
stop_service() {
	kill "$svc_pid" 2>/dev/null || true
	wait "$svc_pid" 2>/dev/null || true
	svc_pid=
}
# run MODE PASS MESSAGES RATE: one run, one result line appended to $tmp/MODE.PASS
run() {
	local mode=$1 pass=$2 msgs=$3 rate=$4 sp=0 srv c0 m0 line
	if [ "$mode" = ws ]; then start_service; sp=$svc_port; srv=$svc_pid; else srv=$mq_pid; fi
	c0=$(cpu_of "$srv"); m0=$(cpu_of "$mq_pid")
	if ! line=$("$tmp/bench_realtime" "$mode" "$mq" "$sp" "$msgs" "$clients" "$qos" "$rate" 2>"$tmp/err"); then
		echo "realtime.sh: $mode run failed: $(cat "$tmp/err")" >&2
		exit 1
	fi
	# server CPU: the service and the broker in ws mode, the broker in mqtt mode
	local c1 m1
	c1=$(cpu_of "$srv"); m1=$(cpu_of "$mq_pid")
	[ "$mode" = ws ] && stop_service
	line="$line server_cpu=$(awk -v a="$c0" -v b="$c1" -v x="$m0" -v y="$m1" -v m="$mode" \
		'BEGIN{printf "%.2f", (b-a) + (m=="ws" ? y-x : 0)}')"
	echo "$line" >>"$tmp/$mode.$pass"
	fmt "$line" "    $mode $r $([ "$pass" = max ] && echo burst || echo "$rate/s")"
}
# fmt LINE LABEL: one result, readable
fmt() {
	echo "$1" | awk -v label="$2" '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		frac = v["expected"] ? 100 * v["delivered"] / v["expected"] : 0
		us = v["delivered"] ? 1e6 * v["server_cpu"] / v["delivered"] : 0
		printf "%-17s published %6.0f/s  delivered %5.0f msg/s %7.0f deliveries/s %6.2f%%  p50 %7.2f  p99 %7.2f  max %7.2f ms  server CPU %5.2f s %5.2f us/delivery%s\n",
			label, v["pub_rate"], v["msg_rate"], v["deliv_rate"], frac, v["p50"], v["p99"], v["max"], v["server_cpu"], us,
			(v["dup"] > 0 ? "  duplicates " v["dup"] : "")
	}'
}
# med FILE KEY: the median of KEY over a file's result lines
med() {
	awk -v k="$2" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$1" | sort -g |
		awk '{a[NR]=$1} END { if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2 }'
}
medline() {
	local f=$1 out="" k
	for k in pub_rate msg_rate deliv_rate delivered expected dup p50 p99 max server_cpu; do out="$out $k=$(med "$f" "$k")"; done
	echo "$out"
}

lat_n=$((lat_rate * lat_secs))
echo "realtime bench: $(nproc) CPUs shared by the broker, the service, the load generator and anything else running"
echo "  (load average $(cut -d' ' -f1 /proc/loadavg) at the start): read ratios, not absolutes"
echo "  $(mosquitto -h 2>/dev/null | head -1 || true); $clients clients; QoS $qos for the publisher and every subscriber"
echo "  (the service subscribes at QoS 1: the broker delivers at the lower of the two); $rounds rounds alternating ws/mqtt"
echo "  ws   = MQTT -> tests/sdk_service -> $clients WebSocket clients (a data_processed event per message and client)"
echo "  mqtt = MQTT -> mosquitto -> $clients MQTT subscribers (the peer)"
echo "  published = the publisher's rate (to the broker's last PUBACK at QoS 1, its last write at QoS 0); delivered msg/s ="
echo "  deliveries per client / (first publish .. last delivery), and the % of N x clients delivered; latencies in ms;"
echo "  server CPU = the service and the broker (ws), the broker (mqtt), user+system seconds during the run"
echo "  burst = throughput pass: $n messages published as fast as the broker takes them (latency = queueing behind the burst);"
echo "  $lat_rate/s = latency pass: $lat_n messages at $lat_rate msg/s"
for r in $(seq "$rounds"); do
	if [ $((r % 2)) = 1 ]; then order="ws mqtt"; else order="mqtt ws"; fi
	for mode in $order; do run "$mode" max "$n" 0; done
	if [ "$lat_rate" != 0 ]; then for mode in $order; do run "$mode" lat "$lat_n" "$lat_rate"; done; fi
done
echo "  medians, throughput pass (burst of $n):"
fmt "$(medline "$tmp/ws.max")" "    ws"
fmt "$(medline "$tmp/mqtt.max")" "    mqtt"
if [ "$lat_rate" != 0 ]; then
	echo "  medians, latency pass ($lat_rate msg/s offered = $((lat_rate * clients)) deliveries/s):"
	fmt "$(medline "$tmp/ws.lat")" "    ws"
	fmt "$(medline "$tmp/mqtt.lat")" "    mqtt"
fi
# The last line: the ratio against the peer, from the medians.
{
	echo "ws $(medline "$tmp/ws.max")"
	echo "mqtt $(medline "$tmp/mqtt.max")"
	if [ "$lat_rate" != 0 ]; then echo "wslat $(medline "$tmp/ws.lat")"; echo "mqttlat $(medline "$tmp/mqtt.lat")"; fi
} | awk -v c="$clients" -v lr="$lat_rate" '{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[$1, kv[1]] = kv[2] }
	} END {
		printf "realtime fan-out to %d clients: ws %.0f msg/s (%.1f%% delivered), mqtt %.0f msg/s (%.1f%%), ratio ws/mqtt %.2fx (delivered msg/s);",
			c, v["ws", "msg_rate"], 100 * v["ws", "delivered"] / v["ws", "expected"], v["mqtt", "msg_rate"],
			100 * v["mqtt", "delivered"] / v["mqtt", "expected"],
			(v["mqtt", "msg_rate"] > 0 ? v["ws", "msg_rate"] / v["mqtt", "msg_rate"] : 0)
		printf " CPU/delivery ws %.1f us, mqtt %.1f us;", 1e6 * v["ws", "server_cpu"] / v["ws", "delivered"],
			1e6 * v["mqtt", "server_cpu"] / v["mqtt", "delivered"]
		printf " p99 full rate ws %.0f ms, mqtt %.0f ms", v["ws", "p99"], v["mqtt", "p99"]
		if (lr != 0)
			printf ", at %d msg/s ws %.2f ms, mqtt %.2f ms", lr, v["wslat", "p99"], v["mqttlat", "p99"]
		printf " (goal: >= 50,000 msg/s, p99 <= 5 ms)\n"
	}'
