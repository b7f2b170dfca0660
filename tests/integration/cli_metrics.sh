#!/usr/bin/env bash
# shmpipectl metrics: Prometheus' own parser (Debian's python3-prometheus-
# client, as node_exporter's textfile collector would read the file) takes
# the output, and every value is what `inspect` says.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

BUILD=${BUILD:-$SP_REPO/build}
CTL="$BUILD/shmpipectl"

root=$(sp_tmpdir root)
sp_defer sp_umount_under "$root"
export SHMPIPE_ROOT=$root
unset SHMPIPE_CONFIG

# check FILE : parse FILE with prometheus_client and compare with inspect.
check() {
	"$CTL" ls --json >"$SP_CASE_DIR/ls.json"
	"$SP_PYTHON" - "$1" "$SP_CASE_DIR/ls.json" <<'PY'
import calendar, json, sys, time
from prometheus_client.parser import text_string_to_metric_families

fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
pipes = {p["name"]: p for p in json.load(open(sys.argv[2]))}
want = {
    "shmpipe_pipeline_size_bytes": lambda p: p["size"],
    "shmpipe_pipeline_used_bytes": lambda p: p["used"],
    "shmpipe_pipeline_inodes_total": lambda p: p["inodes"],
    "shmpipe_pipeline_members": lambda p: len(p["members"]),
    "shmpipe_pipeline_created_timestamp_seconds":
        lambda p: calendar.timegm(time.strptime(p["created"], "%Y-%m-%dT%H:%M:%SZ")),
}
for name, f in want.items():
    fam = fams[name]
    assert fam.type == "gauge", (name, fam.type)
    got = {s.labels["pipeline"]: s.value for s in fam.samples}
    assert set(got) == set(pipes), (name, sorted(got), sorted(pipes))
    for pname, p in pipes.items():
        assert got[pname] == f(p), (name, pname, got[pname], f(p))
used_inodes = {s.labels["pipeline"]: s.value for s in fams["shmpipe_pipeline_inodes_used"].samples}
for pname in pipes:
    assert 1 <= used_inodes[pname] <= pipes[pname]["inodes"], (pname, used_inodes[pname])
info = {s.labels["pipeline"]: s.labels for s in fams["shmpipe_pipeline_info"].samples}
for pname, p in pipes.items():
    assert info[pname]["lifetime"] == p["lifetime"] and info[pname]["huge"] == p["huge"], info[pname]
total = lambda n: fams[n].samples[0].value
assert total("shmpipe_store_pipelines") == len(pipes)
assert total("shmpipe_store_size_bytes") == sum(p["size"] for p in pipes.values())
assert total("shmpipe_store_used_bytes") == sum(p["used"] for p in pipes.values())
assert total("shmpipe_store_members") == sum(len(p["members"]) for p in pipes.values())
print("checked %d pipelines, %d families" % (len(pipes), len(fams)))
PY
}

t_empty() {
	"$CTL" metrics >"$SP_CASE_DIR/m.prom"
	check "$SP_CASE_DIR/m.prom"
	grep -qx "shmpipe_store_pipelines 0" "$SP_CASE_DIR/m.prom"
}
sp_test "an empty store: the parser reads the totals (0 pipelines)" t_empty

t_values() {
	"$CTL" create frames --size 8m --inodes 100 --huge within_size >/dev/null
	"$CTL" create small --size 1m --lifetime ephemeral >/dev/null
	"$CTL" create idle --size 2m >/dev/null
	"$CTL" join frames --id ctr-a >/dev/null
	"$CTL" join frames --id docker:0123 >/dev/null
	"$CTL" join small --id ctr-b >/dev/null
	# Content: bytes and inodes in use.
	head -c 3000000 /dev/urandom >"$root/mnt/frames/ring"
	mkdir "$root/mnt/frames/d" && touch "$root/mnt/frames/d/a" "$root/mnt/frames/d/b"
	head -c 100000 /dev/urandom >"$root/mnt/small/x"
	"$CTL" metrics >"$SP_CASE_DIR/m.prom"
	check "$SP_CASE_DIR/m.prom"
	# The tmpfs's own inode count: root, ring, d, d/a, d/b.
	grep -qx 'shmpipe_pipeline_inodes_used{pipeline="frames"} 5' "$SP_CASE_DIR/m.prom"
	grep -qx 'shmpipe_pipeline_used_bytes{pipeline="frames"} 3002368' "$SP_CASE_DIR/m.prom" ||
		sp_fail "frames: $(grep used_bytes "$SP_CASE_DIR/m.prom")"
}
sp_test "three pipelines with members and content: every value matches inspect" t_values

t_output() {
	local out=$SP_CASE_DIR/textfile/shmpipe.prom
	mkdir -p "$SP_CASE_DIR/textfile"
	"$CTL" metrics --output "$out"
	check "$out"
	# Replaced whole (temp file + rename), nothing else left in the directory.
	"$CTL" leave frames --id ctr-a >/dev/null
	"$CTL" metrics --output "$out"
	check "$out"
	sp_assert_eq "shmpipe.prom" "$(ls -A "$SP_CASE_DIR/textfile")"
	sp_assert_fails "$CTL" metrics --output "$SP_CASE_DIR/missing/dir/x.prom"
}
sp_test "--output writes the file atomically for the textfile collector" t_output

# --listen: the same text over HTTP, fresh per request; only GET /metrics;
# SIGTERM ends it with status 0.
t_listen() {
	local port pid
	port=$((20000 + RANDOM % 20000))
	"$CTL" metrics --listen "127.0.0.1:$port" 2>"$SP_CASE_DIR/err" &
	pid=$!
	sp_defer kill "$pid"
	sp_wait_for 10 curl -sf "http://127.0.0.1:$port/metrics" || sp_fail "not serving: $(cat "$SP_CASE_DIR/err")"
	curl -sf "http://127.0.0.1:$port/metrics" >"$SP_CASE_DIR/m.prom"
	check "$SP_CASE_DIR/m.prom"
	"$CTL" join frames --id ctr-late >/dev/null
	curl -sf "http://127.0.0.1:$port/metrics" >"$SP_CASE_DIR/m.prom"
	check "$SP_CASE_DIR/m.prom"
	sp_assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")"
	sp_assert_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/metrics")"
	kill -TERM "$pid"
	wait "$pid" || sp_fail "exit status $? on SIGTERM"
	sp_assert_contains "$("$CTL" metrics --listen nonsense 2>&1 || true)" "--listen nonsense: want [HOST]:PORT"
	sp_assert_fails "$CTL" metrics --listen :1 --output /dev/null
}
sp_test "--listen serves GET /metrics (parsed by prometheus_client, fresh per request), 404/405 otherwise, stops on SIGTERM" t_listen

sp_done
