#!/usr/bin/env bash
# examples_resize_inference.sh - the resize-inference example end to end: a
# producer and a consumer in two containers that share a shmpipe pipeline
# (OCI hook for runc/containerd/Podman, volume plugin for Docker), every
# frame checked.  Proves that:
#   - the Python pair (debootstrap'd Debian + numpy) and the static C pair
#     (busybox) hand over every frame, in order, intact: the consumer's CRC
#     of each frame equals the CRC this script computes independently for
#     frame n, and it reports nothing lost, torn or re-read;
#   - both containers' /dev/shm is the pipeline's tmpfs, a container outside
#     the pipeline does not see the segment, the host sees it in the store;
#   - C and Python implement the same ring (RING.md): a C producer feeds a
#     Python consumer and the reverse;
#   - the run files work: runc.sh (runc and containerd), the documented
#     Podman command line, docker-compose.yml with the volume plugin, and
#     examples/demo.sh (`make demo`).
set -euo pipefail
# the first run builds the python image (debootstrap): give cases more time
export SP_TEST_TIMEOUT=${SP_TEST_TIMEOUT:-540}
. "$(dirname "$0")/lib/common.sh"

EX=$SP_REPO/examples/resize-inference
HOOK=$SP_BUILD_DIR/shmpipe-hook
CTL=$SP_BUILD_DIR/shmpipectl
BIN=$SP_TMP/example-bin           # static C producer/consumer
STORE=$SP_TMP/store               # private store: never /run/shmpipe
FRAMES=${SP_EXAMPLE_FRAMES:-120}
SHAPE=1080x1920x3

[[ -x $HOOK ]] || sp_fail "no hook at $HOOK (run make)"
HAVE_PLUGIN=0
if [[ -x ${SP_PLUGIN_BIN:-$SP_BUILD_DIR/shmpipe-plugin} ]]; then
	SP_PLUGIN_BIN=${SP_PLUGIN_BIN:-$SP_BUILD_DIR/shmpipe-plugin}
	. "$(dirname "$0")/lib/plugin.sh"
	HAVE_PLUGIN=1
fi
make -s -C "$EX/c" OUT="$BIN" >&2
PYIMG=""                          # set by t_image

# runner ARGS... : examples/resize-inference/runc.sh with this run's hook and store.
runner() {
	"$EX/runc.sh" --hook "$HOOK" --hook-opt --root --hook-opt "$STORE" --bin "$BIN" \
		--runc-root "$SP_TMP/runc" --work "$(sp_tmpdir work)" "$@"
}

