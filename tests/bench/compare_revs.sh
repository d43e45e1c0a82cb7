#!/usr/bin/env bash
# tests/bench/compare_revs.sh - two revisions of ttlog measured in one run:
# "no regression, before vs after".
#
#   tests/bench/compare_revs.sh [--rounds 3] [--n 1000000] [--jobs 2]
#                               [--work DIR] BEFORE_REV AFTER_REV
#
# Exports each revision with `git archive REV | tar -x` into
# DIR/<commit>/src (default DIR: /tmp/ttlog-compare-revs; no git worktree),
# and builds it twice in Release, as packaging/dev does:
#   build-bench  -DTTLOG_BENCH=ON -DTTLOG_TESTS=OFF  (ttlog-bench)
#   build-fw     -DTTLOG_TESTS=ON                    (agent, seqgen, plugins)
# A second call with the same DIR reuses the exports and builds.
#
# Each round runs, alternating the order round by round (round 1 BEFORE
# then AFTER, round 2 AFTER then BEFORE, ...) so that drift on a noisy
# machine hits both alike:
#   ttlog-bench --runs 1 of each revision (with --quick when --n is below
#     1000000: ttlog-bench has no size option, --quick is its small one)
#   forward_bench.py --runs 1 --n N --rows ttlog-ttlog,ttlog-syslog,app-150
#     on each revision's build-fw. The driver is the forward_bench.py of
#     the AFTER revision for both builds (it only points at a build
#     directory); the report says so.
# Then prints a markdown table: metric | before median (min–max) | after
# median (min–max) | after/before (ratio of the medians). Raw outputs stay
# in DIR/results-<time>/.
#
# bash and python3 (standard library) only. Needs what packaging/dev bench
# and bench-forward need (libspdlog-dev, rsyslog, rsyslog-openssl, ...);
# install them with `packaging/dev deps` and `packaging/dev bench` once.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rounds=3
n=1000000
jobs=2
work=${TMPDIR:-/tmp}/ttlog-compare-revs
rows=ttlog-ttlog,ttlog-syslog,app-150

say() { printf 'compare_revs: %s\n' "$*" >&2; }
usage() {
	awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' \
		"${BASH_SOURCE[0]}" >&2
	exit 2
}
posint() {
	case $2 in
	'' | *[!0-9]* | 0*) say "$1 wants a positive integer"; exit 2 ;;
	esac
}

revs=()
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) posint "$1" "${2:-}"; rounds=$2; shift 2 ;;
	--n) posint "$1" "${2:-}"; n=$2; shift 2 ;;
	--jobs) posint "$1" "${2:-}"; jobs=$2; shift 2 ;;
	--work) work=${2:?--work wants a directory}; shift 2 ;;
	-h | --help) usage ;;
	-*) say "unknown option $1"; usage ;;
	*) revs+=("$1"); shift ;;
	esac
done
[ "${#revs[@]}" -eq 2 ] || usage
mkdir -p "$work"
work=$(cd "$work" && pwd)

# ---------------------------------------------------------------------------
# export and build

commit=()
label=(before after)
for i in 0 1; do
	c=$(git -C "$top" rev-parse --verify --quiet "${revs[$i]}^{commit}") ||
		{ say "not a commit: ${revs[$i]}"; exit 2; }
	commit[i]=$c
done
if [ -n "$(git -C "$top" status --porcelain --untracked-files=no)" ]; then
	say "note: uncommitted changes in $top are not measured" \
		"(git archive exports commits only)"
fi

