#!/usr/bin/env bash
# shmpipe-runtime reports its errors where the calling engine reads them: the
# --log file (JSON lines with --log-format json, as runc writes them), as
# well as stderr.  containerd's shim reads that file; dockerd and ctr print
# what it found.  Before, the line went to stderr only and Docker printed
# "unable to retrieve OCI runtime error (open .../log.json: no such file or
# directory)".
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

BUILD=${BUILD:-$SP_REPO/build}
WRAP="$BUILD/shmpipe-runtime"
ROOT="$SP_TMP/store"
sp_defer sp_umount_under "$ROOT"
export SHMPIPE_ROOT=$ROOT

# What the wrapper prints for SHMPIPE_PIPELINE='my frames'.
WANT='shmpipe-runtime: environment SHMPIPE_PIPELINE: invalid pipeline name "my frames"'

# The wrapper with this run's store, as a runtime path without arguments
# (what dockerd and ctr --runc-binary take).
wrapper="$SP_TMP/shmpipe-runtime-test"
printf '#!/bin/sh\nexec %q --shmpipe-root %q "$@"\n' "$WRAP" "$ROOT" >"$wrapper"
chmod +x "$wrapper"

t_log_file() {
	local d id out log
	d=$(sp_tmpdir bundle)
	id=$(sp_id logf)
	sp_runc_bundle "$d" -e 'SHMPIPE_PIPELINE=my frames' -- /bin/true
	log="$SP_CASE_DIR/log.json"
	# runc's global options, as containerd's shim passes them.
	out=$("$wrapper" --root "$SP_TMP/runc" --log "$log" --log-format json create --bundle "$d" "$id" 2>&1) &&
		sp_fail "create of a container naming 'my frames' succeeded"
	sp_assert_contains "$out" "$WANT" "stderr"
	[[ $(wc -l <"$log") -eq 1 ]] || sp_fail "want one line in $log: $(cat "$log")"
	sp_assert_eq error "$(sp_json "$log" 'j["level"]')"
	sp_assert_contains "$(sp_json "$log" 'j["msg"]')" "$WANT"
	sp_assert_match "$(sp_json "$log" 'j["time"]')" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
	# The text format (runc's default), and --log=FILE spelt with '='.
	log="$SP_CASE_DIR/log.txt"
	"$wrapper" --root "$SP_TMP/runc" "--log=$log" create --bundle "$d" "$id" 2>/dev/null &&
		sp_fail "create succeeded"
	sp_assert_match "$(cat "$log")" '^time="20[0-9-]+T[0-9:]+Z" level=error msg="shmpipe-runtime: environment SHMPIPE_PIPELINE: invalid pipeline name \\"my frames\\"'
	if sp_runc state "$id" >/dev/null 2>&1; then sp_fail "a container was created anyway"; fi
}
sp_test "the wrapper's error goes to --log (JSON with --log-format json, else text) and stderr" t_log_file

t_docker() {
	local img out rc=0
	sp_require_cmd dockerd
	sp_dockerd_start --add-runtime "shmpipe=$wrapper"
	img=$(sp_docker_busybox_image)
	out=$(sp_docker run --rm --network none --runtime shmpipe -e SHMPIPE_PIPELINE='my frames' "$img" true 2>&1) || rc=$?
	echo "$out"
	[[ $rc -ne 0 ]] || sp_fail "docker run succeeded"
	sp_assert_contains "$out" "$WANT"
	sp_assert_not_contains "$out" "unable to retrieve OCI runtime error"
}
sp_test "docker run --runtime shmpipe -e SHMPIPE_PIPELINE='my frames': fails with the wrapper's line" t_docker

t_ctr() {
	local rootfs out rc=0
	sp_containerd_start
	rootfs=$(sp_tmpdir ctr-rootfs)
	sp_busybox_rootfs "$rootfs"
	out=$(sp_ctr_run "$(sp_id ctr)" --rm --runc-binary "$wrapper" --env 'SHMPIPE_PIPELINE=my frames' \
		--rootfs -- "$rootfs" /bin/true 2>&1) || rc=$?
	echo "$out"
	[[ $rc -ne 0 ]] || sp_fail "ctr run succeeded"
	sp_assert_contains "$out" "$WANT"
	sp_assert_not_contains "$out" "unable to retrieve OCI runtime error"
}
sp_test "ctr run --runc-binary shmpipe-runtime --env SHMPIPE_PIPELINE='my frames': the same line" t_ctr

sp_done
