#!/bin/bash
# concurrency_hook.sh - many runc containers joining and leaving one
# auto-created ephemeral pipeline at the same time, through the hook at
# createRuntime and poststop: every start succeeds, the member count is exact
# at every moment a reader looks, the pipeline goes with its last container,
# and no mount is left on the host.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
. "$(dirname "$0")/lib/concurrency.sh"
hk_setup

N=${SP_CONC_N:-64}
# 64 runtimes at once on 2 cores: give each command room.
SP_TIMEOUT=$((SP_TIMEOUT > 150 ? SP_TIMEOUT : 150))

# conc_bundle DIR PIPE [sp_runc_bundle options] -- CMD... : one bundle for
# many containers (runc writes nothing into it: pid files and logs go
# elsewhere), its rootfs shared too (/dev is the runtime's tmpfs, so no
# container writes into the image).
conc_bundle() {
	local b=$1 pipe=$2
	shift 2
	hk_bundle "$b" createRuntime -a "io.shmpipe.pipeline=$pipe" "$@"
}

# start_all BUNDLE LOGDIR PREFIX N : `runc run -d` N containers in
# parallel; LOGDIR/rc.I holds each exit status, LOGDIR/pid.I each pid.
# (Waits for its own jobs only: the sampler runs meanwhile.)
start_all() {
	local b=$1 d=$2 prefix=$3 n=$4 i jobs=()
	for ((i = 1; i <= n; i++)); do
		(
			rc=0
			sp_runc run -d --pid-file "$d/pid.$i" --bundle "$b" "$(sp_id "$prefix$i")" \
				</dev/null >"$d/out.$i" 2>&1 || rc=$?
			echo "$rc" >"$d/rc.$i"
		) &
		jobs+=($!)
	done
	wait "${jobs[@]}"
}

# delete_all PREFIX N LOGDIR : `runc delete -f` them in parallel.
delete_all() {
	local prefix=$1 n=$2 d=$3 i jobs=()
	for ((i = 1; i <= n; i++)); do
		(
			rc=0
			sp_runc delete -f "$(sp_id "$prefix$i")" >"$d/del.$i" 2>&1 || rc=$?
			echo "$rc" >"$d/delrc.$i"
		) &
		jobs+=($!)
	done
	wait "${jobs[@]}"
}

# The defer for a batch: delete whatever is left of it.
cleanup_batch() {
	local prefix=$1 n=$2 i
	for ((i = 1; i <= n; i++)); do
		hk_quiet sp_runc delete -f "$(sp_id "$prefix$i")" &
	done
	wait
}

# No mount of ours is left on the host: nothing under the store root
# (mnt/ is empty) and no tmpfs of pipeline PIPE anywhere.
assert_no_stray_mounts() {
	local pipe=$1 before=$2 left
	left=$(awk -v r="$HK_ROOT/" 'index($5, r) == 1' /proc/self/mountinfo)
	[[ -z $left ]] || sp_fail "mounts left under the store root: $left"
	left=$(awk -v s="shmpipe-$pipe" '$(NF-1) == s' /proc/self/mountinfo)
	[[ -z $left ]] || sp_fail "a tmpfs of $pipe left on the host: $left"
	[[ -z $(ls -A "$HK_ROOT/mnt") ]] || sp_fail "mountpoints left: $(ls -A "$HK_ROOT/mnt")"
	hk_assert_no_stray_mounts "$before" "$pipe"
}

