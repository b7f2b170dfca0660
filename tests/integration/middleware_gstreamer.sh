#!/usr/bin/env bash
# middleware_gstreamer.sh - GStreamer's shmsink in one container and shmsrc
# in another, in one pipeline with its socket directory (the unix socket of
# socket-path) at /run/gst; images: a skeleton with the host's /usr bound
# read-only (gstreamer1.0-tools, gstreamer1.0-plugins-bad).  On runc
# (examples/gstreamer/runc.sh, the hook), and on Docker through the volume
# plugin (volumes NAME and NAME.sockets) and through shmpipe-runtime
# (examples/gstreamer/docker.sh).  Each time the receiver counts and
# checksums N 1080p RGB frames and exits by itself; its SHA-256 of frame n
# must equal the one computed here from the same videotestsrc, without shm.
set -euo pipefail
export SP_TEST_TIMEOUT=${SP_TEST_TIMEOUT:-400}
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup
SP_STORE=$HK_ROOT
. "$(dirname "$0")/lib/plugin.sh"

EX=$SP_REPO/examples/gstreamer
FRAMES=${SP_GST_FRAMES:-60}
command -v gst-launch-1.0 >/dev/null || sp_fail "GStreamer is not installed (install/deps.sh)"
"$EX/gst.sh" expect - "$FRAMES" >"$SP_TMP/expected"
[[ $(wc -l <"$SP_TMP/expected") == "$FRAMES" ]] || sp_fail "no expected checksums"

# check OUT PIPELINE : all frames, in order, with the expected checksums; the
# pipeline and its socket directory are gone afterwards.
check() {
	local out=$1 p=$2
	sp_assert_contains "$out" "recv: $FRAMES of $FRAMES frames of 6220800 bytes"
	sp_assert_contains "$out" "recv: /dev/shm is tmpfs shmpipe-$p"
	sp_assert_contains "$out" "recv: /run/gst is tmpfs shmpipe-sockets-$p"
	diff "$SP_TMP/expected" <(grep '^frame-sha256 ' <<<"$out") >&2 ||
		sp_fail "the receiver's checksums differ from the sender's frames"
	! hk_exists "$p" || sp_fail "pipeline $p left"
	[[ ! -e $HK_ROOT/sockets/$p ]] || sp_fail "socket directory of $p left"
}

t_runc() {
	local out p
	p=$(sp_id gst)
	out=$("$EX/runc.sh" --hook "$HK_HOOK" --hook-opt --root --hook-opt "$HK_ROOT" \
		--pipeline "$p" --frames "$FRAMES" --work "$(sp_tmpdir work)")
	check "$out" "$p"
}

docker_env() {
	export DOCKER_HOST=$SP_DOCKER_HOST DOCKER_CONFIG=$SP_DOCKER_DIR/client
}

t_docker_plugin() {
	local out
	sp_require_cmd dockerd
	sp_plugin_start
	sp_defer sp_plugin_stop
	sp_dockerd_start
	docker_env
	out=$(sp_timeout "$EX/docker.sh" --via plugin --driver "$SP_DRIVER" --pipeline gstp \
		--frames "$FRAMES" --image "shmpipe-usr:$SP_RUN_ID")
	check "$out" gstp
}

t_docker_runtime() {
	local out wrapper
	sp_require_cmd dockerd
	wrapper="$SP_TMP/shmpipe-runtime-test"
	printf '#!/bin/sh\nexec %q --shmpipe-root %q --shmpipe-hook %q "$@"\n' \
		"$HK_BUILD/shmpipe-runtime" "$HK_ROOT" "$HK_HOOK" >"$wrapper"
	chmod +x "$wrapper"
	sp_dockerd_start --add-runtime "shmpipe=$wrapper"
	docker_env
	out=$(sp_timeout "$EX/docker.sh" --via runtime --ctl "$HK_CTL" --ctl-opt --root \
		--ctl-opt "$HK_ROOT" --pipeline gstr --frames "$FRAMES" --image "shmpipe-usr:$SP_RUN_ID")
	check "$out" gstr
}

sp_test "GStreamer on runc: shmsink -> shmsrc across two containers, $FRAMES 1080p RGB frames checksummed, the receiver ends by itself" t_runc
sp_test "GStreamer on Docker with the volume plugin (volumes NAME and NAME.sockets)" t_docker_plugin
sp_test "GStreamer on Docker with shmpipe-runtime (-e SHMPIPE_PIPELINE)" t_docker_runtime
sp_done
