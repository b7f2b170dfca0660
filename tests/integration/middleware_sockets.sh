#!/usr/bin/env bash
# middleware_sockets.sh - a pipeline's socket directory (the "sockets"
# option): runc containers started with the hook at createRuntime and
# poststop, on a private store.  Shows that:
#   - members of a pipeline made with --sockets /tmp (or io.shmpipe.sockets
#     on a pipeline the hook creates) see one directory at /tmp: the
#     pipeline's own tmpfs, nosuid,nodev,noexec, private (no propagation);
#     what one member puts there the next one finds; another pipeline's
#     members and a container of no pipeline see their own /tmp;
#   - no socket directory unless asked: no mount at /tmp, no ROOT/sockets/NAME;
#   - a symlink at the path (or on the way to it) in the image is refused:
#     the container does not start, nothing is mounted on the host, the
#     symlink's target is untouched, the join is undone;
#   - `shmpipectl rm` and the last member of an ephemeral pipeline remove
#     its socket directory; `shmpipectl gc` remounts a missing one;
#   - bad paths are refused with a one-line error naming the option.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup

ROOTFS=$(sp_tmpdir rootfs)
sp_busybox_rootfs "$ROOTFS"

# run_in PIPELINE|- NAME CMD : CMD in a fresh runc container of PIPELINE.
run_in() { hk_run_in "$ROOTFS" "$@"; }

# The /tmp line of the container's mountinfo, printed by the container.
TMPLINE='grep " /tmp " /proc/self/mountinfo || echo "no mount at /tmp"'

t_shared_dir() {
	local out line opts
	hk_ctl create s1 --size 8m --sockets /tmp >/dev/null
	sp_defer hk_ctl rm --force s1
	hk_ctl create s2 --size 8m --sockets /tmp >/dev/null
	sp_defer hk_ctl rm --force s2
	[[ $(sp_json <(hk_ctl inspect s1) 'j["sockets"]') == /tmp ]] || sp_fail "inspect: no sockets"
	grep -q " $HK_ROOT/sockets/s1 .* - tmpfs shmpipe-sockets-s1 " /proc/self/mountinfo ||
		sp_fail "no socket directory tmpfs on the host"

	line=$(run_in s1 a "$TMPLINE; echo one >/tmp/from-a; mkfifo /tmp/fifo; ls /tmp")
	sp_assert_match "$line" " /tmp .* - tmpfs shmpipe-sockets-s1 " "s1 member's /tmp"
	opts=$(head -1 <<<"$line" | awk '{print $6}')
	for f in nosuid nodev noexec; do sp_assert_contains ",$opts," ",$f," "mount options"; done
	sp_assert_not_contains "$(head -1 <<<"$line")" "shared:" "propagation"
	sp_assert_not_contains "$(head -1 <<<"$line")" "master:" "propagation"
	# the next member finds what the first left; the host sees it in the store
	out=$(run_in s1 b 'cat /tmp/from-a; test -p /tmp/fifo && echo fifo')
	sp_assert_eq "one
fifo" "$out"
	sp_assert_eq one "$(cat "$HK_ROOT/sockets/s1/from-a")"
	# but not on the pipeline's shared memory: used stays 0
	sp_assert_eq 0 "$(sp_json <(hk_ctl inspect s1) 'j["used"]')"
	# another pipeline's member, and a container of none, have their own /tmp
	out=$(run_in s2 c "$TMPLINE; ls /tmp")
	sp_assert_match "$out" "shmpipe-sockets-s2 " "s2 member's /tmp"
	sp_assert_not_contains "$out" "from-a"
	out=$(run_in - d "$TMPLINE; ls /tmp")
	sp_assert_contains "$out" "no mount at /tmp"
	sp_assert_not_contains "$out" "from-a"
}

t_not_unless_asked() {
	local out
	hk_ctl create plain --size 8m >/dev/null
	sp_defer hk_ctl rm --force plain
	out=$(run_in plain e "$TMPLINE")
	sp_assert_eq "no mount at /tmp" "$out"
	[[ ! -e $HK_ROOT/sockets/plain ]] || sp_fail "a socket directory nobody asked for"
	sp_assert_eq "" "$(sp_json <(hk_ctl inspect plain) 'j["sockets"]')" "inspect's sockets"
}

t_annotation_creates() {
	local b out p
	p=auto1
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -r "$ROOTFS" -a io.shmpipe.pipeline=$p -a io.shmpipe.sockets=/run/app/sock \
		-- /bin/sh -c 'grep " /run/app/sock " /proc/self/mountinfo'
	out=$(hk_run runc "$(sp_id a1)" "$b")
	sp_assert_match "$out" " /run/app/sock .* - tmpfs shmpipe-sockets-$p " "created at a nested path"
	# ephemeral: gone with its only member, socket directory included
	! hk_exists $p || sp_fail "ephemeral pipeline left"
	[[ ! -e $HK_ROOT/sockets/$p ]] || sp_fail "socket directory left in the store"
	! grep -q "shmpipe-sockets-$p " /proc/self/mountinfo || sp_fail "socket directory still mounted"
}

