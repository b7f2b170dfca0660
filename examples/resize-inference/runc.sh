#!/usr/bin/env bash
# examples/resize-inference/runc.sh - run the resize service and the inference
# service as two OCI containers (runc, or containerd with --engine ctr) that
# share pipeline NAME through the shmpipe OCI hook: each bundle carries the
# annotation io.shmpipe.pipeline=NAME and the hook at createRuntime (join,
# mount the pipeline's tmpfs on /dev/shm) and poststop (leave).  No
# --ipc host, no host /dev/shm: each container keeps its own IPC namespace.
#
#   examples/resize-inference/runc.sh --rootfs "$(tests/images/python-numpy.sh)"
#   examples/resize-inference/runc.sh --producer c --consumer c --rootfs BUSYBOX_ROOTFS
#
# See --help.  Needs root, runc (or ctr + a running containerd), python3 on
# the host (to write config.json).  examples/demo.sh wraps this for the C pair.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

usage() {
	cat <<EOF
Usage: $0 --rootfs DIR [OPTIONS]

  --rootfs DIR          root filesystem of both containers, used read-only; it
                        needs /bin/sh, and python3 + numpy for a Python side
                        (tests/images/python-numpy.sh builds one); an /app
                        directory is created in it when missing
  --producer python|c   the resize service's implementation (default python)
  --consumer python|c   the inference service's implementation (default python)
  --bin DIR             the static C producer/consumer (default \$BUILD/examples,
                        built with: make -C examples/resize-inference/c)
  --pipeline NAME       pipeline to share (default resize-inference)
  --hook PATH           the shmpipe OCI hook (default \$SHMPIPE_HOOK, else
                        /usr/local/libexec/shmpipe/shmpipe-hook)
  --hook-opt ARG        pass ARG to the hook before its stage (repeatable), e.g.
                        --hook-opt --root --hook-opt /tmp/store
  --engine runc|ctr     runc (default) or containerd through ctr run --config
  --runc-root DIR       runc state directory (default: a private temporary one)
  --ctr-address SOCK    containerd socket (default /run/containerd/containerd.sock)
  --ctr-namespace NS    containerd namespace (default shmpipe-example)
  --ctr-run-arg ARG     extra argument for ctr run (repeatable)
  --frames N            frames to send (default 300)
  --shape HxWxC         frame shape (default 1080x1920x3)
  --slots N             ring slots (default 4)
  --timeout SEC         each side's give-up time without progress (default 30)
  --verbose             the consumer prints a line per frame with its CRC-32
  --work DIR            where the bundles go (default: a temporary directory,
                        removed at exit)
Exit status 0 when both containers exited 0 (the consumer exits 0 only when
every frame arrived, in order, with a matching checksum).
EOF
}

rootfs="" producer=python consumer=python bin=${BUILD:-$repo/build}/examples
pipeline=resize-inference hook=${SHMPIPE_HOOK:-/usr/local/libexec/shmpipe/shmpipe-hook}
engine=runc runc_root="" ctr_address=/run/containerd/containerd.sock ctr_ns=shmpipe-example
frames=300 shape=1080x1920x3 slots=4 timeout=30 verbose=0 work=""
hook_opts=() ctr_run_args=()
while (($#)); do
	case $1 in
	--rootfs) rootfs=$2; shift 2 ;;
	--producer) producer=$2; shift 2 ;;
	--consumer) consumer=$2; shift 2 ;;
	--bin) bin=$2; shift 2 ;;
	--pipeline) pipeline=$2; shift 2 ;;
	--hook) hook=$2; shift 2 ;;
	--hook-opt) hook_opts+=("$2"); shift 2 ;;
	--engine) engine=$2; shift 2 ;;
	--runc-root) runc_root=$2; shift 2 ;;
	--ctr-address) ctr_address=$2; shift 2 ;;
	--ctr-namespace) ctr_ns=$2; shift 2 ;;
	--ctr-run-arg) ctr_run_args+=("$2"); shift 2 ;;
	--frames) frames=$2; shift 2 ;;
	--shape) shape=$2; shift 2 ;;
	--slots) slots=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--verbose) verbose=1; shift ;;
	--work) work=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "runc.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
	esac
