#!/bin/bash
# resize_live.sh - `shmpipectl resize` on a pipeline a live runc container
# (joined by the hook) is writing to: the container's statfs shows the new
# size at once, writes past the old size then succeed, a shrink below what
# is used is refused, and resizes racing joins and leaves keep exact records.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup

# statfs of the pipeline's tmpfs as the host sees it: bytes and inode cap.
host_statfs() { stat -f -c '%b %S %c' "$HK_ROOT/mnt/$1" | awk '{print $1 * $2, $3}'; }
rec() { sp_json "$HK_ROOT/state/$1.json" "$2"; }

# A container that writes 3 MiB into its /dev/shm, then, each time the host
# drops a file "goN" in the pipeline, reports its own statfs in "statfsN" and
# tries the write the host asked for in "writeN" (MiB), answering "wroteN"
# ok or failed.  It runs until the host drops "stop".
WRITER='
dd if=/dev/zero of=/dev/shm/base bs=1M count=3 2>/dev/null || exit 3
touch /dev/shm/ready
n=0
while [ ! -e /dev/shm/stop ]; do
	if [ -e /dev/shm/go$n ]; then
		stat -f -c "%b %S" /dev/shm >/dev/shm/statfs$n
		if dd if=/dev/zero of=/dev/shm/data$n bs=1M count=$(cat /dev/shm/write$n) 2>/dev/null; then
			echo ok >/dev/shm/wrote$n
		else
			rm -f /dev/shm/data$n
			echo failed >/dev/shm/wrote$n
		fi
		n=$((n + 1))
	fi
	sleep 0.05
done'

# ask N MIB : step N of the writer; waits for its answer.
ask() {
	local p=$1 n=$2 mib=$3
	echo "$mib" >"$HK_ROOT/mnt/$p/write$n"
	touch "$HK_ROOT/mnt/$p/go$n"
	sp_wait_for 20 test -s "$HK_ROOT/mnt/$p/wrote$n" || sp_fail "the writer did not answer step $n"
}
seen_bytes() { awk '{print $1 * $2}' "$HK_ROOT/mnt/$1/statfs$2"; }

start_writer() {
	local p=$1 b
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -a "io.shmpipe.pipeline=$p" -- /bin/sh -c "$WRITER"
	hk_run -d runc "$(sp_id "w-$p")" "$b"
	sp_wait_for 20 test -e "$HK_ROOT/mnt/$p/ready" || sp_fail "the writer did not start: $(cat "$b/stderr.log")"
	sp_assert_eq 1 "$(rec "$p" 'len(j["members"])')" "the writer is a member"
}

t_grow_live() {
	local p=grow
	hk_ctl create "$p" --size 4m >/dev/null
	start_writer "$p"
	# The old size holds: 3 MiB used, 2 more do not fit in 4 MiB.
	ask "$p" 0 2
	sp_assert_eq $((4 << 20)) "$(seen_bytes "$p" 0)" "the container's statfs before"
	sp_assert_eq failed "$(cat "$HK_ROOT/mnt/$p/wrote0")" "a write past 4 MiB before the resize"
	hk_ctl resize "$p" --size 16m
	# At once: the container's next statfs, with no remount on its side.
	ask "$p" 1 8
	sp_assert_eq $((16 << 20)) "$(seen_bytes "$p" 1)" "the container's statfs after"
	sp_assert_eq ok "$(cat "$HK_ROOT/mnt/$p/wrote1")" "a write of 8 MiB on top of 3 (past the old 4)"
	sp_assert_eq $((16 << 20)) "$(rec "$p" 'j["size"]')" "the record"
	hk_ctl inspect "$p" >"$SP_CASE_DIR/inspect.json"
	sp_assert_eq $((16 << 20)) "$(sp_json "$SP_CASE_DIR/inspect.json" 'j["size"]')" "inspect"
	sp_assert_eq "$((16 << 20)) 65536" "$(host_statfs "$p")" "the host's statfs"
	# Still nosuid,nodev,noexec, on the host and in the container.
	sp_assert_match "$(awk -v m="$HK_ROOT/mnt/$p" '$5 == m {print $6}' /proc/self/mountinfo)" \
		'nosuid,nodev,noexec' "the store's mount flags"
	touch "$HK_ROOT/mnt/$p/stop"
}
sp_test "resize under a live writer: its statfs shows 16 MiB at once; a write past the old 4 MiB succeeds" t_grow_live

t_shrink_refused() {
	local p=shrink out
	hk_ctl create "$p" --size 16m >/dev/null
	start_writer "$p"
	ask "$p" 0 8 # 11 MiB in use
	sp_assert_eq ok "$(cat "$HK_ROOT/mnt/$p/wrote0")"
	if out=$(hk_ctl resize "$p" --size 8m 2>&1); then sp_fail "a shrink below use succeeded"; fi
	sp_assert_eq "shmpipectl: pipeline $p: cannot shrink to size 8M: 11M in use" "$out"
	sp_assert_eq $((16 << 20)) "$(rec "$p" 'j["size"]')" "the record is unchanged"
	ask "$p" 1 1
	sp_assert_eq $((16 << 20)) "$(seen_bytes "$p" 1)" "the container still sees 16 MiB"
	# Above what is used, a shrink is fine, and the container sees it.
	hk_ctl resize "$p" --size 13m
	ask "$p" 2 4
	sp_assert_eq $((13 << 20)) "$(seen_bytes "$p" 2)"
	sp_assert_eq failed "$(cat "$HK_ROOT/mnt/$p/wrote2")" "12 + 4 MiB in 13 MiB"
	# Inodes: below the files in use is refused too; above is fine.
	if out=$(hk_ctl resize "$p" --inodes 3 2>&1); then sp_fail "an inode cap below use succeeded"; fi
	sp_assert_match "$out" "^shmpipectl: pipeline $p: cannot shrink to 3 inodes: [0-9]+ in use\$"
	hk_ctl resize "$p" --inodes 1000
	sp_assert_eq 1000 "$(rec "$p" 'j["inodes"]')"
	sp_assert_eq "$((13 << 20)) 1000" "$(host_statfs "$p")"
	touch "$HK_ROOT/mnt/$p/stop"
}
sp_test "a shrink below what is used is refused (bytes and inodes); above it, the container sees it" t_shrink_refused

