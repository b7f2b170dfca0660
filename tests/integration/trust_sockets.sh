#!/usr/bin/env bash
# trust_sockets.sh - where a container's socket directory may go, and what
# the hook may create on the way (runc, the hook at createRuntime and
# poststop, a private store).  Shows that:
#   - with the default config, io.shmpipe.sockets=/etc is refused (not under
#     container_socket_prefixes), with one line naming the key; nothing is
#     made;
#   - a member asking for another socket path (or size) than its existing
#     pipeline's is refused with one line naming the option, and does not
#     start; it is never given the pipeline's directory instead;
#   - the runtime wrapper refuses such a member the same way;
#   - a host directory bound into the container on the way to a socket
#     directory is left exactly as it was (listing and mtimes): the hook
#     creates no directory outside the container's own filesystems.
# (A symlink swapped in a loop on a socket directory's path while containers
# start: security_race.sh.)
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup

ROOTFS=$(sp_tmpdir rootfs)
sp_busybox_rootfs "$ROOTFS"

# start PIPELINE NAME [ANNOTATION...] -- CMD : a runc container of PIPELINE on
# the shared rootfs; its output (stdout and stderr) in $OUT, status returned.
start() {
	local pipe=$1 name=$2 b rc=0
	local -a ann=(-a "io.shmpipe.pipeline=$pipe")
	shift 2
	while [[ $1 != -- ]]; do ann+=(-a "$1"); shift; done
	shift
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -r "$ROOTFS" "${ann[@]}" -- /bin/sh -c "$1"
	OUT=$(hk_run runc "$(sp_id "$name")" "$b" 2>&1) || rc=$?
	return $rc
}

t_prefix_refused() {
	local before
	before=$(ls -la --time-style=full-iso "$ROOTFS/etc" | sha256sum)
	if start pe e1 io.shmpipe.sockets=/etc -- 'echo STARTED'; then
		sp_fail "a container got a socket directory over /etc: $OUT"
	fi
	sp_assert_not_contains "$OUT" STARTED
	sp_assert_contains "$OUT" "shmpipe-hook: pipeline pe: annotation io.shmpipe.sockets=/etc is not under an allowed path (/tmp, /run, /var/run: container_socket_prefixes in $HK_CONFIG)"
	! hk_exists pe || sp_fail "a pipeline was made"
	[[ ! -e $HK_ROOT/sockets/pe ]] || sp_fail "a socket directory was made"
	sp_assert_eq "$before" "$(ls -la --time-style=full-iso "$ROOTFS/etc" | sha256sum)" "the image's /etc"
	# by components: /tmpfoo is not under /tmp; a config may widen the list
	start pe e2 io.shmpipe.sockets=/tmpfoo -- true && sp_fail "/tmpfoo accepted"
	sp_assert_contains "$OUT" "io.shmpipe.sockets=/tmpfoo is not under an allowed path"
	local HK_CONFIG="$SP_CASE_DIR/config.json"
	echo '{"container_socket_prefixes": ["/srv/sock"]}' >"$HK_CONFIG"
	start pe e3 io.shmpipe.sockets=/srv/sock/a -- 'grep -c " /srv/sock/a " /proc/self/mountinfo' ||
		sp_fail "an allowed prefix refused: $OUT"
	sp_assert_eq 1 "$OUT"
}

t_other_path_refused() {
	local b
	# A makes the pipeline with its socket directory at /run/a and stays
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -r "$ROOTFS" -a io.shmpipe.pipeline=pm -a io.shmpipe.sockets=/run/a \
		-- /bin/sh -c 'echo from-a >/run/a/hosts && exec sleep 300'
	hk_run -d runc "$(sp_id ma)" "$b"
	sp_wait_for 10 test -e "$HK_ROOT/sockets/pm/hosts"
	# B asks for /tmp: refused, naming the option, both values
	if start pm mb io.shmpipe.sockets=/tmp -- 'echo STARTED; cat /run/a/hosts /tmp/hosts'; then
		sp_fail "B started: $OUT"
	fi
	sp_assert_not_contains "$OUT" STARTED
	sp_assert_contains "$OUT" "shmpipe-hook: pipeline pm: annotation io.shmpipe.sockets=/tmp differs from the existing pipeline's sockets=/run/a: refusing"
	sp_assert_eq 1 "$(grep -c . <<<"$OUT")" "one line"
	sp_assert_eq "$(sp_id ma)" "$(hk_members pm)" "members after the refusal"
	# another size too; the same path (or none asked) joins
	start pm mc io.shmpipe.size=1m -- true && sp_fail "another size accepted"
	sp_assert_contains "$OUT" "annotation io.shmpipe.size=1048576 differs from the existing pipeline's size="
	start pm md io.shmpipe.sockets=/run/a -- 'cat /run/a/hosts' || sp_fail "same path refused: $OUT"
	sp_assert_eq from-a "$OUT"
	start pm me -- 'cat /run/a/hosts' || sp_fail "no options refused: $OUT"
	sp_assert_eq from-a "$OUT"
}