# build NAME SRC DIR TARGETS cmake-options...: configure, then build the
# targets (a space-separated list of names and of prefixes ending in '*',
# matched against the build's own target list; empty: all), log to DIR.log.
build() {
	local name=$1 src=$2 dir=$3 want=$4 t w
	shift 4
	local log=$dir.log targets=() wl=()
	read -r -a wl <<<"$want" # no pathname expansion, unlike $want
	say "building $name ($(basename "$dir"), -j$jobs; log $log)"
	if cmake -S "$src" -B "$dir" "$@" >"$log" 2>&1; then
		for t in $(cmake --build "$dir" --target help 2>/dev/null |
			sed -n 's/^\.\.\. \([^ ]*\).*/\1/p'); do
			for w in "${wl[@]}"; do
				# shellcheck disable=SC2053  # w is a glob on purpose
				[[ $t == $w ]] && targets+=(--target "$t")
			done
		done
		[ -z "$want" ] || [ "${#targets[@]}" -gt 0 ] ||
			{ say "$name: none of the targets $want"; exit 1; }
		cmake --build "$dir" --parallel "$jobs" "${targets[@]}" \
			>>"$log" 2>&1 && return 0
	fi
	tail -n 30 "$log" >&2
	say "build failed: $name, see $log"
	exit 1
}

root=()
for i in 0 1; do
	c=${commit[$i]}
	d=$work/${c:0:12}
	root[i]=$d
	if [ ! -f "$d/src/.exported" ]; then
		rm -rf "$d/src"
		mkdir -p "$d/src"
		git -C "$top" archive "$c" | tar -x -C "$d/src"
		: >"$d/src/.exported"
	fi
	[ "$i" -eq 1 ] && [ "$c" = "${commit[0]}" ] && continue
	name="${label[$i]} ${revs[$i]} (${c:0:12})"
	build "$name" "$d/src" "$d/build-bench" "" -DCMAKE_BUILD_TYPE=Release \
		-DTTLOG_BENCH=ON -DTTLOG_TESTS=OFF
	# Of the test build only what forward_bench.py runs, not the suite.
	build "$name" "$d/src" "$d/build-fw" \
		"ttlog-agent ttlog-seqgen ttlog_plugin_*" \
		-DCMAKE_BUILD_TYPE=Release -DTTLOG_TESTS=ON
	for f in build-bench/tests/bench/ttlog-bench build-fw/agent/ttlog-agent \
		build-fw/tests/ttlog-seqgen build-fw/plugins/forward.so; do
		[ -e "$d/$f" ] || { say "$name: $f was not built"; exit 1; }
	done
done

# The forward driver: the AFTER revision's, for both builds.
driver=${root[1]}/src/tests/bench/forward_bench.py
[ -f "$driver" ] || { say "the AFTER revision has no $driver"; exit 1; }
if ! cmp -s "$driver" "${root[0]}/src/tests/bench/forward_bench.py"; then
	driver_note="differs from the BEFORE revision's, which is not used"
else
	driver_note="the same file in both revisions"
fi

bench_args=(--runs 1)
[ "$n" -lt 1000000 ] && bench_args+=(--quick)

out=$work/results-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
say "raw outputs: $out"

# run KIND SIDE ROUND: one ttlog-bench or forward_bench.py run, its output
# in $out/rROUND-SIDE-KIND.txt; a failed run is noted, not fatal.
run() {
	local kind=$1 side=$2 r=$3 d=${root[$2]} rc=0 t0 t1
	local f=$out/r$r-${label[$side]}-$kind.txt
	t0=$(date +%s)
	say "round $r: $kind, ${label[$side]} (${revs[$side]})"
	if [ "$kind" = bench ]; then
		"$d/build-bench/tests/bench/ttlog-bench" "${bench_args[@]}" \
			>"$f" 2>"$f.err" || rc=$?
	else
		/usr/bin/env python3 "$driver" --build "$d/build-fw" --runs 1 \
			--n "$n" --rows "$rows" >"$f" 2>"$f.err" || rc=$?
	fi
	t1=$(date +%s)
	printf '%s\t%s\t%s\t%s\t%s\n' "$r" "${label[$side]}" "$kind" "$rc" \
		"$((t1 - t0))" >>"$out/runs.tsv"
	[ "$rc" -eq 0 ] || say "  exit status $rc (see $f, $f.err)"
}

start=$(date +%s)
for ((r = 1; r <= rounds; r++)); do
	if ((r % 2)); then order=(0 1); else order=(1 0); fi
	for s in "${order[@]}"; do run bench "$s" "$r"; done
	for s in "${order[@]}"; do run forward "$s" "$r"; done
