#!/usr/bin/env bash
# Crashes and hostile filesystems: a store operation SIGKILLed at any point
# leaves a store that reads cleanly and that `shmpipectl gc` repairs; a full
# pipeline gives the app ENOSPC and nothing else breaks; a read-only or full
# store root gives clear errors and leaves nothing behind.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

. "$(dirname "$0")/lib/store.sh"

# Nothing of pipeline NAME is left: record, temp files, mount, IPC pin.
assert_gone() {
	local name=$1
	[[ ! -e $root/state/$name.json ]] || sp_fail "record of $name left: $(cat "$root/state/$name.json")"
	[[ -z $(ls -A "$root/state") ]] || sp_fail "files left in state/: $(ls -A "$root/state")"
	[[ -z $(grep " $root/" /proc/self/mountinfo) ]] || sp_fail "mounts left: $(grep " $root/" /proc/self/mountinfo)"
	[[ -z $(ls -A "$root/mnt" "$root/ipc" | grep -v '^/\|^$' || true) ]] || sp_fail "mountpoints or pins left"
	[[ -z $(ls -A "$root/definitions" 2>/dev/null) ]] || sp_fail "definitions left: $(ls -A "$root/definitions")"
}

# crash_join POINT: `join --create` of an ephemeral --ipc pipeline killed at
# POINT; the store must still read, and gc must clear everything once the
# member's process is gone.
crash_join() {
	local point=$1 sleeper rc=0 out
	new_root
	printf '{"auto_lifetime": "ephemeral"}\n' >"$root/config.json"
	export SHMPIPE_CONFIG=$root/config.json
	sleep 300 &
	sleeper=$!
	SHMPIPE_FAULT=$point "$CTL" join crash --create --id c1 --pid "$sleeper" || rc=$?
	sp_assert_eq 137 "$rc" "the join was killed at $point"
	out=$("$CTL" ls --json) || sp_fail "ls after a crash at $point: $out"
	"$CTL" gc >/dev/null
	kill -KILL "$sleeper"
	wait "$sleeper" 2>/dev/null || true
	"$CTL" gc
	assert_gone crash
}

# A join killed after it created an ephemeral pipeline but before it
# recorded its member: the container's poststop (a leave by its id) removes
# the pipeline without waiting for gc.
t_leave_after_crashed_create() {
	local rc=0 out
	new_root
	printf '{"auto_lifetime": "ephemeral"}\n' >"$root/config.json"
	export SHMPIPE_CONFIG=$root/config.json
	SHMPIPE_FAULT=join:created "$CTL" join crash --create --id c1 --pid $$ || rc=$?
	sp_assert_eq 137 "$rc" "the join was killed at join:created"
	sp_assert_eq 0 "$(sp_json <("$CTL" inspect crash) 'len(j["members"])')" "members after the crash"
	"$CTL" leave crash --id c1
	out=$("$CTL" ls)
	sp_assert_not_contains "$out" crash
	assert_gone crash
}

# crash_leave POINT: the last leave of an ephemeral pipeline killed at POINT.
crash_leave() {
	local point=$1 rc=0
	new_root
	"$CTL" create crash --lifetime ephemeral --ipc >/dev/null
	sh -c 'exit 0' &
	wait $!
	"$CTL" join crash --id c1 --pid $!
	SHMPIPE_FAULT=$point "$CTL" leave crash --id c1 || rc=$?
	sp_assert_eq 137 "$rc" "the leave was killed at $point"
	"$CTL" ls --json >/dev/null
	"$CTL" gc
	assert_gone crash
}

# crash_rm POINT: `rm` of a persistent pipeline killed at POINT: after gc the
# pipeline is gone (the user's intent), not resurrected.
crash_rm() {
	local point=$1 rc=0
	new_root
	"$CTL" create gone --ipc >/dev/null
	SHMPIPE_FAULT=$point "$CTL" rm gone || rc=$?
	sp_assert_eq 137 "$rc"
	"$CTL" gc
	assert_gone gone
}