t_start_delete_at_once() {
	local b d p=conc i failed=0 pid line ids want got before out
	b=$(sp_tmpdir bundle) d=$(sp_tmpdir logs)
	before="$SP_CASE_DIR/mounts.before"
	conc_bundle "$b" "$p" -- /bin/sh -c 'exec sleep 600'
	sp_defer cleanup_batch c "$N"
	hk_mounts_snapshot "$before"

	sampler_start "$HK_ROOT/state/$p.json" "$d/up.samples"
	SECONDS=0
	start_all "$b" "$d" c "$N"
	echo "$N starts in ${SECONDS}s"
	sampler_stop "$d/up.samples"
	for ((i = 1; i <= N; i++)); do
		if [[ $(cat "$d/rc.$i") != 0 ]]; then
			failed=$((failed + 1))
			echo "start $i failed: $(cat "$d/out.$i")"
		fi
	done
	sp_assert_eq 0 "$failed" "failed starts"
	check_samples "$d/up.samples" up "$N"

	# Exactly the N containers, each with its own pid, each with the
	# pipeline's tmpfs on its /dev/shm (the last /dev/shm mount it sees).
	sp_assert_eq "$N" "$(sp_json "$HK_ROOT/state/$p.json" 'len(j["members"])')" "members after $N starts"
	want=$(for ((i = 1; i <= N; i++)); do echo "$(sp_id "c$i") $(cat "$d/pid.$i")"; done | sort)
	got=$(sp_json "$HK_ROOT/state/$p.json" '"\n".join("%s %d" % (m["id"], m["pid"]) for m in j["members"])' | sort)
	sp_assert_eq "$want" "$got" "member ids and pids"
	echo "shared-$SP_RUN_ID" >"$HK_ROOT/mnt/$p/marker"
	for ((i = 1; i <= N; i++)); do
		pid=$(cat "$d/pid.$i")
		line=$(awk '$5 == "/dev/shm"' "/proc/$pid/mountinfo" | tail -n1)
		hk_assert_shm_line "$line" "$p"
		sp_assert_eq "shared-$SP_RUN_ID" "$(cat "/proc/$pid/root/dev/shm/marker")" "container $i sees the pipeline"
	done
	sp_assert_eq 1 "$(grep -c " $HK_ROOT/mnt/$p " /proc/self/mountinfo)" "one tmpfs on the host"

	sampler_start "$HK_ROOT/state/$p.json" "$d/down.samples"
	SECONDS=0
	delete_all c "$N" "$d"
	echo "$N deletes in ${SECONDS}s"
	sampler_stop "$d/down.samples"
	for ((i = 1; i <= N; i++)); do
		sp_assert_eq 0 "$(cat "$d/delrc.$i")" "delete $i: $(cat "$d/del.$i")"
	done
	check_samples "$d/down.samples" down "$N"
	out=$(sp_runc list -q | grep -F "$SP_RUN_ID-c" || true)
	sp_assert_eq "" "$out" "containers left"
	hk_exists "$p" && sp_fail "the ephemeral pipeline survived its last container: $(cat "$HK_ROOT/state/$p.json")"
	sp_assert_eq "[]" "$(hk_ctl ls --json | tr -d ' \n')" "ls --json"
	assert_no_stray_mounts "$p" "$before"
	out=$(hk_ctl gc)
	sp_assert_eq "" "$out" "gc found something to repair"
}

# Short-lived containers racing on one ephemeral pipeline, four at a time:
# its member count keeps dropping to zero, so it is removed and made again
# while others are joining.  Every container still gets the pipeline (never "not mounted"),
# and nothing is left.
t_churn() {
	local b d p=churn i n=$((N / 2)) failed=0 before out
	b=$(sp_tmpdir bundle) d=$(sp_tmpdir logs)
	before="$SP_CASE_DIR/mounts.before"
	conc_bundle "$b" "$p" -- /bin/sh -c 'shmtool mountinfo'
	sp_defer cleanup_batch r "$n"
	hk_mounts_snapshot "$before"
	sampler_start "$HK_ROOT/state/$p.json" "$d/samples"
	SECONDS=0
	# W workers, each running its share of the containers one after the
	# other: the count keeps falling to zero (the pipeline is removed) while
	# another worker's container is joining (and makes it again).
	local jobs=() w workers=4
	for ((w = 0; w < workers; w++)); do
		(
			for ((i = w + 1; i <= n; i += workers)); do
				rc=0
				sp_runc run --bundle "$b" "$(sp_id "r$i")" </dev/null >"$d/out.$i" 2>&1 || rc=$?
				echo "$rc" >"$d/rc.$i"
				hk_quiet sp_runc delete -f "$(sp_id "r$i")"
			done
		) &
		jobs+=($!)
	done
	wait "${jobs[@]}"
	sampler_stop "$d/samples"
	local made
	made=$(awk 'prev == "absent" && $1 != "absent" {n++} {prev = $1} END {print n + 0}' "$d/samples")
	echo "$n short-lived containers in ${SECONDS}s; the pipeline was made $made times as far as a reader saw"
	((made >= 2)) || sp_fail "the pipeline was never removed and made again: no race"
	grep -q '^torn' "$d/samples" && sp_fail "a reader saw a torn record: $(grep -m1 '^torn' "$d/samples")"
	for ((i = 1; i <= n; i++)); do
		if [[ $(cat "$d/rc.$i") != 0 ]]; then
			failed=$((failed + 1))
			echo "run $i failed: $(cat "$d/out.$i")"
			continue
		fi
		hk_assert_shm_line "$(cat "$d/out.$i")" "$p"
	done
	sp_assert_eq 0 "$failed" "failed runs"
	hk_exists "$p" && sp_fail "$p left: $(cat "$HK_ROOT/state/$p.json")"
	assert_no_stray_mounts "$p" "$before"
	out=$(hk_ctl gc)
	sp_assert_eq "" "$out" "gc found something to repair"
}

sp_test "$N runc containers started at once: all start, exact members throughout; deleted at once: pipeline gone, no mount left" \
	t_start_delete_at_once
sp_test "$((N / 2)) short-lived containers, 4 at a time, on one ephemeral pipeline (removed and re-made as they race): all get it" \
	t_churn
sp_done