done
total=$(($(date +%s) - start))

# ---------------------------------------------------------------------------
# the table

{
	printf 'before\t%s\t%s\n' "${revs[0]}" "${commit[0]}"
	printf 'after\t%s\t%s\n' "${revs[1]}" "${commit[1]}"
	printf 'rounds\t%s\n' "$rounds"
	printf 'n\t%s\n' "$n"
	printf 'bench_args\t%s\n' "${bench_args[*]}"
	printf 'driver\t%s\t%s\n' "$driver" "$driver_note"
	printf 'rows\t%s\n' "$rows"
	printf 'total\t%s\n' "$total"
} >"$out/meta.tsv"

exec python3 - "$out" <<'PY'
import os
import re
import statistics
import sys

out = sys.argv[1]
meta = {}
with open(os.path.join(out, "meta.tsv")) as f:
    for line in f:
        k, *v = line.rstrip("\n").split("\t")
        meta[k] = v
runs = []
with open(os.path.join(out, "runs.tsv")) as f:
    for line in f:
        r, side, kind, rc, secs = line.rstrip("\n").split("\t")
        runs.append((int(r), side, kind, int(rc), int(secs)))

NUM = re.compile(r"-?\d+(?:\.\d+)?")


def first_num(cell):
    m = NUM.search(cell)
    return float(m.group(0)) if m else None


def tables(text):
    """{section title: [tables]} of a markdown report, a table being
    {"head": header cells, "rows": [row as a dict by header cell]}."""
    res, title, cur = {}, None, None
    for line in text.splitlines():
        if line.startswith("## "):
            title, cur = line[3:].strip(), None
            res.setdefault(title, [])
        elif title is not None and line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cur is None:
                cur = {"head": cells, "rows": []}
                res[title].append(cur)
            elif not all(c and set(c) <= set("-:") for c in cells):
                cur["rows"].append(dict(zip(cur["head"], cells)))
        else:
            cur = None
    return res


def section(t, prefix):
    for k, v in t.items():
        if k.startswith(prefix) and v:
            return v[0]["rows"]
    return []


def parse_bench(text):
    """ttlog-bench's markdown report: ttlog's rows only."""
    m = {}
    t = tables(text)
    for row in section(t, "(a)"):
        if row.get("logger") != "ttlog":
            continue
        f = row.get("fields", "?")
        for col, name in (("p50 ns", "p50"), ("p99 ns", "p99"),
                          ("p99.9 ns", "p99.9")):
            v = first_num(row.get(col, ""))
            if v is not None:
                m["hot path %s fields: %s ns ↓" % (f, name)] = v
        v = first_num(row.get("mean≤p99 − timer", ""))
        if v is not None:
            m["hot path %s fields: mean≤p99 − timer ns ↓" % f] = v
    for row in section(t, "(b)"):
        if row.get("logger") != "ttlog":
            continue
        th = first_num(row.get("threads", ""))
        v = first_num(row.get("M events/s, all threads", ""))
        if th is not None and v is not None:
            m["burst %d thread%s: M events/s ↑" % (th, "" if th == 1
                                                    else "s")] = v
    for row in section(t, "(c)"):
        sink = row.get("listener", "?").split(" (")[0]
        v = first_num(row.get("M events/s", ""))
        if v is not None:
            m["drain %s: M events/s ↑" % sink] = v
    return m


RUN = re.compile(r"^run \d+ (\S+)\s+([\d.]+) s, ([\d.]+)([kM]) ev/s, "
                 r"([\d.]+) MB/s, relay ([\d.]+|-), sink ([\d.]+) CPU-s/M"
                 r"(.*)$")
RSS = re.compile(r"^\s+(\S+):\s.*forwarder peak RSS (\d+(?:\.\d+)?) MiB")