# `create` of a persistent pipeline killed before its definition is in
# place: the pipeline is live; gc writes the definition (and sweeps the
# temp file), so it comes back after a reboot.
t_crash_definition() {
	local rc=0
	new_root
	SHMPIPE_FAULT=definition:written "$CTL" create kept --size 8m || rc=$?
	sp_assert_eq 137 "$rc"
	[[ ! -e $root/definitions/kept.json ]] || sp_fail "the definition was in place before the kill"
	"$CTL" inspect kept >/dev/null
	sp_assert_contains "$("$CTL" gc)" "kept: wrote its definition"
	[[ -z $(ls -A "$root/definitions" | grep -v '^kept.json$' || true) ]] || sp_fail "temp files left: $(ls -A "$root/definitions")"
	sp_assert_eq 8388608 "$(sp_json "$root/definitions/kept.json" 'j["size"]')"
	"$CTL" rm kept
	assert_gone kept
}

t_full_pipeline() {
	local mp out
	new_root
	mp=$("$CTL" create small --size 1m)
	out=$(unshare -m sh -c 'mount --make-rprivate / && mount --bind "$0" /dev/shm && dd if=/dev/zero of=/dev/shm/big bs=64k count=64 2>&1' "$mp" || true)
	sp_assert_contains "$out" "No space left on device"
	[[ $(sp_json <("$CTL" inspect small) 'j["used"]') -ge $((1024 * 1024 - 8192)) ]] || sp_fail "used does not show a full tmpfs"
	# The store and other pipelines carry on.
	"$CTL" create other >/dev/null
	"$CTL" join small --id c1
	"$CTL" leave small --id c1
	rm "$mp/big"
	"$CTL" rm small
	"$CTL" rm other
}

t_readonly_root() {
	local out
	root=$(mktemp -d "$SP_TMP/roroot.XXXXXX")
	sp_defer sp_umount_under "$root"
	mount -t tmpfs -o size=1m tmpfs "$root"
	"$CTL" --root "$root/store" ls >/dev/null # lays out the store
	mount -o remount,ro "$root"
	out=$("$CTL" --root "$root/store" create p 2>&1) && sp_fail "create on a read-only store"
	sp_assert_match "$out" '^shmpipectl: pipeline p: .*Read-only file system$'
	sp_assert_eq 1 "$(wc -l <<<"$out")"
	out=$("$CTL" --root "$root/other" ls 2>&1) && sp_fail "a store laid out on a read-only filesystem"
	sp_assert_contains "$out" "Read-only file system"
	[[ -z $(grep " $root/store/mnt" /proc/self/mountinfo) ]] || sp_fail "a mount was left"
}

t_full_root() {
	local out
	root=$(mktemp -d "$SP_TMP/fullroot.XXXXXX")
	sp_defer sp_umount_under "$root"
	mount -t tmpfs -o size=64k,nr_inodes=64 tmpfs "$root"
	"$CTL" --root "$root/store" ls >/dev/null
	dd if=/dev/zero of="$root/filler" bs=4k count=64 2>/dev/null || true
	out=$("$CTL" --root "$root/store" create p 2>&1) && sp_fail "create on a full store root"
	sp_assert_match "$out" '^shmpipectl: pipeline p: .*No space left on device$'
	[[ -z $(grep " $root/store/mnt" /proc/self/mountinfo) ]] || sp_fail "a mount was left by the failed create"
	[[ -z $(ls -A "$root/store/state") ]] || sp_fail "state left by the failed create"
	rm "$root/filler"
	"$CTL" --root "$root/store" create p >/dev/null
	"$CTL" --root "$root/store" rm p
}

for point in join:locked create:mounted state:written join:created join:recorded; do
	sp_test "join killed at $point: store readable, gc repairs" crash_join "$point"
done
for point in leave:destroying destroy:unrecorded; do
	sp_test "last leave killed at $point: gc repairs" crash_leave "$point"
done
sp_test "join killed at join:created: the poststop leave removes the pipeline" t_leave_after_crashed_create
sp_test "rm killed at destroy:unrecorded: gc finishes the removal" crash_rm destroy:unrecorded
sp_test "create killed before its definition is in place: gc writes it" t_crash_definition
sp_test "a full pipeline gives the app ENOSPC; the store carries on" t_full_pipeline
sp_test "a read-only store root: clear one-line errors" t_readonly_root
sp_test "a full store root: clear error, nothing left behind" t_full_root
sp_done
