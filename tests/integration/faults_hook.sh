#!/bin/bash
# faults_hook.sh - the hook SIGKILLed at every step of a real runc join
# (SHMPIPE_FAULT in the hook entry's env: the store's own points and the
# hook's), and containers whose poststop never runs.  Each time: the
# container does not start, the store reads cleanly, `shmpipectl gc` (once
# the container is gone) leaves nothing of it behind, and the host gets no
# mount.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup

STORE_POINTS="join:locked create:mounted state:written join:created join:recorded"
HOOK_POINTS="hook:joined hook:cloned hook:entered hook:mounted"

# hook_json STAGE [ENV...] : a hook entry for config.json.
hook_json() {
	local stage=$1 env="" e
	shift
	for e in "$@"; do env+="${env:+,}\"$e\""; done
	printf '[{"path":"%s","args":["shmpipe-hook","--root","%s","--config","%s","%s"],"env":[%s]}]' \
		"$HK_HOOK" "$HK_ROOT" "$HK_CONFIG" "$stage" "$env"
}

# fault_bundle DIR PIPE POINT POSTSTOP(0|1) [sp_runc_bundle options] -- CMD...
fault_bundle() {
	local b=$1 p=$2 point=$3 poststop=$4
	shift 4
	local -a hooks=(-s "hooks.createRuntime=$(hook_json createRuntime "SHMPIPE_FAULT=$point")")
	((poststop)) && hooks+=(-s "hooks.poststop=$(hook_json poststop)")
	sp_runc_bundle "$b" -a "io.shmpipe.pipeline=$p" "${hooks[@]}" "$@"
}

# The store reads, as a whole and pipeline by pipeline.
assert_store_reads() {
	local out
	out=$(hk_ctl ls --json) || sp_fail "ls --json after the crash: $out"
	"$SP_PYTHON" -c '
import json, sys
j = json.loads(sys.argv[1])
print("after the crash:", ", ".join("%s (%s, members %s)" % (p["name"], p["lifetime"], [m["id"] for m in p["members"]]) for p in j) or "no pipeline")
' "$out" || sp_fail "ls --json is not JSON: $out"
}

# Nothing of PIPE: no record, no temp file, no tmpfs, no mountpoint.
assert_pipeline_gone() {
	local p=$1 left
	[[ ! -e $HK_ROOT/state/$p.json ]] || sp_fail "record of $p left: $(cat "$HK_ROOT/state/$p.json")"
	left=$(find "$HK_ROOT/state" -mindepth 1 -name "*$p*")
	[[ -z $left ]] || sp_fail "files of $p left in state/: $left"
	[[ ! -e $HK_ROOT/mnt/$p ]] || sp_fail "mountpoint of $p left"
	left=$(awk -v s="shmpipe-$p" '$(NF-1) == s' /proc/self/mountinfo)
	[[ -z $left ]] || sp_fail "tmpfs of $p left on the host: $left"
}

# crash_join POINT POSTSTOP : an auto-created ephemeral pipeline, the hook
# killed at POINT.  With POSTSTOP=1 runc runs the poststop hook as it tears
# the failed container down; with 0 nothing does, and gc must do it all.
crash_join() {
	local point=$1 poststop=$2 p b id before out rc=0
	p="f-${point//:/-}-$poststop"
	b=$(sp_tmpdir bundle) id=$(sp_id "$p")
	before="$SP_CASE_DIR/mounts.before"
	fault_bundle "$b" "$p" "$point" "$poststop" -- /bin/sh -c 'echo STARTED'
	hk_mounts_snapshot "$before"
	out=$(hk_run runc "$id" "$b" 2>&1) || rc=$?
	((rc != 0)) || sp_fail "the container started: $out"
	sp_assert_not_contains "$out" STARTED
	sp_assert_contains "$out" "error running hook #0: error running hook: signal: killed"
	assert_store_reads
	hk_quiet sp_runc delete -f "$id"
	[[ -z $(sp_runc list -q | grep -Fx "$id") ]] || sp_fail "container $id still exists"
	out=$(hk_ctl gc)
	echo "gc: ${out:-nothing to do}"
	# From join:created on the pipeline has a record, and the poststop's
	# leave removes it whether or not the member was recorded: gc has
	# nothing left to do.
	case $poststop:$point in
	1:join:locked | 1:create:mounted | 1:state:written | 0:*) ;;
	*) sp_assert_eq "" "$out" "gc after the poststop ran" ;;
	esac
	assert_pipeline_gone "$p"
	[[ -z $(hk_ctl gc) ]] || sp_fail "a second gc still found work"
	hk_assert_no_stray_mounts "$before" "$p"
}

