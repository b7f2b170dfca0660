#!/usr/bin/env bash
# examples/iceoryx/runc.sh - iceoryx's RouDi, a subscriber and a publisher in
# three runc containers of one shmpipe pipeline.  The pipeline gives them
# one /dev/shm (RouDi's segments iceoryx_mgmt and one per user) and one
# socket directory at /tmp (RouDi's unix socket /tmp/roudi and its lock
# files; Debian's iceoryx has /tmp built in).  No host directory is bound,
# no --ipc host.
#
#   make -C examples/iceoryx OUT=$PWD/build/examples/iceoryx
#   examples/iceoryx/runc.sh --hook build/shmpipe-hook
#
# Each bundle carries the annotations io.shmpipe.pipeline=NAME,
# io.shmpipe.sockets=/tmp and io.shmpipe.size=SIZE, and the hook at
# createRuntime and poststop: the first container creates the (ephemeral)
# pipeline, the last one to stop removes it.  See --help.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$repo/examples/lib/usr-rootfs.sh"

usage() {
	cat <<USAGE
Usage: $0 [OPTIONS]

  --pipeline NAME     pipeline to share (default iceoryx)
  --size SIZE         its tmpfs size when the hook creates it (default 192m:
                      RouDi's segments with roudi.toml are about 112 MB)
  --count N           samples to send (default 100)
  --bytes N           payload bytes per sample (default 1048576)
  --bin DIR           publisher and subscriber (default \$BUILD/examples/iceoryx,
                      built with: make -C examples/iceoryx OUT=DIR)
  --hook PATH         shmpipe-hook (default \$SHMPIPE_HOOK, else
                      /usr/local/libexec/shmpipe/shmpipe-hook)
  --hook-opt ARG      pass ARG to the hook before its stage (repeatable)
  --runc-root DIR     runc state directory (default: private, temporary)
  --roudi-log LEVEL   RouDi's log level (default warning; debug names every
                      application that registers)
  --timeout SEC       each side's give-up time (default 60)
  --work DIR          where bundles and logs go (default: temporary, removed)
  --verbose           the subscriber prints a line per sample with its CRC-32
Exit status 0 when the subscriber received and checked every sample.
USAGE
}

pipeline=iceoryx size=192m count=100 bytes=1048576 bin=${BUILD:-$repo/build}/examples/iceoryx
hook=${SHMPIPE_HOOK:-/usr/local/libexec/shmpipe/shmpipe-hook} runc_root="" roudi_log=warning
timeout=60 work="" verbose=0 hook_opts=()
while (($#)); do
	case $1 in
	--pipeline) pipeline=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	--count) count=$2; shift 2 ;;
	--bytes) bytes=$2; shift 2 ;;
	--bin) bin=$2; shift 2 ;;
	--hook) hook=$2; shift 2 ;;
	--hook-opt) hook_opts+=("$2"); shift 2 ;;
	--runc-root) runc_root=$2; shift 2 ;;
	--roudi-log) roudi_log=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--verbose) verbose=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "runc.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
	esac
done

die() { echo "runc.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root"
[[ -x $hook ]] || die "no shmpipe hook at $hook (build it with make, or pass --hook)"
hook=$(readlink -f "$hook")
[[ -x $bin/publisher && -x $bin/subscriber ]] ||
	die "no publisher/subscriber in $bin (make -C examples/iceoryx OUT=$bin)"
command -v iox-roudi >/dev/null || die "iox-roudi is not installed (apt-get install iceoryx)"
[[ $count =~ ^[0-9]+$ && $bytes =~ ^[0-9]+$ && $timeout =~ ^[0-9]+$ ]] ||
	die "bad --count, --bytes or --timeout"

own_work=0
if [[ -z $work ]]; then
	work=$(mktemp -d /tmp/shmpipe-iceoryx.XXXXXX)
	own_work=1
fi
mkdir -p "$work"
work=$(readlink -f "$work")
[[ -n $runc_root ]] || runc_root=$work/runc
tag="iox$$"
ids=("$tag-pub" "$tag-sub" "$tag-roudi")
pids=()

cleanup() {
	local p id
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for id in "${ids[@]}"; do runc --root "$runc_root" delete -f "$id" >/dev/null 2>&1 || true; done
	wait 2>/dev/null || true
	if ((own_work)); then rm -rf --one-file-system "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

usr_rootfs "$work/rootfs"
mkdir -p "$work/app"
cp "$bin/publisher" "$bin/subscriber" "$here/roudi.toml" "$work/app/"

# bundle DIR CMD : config.json from `runc spec`, then edited.
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
p["env"] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
c["mounts"].append(json.loads(usr))
c["mounts"].append({"destination": "/app", "type": "bind", "source": app,
                    "options": ["rbind", "ro", "nosuid", "nodev"]})
# What shmpipe needs: the pipeline, its socket directory at /tmp, the hook.
c.setdefault("annotations", {}).update({
    "io.shmpipe.pipeline": pipeline,
    "io.shmpipe.sockets": "/tmp",
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

subopts="--count $count --timeout $timeout"
((verbose)) && subopts+=" --verbose"
bundle "$work/roudi" "exec iox-roudi -c /app/roudi.toml -l $roudi_log"
bundle "$work/sub" "exec /app/subscriber $subopts"
bundle "$work/pub" "exec /app/publisher --count $count --size $bytes --timeout $timeout"

start() {
	timeout -k 5 $((timeout * 3 + 60)) runc --root "$runc_root" run --bundle "$work/$1" "$tag-$1" \
		</dev/null >"$work/$1.log" 2>&1 &
	pids+=($!)
}

echo "runc.sh: pipeline $pipeline: RouDi, subscriber, publisher; $count samples of $bytes bytes"
start roudi
# RouDi is up when its socket is in the pipeline's socket directory, as the
# container sees it.
for ((i = 0; i < timeout * 10; i++)); do
	runc --root "$runc_root" exec "$tag-roudi" test -S /tmp/roudi 2>/dev/null && break
	sleep 0.1
done
runc --root "$runc_root" exec "$tag-roudi" test -S /tmp/roudi 2>/dev/null ||
	{ cat "$work/roudi.log" >&2; die "RouDi did not come up"; }
start sub
start pub
rc=0
wait "${pids[1]}" || rc=$?
wait "${pids[2]}" || rc=$((rc ? rc : $?))
runc --root "$runc_root" kill "$tag-roudi" TERM 2>/dev/null || true
wait "${pids[0]}" || true
for s in roudi sub pub; do sed "s/^/[$s] /" "$work/$s.log"; done
exit "$rc"