# refused LINKPATH TARGET SOCKETS : an image whose LINKPATH is a symlink to
# TARGET, in a pipeline with its socket directory at SOCKETS, does not start.
refused() {
	local link=$1 target=$2 sockets=$3 rootfs b before err rc=0 p=sym
	rootfs=$(sp_tmpdir rootfs)
	sp_busybox_rootfs "$rootfs"
	rm -rf "${rootfs:?}$link"
	mkdir -p "$(dirname "$rootfs$link")"
	ln -s "$target" "$rootfs$link"
	hk_ctl create $p --size 8m --sockets "$sockets" >/dev/null
	sp_defer hk_ctl rm --force $p
	hk_mounts_snapshot "$SP_CASE_DIR/before"
	before=$(ls -la "$target" | sha256sum)
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -r "$rootfs" -a io.shmpipe.pipeline=$p -- /bin/true
	sp_runc run --bundle "$b" "$(sp_id sym)" </dev/null >"$SP_CASE_DIR/out" 2>&1 || rc=$?
	sp_defer hk_quiet sp_runc delete -f "$(sp_id sym)"
	err=$(cat "$SP_CASE_DIR/out")
	((rc != 0)) || sp_fail "a container started through a symlink at $link"
	sp_assert_contains "$err" "is a symbolic link: refusing to mount through it"
	hk_assert_no_new_mounts "$SP_CASE_DIR/before"
	hk_assert_no_stray_mounts "$SP_CASE_DIR/before" $p
	! grep -q " $target .*shmpipe-sockets" /proc/self/mountinfo || sp_fail "mounted on $target"
	sp_assert_eq "$before" "$(ls -la "$target" | sha256sum)" "the symlink's target changed"
	sp_assert_eq "" "$(hk_members $p)" "the join was not undone"
}

t_symlink_last() { refused /tmp /etc /tmp; }
t_symlink_middle() { refused /run/app /etc /run/app/sock; }

t_remove() {
	local out
	hk_ctl create gone --size 8m --sockets /tmp >/dev/null
	[[ -d $HK_ROOT/sockets/gone ]] || sp_fail "no socket directory"
	out=$(run_in gone f 'touch /tmp/x; echo ok')
	sp_assert_eq ok "$out"
	hk_ctl rm gone
	[[ ! -e $HK_ROOT/sockets/gone ]] || sp_fail "socket directory left after rm"
	! grep -q "shmpipe-sockets-gone " /proc/self/mountinfo || sp_fail "still mounted after rm"
}

t_gc_repairs() {
	local out
	hk_ctl create fix --size 8m --sockets /tmp >/dev/null
	sp_defer hk_ctl rm --force fix
	umount "$HK_ROOT/sockets/fix"
	rmdir "$HK_ROOT/sockets/fix"
	# a member cannot get it now: the start fails, with the cure named
	sp_assert_fails run_in fix g true
	out=$(hk_ctl gc 2>&1)
	sp_assert_contains "$out" "fix: remounted its missing socket directory"
	out=$(run_in fix h "$TMPLINE")
	sp_assert_match "$out" "shmpipe-sockets-fix " "after gc"
	# a socket directory without a record goes
	mkdir "$HK_ROOT/sockets/orphan"
	mount -t tmpfs -o size=1m shmpipe-sockets-orphan "$HK_ROOT/sockets/orphan"
	out=$(hk_ctl gc 2>&1)
	sp_assert_contains "$out" "orphan: removed a socket directory left without a record"
	[[ ! -e $HK_ROOT/sockets/orphan ]] || sp_fail "orphan left"
}

t_bad_paths() {
	local p out
	for p in tmp /tmp/ /a//b /a/./b /a/../b / /proc/x /dev/shm /sys; do
		if out=$(hk_ctl create bad --sockets "$p" 2>&1); then
			hk_ctl rm bad
			sp_fail "accepted --sockets $p"
		fi
		sp_assert_match "$out" '^shmpipectl create: invalid sockets ' "$p"
		sp_assert_eq 1 "$(wc -l <<<"$out")" "one line for $p"
	done
	! hk_exists bad || sp_fail "a pipeline was left"
	[[ ! -e $HK_ROOT/sockets/bad ]] || sp_fail "a socket directory was left"
}

sp_test "members share the pipeline's socket directory at /tmp, private, nosuid,nodev,noexec; other pipelines and no pipeline do not see it" t_shared_dir
sp_test "no socket directory unless asked" t_not_unless_asked
sp_test "io.shmpipe.sockets on a pipeline the hook creates: nested path made, removed with the ephemeral pipeline" t_annotation_creates
sp_test "a symlink at the socket directory's path in the image is refused, nothing mounted" t_symlink_last
sp_test "a symlink on the way to the socket directory's path is refused, nothing mounted" t_symlink_middle
sp_test "shmpipectl rm removes the socket directory" t_remove
sp_test "gc remounts a missing socket directory and removes one without a record" t_gc_repairs
sp_test "bad socket paths are refused with one line" t_bad_paths
sp_done