# expected_crcs N SHAPE : "n crc" for frames 0..N-1, computed here from the
# pattern (byte i of frame n = (i % 251 + n) & 255), independently of the apps.
expected_crcs() {
	"$SP_PYTHON" - "$1" "$2" <<'EOF'
import sys, zlib
n, shape = int(sys.argv[1]), [int(x) for x in sys.argv[2].split("x")]
size = 1
for d in shape:
    size *= d
base = bytes(i % 251 for i in range(251))
base = (base * (size // 251 + 1))[:size]
table = {}
for k in range(min(n, 256)):
    table[k] = zlib.crc32(bytes((b + k) & 255 for b in base)) if size <= 4096 else None
if size > 4096:
    import numpy  # the host has python3-numpy (install/deps.sh)
    a = numpy.frombuffer(base, dtype=numpy.uint8)
    for k in range(min(n, 256)):
        table[k] = zlib.crc32((a + numpy.uint8(k)).tobytes())
for i in range(n):
    print(i, "%08x" % table[i % 256])
EOF
}

# check_run OUT N SHAPE : the consumer's per-frame lines ("[infer]  frame n
# crc32 X ok") are exactly frames 0..N-1 with the expected CRCs, and its
# summary says all N checked out.
check_run() {
	local out=$1 n=$2 shape=$3 got want
	sp_assert_contains "$out" "[infer]  consumer: checksums OK $n/$n, content OK $n/$n, lost 0, torn 0"
	sp_assert_contains "$out" "[infer]  consumer: OK"
	sp_assert_contains "$out" "[resize] producer: published $n frames"
	sp_assert_not_contains "$out" "BAD"
	got=$(sed -n 's/^\[infer\]  frame \([0-9]*\) crc32 \([0-9a-f]*\) ok$/\1 \2/p' <<<"$out")
	want=$(expected_crcs "$n" "$shape")
	[[ $got == "$want" ]] || {
		diff <(echo "$want") <(echo "$got") | head -20 >&2
		sp_fail "per-frame CRCs differ from the expected ones"
	}
}

# check_shm OUT PIPELINE : both containers said their /dev/shm is the pipeline's.
check_shm() {
	sp_assert_contains "$1" "[resize] /dev/shm is tmpfs shmpipe-$2 "
	sp_assert_contains "$1" "[infer]  /dev/shm is tmpfs shmpipe-$2 "
}

# ---------------------------------------------------------------------------

t_image() {
	local d
	d=$("$SP_REPO/tests/images/python-numpy.sh" "$SP_CACHE_DIR")
	[[ -x $d/usr/bin/python3 ]] || sp_fail "no python3 in $d"
	chroot "$d" /usr/bin/python3 -c 'import numpy; print(numpy.__version__)'
	echo "$d" >"$SP_TMP/pyimg"
}

t_python_runc() {
	local out p
	p=$(sp_id py)
	out=$(runner --rootfs "$PYIMG" --pipeline "$p" --frames "$FRAMES" --shape "$SHAPE" --verbose)
	check_run "$out" "$FRAMES" "$SHAPE"
	check_shm "$out" "$p"
	sp_assert_contains "$out" "[infer]  consumer: last frame's channel means"
	# auto-created ephemeral by the hook, removed when the last one left
	[[ ! -e $STORE/state/$p.json ]] || sp_fail "pipeline $p left behind"
}

t_c_runc() {
	local out p rootfs
	p=$(sp_id c)
	rootfs=$(sp_tmpdir rootfs)
	sp_busybox_rootfs "$rootfs"
	out=$(runner --producer c --consumer c --rootfs "$rootfs" --pipeline "$p" \
		--frames "$FRAMES" --shape "$SHAPE" --verbose)
	check_run "$out" "$FRAMES" "$SHAPE"
	check_shm "$out" "$p"
}

t_cross() {
	local out p
	p=$(sp_id x1)
	# small frames, few slots, many frames: the ring wraps hundreds of times
	out=$(runner --producer c --consumer python --rootfs "$PYIMG" --pipeline "$p" \
		--frames 2000 --shape 32x32x3 --slots 3 --verbose)
	check_run "$out" 2000 32x32x3
	p=$(sp_id x2)
	out=$(runner --producer python --consumer c --rootfs "$PYIMG" --pipeline "$p" \
		--frames 300 --shape 270x480x3 --slots 2 --verbose)
	check_run "$out" 300 270x480x3
}

t_isolation() {
	local p rootfs b out size
	p=$(sp_id iso)
	rootfs=$(sp_tmpdir rootfs)
	sp_busybox_rootfs "$rootfs"
	cp "$BIN/producer" "$BIN/consumer" "$rootfs/bin/"
	"$CTL" --root "$STORE" create "$p" --size 64m >/dev/null
	sp_defer "$CTL" --root "$STORE" rm --force "$p"
	# a producer alone: 2 frames fit in 4 slots, the segment stays behind
	b=$(sp_tmpdir bundle)
	sp_runc_bundle "$b" -r "$rootfs" -a io.shmpipe.pipeline="$p" \
		-H "createRuntime=$HOOK --root $STORE createRuntime" -H "poststop=$HOOK --root $STORE poststop" \
		-- /bin/producer --frames 2 --shape 64x64x3
	out=$(sp_runc_run "$(sp_id iso-p)" "$b")
	sp_assert_contains "$out" "published 2 frames"
	size=$(stat -c %s "$STORE/mnt/$p/frames")
	sp_assert_eq $((4096 + 4 * 12288)) "$size" "segment size on the host"
	# a container outside the pipeline has its own, empty /dev/shm
	b=$(sp_tmpdir bundle)
	sp_runc_bundle "$b" -r "$rootfs" -- /bin/sh -c 'ls /dev/shm; echo end'
	sp_assert_eq end "$(sp_runc_run "$(sp_id iso-o)" "$b")"
	# a member sees it and consumes both frames
	b=$(sp_tmpdir bundle)
	sp_runc_bundle "$b" -r "$rootfs" -a io.shmpipe.pipeline="$p" \
		-H "createRuntime=$HOOK --root $STORE createRuntime" -H "poststop=$HOOK --root $STORE poststop" \
		-- /bin/consumer --expect 2 --timeout 10
	out=$(sp_runc_run "$(sp_id iso-c)" "$b")
	sp_assert_contains "$out" "checksums OK 2/2, content OK 2/2, lost 0, torn 0"
	[[ ! -e $STORE/mnt/$p/frames ]] || sp_fail "the consumer did not unlink the segment"
	# both left: a persistent pipeline stays, without members
	sp_assert_eq 0 "$(sp_json "$STORE/state/$p.json" 'len(j["members"])')"
}

t_ctr() {
	local out p rootfs
	sp_containerd_start
	p=$(sp_id ctr)
	rootfs=$(sp_tmpdir rootfs)
	sp_busybox_rootfs "$rootfs"
	mkdir -p "$SP_CTD_DIR/fifo"
	out=$(runner --engine ctr --ctr-address "$SP_CTD_SOCK" --ctr-namespace "$SP_CTD_NS" \
		--ctr-run-arg --fifo-dir="$SP_CTD_DIR/fifo" --ctr-run-arg --runc-root="$SP_CTD_DIR/runc" \
		--producer c --consumer c --rootfs "$rootfs" --pipeline "$p" --frames 60 --verbose)
	check_run "$out" 60 "$SHAPE"
	check_shm "$out" "$p"
}

t_podman() {
	local p out got
	sp_require_cmd podman
	p=$(sp_id pod)
	# what install/hooks.d installs, with this run's store
	sp_podman_hook shmpipe createRuntime "$HOOK" --root "$STORE" createRuntime
	sp_podman_hook shmpipe-poststop poststop "$HOOK" --root "$STORE" poststop
	# the README's command lines (an overlay on the rootfs instead of an image)
	sp_podman_run -d --name "$p-infer" --annotation io.shmpipe.pipeline="$p" \
		-v "$EX:/app:ro" --rootfs "$PYIMG:O" python3 /app/consumer.py --expect 60 --verbose >/dev/null
	sp_podman_run --rm --name "$p-resize" --annotation io.shmpipe.pipeline="$p" \
		-v "$EX:/app:ro" --rootfs "$PYIMG:O" python3 /app/producer.py --frames 60
	sp_assert_eq 0 "$(sp_podman wait "$p-infer")"
	out=$(sp_podman logs "$p-infer" | sed 's/^/[infer]  /')
	sp_podman rm -f "$p-infer" >/dev/null
	sp_assert_contains "$out" "checksums OK 60/60, content OK 60/60, lost 0, torn 0"
	got=$(sed -n 's/^\[infer\]  frame \([0-9]*\) crc32 \([0-9a-f]*\) ok$/\1 \2/p' <<<"$out")
	[[ $got == "$(expected_crcs 60 "$SHAPE")" ]] || sp_fail "per-frame CRCs differ"
}

t_compose() {
	local proj out vol
	local -a env
	sp_require_cmd docker-compose dockerd
	((HAVE_PLUGIN)) || sp_skip "no volume plugin built"
	sp_dockerd_start
	sp_plugin_start
	sp_defer sp_plugin_stop
	tar -C "$PYIMG" --numeric-owner -cf - . | sp_docker import - shmpipe/resize-inference:test >/dev/null
	proj=$(sp_id compose)
	vol=$(sp_id vol)
	env=(DOCKER_HOST="$SP_DOCKER_HOST" DOCKER_CONFIG="$SP_DOCKER_DIR/client"
		EXAMPLE_IMAGE=shmpipe/resize-inference:test FRAMES=60 PIPELINE="$vol" SHMPIPE_DRIVER="$SP_DRIVER")
	sp_defer env "${env[@]}" sh -c "cd '$EX' && timeout 120 docker-compose -p '$proj' down -v >/dev/null 2>&1"
	out=$(cd "$EX" && env "${env[@]}" timeout -k 5 300 docker-compose --ansi never -p "$proj" up --no-build \
		--abort-on-container-exit --exit-code-from infer 2>&1) || {
		echo "$out" >&2
		sp_fail "docker-compose up failed"
	}
	echo "$out"
	sp_assert_contains "$out" "consumer: checksums OK 60/60, content OK 60/60, lost 0, torn 0"
	sp_assert_contains "$out" "Creating volume \"$vol\" with $SP_DRIVER driver"
	# the volume is the pipeline: the store has it while compose holds it
	[[ -e $SP_STORE/state/$vol.json ]] || sp_fail "no pipeline $vol in the plugin's store"
	(cd "$EX" && env "${env[@]}" timeout -k 5 120 docker-compose -p "$proj" down -v)
	[[ ! -e $SP_STORE/state/$vol.json ]] || sp_fail "docker-compose down -v left pipeline $vol"
}

t_demo() {
	local out before
	before=$(ls -d /tmp/shmpipe-demo.* 2>/dev/null || true)
	out=$(DEMO_FRAMES=60 BUILD=$SP_BUILD_DIR "$SP_REPO/examples/demo.sh" 2>&1) || {
		echo "$out" >&2
		sp_fail "demo.sh failed"
	}
	echo "$out"
	sp_assert_contains "$out" "[infer]  consumer: checksums OK 60/60, content OK 60/60, lost 0, torn 0"
	sp_assert_contains "$out" "== demo OK: the inference container received 60 frames"
	sp_assert_contains "$out" "[resize] /dev/shm is tmpfs shmpipe-resize-inference "
	# it cleaned up after itself
	[[ $(ls -d /tmp/shmpipe-demo.* 2>/dev/null || true) == "$before" ]] || sp_fail "demo left its temporary directory"
	! grep -q 'shmpipe-demo\.' /proc/self/mountinfo || sp_fail "demo left mounts"
}

sp_test "python3+numpy image (debootstrap, cached)" t_image
PYIMG=$(cat "$SP_TMP/pyimg" 2>/dev/null || true)
if [[ -n $PYIMG ]]; then
	sp_test "python pair, 2 runc containers + hook: $FRAMES frames of $SHAPE, every CRC" t_python_runc
	sp_test "C producer -> python consumer and python -> C (one ring layout)" t_cross
	sp_test "podman: the documented command line, hooks.d" t_podman
	sp_test "docker-compose.yml with the shmpipe volume plugin" t_compose
fi
sp_test "C pair (static, busybox), 2 runc containers + hook: every CRC" t_c_runc
sp_test "segment lives in the pipeline only: host store, members, outsiders" t_isolation
sp_test "containerd: runc.sh --engine ctr" t_ctr
sp_test "make demo (examples/demo.sh) runs and cleans up" t_demo
sp_done