# crash_join_existing POINT : the pipeline exists (persistent) and has a
# live member; the hook of a second container is killed at POINT.  After gc
# the pipeline and the live member are intact, the dead one is gone, and the
# live container still shares with a new one.
crash_join_existing() {
	local point=$1 p b bl br id live out rc=0 before
	p="fx-${point//:/-}"
	b=$(sp_tmpdir bundle) bl=$(sp_tmpdir bundle) br=$(sp_tmpdir bundle)
	id=$(sp_id "$p-dead") live=$(sp_id "$p-live")
	before="$SP_CASE_DIR/mounts.before"
	hk_mounts_snapshot "$before"
	hk_ctl create "$p" --lifetime persistent >/dev/null
	sp_defer hk_quiet hk_ctl rm --force "$p"
	hk_bundle "$bl" createRuntime -a "io.shmpipe.pipeline=$p" -- /bin/sh -c "shmtool write before 'live-$SP_RUN_ID' && exec sleep 600"
	hk_run -d runc "$live" "$bl"
	sp_wait_for 30 test -s "$HK_ROOT/mnt/$p/before" || sp_fail "the live container wrote nothing"
	fault_bundle "$b" "$p" "$point" 0 -- /bin/sh -c 'echo STARTED'
	out=$(hk_run runc "$id" "$b" 2>&1) || rc=$?
	((rc != 0)) || sp_fail "the container started: $out"
	sp_assert_contains "$out" "signal: killed"
	assert_store_reads
	hk_quiet sp_runc delete -f "$id"
	out=$(hk_ctl gc)
	echo "gc: ${out:-nothing to do}"
	sp_assert_eq "$live" "$(hk_members "$p")" "members after gc"
	hk_mounted "$p" || sp_fail "$p lost its tmpfs"
	[[ -z $(find "$HK_ROOT/state" -mindepth 1 -name '.*') ]] || sp_fail "temp files left: $(ls -A "$HK_ROOT/state")"
	hk_bundle "$br" createRuntime -a "io.shmpipe.pipeline=$p" -- /bin/sh -c 'shmtool mountinfo; shmtool read before'
	out=$(hk_run runc "$(sp_id "$p-reader")" "$br" 2>"$SP_CASE_DIR/reader.err") || {
		echo "reader: $out"
		cat "$SP_CASE_DIR/reader.err"
		ls -la "$HK_ROOT/mnt/$p"
		hk_ctl inspect "$p"
		sp_fail "the reader failed"
	}
	hk_assert_shm_line "$(head -n1 <<<"$out")" "$p"
	sp_assert_eq "live-$SP_RUN_ID" "$(tail -n1 <<<"$out")" "a new container shares with the live one"
	sp_runc delete -f "$live"
	sp_assert_eq "" "$(hk_members "$p")"
	# the persistent pipeline's own tmpfs is the one new mount
	hk_ctl rm "$p"
	hk_assert_no_stray_mounts "$before" "$p"
}