done

die() { echo "runc.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root"
[[ -n $rootfs && -d $rootfs ]] || die "--rootfs DIR is required (see --help)"
rootfs=$(readlink -f "$rootfs")
[[ -x $hook ]] || die "no shmpipe hook at $hook (build it with make, or pass --hook)"
hook=$(readlink -f "$hook")
[[ $producer =~ ^(python|c)$ && $consumer =~ ^(python|c)$ ]] || die "--producer/--consumer: python or c"
[[ $engine =~ ^(runc|ctr)$ ]] || die "--engine: runc or ctr"
[[ $frames =~ ^[0-9]+$ && $slots =~ ^[0-9]+$ && $shape =~ ^[0-9]+(x[0-9]+)*$ ]] ||
	die "bad --frames, --slots or --shape"
command -v "$engine" >/dev/null || die "$engine is not installed"
py=/usr/bin/python3
[[ -x $py ]] || py=$(command -v python3) || die "python3 is needed on the host to write config.json"
for side in "$producer" "$consumer"; do
	if [[ $side == c ]]; then
		[[ -x $bin/producer && -x $bin/consumer ]] ||
			die "no static C producer/consumer in $bin (make -C examples/resize-inference/c OUT=$bin)"
	fi
	if [[ $side == python && ! -x $rootfs/usr/bin/python3 && ! -x $rootfs/usr/local/bin/python3 ]]; then
		die "$rootfs has no python3 (tests/images/python-numpy.sh builds one with numpy)"
	fi
done

own_work=0
if [[ -z $work ]]; then
	work=$(mktemp -d /tmp/shmpipe-example.XXXXXX)
	own_work=1
fi
mkdir -p "$work"
work=$(readlink -f "$work")
[[ -n $runc_root ]] || runc_root=$work/runc
tag="rx$$"
ids=("$tag-resize" "$tag-infer")
pids=()

cleanup() {
	local id p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for id in "${ids[@]}"; do
		if [[ $engine == runc ]]; then
			runc --root "$runc_root" delete -f "$id" >/dev/null 2>&1 || true
		else
			ctr --address "$ctr_address" -n "$ctr_ns" tasks kill -s KILL "$id" >/dev/null 2>&1 || true
			ctr --address "$ctr_address" -n "$ctr_ns" tasks delete -f "$id" >/dev/null 2>&1 || true
			ctr --address "$ctr_address" -n "$ctr_ns" containers delete "$id" >/dev/null 2>&1 || true
		fi
	done
	if ((own_work)); then
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# What the containers see at /app (read-only): the Python apps and the
# static C binaries, whichever the sides need.
mkdir -p "$work/app"
cp "$here/ring.py" "$here/producer.py" "$here/consumer.py" "$work/app/"
if [[ $producer == c || $consumer == c ]]; then
	cp "$bin/producer" "$work/app/producer-c"
	cp "$bin/consumer" "$work/app/consumer-c"
fi
[[ -d $rootfs/app ]] || mkdir -p "$rootfs/app" 2>/dev/null || true

case $producer in
python) pcmd="python3 /app/producer.py" ;;
c) pcmd="/app/producer-c" ;;
esac
case $consumer in
python) ccmd="python3 /app/consumer.py" ;;
c) ccmd="/app/consumer-c" ;;
esac
pcmd+=" --frames $frames --shape $shape --slots $slots --timeout $timeout"
ccmd+=" --expect $frames --timeout $timeout"
((verbose)) && ccmd+=" --verbose"
# Each container first says what its /dev/shm is (from its own mountinfo).
show='sed -n "s|^[^ ]* [^ ]* [^ ]* [^ ]* /dev/shm .* - \(.*\)|/dev/shm is \1|p" /proc/self/mountinfo | tail -n 1'

