#!/usr/bin/env bash
# Document load+emit throughput: `idp fmt` against PyYAML with libyaml's C
# loader and dumper, measured in the same run on the same ~10 MB stream of
# Kubernetes-like documents. See bench/README.md. Never gates CI.
#
#   bench/doc_throughput.sh
#
# Environment: BENCH_BUILD_DIR (default build-bench), BENCH_REPS (5),
# BENCH_MB (10), BENCH_SEED (1), PYTHON (python3).
# Exit: 0 done; 1 a step failed or the outputs disagree; 2 a tool is missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BENCH_BUILD_DIR:-$root/build-bench}
reps=${BENCH_REPS:-5}
mb=${BENCH_MB:-10}
seed=${BENCH_SEED:-1}
py=${PYTHON:-python3}

have_cyaml() { "$1" -c 'import yaml; yaml.CSafeLoader; yaml.CSafeDumper' >/dev/null 2>&1; }

# ---------------------------------------------------------------- the peer
if ! have_cyaml "$py"; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "bench: PyYAML with libyaml missing for $py; apt-get install -y python3-yaml" >&2
		if ! apt-get install -y python3-yaml >&2; then
			apt-get update >&2 && apt-get install -y python3-yaml >&2
		fi
		# Debian's package serves the system interpreter, which may not be
		# the python3 first on PATH (pyenv, venv).
		if ! have_cyaml "$py" && have_cyaml /usr/bin/python3; then
			py=/usr/bin/python3
		fi
	fi
	if ! have_cyaml "$py"; then
		echo "bench: missing PyYAML built with libyaml (yaml.CSafeLoader) for $py;" \
			"install it as root with 'apt-get install -y python3-yaml'" \
			"(or 'pip install pyyaml' where libyaml-dev is present)" >&2
		exit 2
	fi
fi
for tool in meson ninja; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench: missing $tool (apt-get install -y meson ninja-build)" >&2
		exit 2
	fi
done

# ---------------------------------------------------------------- build idp
log=$(mktemp "${TMPDIR:-/tmp}/idp-bench-build.XXXXXX")
if [ ! -f "$build/build.ninja" ]; then
	if ! (cd "$root" && meson setup "$build" -Dbuildtype=release -Dtests=false) >"$log" 2>&1; then
		cat "$log" >&2
		echo "bench: meson setup $build failed" >&2
		exit 1
	fi
fi
if ! ninja -C "$build" >"$log" 2>&1; then
	tail -n 60 "$log" >&2
	echo "bench: ninja -C $build failed" >&2
	exit 1
fi
rm -f "$log"
idp="$build/idp"
if [ ! -x "$idp" ]; then
	echo "bench: $idp was not built" >&2
	exit 1
fi
buildtype=$(meson introspect --buildoptions "$build" 2>/dev/null |
	"$py" -c 'import json,sys; print(next((o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"), "?"))' 2>/dev/null ||
	echo "?")

work=$(mktemp -d "${TMPDIR:-/tmp}/idp-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---------------------------------------------------------------- measure
"$py" - "$root" "$idp" "$work" "$reps" "$mb" "$seed" "$buildtype" <<'PY'
import json, os, platform, statistics, subprocess, sys, time
import yaml

root, idp, work, reps, mb, seed, buildtype = sys.argv[1:8]
reps, mb, seed = int(reps), float(mb), int(seed)
data_path = os.path.join(work, "docs.yaml")
ok = True

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"

def run(cmd, **kw):
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, **kw)

# 1. The input.
gen = run([sys.executable, os.path.join(root, "bench", "gen_docs.py"), data_path,
           "--mb", str(mb), "--seed", str(seed)], capture_output=True, text=True)
if gen.returncode != 0:
    sys.exit("bench: gen_docs.py failed:\n" + gen.stderr)
with open(data_path, "rb") as f:
    data = f.read()
size = len(data)
ndocs = data.count(b"\n---\n") + (1 if data.startswith(b"---\n") else 0)