# cgroup_dirs PID : the cgroup directories of PID (v1 controllers and v2).
cgroup_dirs() {
	local pid=$1 line path ctl mp
	while IFS= read -r line; do
		path=${line#*:*:}
		ctl=${line#*:}
		ctl=${ctl%%:*}
		[[ $path == / ]] && continue
		if [[ -z $ctl ]]; then
			mp=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
		else
			mp=$(awk -v c="$ctl" '$3 == "cgroup" && ("," $4 ",") ~ ("," c ",") {print $2; exit}' /proc/mounts)
		fi
		[[ -n $mp && -d $mp$path ]] && echo "$mp$path"
	done <"/proc/$pid/cgroup"
}

# The runtime dies with the container and its state is lost (a killed
# shim, a wiped /run): poststop never runs.  Realistically: SIGKILL the
# container's init, then remove runc's state directory for it, so `runc
# delete -f` no longer knows it.
lose_container() {
	local id=$1 pid=$2 dirs
	dirs=$(cgroup_dirs "$pid" | sort -u)
	kill -KILL "$pid"
	sp_wait_for 10 sh -c "! kill -0 $pid" || sp_fail "init $pid did not die"
	rm -rf "${SP_TMP:?}/runc/$id"
	# runc would have removed its cgroups at delete: do it for it
	for d in $dirs; do rmdir "$d" 2>/dev/null || true; done
	# what an engine would do next: runc no longer knows it (delete -f of
	# an unknown id is a silent no-op), so no poststop runs
	local out rc=0
	sp_runc delete -f "$id"
	out=$(sp_runc state "$id" 2>&1) || rc=$?
	((rc != 0)) || sp_fail "runc still knows $id: $out"
	sp_assert_contains "$out" "does not exist"
}

t_no_poststop() {
	local p=lost b1 b2 id1 id2 pid1 pid2 before out
	b1=$(sp_tmpdir bundle) b2=$(sp_tmpdir bundle)
	id1=$(sp_id lost1) id2=$(sp_id lost2)
	before="$SP_CASE_DIR/mounts.before"
	hk_mounts_snapshot "$before"
	hk_bundle "$b1" createRuntime -a "io.shmpipe.pipeline=$p" -- /bin/sh -c 'exec sleep 600'
	hk_bundle "$b2" createRuntime -a "io.shmpipe.pipeline=$p" -- /bin/sh -c 'exec sleep 600'
	hk_run -d runc "$id1" "$b1"
	hk_run -d runc "$id2" "$b2"
	pid1=$(cat "$b1/pid") pid2=$(cat "$b2/pid")
	sp_assert_eq "$(printf '%s\n%s' "$id1" "$id2")" "$(hk_members "$p" | sort)"

	# The first one is lost: gc drops it and only it (the second is alive).
	lose_container "$id1" "$pid1"
	sp_assert_eq "$(printf '%s\n%s' "$id1" "$id2")" "$(hk_members "$p" | sort)" "members before gc"
	out=$(hk_ctl gc)
	sp_assert_eq "$p: dropped member $id1 (pid $pid1 is gone)" "$out"
	sp_assert_eq "$id2" "$(hk_members "$p")" "members after gc"
	hk_mounted "$p" || sp_fail "$p unmounted while $id2 uses it"

	# The second one too: gc drops it and removes the ephemeral pipeline.
	lose_container "$id2" "$pid2"
	out=$(hk_ctl gc)
	sp_assert_contains "$out" "dropped member $id2 (pid $pid2 is gone)"
	sp_assert_contains "$out" "$p: removed (ephemeral, no members left)"
	assert_pipeline_gone "$p"
	hk_assert_no_stray_mounts "$before" "$p"
}

for point in $STORE_POINTS $HOOK_POINTS; do
	sp_test "hook killed at $point, poststop runs: run fails, store reads, gc leaves nothing" crash_join "$point" 1
done
for point in $STORE_POINTS $HOOK_POINTS; do
	sp_test "hook killed at $point, no poststop: run fails, store reads, gc leaves nothing" crash_join "$point" 0
done
for point in join:locked state:written join:recorded hook:joined hook:mounted; do
	sp_test "hook killed at $point joining a live persistent pipeline: gc drops only the dead member" \
		crash_join_existing "$point"
done
sp_test "init killed and runc's state lost (poststop never runs): gc drops each member, then the pipeline" t_no_poststop
sp_done