# bundle DIR HOSTNAME CMD : config.json from `runc spec`, then edited.
bundle() {
	local dir=$1 host=$2 cmd=$3
	mkdir -p "$dir"
	rm -f "$dir/config.json"
	runc spec --bundle "$dir"
	"$py" - "$dir/config.json" "$rootfs" "$host" "$cmd" "$work/app" "$pipeline" "$hook" \
		"${#hook_opts[@]}" "${hook_opts[@]}" <<'EOF'
import json, sys
path, rootfs, host, cmd, app, pipeline, hook, nopts = sys.argv[1:9]
hook_opts = sys.argv[9:9 + int(nopts)]
with open(path) as f:
    c = json.load(f)
c["root"] = {"path": rootfs, "readonly": True}
c["hostname"] = host
p = c["process"]
p["terminal"] = False
p["args"] = ["/bin/sh", "-c", cmd]
p["cwd"] = "/app"
p["env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"]
c["mounts"].append({"destination": "/app", "type": "bind", "source": app,
                    "options": ["rbind", "ro", "nosuid", "nodev"]})
# The one shmpipe-specific thing: ask for the pipeline, and run the hook.
c.setdefault("annotations", {})["io.shmpipe.pipeline"] = pipeline
hooks = c.setdefault("hooks", {})
hooks.setdefault("createRuntime", []).append(
    {"path": hook, "args": ["shmpipe-hook"] + hook_opts + ["createRuntime"], "timeout": 10})
hooks.setdefault("poststop", []).append(
    {"path": hook, "args": ["shmpipe-hook"] + hook_opts + ["poststop"], "timeout": 10})
with open(path, "w") as f:
    json.dump(c, f, indent="\t")
EOF
}

bundle "$work/infer" infer "$show; exec $ccmd"
bundle "$work/resize" resize "$show; exec $pcmd"

# start ID BUNDLE LOG : run the container in the background (pid in pids[]).
start() {
	local id=$1 b=$2 log=$3 limit=$((timeout * 2 + 120))
	if [[ $engine == runc ]]; then
		timeout -k 5 "$limit" runc --root "$runc_root" run --bundle "$b" "$id" </dev/null >"$log" 2>&1 &
	else
		timeout -k 5 "$limit" ctr --address "$ctr_address" -n "$ctr_ns" run --rm \
			"${ctr_run_args[@]}" --config "$b/config.json" "$id" </dev/null >"$log" 2>&1 &
	fi
	pids+=($!)
}

echo "runc.sh: pipeline $pipeline, $engine containers: resize ($producer) -> infer ($consumer)," \
	"$frames frames of $shape, $slots slots"
# is_up ID : the container exists (so its createRuntime hook has run: it
# is a member of the pipeline, which cannot vanish under the producer).
is_up() {
	if [[ $engine == runc ]]; then
		runc --root "$runc_root" state "$1" >/dev/null 2>&1
	else
		ctr --address "$ctr_address" -n "$ctr_ns" tasks ls -q 2>/dev/null | grep -qx "$1"
	fi
}

start "${ids[1]}" "$work/infer" "$work/infer.log"
for ((i = 0; i < 300; i++)); do
	is_up "${ids[1]}" && break
	kill -0 "${pids[0]}" 2>/dev/null || break
	sleep 0.1
done
start "${ids[0]}" "$work/resize" "$work/resize.log"
rc_p=0 rc_c=0
wait "${pids[1]}" || rc_p=$?
wait "${pids[0]}" || rc_c=$?
pids=()
sed 's/^/[resize] /' "$work/resize.log"
sed 's/^/[infer]  /' "$work/infer.log"
if ((rc_p != 0 || rc_c != 0)); then
	echo "runc.sh: FAILED (resize exit $rc_p, infer exit $rc_c)" >&2
	exit 1
fi