try:
    idp_version = run([idp, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
except Exception:
    idp_version = ""
print("doc_throughput: {} bytes, {} documents (bench/gen_docs.py --mb {:g} --seed {}), {} repetitions"
      .format(size, ndocs, mb, seed, reps))
print("  machine: {}, {} CPUs; {} ({} build); Python {}, PyYAML {}, libyaml {}".format(
    cpu_model(), os.cpu_count(), idp_version.splitlines()[0] if idp_version else "idp (no --version)", buildtype,
    platform.python_version(), yaml.__version__, yaml._yaml.get_version_string()))

# 2. One untimed run of each tool, to check that they agree.
def idp_out(extra):
    r = run([idp, "fmt", "-f", data_path] + extra, capture_output=True)
    if r.returncode != 0:
        sys.exit("bench: idp fmt {} failed (exit {}):\n{}".format(
            " ".join(extra), r.returncode, r.stderr.decode(errors="replace")[:4000]))
    return r.stdout

def first_diff(a, b, path="$"):
    if type(a) != type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))
                                   and not isinstance(a, bool) and not isinstance(b, bool)):
        return "{}: {!r} ({}) vs {!r} ({})".format(path, a, type(a).__name__, b, type(b).__name__)
    if isinstance(a, dict):
        for k in a:
            if k not in b:
                return "{}.{}: missing in idp output".format(path, k)
            d = first_diff(a[k], b[k], "{}.{}".format(path, k))
            if d:
                return d
        for k in b:
            if k not in a:
                return "{}.{}: extra in idp output".format(path, k)
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "{}: {} items vs {}".format(path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, "{}[{}]".format(path, i))
            if d:
                return d
        return None
    return None if a == b else "{}: {!r} vs {!r}".format(path, a, b)