def parse_forward(text, notes, tag):
    m = {}
    for line in text.splitlines():
        g = RUN.match(line)
        if g:
            row = g.group(1)
            rate = float(g.group(3)) * (1e3 if g.group(4) == "k" else 1e6)
            m["%s: msgs/s ↑" % row] = rate
            if g.group(6) != "-":
                m["%s: relay CPU-s per M events ↓" % row] = \
                    float(g.group(6))
            if g.group(8).strip():
                notes.append("%s %s:%s" % (tag, row, g.group(8)))
            continue
        if line.startswith("run ") and "INCOMPLETE" in line:
            notes.append("%s %s" % (tag, line))
            continue
        g = RSS.match(line)
        if g:
            m["%s: relay peak RSS MiB ↓" % g.group(1)] = float(g.group(2))
    return m


vals = {}  # metric -> side -> [values]
order = []
kind_of = {}
notes = []
for r, side, kind, rc, secs in runs:
    fn = os.path.join(out, "r%d-%s-%s.txt" % (r, side, kind))
    try:
        with open(fn, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""
    tag = "round %d %s %s" % (r, side, kind)
    if rc != 0:
        notes.append("%s: exit status %d" % (tag, rc))
    got = parse_bench(text) if kind == "bench" else \
        parse_forward(text, notes, tag)
    if not got:
        notes.append("%s: no figures found in %s" % (tag, fn))
    for k, v in got.items():
        if k not in vals:
            vals[k] = {"before": [], "after": []}
            order.append(k)
            kind_of[k] = kind
        vals[k][side].append(v)


def fmt(v):
    a = abs(v)
    if a >= 1e6:
        return "%.3gM" % (v / 1e6)
    if a >= 1e4:
        return "%.0fk" % (v / 1e3)
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    return "%.2f" % v


def cell(xs):
    if not xs:
        return "–", None
    med = statistics.median(xs)
    if len(xs) == 1 or min(xs) == max(xs):
        return fmt(med), med
    return "%s (%s–%s)" % (fmt(med), fmt(min(xs)), fmt(max(xs))), med


rows = meta["rows"][0].split(",")
bench_order = [k for k in order if kind_of[k] == "bench"]
fw_order = sorted((k for k in order if kind_of[k] != "bench"),
                  key=lambda k: (rows.index(k.split(":")[0])
                                 if k.split(":")[0] in rows else len(rows),
                                 order.index(k)))
b, a = meta["before"], meta["after"]
print()
print("# ttlog: %s (before) vs %s (after)" % (b[0], a[0]))
print()
print("before %s, after %s; %s round(s), order alternating round by round "
      "(B A, A B, ...); ttlog-bench %s; forward_bench.py --runs 1 --n %s "
      "--rows %s. A cell is the median over the rounds, (min–max) after "
      "it; after/before is the ratio of the medians. ↓ lower is better, "
      "↑ higher is better."
      % (b[1][:12], a[1][:12], meta["rounds"][0], meta["bench_args"][0],
         meta["n"][0], meta["rows"][0]))
print()
print("Forward driver for both builds: the AFTER revision's "
      "tests/bench/forward_bench.py (%s)." % meta["driver"][1])
print()
print("| metric | before median (min–max) | after median (min–max) | "
      "after/before |")
print("|---|---:|---:|---:|")
for k in bench_order + fw_order:
    cb, mb = cell(vals[k]["before"])
    ca, ma = cell(vals[k]["after"])
    ratio = "%.3f" % (ma / mb) if mb and ma is not None else "–"
    print("| %s | %s | %s | %s |" % (k, cb, ca, ratio))
print()
per = {}
for r, side, kind, rc, secs in runs:
    per.setdefault(r, 0)
    per[r] += secs
kinds = {}
for r, side, kind, rc, secs in runs:
    kinds.setdefault(kind, []).append(secs)
print("Time: %s s in all; per round %s s (ttlog-bench %s s, forward %s s "
      "per revision, median)." % (
          meta["total"][0], ", ".join(str(per[r]) for r in sorted(per)),
          statistics.median(kinds.get("bench", [0])),
          statistics.median(kinds.get("forward", [0]))))
print("Raw outputs: %s" % out)
if notes:
    print()
    print("Notes:")
    for x in notes:
        print("* " + x)
sys.exit(1 if notes else 0)
PY
