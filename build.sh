#!/bin/sh
# The project's two entry points (see README.md):
#   ./build.sh run    install what is missing, build, run the main job on the embedded example
#   ./build.sh test   install what is missing, build, run every check and test
# Both are idempotent: with everything installed and built they only re-check.
set -eu
cd "$(dirname "$0")"

RUN_PKGS="build-essential pkg-config meson ninja-build python3 git ca-certificates libyaml-dev libssl-dev zlib1g-dev libh2o-evloop-dev libwslay-dev libgit2-dev libsqlite3-dev libsodium-dev libpq-dev librdkafka-dev libcurl4-openssl-dev libjansson-dev libmosquitto-dev redis-server postgresql mosquitto curl"
TEST_PKGS="$RUN_PKGS libcriterion-dev clang-14 libclang-rt-14-dev python3-yaml prometheus python3-fastapi python3-uvicorn python3-jsonschema redis-server mosquitto postgresql"

# Installs the Debian packages in $* that are not installed yet (one apt-get
# update, only when something is missing).
install_missing() {
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
	done
	# ../shared/tools need node >= 18; Debian's nodejs is enough when none is on PATH.
	if [ "${WANT_NODE:-0}" = 1 ] && ! command -v node >/dev/null 2>&1; then
		missing="$missing nodejs"
	fi
	[ -z "$missing" ] && return 0
	echo "build.sh: installing:$missing" >&2
	if [ "$(id -u)" != 0 ]; then
		echo "build.sh: run as root (or install:$missing)" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# setup_build DIR [meson options...]: configure once, then just build.
setup_build() {
	dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log" >&2; exit 1; }
	fi
	ninja -C "$dir" >"$dir.ninja.log" 2>&1 || { cat "$dir.ninja.log" >&2; exit 1; }
}

cmd_run() {
	install_missing $RUN_PKGS
	setup_build build -Dtests=false
	./build/idp validate -f embedded:examples/ >/dev/null
	# The main job on the embedded default: the local runtime running the example
	# application (examples/counter-app.yaml): its PostgreSQL and redis as local
	# daemons, the C service behind the gateway, scaled to zero when idle.
	setup_build examples/counter/build examples/counter
	listen=${IDP_LISTEN:-127.0.0.1:8080}
	./build/idp up --state build/state --listen "$listen"
	for i in 1 2; do
		curl -sS -H 'Host: counter.default.localhost' "http://$listen/count"
		echo
	done
	./build/idp status --state build/state
	if [ -t 0 ]; then
		echo "It keeps running; stop it with: ./build/idp down --state build/state [--purge]"
	else
		# No terminal (CI, a fresh-machine check): leave nothing running behind.
		./build/idp down --state build/state
	fi
}

# The objects idp writes must pass the published schemas of their kinds.
check_schemas() {
	validator=../shared/tools/validate-manifests
	if [ ! -x "$validator" ]; then
		echo "schemas: SKIP ($validator is absent: ../shared is not beside this checkout)"
		return 0
	fi
	out=$(mktemp -d)
	mkdir "$out/rendered"
	for name in $(./build-test/idp examples | grep '^examples/'); do
		./build-test/idp fmt -f "embedded:$name" >"$out/$(basename "$name")"
		# Every example rendered, claims composed all the way down.
		./build-test/idp render -f "embedded:$name" --compose inline --unwrap-objects \
			>"$out/rendered/$(basename "$name")"
	done
	# The catalog's claims composed as Crossplane would create them, and unwrapped
	# to what finally lands in the cluster.
	for xrd in catalog/claims/*-xrd.yaml; do
		claim=$(basename "$xrd" -xrd.yaml)
		for mode in wrapped unwrapped; do
			flag=; [ $mode = unwrapped ] && flag=--unwrap-objects
			./build-test/idp compose "catalog/claims/examples/$claim.yaml" "catalog/claims/$claim-composition.yaml" \
				--xrd "$xrd" $flag >"$out/composed-$claim-$mode.yaml" 2>/dev/null
		done
	done
	status=0
	report=$("$validator" --exclude /rendered/ "$out") || status=$?
	[ $status = 0 ] || printf '%s\n' "$report"
	echo "schemas (examples, composed claims): $(printf '%s\n' "$report" | tail -n 1)"
	# Rendered all the way down, every kind must have a schema (--strict-kinds).
	report=$("$validator" --strict-kinds "$out/rendered") || status=$?
	rm -rf "$out"
	[ $status = 0 ] || printf '%s\n' "$report"
	echo "schemas (examples rendered, strict): $(printf '%s\n' "$report" | tail -n 1)"
	report=$("$validator" --exclude /examples/ catalog) || status=$?
	[ $status = 0 ] || printf '%s\n' "$report"
	echo "schemas (catalog): $(printf '%s\n' "$report" | tail -n 1)"
	# What a cluster installs to run the catalog (idp catalog export).
	export_dir=$(mktemp -d)/catalog
	./build-test/idp catalog export "$export_dir"
	report=$("$validator" --strict-kinds --exclude /kustomization.yaml "$export_dir") || status=$?
	rm -rf "$(dirname "$export_dir")"
	[ $status = 0 ] || printf '%s\n' "$report"
	echo "schemas (idp catalog export, strict): $(printf '%s\n' "$report" | tail -n 1)"
	return $status
}

cmd_test() {
	WANT_NODE=1 install_missing $TEST_PKGS
	# gcc with AddressSanitizer + UndefinedBehaviorSanitizer: every test runs here.
	setup_build build-test -Db_sanitize=address,undefined -Dbuildtype=debug
	# clang: compile-only check of the whole tree, plus the libFuzzer targets.
	CC=clang-14 setup_build build-clang -Db_sanitize=address,undefined -Db_lundef=false -Dfuzz=true
	check_schemas
	tests/fuzz/run.sh build-clang "${FUZZ_SECONDS:-15}"
	export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
	# Criterion's own runner leaks a few bytes at exit; only that is suppressed.
	export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
	# Last, so that its Synthesis line closes the output.
	./build-test/tests/idp-tests -j2
}

case "${1:-}" in
run) cmd_run ;;
test) cmd_test ;;
*)
	echo "usage: ./build.sh run|test" >&2
	exit 2
	;;
esac
