#!/usr/bin/env bash
# trust_memory.sh - every byte of a pipeline counts (a private store, the
# CLI, processes in a pipeline's IPC namespace by nsenter, as the runtime
# wrapper's members are).  Shows that:
#   - an --ipc pipeline's namespace has kernel.shmmax/shmall/shmmni and the
#     msg limits of its size: in a 1 MiB pipeline a 256 MiB SysV segment
#     cannot be made; one that fits shows in `used` of ls, inspect and
#     metrics; resize moves the limits with the size;
#   - a socket directory counts toward max_total_size;
#   - a resize killed after the remount (SHMPIPE_FAULT=resize:remounted) is
#     repaired by gc: mount and record agree.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup

SHMTOOL=$(sp_shmtool)

# in_ns NAME CMD... : CMD in pipeline NAME's IPC namespace.
in_ns() {
	local name=$1
	shift
	nsenter --ipc="$HK_ROOT/ipc/$name" "$@"
}

t_sysv_within_size() {
	local out used
	hk_ctl create sv --ipc --size 1m >/dev/null
	sp_defer hk_ctl rm --force sv
	# 256 MiB: refused by the kernel (shmmax), nothing made
	if out=$(in_ns sv "$SHMTOOL" sysv-alloc 1 268435456 2>&1); then
		sp_fail "a 256 MiB SysV segment was made in a 1 MiB pipeline"
	fi
	sp_assert_contains "$out" "Invalid argument"
	sp_assert_eq "1048576 256" "$(in_ns sv cat /proc/sys/kernel/shmmax /proc/sys/kernel/shmall | xargs)" "shmmax, shmall"
	# two segments of 600 KiB: the first fits, the second not (shmall)
	in_ns sv "$SHMTOOL" sysv-alloc 2 614400 || sp_fail "a segment that fits was refused"
	in_ns sv "$SHMTOOL" sysv-alloc 3 614400 2>/dev/null && sp_fail "past shmall"
	# the host's IPC namespace is not the pipeline's, nor its limits
	[[ $(cat /proc/sys/kernel/shmmax) != 1048576 ]] || sp_fail "the host's shmmax changed"
	# used: 600 KiB rounded to pages (614400 is 150 pages) in ls, inspect, metrics
	used=$(sp_json <(hk_ctl inspect sv) 'j["used"]')
	sp_assert_eq 614400 "$used" "inspect's used"
	sp_assert_match "$(hk_ctl ls | awk '$1 == "sv" {print $3}')" '^600(\.0)?K$' "ls's USED"
	sp_assert_contains "$(hk_ctl metrics)" 'shmpipe_pipeline_used_bytes{pipeline="sv"} 614400'
	# resize: the limits follow
	hk_ctl resize sv --size 4m >/dev/null
	sp_assert_eq 4194304 "$(in_ns sv cat /proc/sys/kernel/shmmax)" "shmmax after resize"
	in_ns sv "$SHMTOOL" sysv-alloc 3 614400 || sp_fail "a segment refused after growing"
}

t_sockets_in_quota() {
	local out
	HK_CONFIG="$SP_CASE_DIR/config.json"
	echo '{"max_total_size": "40m"}' >"$HK_CONFIG"
	hk_ctl create q1 --size 16m --sockets /tmp >/dev/null
	sp_defer hk_ctl rm --force q1
	# q1 counts 16m + its 16m socket directory: 16m more is past 40m
	if out=$(hk_ctl create q2 --size 16m 2>&1); then
		hk_ctl rm q2
		sp_fail "a socket directory did not count toward max_total_size"
	fi
	sp_assert_contains "$out" "max_total_size in $HK_CONFIG"
	hk_ctl create q3 --size 8m >/dev/null
	hk_ctl rm q3
}

t_gc_torn_resize() {
	local out
	hk_ctl create tr --size 4m >/dev/null
	sp_defer hk_ctl rm --force tr
	SHMPIPE_FAULT=resize:remounted hk_ctl resize tr --size 8m 2>/dev/null && sp_fail "the fault did not fire"
	# torn: the mount is 8m, the record 4m
	sp_assert_eq 4194304 "$(sp_json "$HK_ROOT/state/tr.json" 'j["size"]')" "record before gc"
	sp_assert_eq 8192k "$(findmnt -n -o OPTIONS "$HK_ROOT/mnt/tr" | tr , '\n' | sed -n 's/^size=//p')" "mount before gc"
	out=$(hk_ctl gc 2>&1)
	sp_assert_contains "$out" "tr: put its tmpfs back to its recorded size 4M (a resize did not complete)"
	# after gc the two agree (the record holds: the resize never completed)
	sp_assert_eq 4194304 "$(sp_json "$HK_ROOT/state/tr.json" 'j["size"]')" "record after gc"
	sp_assert_eq 4194304 "$(($(stat -f -c '%b * %S' "$HK_ROOT/mnt/tr")))" "mount after gc"
	sp_assert_match "$(hk_ctl ls | awk '$1 == "tr" {print $2}')" '^4(\.0)?M$' "ls's SIZE"
	out=$(hk_ctl gc 2>&1)
	sp_assert_not_contains "$out" "tr: " "a second gc"
	# torn again, and filled past the old size meanwhile: the mount holds
	SHMPIPE_FAULT=resize:remounted hk_ctl resize tr --size 8m 2>/dev/null && sp_fail "the fault did not fire"
	head -c 6M /dev/zero >"$HK_ROOT/mnt/tr/big"
	out=$(hk_ctl gc 2>&1)
	sp_assert_contains "$out" "tr: recorded its tmpfs's size 8M"
	sp_assert_eq 8388608 "$(sp_json "$HK_ROOT/state/tr.json" 'j["size"]')" "record after the second gc"
	sp_assert_eq 8388608 "$(($(stat -f -c '%b * %S' "$HK_ROOT/mnt/tr")))" "mount after the second gc"
}

sp_test "an --ipc pipeline's SysV memory stays within its size and counts in used" t_sysv_within_size
sp_test "a socket directory counts toward max_total_size" t_sockets_in_quota
sp_test "gc repairs a resize killed after the remount" t_gc_torn_resize
sp_done
