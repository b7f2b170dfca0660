#!/usr/bin/env bash
# examples/demo.sh - `make demo`: a resize service hands video frames to an
# inference service through a shmpipe pipeline, without copies and without
# --ipc host.  Two runc containers (busybox + the static C pair of
# examples/resize-inference), each in its own IPC namespace; the shmpipe OCI
# hook mounts the pipeline's tmpfs on both containers' /dev/shm.
#
# Runs on a fresh Debian 12 as root after `bash install/deps.sh && make`.
# Everything it makes (store, pipeline, rootfs, bundles, containers) lives in
# one temporary directory and is removed at the end; it never touches
# /run/shmpipe or /etc/shmpipe of a real installation.
#
# Env: BUILD (default ./build), DEMO_FRAMES (300), DEMO_SHAPE (1080x1920x3),
# DEMO_SLOTS (4), DEMO_KEEP=1 keeps the temporary directory.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$repo/build}
frames=${DEMO_FRAMES:-300}
shape=${DEMO_SHAPE:-1080x1920x3}
slots=${DEMO_SLOTS:-4}
pipeline=resize-inference

die() {
	echo "demo: $*" >&2
	exit 1
}

[[ $(id -u) == 0 ]] || die "run as root: runc and the shmpipe hook mount file systems"
[[ -x $BUILD/shmpipe-hook ]] ||
	die "the shmpipe OCI hook is not built ($BUILD/shmpipe-hook is missing): run make first (the hook is hook/*.c)"
[[ -x $BUILD/shmpipectl ]] || die "$BUILD/shmpipectl is missing: run make first"
command -v runc >/dev/null || die "runc is missing: bash install/deps.sh"
busybox=$(command -v busybox || true)
[[ -n $busybox ]] || die "busybox is missing: bash install/deps.sh (busybox-static)"
[[ -x /usr/bin/python3 ]] || die "python3 is missing: bash install/deps.sh"

# The static C producer/consumer (they run in a bare busybox image).
make -s -C "$repo/examples/resize-inference/c" OUT="$BUILD/examples" >&2 ||
	die "building the example's C programs failed"

tmp=$(mktemp -d /tmp/shmpipe-demo.XXXXXX)
store=$tmp/store
config=$tmp/config.json
ctl=("$BUILD/shmpipectl" --root "$store" --config "$config")
runner_pid=""

cleanup() {
	local rc=$?
	set +e
	if [[ -n $runner_pid ]]; then
		kill "$runner_pid" 2>/dev/null
		wait "$runner_pid" 2>/dev/null
	fi
	# runc.sh deletes its containers; the pipeline and the store are ours
	"${ctl[@]}" rm --force "$pipeline" >/dev/null 2>&1
	grep -F " $tmp/" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	if [[ ${DEMO_KEEP:-0} == 1 ]]; then
		echo "demo: kept $tmp" >&2
	else
		rm -rf --one-file-system "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A private store and config: the demo's pipeline is invisible to (and cannot
# clash with) a real installation's.
cat >"$config" <<EOF
{
  "root": "$store",
  "default_size": "64m",
  "max_size": "2g",
  "auto_create": false,
  "log_level": "warning"
}
EOF

# A busybox root filesystem: busybox-static and its applets, nothing else.
rootfs=$tmp/rootfs
mkdir -p "$rootfs"/{bin,dev/shm,proc,sys,tmp,etc,app}
cp "$busybox" "$rootfs/bin/busybox"
for a in $("$busybox" --list); do
	[[ $a == busybox ]] || ln -sf busybox "$rootfs/bin/$a"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"

# Size the pipeline for the ring: header + slots, plus slack.
bytes=$(/usr/bin/python3 -c "
import math, sys
fb = math.prod(int(x) for x in sys.argv[1].split('x'))
slot = (fb + 4095) // 4096 * 4096
print(4096 + int(sys.argv[2]) * slot)" "$shape" "$slots")
size_mb=$(((bytes >> 20) + 16))

echo "== shmpipe demo: a resize service hands $shape frames to an inference service"
echo "   Two runc containers, each in its own IPC namespace (no --ipc host); the"
echo "   shmpipe hook mounts pipeline \"$pipeline\" on both containers' /dev/shm, and"
echo "   the frames never leave that memory: the consumer reads them where the"
echo "   producer wrote them."
echo
echo "\$ shmpipectl create $pipeline --size ${size_mb}m"
"${ctl[@]}" create "$pipeline" --size "${size_mb}m" >/dev/null
"${ctl[@]}" ls

echo
"$repo/examples/resize-inference/runc.sh" --producer c --consumer c --rootfs "$rootfs" \
	--bin "$BUILD/examples" --pipeline "$pipeline" --hook "$BUILD/shmpipe-hook" \
	--hook-opt --root --hook-opt "$store" --hook-opt --config --hook-opt "$config" \
	--frames "$frames" --shape "$shape" --slots "$slots" --work "$tmp/run" >"$tmp/run.log" 2>&1 &
runner_pid=$!

# While the containers run, the pipeline lists them as members.
members=0
for ((i = 0; i < 100; i++)); do
	members=$("${ctl[@]}" inspect "$pipeline" 2>/dev/null |
		/usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["members"]))' 2>/dev/null || echo 0)
	((members >= 2)) && break
	kill -0 "$runner_pid" 2>/dev/null || break
	sleep 0.05
done
if ((members >= 2)); then
	echo "\$ shmpipectl ls      # while the two containers run"
	"${ctl[@]}" ls
	echo
fi

rc=0
wait "$runner_pid" || rc=$?
runner_pid=""
cat "$tmp/run.log"
echo
if ((rc != 0)); then
	die "FAILED: see the output above"
fi
summary=$(grep -F '[infer]' "$tmp/run.log" | sed -n 's/.*checksums OK \([0-9]*\/[0-9]*\).*/\1/p')
fps=$(grep -F '[infer]' "$tmp/run.log" | sed -n 's/.*consumer: \([0-9.]*\) frames\/s.*/\1/p')
echo "== demo OK: the inference container received $frames frames of $shape (checksums OK $summary)"
echo "   at $fps frames/s through the pipeline's memory."
echo "   Compare the ways to hand frames over: make bench"
