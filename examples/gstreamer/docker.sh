#!/usr/bin/env bash
# examples/gstreamer/docker.sh - shmsink in one Docker container, shmsrc in
# another, in one shmpipe pipeline with its socket directory at /run/gst:
#
#   --via plugin   the volume plugin: volume NAME on /dev/shm and volume
#                  NAME.sockets on /run/gst (one volume, one mount point)
#   --via runtime  shmpipe-runtime: `docker run --runtime shmpipe -e
#                  SHMPIPE_PIPELINE=NAME`; the hook mounts both
#
# The image is imported once from examples/lib/usr-rootfs.sh's skeleton; the
# host's /usr is bound read-only (-v /usr:/usr:ro) and this directory at
# /app.  The docker CLI talks to $DOCKER_HOST as usual.  See --help.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$repo/examples/lib/usr-rootfs.sh"

usage() {
	cat <<USAGE
Usage: $0 [OPTIONS]

  --via plugin|runtime  how Docker reaches the pipeline (default plugin)
  --pipeline NAME       the pipeline (default gstreamer)
  --frames N            frames to send (default 100)
  --image TAG           image to use or import (default shmpipe-usr:latest)
  --driver NAME         the plugin's driver name (default shmpipe)
  --runtime NAME        dockerd's name for shmpipe-runtime (default shmpipe)
  --ctl PATH            shmpipectl, for --via runtime (default: shmpipectl)
  --ctl-opt ARG         pass ARG to shmpipectl first (repeatable), e.g. --root DIR
Prints the receiver's output; exit status 0 when it got all N frames.
USAGE
}

via=plugin pipeline=gstreamer frames=100 image=shmpipe-usr:latest driver=shmpipe runtime=shmpipe
ctl=shmpipectl ctl_opts=()
while (($#)); do
	case $1 in
	--via) via=$2; shift 2 ;;
	--pipeline) pipeline=$2; shift 2 ;;
	--frames) frames=$2; shift 2 ;;
	--image) image=$2; shift 2 ;;
	--driver) driver=$2; shift 2 ;;
	--runtime) runtime=$2; shift 2 ;;
	--ctl) ctl=$2; shift 2 ;;
	--ctl-opt) ctl_opts+=("$2"); shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "docker.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
	esac
done
die() { echo "docker.sh: $*" >&2; exit 1; }
[[ $via == plugin || $via == runtime ]] || die "--via: plugin or runtime"
[[ $frames =~ ^[0-9]+$ ]] || die "bad --frames"

if ! docker image inspect "$image" >/dev/null 2>&1; then
	d=$(mktemp -d /tmp/shmpipe-usr-rootfs.XXXXXX)
	usr_rootfs "$d"
	tar -C "$d" --numeric-owner -cf - . |
		docker import --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' - "$image" >/dev/null
	rm -rf "$d"
fi

tag="gst$$"
cleanup() {
	docker rm -f "$tag-send" "$tag-recv" >/dev/null 2>&1 || true
	if [[ $via == plugin ]]; then
		docker volume rm "$pipeline.sockets" "$pipeline" >/dev/null 2>&1 || true
	else
		"$ctl" "${ctl_opts[@]}" rm "$pipeline" >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT

common=(--network none -v /usr:/usr:ro -v "$here:/app:ro"
	-e GST_REGISTRY_UPDATE=no -e GST_REGISTRY=/tmp/gst-registry.bin)
if [[ $via == plugin ]]; then
	docker volume create -d "$driver" -o size=64m -o sockets=/run/gst "$pipeline" >/dev/null
	common+=(--volume-driver "$driver" -v "$pipeline:/dev/shm" -v "$pipeline.sockets:/run/gst")
else
	# Docker 20.10 passes no annotations: the pipeline is made beforehand.
	"$ctl" "${ctl_opts[@]}" create "$pipeline" --size 64m --sockets /run/gst >/dev/null
	common+=(--runtime "$runtime" -e "SHMPIPE_PIPELINE=$pipeline")
fi

echo "docker.sh: pipeline $pipeline via $via: shmsink -> shmsrc, $frames frames of 1920x1080 RGB"
docker run -d --name "$tag-send" "${common[@]}" "$image" /app/gst.sh send /run/gst/frames.sock "$frames" >/dev/null
rc=0
docker run --name "$tag-recv" "${common[@]}" "$image" /app/gst.sh recv /run/gst/frames.sock "$frames" || rc=$?
# A sender whose receiver failed would wait for it forever.
((rc == 0)) || docker kill "$tag-send" >/dev/null 2>&1 || true
docker wait "$tag-send" >/dev/null || true
docker logs "$tag-send" 2>&1 | sed 's/^/[send] /'
exit "$rc"