# Kernels without fspick (here: seccomp makes it ENOSYS): a remount of the
# mount's fd does it, and the mount keeps nosuid,nodev,noexec.
t_remount_fallback() {
	local p=legacy enosys="$HK_BUILD/tests/seccomp-enosys" out
	[[ -x $enosys ]] || sp_fail "no $enosys (run make)"
	hk_ctl create "$p" --size 4m >/dev/null
	start_writer "$p"
	# (LeakSanitizer cannot run under ptrace: off for an ASan build.)
	out=$(ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=fspick,mount "$enosys" fspick "$HK_CTL" --root "$HK_ROOT" --config "$HK_CONFIG" \
		resize "$p" --size 12m 2>&1)
	sp_assert_match "$out" 'fspick\(.*= -1 ENOSYS' "fspick was tried"
	sp_assert_match "$out" 'mount\("none", "/proc/self/fd/[0-9]+", [^,]+, MS_NOSUID\|MS_NODEV\|MS_NOEXEC\|MS_REMOUNT, "size=12582912"\) = 0' \
		"then a remount by fd"
	ask "$p" 0 8
	sp_assert_eq $((12 << 20)) "$(seen_bytes "$p" 0)"
	sp_assert_eq ok "$(cat "$HK_ROOT/mnt/$p/wrote0")"
	sp_assert_match "$(awk -v m="$HK_ROOT/mnt/$p" '$5 == m {print $6}' /proc/self/mountinfo)" \
		'nosuid,nodev,noexec' "the store's mount flags"
	touch "$HK_ROOT/mnt/$p/stop"
}
sp_test "without fspick (ENOSYS): a remount of the mount's fd, still nosuid,nodev,noexec" t_remount_fallback

t_bad_requests() {
	local out
	hk_ctl create bad --size 4m >/dev/null
	if out=$(hk_ctl resize bad --mode 0700 2>&1); then sp_fail "--mode accepted"; fi
	sp_assert_contains "$out" "shmpipectl resize: bad option --mode"
	if out=$(hk_ctl resize bad 2>&1); then sp_fail "no option accepted"; fi
	sp_assert_contains "$out" "give --size or --inodes"
	if out=$(hk_ctl resize nope --size 8m 2>&1); then sp_fail "a missing pipeline resized"; fi
	sp_assert_eq "shmpipectl: pipeline nope: does not exist" "$out"
	if out=$(hk_ctl resize bad --size 1024t 2>&1); then sp_fail "past max_size accepted"; fi
	sp_assert_contains "$out" "(max_size in $HK_CONFIG)"
	sp_assert_eq $((4 << 20)) "$(rec bad 'j["size"]')"
}
sp_test "resize: unchangeable options, a missing pipeline and past max_size are refused with one line" t_bad_requests

# 4 workers join and leave ids while resizes run: every record read meanwhile
# parses, and at the end the members are exactly the ids joined and not
# left, and the size is the last resize's, in the record and in the kernel.
t_race() {
	local p=race w i pids=() expected got
	hk_ctl create "$p" --size 8m >/dev/null
	for w in 1 2 3 4; do
		(
			for ((i = 0; i < 40; i++)); do
				hk_ctl join "$p" --id "w$w-$i" >/dev/null
				# odd ids leave again, even ones stay
				((i % 2)) && hk_ctl leave "$p" --id "w$w-$i" >/dev/null
			done
		) &
		pids+=($!)
	done
	(
		for ((i = 0; i < 60; i++)); do
			hk_ctl resize "$p" --size $(((8 + i % 8) << 20)) --inodes $((1000 + i))
		done
	) &
	pids+=($!)
	for ((i = 0; i < 40; i++)); do
		rec "$p" 'j["size"]' >/dev/null || sp_fail "a torn record while racing"
	done
	for w in "${pids[@]}"; do wait "$w" || sp_fail "a worker failed"; done
	expected=$(for w in 1 2 3 4; do for ((i = 0; i < 40; i += 2)); do echo "w$w-$i"; done; done | sort)
	got=$(hk_members "$p" | sort)
	sp_assert_eq "$expected" "$got" "the members after the race"
	sp_assert_eq $(((8 + 59 % 8) << 20)) "$(rec "$p" 'j["size"]')" "the last size"
	sp_assert_eq 1059 "$(rec "$p" 'j["inodes"]')" "the last inode cap"
	sp_assert_eq "$(((8 + 59 % 8) << 20)) 1059" "$(host_statfs "$p")" "the kernel agrees with the record"
}
sp_test "60 resizes racing 160 joins and 80 leaves: exact members, the last size in record and kernel" t_race

sp_done
