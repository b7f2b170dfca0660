#!/usr/bin/env bash
# store_names.sh - a pipeline of a Kubernetes namespace (team-a/NAME) next to
# a plain pipeline named like that namespace (team-a): each is one entry of
# each store directory (NS+NAME), made, measured, resized, repaired and
# removed as a plain one is.  Shows that:
#   - `shmpipectl create team-a/s1 --sockets /tmp` makes its own socket
#     directory at sockets/team-a+s1, with or without a plain team-a, never
#     inside team-a's;
#   - a member of plain pipeline team-a (a runc container) sees neither
#     team-a/s1's socket directory nor its memory, cannot remove them, and
#     what it plants does not stop a later create of team-a/NAME;
#   - ls, inspect, metrics and resize give team-a/frames its own numbers,
#     whatever team-a's members do in their /dev/shm;
#   - gc remounts a lost socket directory of team-a/s1; rm takes it away.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup

ROOTFS=$(sp_tmpdir rootfs)
sp_busybox_rootfs "$ROOTFS"

# run_in PIPELINE NAME CMD : CMD in a fresh runc container of PIPELINE.
run_in() { hk_run_in "$ROOTFS" "$@"; }

# sockets_mounted FILE : a socket directory tmpfs is mounted on sockets/FILE.
sockets_mounted() { grep -q " $HK_ROOT/sockets/$1 .* - tmpfs shmpipe-sockets-" /proc/self/mountinfo; }

# metric FAMILY PIPELINE : the value shmpipectl metrics gives.
metric() { hk_ctl metrics | awk -v k="$1{pipeline=\"$2\"}" '$1 == k { print $2 }'; }

t_cli_sockets() {
	# no plain team-b: the socket directory still has a place of its own
	hk_ctl create team-b/s1 --size 4m --sockets /tmp >/dev/null
	sp_defer hk_quiet hk_ctl rm --force team-b/s1
	sockets_mounted team-b+s1 || sp_fail "no socket directory at sockets/team-b+s1"
	# a plain team-a with a socket directory, then team-a/s1 beside it
	hk_ctl create team-a --size 4m --inodes 64 --sockets /tmp >/dev/null
	sp_defer hk_quiet hk_ctl rm --force team-a
	hk_ctl create team-a/s1 --size 4m --sockets /tmp >/dev/null
	sp_defer hk_quiet hk_ctl rm --force team-a/s1
	sockets_mounted team-a+s1 || sp_fail "no socket directory at sockets/team-a+s1"
	grep -q " $HK_ROOT/sockets/team-a+s1 .* shmpipe-sockets-team-a/s1 " /proc/self/mountinfo ||
		sp_fail "sockets/team-a+s1 is not team-a/s1's"
	[[ ! -e $HK_ROOT/sockets/team-a/s1 ]] || sp_fail "team-a/s1's socket directory is inside team-a's"
	sp_assert_eq /tmp "$(sp_json <(hk_ctl inspect team-a/s1) 'j["sockets"]')" "inspect"
}

