#!/usr/bin/env bash
# examples/gstreamer/runc.sh - GStreamer's shmsink in one runc container and
# shmsrc in another, in one shmpipe pipeline: the frames travel in a segment
# on the pipeline's /dev/shm, their offsets over a unix socket in the
# pipeline's socket directory at /run/gst.  The receiver counts and
# checksums N 1080p RGB frames and exits by itself (gst.sh).
#
#   examples/gstreamer/runc.sh --hook build/shmpipe-hook --frames 60
#
# Each bundle carries io.shmpipe.pipeline=NAME, io.shmpipe.sockets=/run/gst
# and io.shmpipe.size, and the hook at createRuntime and poststop.  The
# images are a skeleton with the host's /usr bound read-only
# (examples/lib/usr-rootfs.sh): gst-launch-1.0 from gstreamer1.0-tools,
# shmsink/shmsrc and checksumsink from gstreamer1.0-plugins-bad.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$repo/examples/lib/usr-rootfs.sh"

usage() {
	cat <<USAGE
Usage: $0 [OPTIONS]

  --pipeline NAME   pipeline to share (default gstreamer)
  --size SIZE       its tmpfs size when the hook creates it (default 64m; the
                    sender's segment is 4 frames, 25 MB)
  --frames N        frames to send (default 100)
  --hook PATH       shmpipe-hook (default \$SHMPIPE_HOOK, else
                    /usr/local/libexec/shmpipe/shmpipe-hook)
  --hook-opt ARG    pass ARG to the hook before its stage (repeatable)
  --runc-root DIR   runc state directory (default: private, temporary)
  --timeout SEC     bound on each container (default 120)
  --work DIR        where bundles and logs go (default: temporary, removed)
Prints the receiver's output (a "frame-sha256 HASH" line per frame, then
"recv: N of N frames").  Exit status 0 when the receiver got all N.
USAGE
}

pipeline=gstreamer size=64m frames=100 hook=${SHMPIPE_HOOK:-/usr/local/libexec/shmpipe/shmpipe-hook}
runc_root="" timeout=120 work="" hook_opts=()
while (($#)); do
	case $1 in
	--pipeline) pipeline=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	--frames) frames=$2; shift 2 ;;
	--hook) hook=$2; shift 2 ;;
	--hook-opt) hook_opts+=("$2"); shift 2 ;;
	--runc-root) runc_root=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "runc.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
	esac
done

die() { echo "runc.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root"
[[ -x $hook ]] || die "no shmpipe hook at $hook (build it with make, or pass --hook)"
hook=$(readlink -f "$hook")
command -v gst-launch-1.0 >/dev/null || die "gst-launch-1.0 is not installed (gstreamer1.0-tools)"
[[ $frames =~ ^[0-9]+$ && $timeout =~ ^[0-9]+$ ]] || die "bad --frames or --timeout"

own_work=0
if [[ -z $work ]]; then
	work=$(mktemp -d /tmp/shmpipe-gstreamer.XXXXXX)
	own_work=1
fi
mkdir -p "$work"
work=$(readlink -f "$work")
[[ -n $runc_root ]] || runc_root=$work/runc
tag="gst$$"
pids=()

cleanup() {
	local p s
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for s in send recv; do runc --root "$runc_root" delete -f "$tag-$s" >/dev/null 2>&1 || true; done
	wait 2>/dev/null || true
	if ((own_work)); then rm -rf --one-file-system "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

usr_rootfs "$work/rootfs"
mkdir -p "$work/app"
cp "$here/gst.sh" "$work/app/"

bundle() {
	local dir=$1 cmd=$2
	mkdir -p "$dir"
	rm -f "$dir/config.json"
	runc spec --bundle "$dir"
	python3 - "$dir/config.json" "$work/rootfs" "$cmd" "$work/app" "$pipeline" "$size" "$hook" \
		"$USR_ROOTFS_MOUNT" "${hook_opts[@]}" <<'PY'
import json, sys
path, rootfs, cmd, app, pipeline, size, hook, usr = sys.argv[1:9]
hook_opts = sys.argv[9:]
with open(path) as f:
    c = json.load(f)
c["root"] = {"path": rootfs, "readonly": True}
p = c["process"]
p["terminal"] = False
p["args"] = ["/bin/sh", "-c", cmd]
p["env"] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp",
            # no registry cache in a read-only image
            "GST_REGISTRY_UPDATE=no", "GST_REGISTRY=/tmp/gst-registry.bin"]
c["mounts"].append(json.loads(usr))
c["mounts"].append({"destination": "/app", "type": "bind", "source": app,
                    "options": ["rbind", "ro", "nosuid", "nodev"]})
c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                    "options": ["nosuid", "nodev", "noexec", "size=16m"]})
c.setdefault("annotations", {}).update({
    "io.shmpipe.pipeline": pipeline,
    "io.shmpipe.sockets": "/run/gst",
    "io.shmpipe.size": size,
})
hooks = c.setdefault("hooks", {})
for stage in ("createRuntime", "poststop"):
    hooks.setdefault(stage, []).append(
        {"path": hook, "args": ["shmpipe-hook"] + hook_opts + [stage], "timeout": 10})
with open(path, "w") as f:
    json.dump(c, f, indent="\t")
PY
}

bundle "$work/send" "exec /app/gst.sh send /run/gst/frames.sock $frames"
bundle "$work/recv" "exec /app/gst.sh recv /run/gst/frames.sock $frames"

start() {
	timeout -k 5 "$timeout" runc --root "$runc_root" run --bundle "$work/$1" "$tag-$1" \
		</dev/null >"$work/$1.log" 2>&1 &
	pids+=($!)
}

echo "runc.sh: pipeline $pipeline: shmsink -> shmsrc, $frames frames of 1920x1080 RGB"
start send
start recv
rc=0
wait "${pids[1]}" || rc=$?
# The sender ends when the receiver has let go of its last frame (it may
# report the receiver's hang-up as an error then: see gst.sh).
((rc == 0)) || runc --root "$runc_root" kill "$tag-send" KILL 2>/dev/null || true
wait "${pids[0]}" || true
sed 's/^/[send] /' "$work/send.log"
cat "$work/recv.log"
exit "$rc"