# The first ~5% of the input, cut at a document boundary, as PyYAML reads it.
cut = data.find(b"\n---\n", size // 20)
head = list(yaml.load_all(data[:cut + 1] if cut > 0 else data, Loader=yaml.CSafeLoader))

out_yaml = idp_out([])
try:
    idp_docs = list(yaml.load_all(out_yaml, Loader=yaml.CSafeLoader))
except yaml.YAMLError as e:
    idp_docs = None
    ok = False
    print("  check: FAILED: PyYAML cannot read idp's YAML output: {}".format(str(e).splitlines()[0]))
if idp_docs is not None:
    diffs = [(i, first_diff(x, y)) for i, (x, y) in enumerate(zip(head, idp_docs))]
    diffs = [(i, d) for i, d in diffs if d]
    tricky = {"on", "off", "yes", "no", "y", "n", "true", "false", "null", "~", "0755", "0644",
              "1.0", "10", "0x1F", "1e3", "12:30", "2024-01-01", "+1", ".inf"}
    def count_tricky(n):
        if isinstance(n, dict):
            return sum(count_tricky(v) for v in n.values())
        if isinstance(n, list):
            return sum(count_tricky(v) for v in n)
        return 1 if isinstance(n, str) and n in tricky else 0
    quoted = sum(count_tricky(d) for i, d in enumerate(idp_docs[:len(head)]) if i not in dict(diffs))
    good = len(idp_docs) == ndocs and not diffs
    ok = ok and good
    print("  check yaml: {}: idp fmt wrote {} documents (input {}); the first {} read back by PyYAML "
          "equal PyYAML's reading of the input: {}/{} ({} tricky strings such as \"on\"/\"0755\" kept as strings)"
          .format("ok" if good else "FAILED", len(idp_docs), ndocs, len(head),
                  len(head) - len(diffs), len(head), quoted))
    for i, d in diffs[:3]:
        print("    document {}: {}".format(i, d))

out_json = idp_out(["-o", "json"]).decode("utf-8", errors="replace")
dec, pos, values = json.JSONDecoder(), 0, []
try:
    while True:
        while pos < len(out_json) and out_json[pos] in " \t\r\n":
            pos += 1
        if pos >= len(out_json):
            break
        v, pos = dec.raw_decode(out_json, pos)
        values.append(v)
    shape = "{} JSON values".format(len(values))
    if len(values) == 1 and isinstance(values[0], list):
        values, shape = values[0], "one JSON array"
    elif len(values) == 1 and isinstance(values[0], dict) and isinstance(values[0].get("items"), list) \
            and len(values[0]["items"]) == ndocs:
        values, shape = values[0]["items"], "one List object"
    jdiffs = [(i, first_diff(x, y)) for i, (x, y) in enumerate(zip(head, values))]
    jdiffs = [(i, d) for i, d in jdiffs if d]
    good = len(values) == ndocs and not jdiffs
    ok = ok and good
    print("  check json: {}: idp fmt -o json wrote {} documents as {}; the first {} equal: {}/{}"
          .format("ok" if good else "FAILED", len(values), shape, len(head), len(head) - len(jdiffs), len(head)))
    for i, d in jdiffs[:3]:
        print("    document {}: {}".format(i, d))
except ValueError as e:
    ok = False
    print("  check json: FAILED: the output is not JSON: {}".format(e))
del head, idp_docs, out_yaml, out_json, values

# 3. Timings, interleaved so that drift hits every tool alike.
PY_BENCH = r"""
import sys, time, yaml
with open(sys.argv[1], "rb") as f:
    data = f.read()
t0 = time.perf_counter()
docs = list(yaml.load_all(data, Loader=yaml.CSafeLoader))
out = yaml.dump_all(docs, Dumper=yaml.CSafeDumper, default_flow_style=False, sort_keys=False)
t1 = time.perf_counter()
print(t1 - t0, len(docs), len(out))
"""

def time_idp(extra):
    t0 = time.perf_counter()
    r = run([idp, "fmt", "-f", data_path] + extra, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t1 = time.perf_counter()
    if r.returncode != 0:
        sys.exit("bench: idp fmt failed: " + r.stderr.decode(errors="replace")[:2000])
    return t1 - t0

def time_pyyaml():
    r = run([sys.executable, "-c", PY_BENCH, data_path], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("bench: PyYAML run failed:\n" + r.stderr[-2000:])
    secs, n, _ = r.stdout.split()
    if int(n) != ndocs:
        sys.exit("bench: PyYAML loaded {} documents, expected {}".format(n, ndocs))
    return float(secs)

times = {"yaml": [], "json": [], "py": []}
for _ in range(reps):
    times["yaml"].append(time_idp([]))
    times["json"].append(time_idp(["-o", "json"]))
    times["py"].append(time_pyyaml())

def mbps(t):
    return size / 1e6 / t

med = {k: mbps(statistics.median(v)) for k, v in times.items()}
rows = [
    ("idp fmt (YAML out)", "yaml", "whole process"),
    ("idp fmt -o json", "json", "whole process"),
    ("PyYAML-C load_all+dump_all", "py", "in-process"),
]
print()
print("  {:<28} {:>11} {:>9} {:>9} {:>13}  {}".format(
    "tool", "MB/s (med)", "min", "max", "vs PyYAML-C", "timed"))
for label, k, how in rows:
    rates = [mbps(t) for t in times[k]]
    print("  {:<28} {:>11.1f} {:>9.1f} {:>9.1f} {:>12.1f}x  {}".format(
        label, med[k], min(rates), max(rates), med[k] / med["py"], how))
print()
print("  MB = 10^6 input bytes. idp is timed from process start to exit (exec, read, load,")
print("  emit, write to /dev/null); PyYAML only inside Python, around yaml.load_all(CSafeLoader)")
print("  + yaml.dump_all(CSafeDumper) on bytes already read (interpreter start-up not counted).")
if not ok:
    print("  note: the output check above FAILED")
print("doc load+emit: idp {:.1f} MB/s, PyYAML-C {:.1f} MB/s, ratio {:.1f}x (goal >= 3x)".format(
    med["yaml"], med["py"], med["yaml"] / med["py"]))
sys.exit(0 if ok else 1)
PY
