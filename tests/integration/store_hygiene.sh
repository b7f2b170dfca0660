#!/usr/bin/env bash
# Store hygiene (issue 15): lock files of no pipeline do not pile up, and gc
# removes them without racing a create; a record at the member cap loads and
# works everywhere, one more join is refused in one line.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

BUILD=${BUILD:-$SP_REPO/build}
CTL="$BUILD/shmpipectl"

# A store root per case on a tmpfs of its own, as /run/shmpipe is (records
# are fsync()ed: on this VM's disk a write costs ~150 ms).
new_root() {
	root=$(mktemp -d "$SP_TMP/root.XXXXXX")
	sp_defer sp_umount_under "$root"
	mount -t tmpfs -o mode=0755,size=64m shmpipe-test "$root"
	export SHMPIPE_ROOT=$root
	unset SHMPIPE_CONFIG
	"$CTL" ls >/dev/null
}

locks() { (cd "$root/locks" && ls -A | sort | tr '\n' ' '); }

t_refused_names() {
	local i out
	new_root
	"$CTL" create kept --size 1m >/dev/null
	# Joins refused because the pipeline does not exist (as the hook's with
	# auto_create off), leaves and removes of nothing: no lock file stays.
	for i in 1 2 3 4 5; do
		sp_assert_fails "$CTL" join "nope$i" --id c$i
		"$CTL" leave "gone$i" --id c$i >/dev/null
		sp_assert_fails "$CTL" rm "gone$i"
	done
	sp_assert_eq "kept.lock " "$(locks)"
	# Lock files an earlier release left: gc removes them, one line each,
	# and keeps the lock of the pipeline that exists.
	for i in 1 2 3 4 5; do : >"$root/locks/old$i.lock"; done
	out=$("$CTL" gc)
	sp_assert_eq 5 "$(grep -c ': removed a lock file of no pipeline$' <<<"$out")" "$out"
	sp_assert_eq "kept.lock " "$(locks)"
	sp_assert_eq "" "$("$CTL" gc)"
	"$CTL" rm kept >/dev/null
	sp_assert_eq "" "$(locks)"
}
sp_test "refused names leave no lock file; gc removes those an earlier release left" t_refused_names

t_gc_races_create() {
	local i pids=() gcs=0 bad=0
	new_root
	# 60 creates (and 60 lock files left by hand, half with a create of the
	# same name on the way) while gc runs in a loop: every create succeeds,
	# every pipeline keeps its lock, every orphan lock goes.
	for i in $(seq 1 60); do : >"$root/locks/r$i.lock"; done
	(while [[ ! -e $SP_CASE_DIR/stop ]]; do "$CTL" gc >/dev/null 2>>"$SP_CASE_DIR/gc.err" || echo fail >>"$SP_CASE_DIR/gc.err"; echo >>"$SP_CASE_DIR/gc.runs"; done) &
	local gc_pid=$!
	for i in $(seq 1 60); do
		"$CTL" create "c$i" --size 1m >/dev/null 2>>"$SP_CASE_DIR/create.err" &
		pids+=($!)
		if ((i % 2 == 0)); then
			"$CTL" create "r$i" --size 1m >/dev/null 2>>"$SP_CASE_DIR/create.err" &
			pids+=($!)
		fi
		sleep 0.05 # spread the creates over many gc runs
	done
	for i in "${pids[@]}"; do wait "$i" || bad=$((bad + 1)); done
	touch "$SP_CASE_DIR/stop"
	wait "$gc_pid"
	gcs=$(wc -l <"$SP_CASE_DIR/gc.runs")
	sp_log "gc ran $gcs times during the creates"
	((gcs >= 3)) || sp_fail "gc ran only $gcs times: the race was not exercised"
	sp_assert_eq 0 "$bad" "failed creates: $(cat "$SP_CASE_DIR/create.err")"
	[[ ! -s $SP_CASE_DIR/gc.err ]] || sp_fail "gc failed: $(cat "$SP_CASE_DIR/gc.err")"
	"$CTL" gc >/dev/null
	for i in $(seq 1 60); do
		[[ -e $root/state/c$i.json && -e $root/locks/c$i.lock ]] || sp_fail "c$i: record or lock missing"
		mountpoint -q "$root/mnt/c$i" || sp_fail "c$i not mounted"
		if ((i % 2 == 0)); then
			[[ -e $root/state/r$i.json && -e $root/locks/r$i.lock ]] || sp_fail "r$i: record or lock missing"
		else
			[[ ! -e $root/locks/r$i.lock ]] || sp_fail "r$i.lock (no pipeline) survived gc"
		fi
	done
	# Every pipeline still takes its lock: a join and a leave work.
	"$CTL" join c1 --id x >/dev/null && "$CTL" leave c1 --id x >/dev/null
}
sp_test "gc removing orphan lock files while creates take theirs: no create fails, no pipeline loses its lock" t_gc_races_create

t_member_cap() {
	local i id out rc=0 pad
	new_root
	"$CTL" create full --size 1m >/dev/null
	pad=$(printf '%0120d' 0)
	# 1023 members with 128-byte ids, as joins write them (the record is a
	# plain file: 1023 processes would take minutes under the sanitizers),
	# then the 1024th, the most a join may add, by a real join.
	"$SP_PYTHON" - "$root/state/full.json" "$pad" <<'PY'
import json, sys
path, pad = sys.argv[1], sys.argv[2]
rec = json.load(open(path))
rec["members"] = [{"id": "c%07d%s" % (i, pad), "pid": 0, "start_time": 0,
                   "joined": rec["created"]} for i in range(1023)]
json.dump(rec, open(path, "w"), indent=4)
PY
	sp_assert_eq 1023 "$(sp_json "$root/state/full.json" 'len(j["members"])')"
	printf -v id 'c%07d%s' 1023 "$pad"
	sp_assert_eq 128 "${#id}"
	"$CTL" join full --id "$id" >/dev/null
	sp_assert_eq 1024 "$(sp_json "$root/state/full.json" 'len(j["members"])')"
	sp_log "record at the cap: $(stat -c %s "$root/state/full.json") bytes"
	out=$("$CTL" join full --id one-more 2>&1) || rc=$?
	sp_assert_eq 1 "$rc"
	sp_assert_eq "shmpipectl: pipeline full: already has 1024 members, the most a pipeline may have" "$out"
	# The record at the cap loads everywhere.
	sp_assert_eq 1024 "$("$CTL" inspect full | "$SP_PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["members"]))')"
	"$CTL" ls | grep -q "^full .* 1024 " || sp_fail "ls: $("$CTL" ls)"
	"$CTL" metrics | grep -qx 'shmpipe_pipeline_members{pipeline="full"} 1024'
	"$CTL" gc >/dev/null
	"$CTL" leave full --id "$id" >/dev/null
	"$CTL" join full --id one-more >/dev/null
	sp_assert_eq 1024 "$(sp_json "$root/state/full.json" 'len(j["members"])')"
	"$CTL" rm --force full >/dev/null
}
sp_test "a record at the member cap (1024 x 128-byte ids) loads; one more join is refused in one line" t_member_cap

sp_done
