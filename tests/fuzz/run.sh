#!/usr/bin/env bash
# Runs every libFuzzer target built in BUILD_DIR/tests/fuzz for SECONDS each.
#
#   tests/fuzz/run.sh BUILD_DIR [SECONDS]
#
# SECONDS defaults to $FUZZ_SECONDS, else 15; 0 skips fuzzing. Each target
# fuzz_NAME starts from a temporary copy of tests/fuzz/corpus/NAME, so the
# committed seed corpus is never changed. Exits 1 if a target crashed, hung,
# leaked or ran out of memory; the reproducer is kept in
# BUILD_DIR/fuzz-artifacts/ and printed in base64.
set -u

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 BUILD_DIR [SECONDS]" >&2
	exit 2
fi
build=$1
secs=${2:-${FUZZ_SECONDS:-15}}
case $secs in
'' | *[!0-9]*)
	echo "fuzz: SECONDS must be a whole number, got '$secs'" >&2
	exit 2
	;;
esac
if [ "$secs" -eq 0 ]; then
	echo "fuzz: skipped (FUZZ_SECONDS=0)"
	exit 0
fi
if [ ! -d "$build/tests/fuzz" ]; then
	echo "fuzz: no $build/tests/fuzz; set up the build with -Dfuzz=true (CC=clang-14)" >&2
	exit 2
fi

targets=()
for f in "$build"/tests/fuzz/fuzz_*; do
	[ -f "$f" ] && [ -x "$f" ] && targets+=("$f")
done
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no fuzz_* binaries in $build/tests/fuzz (run ninja -C $build first)" >&2
	exit 2
fi

# Sanitizer settings: leaks are errors; UBSan findings stop the run (meson
# builds UBSan in recoverable mode, which would only print them). If libyaml,
# which is not instrumented, ever needs a leak suppression, put it in
# tests/fuzz/lsan.supp and it is used.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:symbolize=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
if [ -f "$here/lsan.supp" ]; then
	export LSAN_OPTIONS="suppressions=$here/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/idp-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
keep="$build/fuzz-artifacts"
status=0

for bin in "${targets[@]}"; do
	name=$(basename "$bin")
	short=${name#fuzz_}
	work="$tmp/$name"
	mkdir -p "$work/corpus" "$work/artifacts"
	if [ -d "$here/corpus/$short" ]; then
		cp -R "$here/corpus/$short/." "$work/corpus/"
	fi
	log="$work/log"
	start=$(date +%s.%N)
	"$bin" -timeout=5 -max_total_time="$secs" -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$work/artifacts/" \
		"$work/corpus" >"$log" 2>&1
	rc=$?
	end=$(date +%s.%N)
	elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ -z "$runs" ]; then
		# No final stats (the process died): take the last progress line.
		runs=$(grep -Eo '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
	fi
	runs=${runs:-0}

	artifacts=()
	for a in "$work"/artifacts/*; do
		[ -f "$a" ] && artifacts+=("$a")
	done
	if [ "$rc" -eq 0 ] && [ ${#artifacts[@]} -eq 0 ]; then
		echo "fuzz: $name: $runs runs in $elapsed s, no crash"
		continue
	fi

	status=1
	mkdir -p "$keep"
	cp "$log" "$keep/$name.log"
	kinds=""
	for a in "${artifacts[@]}"; do
		k=$(basename "$a")
		kinds="$kinds${kinds:+, }${k%%-*}"
	done
	echo "fuzz: $name: $runs runs in $elapsed s, CRASH (exit $rc${kinds:+: $kinds}); log: $keep/$name.log"
	# The sanitizer's report: its error lines, then the first frames that are
	# not libFuzzer's, the sanitizers' or libc's own.
	grep -E '^==[0-9]+==ERROR|^SUMMARY:|^fuzz_[a-z0-9_]*:|runtime error:|^  error:|^document|^ALARM|^==[0-9]+== ERROR' "$log" |
		head -n 12 | sed 's/^/  /'
	grep -E '^ +#[0-9]+ ' "$log" |
		grep -Ev 'fuzzer::|__sanitizer|__asan|__ubsan|libc\.so|__libc_|in _start|in abort |in raise ' |
		head -n 12 | sed -E 's/ \(BuildId: [0-9a-f]+\)//; s/^ +/    /'
	for a in "${artifacts[@]}"; do
		cp "$a" "$keep/"
		kept="$keep/$(basename "$a")"
		echo "fuzz: $name: reproducer $kept ($(wc -c <"$a") bytes), base64:"
		base64 -w 76 "$a"
		echo "fuzz: $name: reproduce with: $bin $kept"
	done
done
exit $status