# The runtime wrapper holds a member to its pipeline's options the same way.
t_runtime_refuses_other_path() {
	local b out
	hk_ctl create pw --size 8m --sockets /run/a >/dev/null
	sp_defer hk_ctl rm --force pw
	b=$(sp_tmpdir bundle)
	sp_runc_bundle "$b" -r "$ROOTFS" -a io.shmpipe.pipeline=pw -a io.shmpipe.sockets=/tmp -- /bin/true
	sp_defer hk_quiet sp_runc delete -f "$(sp_id rw)"
	# (to a file: a created container would hold a pipe open)
	"$HK_BUILD/shmpipe-runtime" --shmpipe-root "$HK_ROOT" --shmpipe-config "$HK_CONFIG" \
		--root "$SP_TMP/runc" create --bundle "$b" "$(sp_id rw)" </dev/null >"$SP_CASE_DIR/out" 2>&1 &&
		sp_fail "created: $(cat "$SP_CASE_DIR/out")"
	out=$(cat "$SP_CASE_DIR/out")
	sp_assert_contains "$out" "pipeline pw: annotation io.shmpipe.sockets=/tmp differs from the existing pipeline's sockets=/run/a: refusing"
	if sp_runc state "$(sp_id rw)" >/dev/null 2>&1; then sp_fail "a container was created anyway"; fi
}

# snapshot DIR : its listing with full mtimes, the directory's own included.
snapshot() { ls -lA --time-style=full-iso "$1"; stat -c '%n %y %z %h' "$1"; }

# A host directory bound into the container at /run/app (a private bind,
# so the shared-mount check does not refuse first), and the socket
# directory asked at /run/app/sock below it.
t_host_bind_untouched() {
	local host b before
	host=$(sp_tmpdir hostdir)
	echo keep >"$host/file"
	touch -d '2001-02-03 04:05:06' "$host/file" "$host"
	before=$(snapshot "$host")
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -r "$ROOTFS" -a io.shmpipe.pipeline=hb -a io.shmpipe.sockets=/run/app/sock \
		-- /bin/sh -c 'echo STARTED'
	"$SP_PYTHON" - "$b/config.json" "$host" <<'PY'
import json, sys
path, host = sys.argv[1:3]
c = json.load(open(path))
c["mounts"].append({"destination": "/run/app", "type": "bind", "source": host,
                    "options": ["rbind", "rprivate", "rw"]})
json.dump(c, open(path, "w"))
PY
	mkdir -p "$ROOTFS/run/app"
	hk_mounts_snapshot "$SP_CASE_DIR/mounts"
	OUT=$(hk_run runc "$(sp_id hb)" "$b" 2>&1) || true
	sp_assert_eq "$before" "$(snapshot "$host")" "the host directory"
	hk_assert_no_new_mounts "$SP_CASE_DIR/mounts"
	sp_assert_not_contains "$OUT" STARTED
	sp_assert_contains "$OUT" "shmpipe-hook: pipeline hb: container's /run/app/sock is missing, and the directory it would be made in is not the container's own"
	! hk_exists hb || sp_fail "the pipeline was left"
	# a directory of the image itself is still made (and stays in the image)
	start hb hc io.shmpipe.sockets=/run/made/sock -- 'grep -c " /run/made/sock " /proc/self/mountinfo' ||
		sp_fail "a directory in the rootfs refused: $OUT"
	sp_assert_eq 1 "$OUT"
	# and one in a tmpfs the runtime made for the container alone
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -r "$ROOTFS" -a io.shmpipe.pipeline=ht -a io.shmpipe.sockets=/run/rt/sock \
		-- /bin/sh -c 'grep -c " /run/rt/sock " /proc/self/mountinfo'
	"$SP_PYTHON" - "$b/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["mounts"].append({"destination": "/run/rt", "type": "tmpfs", "source": "tmpfs",
                    "options": ["nosuid", "nodev", "size=1m"]})
json.dump(c, open(sys.argv[1], "w"))
PY
	mkdir -p "$ROOTFS/run/rt"
	OUT=$(hk_run runc "$(sp_id ht)" "$b" 2>&1) || sp_fail "a directory in the runtime's tmpfs refused: $OUT"
	sp_assert_eq 1 "$OUT"
}

sp_test "default config: io.shmpipe.sockets=/etc is refused (container_socket_prefixes), by components" t_prefix_refused
sp_test "a member asking another socket path or size than its pipeline's is refused, naming the option" t_other_path_refused
sp_test "the runtime wrapper refuses a member asking another socket path than its pipeline's" t_runtime_refuses_other_path
sp_test "a host directory bound in on the way to a socket directory is left exactly as it was" t_host_bind_untouched
sp_done
