#!/usr/bin/env bash
# Upgrade and rollback with live runc containers: the previous release
# (v0.2.0, built from its tag) and this build take turns on one store, the
# hook's binary replaced under live containers as a package upgrade does.
# Members stay exact, nothing is left mounted, and neither release calls a
# record of a pipeline that uses no new feature "damaged".  The release
# before (v0.1.0) is checked for upgrade only.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
. "$(dirname "$0")/lib/releases.sh"

hk_setup
NEW=$HK_BUILD
# The path every bundle's hooks name; `use` puts a release's hook there.
BIN=$(sp_tmpdir bin)
HK_HOOK=$BIN/shmpipe-hook

use() {
	cp "$1/shmpipe-hook" "$BIN/.shmpipe-hook.new"
	mv -f "$BIN/.shmpipe-hook.new" "$HK_HOOK"
	CTL=$1/shmpipectl
}

ctl() { "$CTL" --root "$HK_ROOT" --config "$HK_CONFIG" "$@"; }

# members NAME : its member ids, sorted, on one line.
members() { hk_members "$1" | sort | xargs; }

# start ID PIPELINE : a detached runc container in PIPELINE (the hook at
# createRuntime and poststop), sleeping.
start() {
	local b
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -a "io.shmpipe.pipeline=$2" -- /bin/sh -c 'exec sleep 600'
	hk_run -d runc "$(sp_id "$1")" "$b"
}

# stop ID : runc delete -f, its poststop hook run by whichever release is in
# place; nothing it prints may call a record damaged.
stop() {
	local out
	out=$(sp_runc delete -f "$(sp_id "$1")" 2>&1)
	sp_assert_not_contains "$out" "damaged" "runc delete $1"
	sp_assert_not_contains "$out" "error" "runc delete $1"
}

# listed : ls by the release in place, which must not fail or say "damaged".
listed() {
	local out
	out=$(ctl ls 2>&1) || sp_fail "ls failed: $out"
	sp_assert_not_contains "$out" "damaged" "ls"
	printf '%s\n' "$out"
}

gone() {
	hk_exists "$1" && sp_fail "$1 still has a record"
	hk_mounted "$1" && sp_fail "$1 is still mounted"
	grep -q " $HK_ROOT/ipc/$1 " /proc/self/mountinfo && sp_fail "$1's IPC namespace is still pinned"
	grep -q " $HK_ROOT/sockets/$1 " /proc/self/mountinfo && sp_fail "$1's socket directory is still mounted"
	true
}

# Pipelines and containers of the old release, carried on by this one.
t_upgrade() {
	local tag=$1 hash=$2 old out p="up-$1" e="upe-$1" before
	old=$(sp_release_build "$tag" "$hash")
	[[ -n $old ]] || exit 0 # skipped
	before=$SP_CASE_DIR/mounts
	hk_mounts_snapshot "$before"
	use "$old"
	ctl create "$p" --size 8m --ipc >/dev/null
	start a "$p"
	start b "$e"
	sp_assert_eq "$(sp_id a)" "$(members "$p")"

	use "$NEW"
	out=$(listed)
	sp_assert_contains "$out" "$p"
	sp_assert_contains "$out" "$e"
	start c "$e"
	sp_assert_eq "$(sp_id b) $(sp_id c)" "$(members "$e")" "members of $e"
	stop a
	sp_assert_eq "" "$(members "$p")" "members of $p"
	stop b
	sp_assert_eq "$(sp_id c)" "$(members "$e")" "members of $e"
	stop c
	gone "$e"
	# Its pipelines get a definition: they now outlive a reboot.
	sp_assert_contains "$(ctl restore)" "$p: wrote its definition"
	ctl rm "$p"
	gone "$p"
	hk_assert_no_stray_mounts "$before" "$p" "$e"
}
sp_test "upgrade from v0.2.0 with live runc containers: members exact, nothing left mounted" \
	t_upgrade v0.2.0 1365ad0
sp_test "upgrade from v0.1.0 with live runc containers: members exact, nothing left mounted" \
	t_upgrade v0.1.0 ed74b3b

# Pipelines and containers of this release, carried on by the previous
# one, then this one again.  v0.1.0 knows no namespaced names, allow lists
# or socket directories: a pipeline that uses none is written as it reads
# it.
t_rollback() {
	local tag=$1 hash=$2 old out p="rb-p-$1" e="rb-e-$1" q="rb-q-$1" before
	shift 2
	# What the release rolled back to knows too (OPTIONS...).
	local -a opts=("$@")
	old=$(sp_release_build "$tag" "$hash")
	[[ -n $old ]] || exit 0 # skipped
	before=$SP_CASE_DIR/mounts
	hk_mounts_snapshot "$before"
	use "$NEW"
	ctl create "$p" --size 8m --ipc "${opts[@]}" >/dev/null
	ctl create "$q" --size 4m >/dev/null
	start d "$p"
	start f "$e"

	use "$old"
	out=$(listed)
	sp_assert_contains "$out" "$p"
	sp_assert_contains "$out" "$e"
	sp_assert_eq "$(sp_id d)" "$(members "$p")" "members of $p"
	start g "$e"
	sp_assert_eq "$(sp_id f) $(sp_id g)" "$(members "$e")" "members of $e"
	stop f
	sp_assert_eq "$(sp_id g)" "$(members "$e")" "members of $e"
	stop g
	gone "$e"
	stop d
	sp_assert_eq "" "$(members "$p")" "members of $p"
	out=$(ctl gc 2>&1) || sp_fail "gc of the previous release failed: $out"
	sp_assert_not_contains "$out" "damaged" "gc"
	# Removed by a release that knows no definitions.
	ctl rm "$q"
	gone "$q"

	# And upgraded again: what the previous release removed stays removed.
	use "$NEW"
	ctl restore >"$SP_CASE_DIR/restore.out"
	sp_assert_not_contains "$(cat "$SP_CASE_DIR/restore.out")" "$q: restored"
	start h "$p"
	sp_assert_eq "$(sp_id h)" "$(members "$p")" "members of $p"
	stop h
	ctl rm "$p"
	gone "$p"
	gone "$q"
	ctl restore >/dev/null
	sp_assert_not_contains "$(listed)" "$q"
	[[ -z $(ls -A "$HK_ROOT/definitions") ]] || sp_fail "definitions left: $(ls -A "$HK_ROOT/definitions")"
	hk_assert_no_stray_mounts "$before" "$p" "$e" "$q"
}
sp_test "rollback to v0.2.0 and back with live runc containers: members exact, nothing left mounted, never 'damaged'" \
	t_rollback v0.2.0 1365ad0 --sockets /tmp
# Not promised, but it holds: a pipeline using nothing the release of
# 2026-11-27 lacks is written as it reads it.
sp_test "rollback to v0.1.0 and back with live runc containers: members exact, nothing left mounted, never 'damaged'" \
	t_rollback v0.1.0 ed74b3b

sp_done
