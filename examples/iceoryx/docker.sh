#!/usr/bin/env bash
# examples/iceoryx/docker.sh - RouDi, a subscriber and a publisher in three
# Docker containers of one shmpipe pipeline with its socket directory at /tmp:
#
#   --via plugin   the volume plugin: volume NAME on /dev/shm, volume
#                  NAME.sockets on /tmp (one volume, one mount point)
#   --via runtime  shmpipe-runtime: `docker run --runtime shmpipe -e
#                  SHMPIPE_PIPELINE=NAME`; the hook mounts both
#
# The image is imported once from examples/lib/usr-rootfs.sh's skeleton; the
# host's /usr is bound read-only and the apps at /app.  The docker CLI talks
# to $DOCKER_HOST as usual.  See --help.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$repo/examples/lib/usr-rootfs.sh"

usage() {
	cat <<USAGE
Usage: $0 [OPTIONS]

  --via plugin|runtime  how Docker reaches the pipeline (default plugin)
  --pipeline NAME       the pipeline (default iceoryx)
  --count N             samples (default 100)
  --bytes N             payload bytes per sample (default 1048576)
  --bin DIR             publisher and subscriber (default \$BUILD/examples/iceoryx)
  --image TAG           image to use or import (default shmpipe-usr:latest)
  --driver NAME         the plugin's driver name (default shmpipe)
  --runtime NAME        dockerd's name for shmpipe-runtime (default shmpipe)
  --ctl PATH            shmpipectl, for --via runtime (default: shmpipectl)
  --ctl-opt ARG         pass ARG to shmpipectl first (repeatable), e.g. --root DIR
Exit status 0 when the subscriber received and checked every sample.
USAGE
}

via=plugin pipeline=iceoryx count=100 bytes=1048576 bin=${BUILD:-$repo/build}/examples/iceoryx
image=shmpipe-usr:latest driver=shmpipe runtime=shmpipe ctl=shmpipectl ctl_opts=()
while (($#)); do
	case $1 in
	--via) via=$2; shift 2 ;;
	--pipeline) pipeline=$2; shift 2 ;;
	--count) count=$2; shift 2 ;;
	--bytes) bytes=$2; shift 2 ;;
	--bin) bin=$2; shift 2 ;;
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
[[ $count =~ ^[0-9]+$ && $bytes =~ ^[0-9]+$ ]] || die "bad --count or --bytes"
[[ -x $bin/publisher && -x $bin/subscriber ]] ||
	die "no publisher/subscriber in $bin (make -C examples/iceoryx OUT=$bin)"

if ! docker image inspect "$image" >/dev/null 2>&1; then
	d=$(mktemp -d /tmp/shmpipe-usr-rootfs.XXXXXX)
	usr_rootfs "$d"
	tar -C "$d" --numeric-owner -cf - . |
		docker import --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' - "$image" >/dev/null
	rm -rf "$d"
fi
app=$(mktemp -d /tmp/shmpipe-iceoryx-app.XXXXXX)
cp "$bin/publisher" "$bin/subscriber" "$here/roudi.toml" "$app/"
chmod 755 "$app"

tag="iox$$"
cleanup() {
	docker rm -f "$tag-pub" "$tag-sub" "$tag-roudi" >/dev/null 2>&1 || true
	if [[ $via == plugin ]]; then
		docker volume rm "$pipeline.sockets" "$pipeline" >/dev/null 2>&1 || true
	else
		"$ctl" "${ctl_opts[@]}" rm "$pipeline" >/dev/null 2>&1 || true
	fi
	rm -rf "$app"
}
trap cleanup EXIT

common=(--network none -v /usr:/usr:ro -v "$app:/app:ro")
if [[ $via == plugin ]]; then
	docker volume create -d "$driver" -o size=192m -o sockets=/tmp "$pipeline" >/dev/null
	common+=(--volume-driver "$driver" -v "$pipeline:/dev/shm" -v "$pipeline.sockets:/tmp")
else
	# Docker 20.10 passes no annotations: the pipeline is made beforehand.
	"$ctl" "${ctl_opts[@]}" create "$pipeline" --size 192m --sockets /tmp >/dev/null
	common+=(--runtime "$runtime" -e "SHMPIPE_PIPELINE=$pipeline")
fi

echo "docker.sh: pipeline $pipeline via $via: RouDi, subscriber, publisher; $count samples of $bytes bytes"
docker run -d --name "$tag-roudi" "${common[@]}" "$image" iox-roudi -c /app/roudi.toml >/dev/null
for ((i = 0; i < 300; i++)); do
	docker exec "$tag-roudi" test -S /tmp/roudi 2>/dev/null && break
	sleep 0.1
done
docker exec "$tag-roudi" test -S /tmp/roudi || { docker logs "$tag-roudi"; die "RouDi did not come up"; }
docker run -d --name "$tag-sub" "${common[@]}" "$image" /app/subscriber --count "$count" --timeout 60 >/dev/null
rc=0
docker run --name "$tag-pub" "${common[@]}" "$image" \
	/app/publisher --count "$count" --size "$bytes" --timeout 60 2>&1 | grep -v 'Debug\|Verbose' || rc=$?
status=$(docker wait "$tag-sub")
docker logs "$tag-sub" 2>&1 | grep -v 'Debug\|Verbose' | sed 's/^/[sub] /'
[[ $status == 0 && $rc == 0 ]]