t_neighbour() {
	local out
	hk_ctl create team-a --size 4m --inodes 64 --sockets /tmp >/dev/null
	sp_defer hk_quiet hk_ctl rm --force team-a
	hk_ctl create team-a/s1 --size 4m --sockets /tmp >/dev/null
	sp_defer hk_quiet hk_ctl rm --force team-a/s1
	hk_ctl create team-a/frames --size 4m >/dev/null
	sp_defer hk_quiet hk_ctl rm --force team-a/frames
	echo S1DATA >"$HK_ROOT/sockets/team-a+s1/s1-file"
	echo FRAMESDATA >"$HK_ROOT/mnt/team-a+frames/frames-file"
	# A member of team-a looks for them, tries to remove them, plants names
	# and fills its own /dev/shm/frames to 60 of its 64 inodes.
	out=$(run_in team-a member 'ls -A /tmp /dev/shm; cat /tmp/s1/s1-file /dev/shm/frames/frames-file;
		rmdir /tmp/s1 && echo removed-s1; rmdir /dev/shm/frames && echo removed-frames;
		: >/tmp/s2; mkdir /dev/shm/frames /dev/shm/s2 && i=0 && while [ $i -lt 55 ]; do
		: >/dev/shm/frames/f$i; i=$((i + 1)); done; echo done' 2>&1)
	sp_assert_contains "$out" done
	sp_assert_not_contains "$out" S1DATA "a member of team-a reads team-a/s1"
	sp_assert_not_contains "$out" FRAMESDATA "a member of team-a reads team-a/frames"
	sp_assert_not_contains "$out" removed "a member of team-a removes team-a/*"
	sockets_mounted team-a+s1 || sp_fail "team-a/s1's socket directory went"
	hk_mounted team-a+frames || sp_fail "team-a/frames' tmpfs went"
	sp_assert_eq S1DATA "$(cat "$HK_ROOT/sockets/team-a+s1/s1-file")"
	# what the member planted stops no create of team-a/s2
	hk_ctl create team-a/s2 --size 4m --sockets /tmp >/dev/null
	sp_defer hk_quiet hk_ctl rm --force team-a/s2
	sockets_mounted team-a+s2 || sp_fail "no socket directory at sockets/team-a+s2"
	# team-a is nearly full of inodes; team-a/frames is not
	sp_assert_match "$(hk_ctl ls)" $'\nteam-a [^\n]*nearly full: [0-9]+% of inodes'
	sp_assert_not_contains "$(hk_ctl ls | grep '^team-a/frames ')" "nearly full"
	sp_assert_eq 2 "$(metric shmpipe_pipeline_inodes_used team-a/frames)" "team-a/frames' inodes (root, one file)"
}

t_own_numbers() {
	local used
	hk_ctl create team-a --size 4m >/dev/null
	sp_defer hk_quiet hk_ctl rm --force team-a
	hk_ctl create team-a/frames --size 4m >/dev/null
	sp_defer hk_quiet hk_ctl rm --force team-a/frames
	head -c 1048576 /dev/zero >"$HK_ROOT/mnt/team-a+frames/blob"
	used=$(sp_json <(hk_ctl inspect team-a/frames) 'j["used"]')
	((used >= 1048576)) || sp_fail "inspect: used $used"
	sp_assert_eq 0 "$(sp_json <(hk_ctl inspect team-a) 'j["used"]')" "team-a's used"
	sp_assert_match "$(hk_ctl ls | grep '^team-a/frames ')" "^team-a/frames +4M +1M "
	sp_assert_eq "$used" "$(metric shmpipe_pipeline_used_bytes team-a/frames)" "metrics used"
	sp_assert_eq 2 "$(metric shmpipe_pipeline_inodes_used team-a/frames)" "metrics inodes"
	hk_ctl resize team-a/frames --size 8m
	sp_assert_eq 8388608 "$(sp_json <(hk_ctl inspect team-a/frames) 'j["size"]')" "size after resize"
	sp_assert_eq 8388608 "$(($(stat -f -c '%b * %S' "$HK_ROOT/mnt/team-a+frames")))" "the kernel's size"
	sp_assert_eq 4194304 "$(sp_json <(hk_ctl inspect team-a) 'j["size"]')" "team-a's size"
	sp_assert_contains "$(hk_ctl resize team-a/frames --size 512k 2>&1 || true)" \
		"pipeline team-a/frames: cannot shrink to size 512K: 1M in use"
}

t_gc_rm() {
	local out
	hk_ctl create team-a --size 4m --sockets /tmp >/dev/null
	sp_defer hk_quiet hk_ctl rm --force team-a
	hk_ctl create team-a/s1 --size 4m --sockets /tmp >/dev/null
	sp_defer hk_quiet hk_ctl rm --force team-a/s1
	umount "$HK_ROOT/sockets/team-a+s1"
	umount "$HK_ROOT/mnt/team-a+s1"
	out=$(hk_ctl gc)
	sp_assert_contains "$out" "team-a/s1: remounted its missing tmpfs (content was lost)"
	sp_assert_contains "$out" "team-a/s1: remounted its missing socket directory"
	sp_assert_not_contains "$out" "team-a:"
	sockets_mounted team-a+s1 || sp_fail "gc did not remount sockets/team-a+s1"
	hk_ctl rm team-a/s1
	[[ ! -e $HK_ROOT/sockets/team-a+s1 && ! -e $HK_ROOT/mnt/team-a+s1 ]] || sp_fail "rm left team-a/s1's directories"
	sockets_mounted team-a || sp_fail "rm team-a/s1 took team-a's socket directory"
	sp_assert_eq "" "$(hk_ctl gc)" "gc after rm"
}

sp_test "create team-a/s1 --sockets: its own socket directory (sockets/team-a+s1), with or without a plain team-a" t_cli_sockets
sp_test "a member of plain team-a neither sees nor removes team-a/s1's socket directory or team-a/frames' memory; ls and metrics keep them apart" t_neighbour
sp_test "ls, inspect, metrics and resize give team-a/frames its own numbers" t_own_numbers
sp_test "gc remounts team-a/s1's lost tmpfs and socket directory; rm takes them, team-a keeps its own" t_gc_rm
sp_done
