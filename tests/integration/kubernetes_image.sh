#!/usr/bin/env bash
# The DaemonSet's image (install/kubernetes/Dockerfile), built here without
# a registry (a debootstrap base with image-packages, `docker import`ed,
# cached), run as the DaemonSet runs it (privileged, host pids, the host's
# / read-only at /host and what it writes writable, shmpipe-node-install
# run) against a private CRI containerd that a supervisor restarts as
# systemd would: Ready once the running containerd has the hook, the node
# label written, pods share, a second start changes nothing, its metrics
# scraped by Prometheus' parser, SIGTERM in uninstall mode gives back every
# byte of the config.
set -euo pipefail
. "$(dirname "$0")/lib/nodeinstall.sh"

ni_setup

# image_build : the base imported (once per dockerd), the image built from
# a context of install/ and this build's binaries; prints its tag.
image_build() {
	local tar base ctx
	tar=$("$SP_REPO/tests/images/node-base.sh" "$SP_CACHE_DIR")
	base=shmpipe-test/node-base:$(basename "$tar" .tar | sed 's/.*-//')
	sp_docker image inspect "$base" >/dev/null 2>&1 ||
		SP_TIMEOUT=300 sp_docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			"$tar" "$base" >/dev/null || return 1
	ctx=$(sp_tmpdir context)
	mkdir -p "$ctx/build"
	cp -a "$SP_REPO/install" "$ctx/install"
	cp "$HK_BUILD/shmpipe-hook" "$HK_BUILD/shmpipectl" "$ctx/build/"
	SP_TIMEOUT=300 sp_docker build -q --network none --build-arg "BASE=$base" \
		-f "$ctx/install/kubernetes/Dockerfile" -t shmpipe-node:test "$ctx" >&2 || return 1
	echo shmpipe-node:test
}

# privileged : --privileged, or, where this runner's root lacks some
# capabilities (runc cannot grant them all then), every one it has, without
# seccomp, AppArmor or masked /proc paths: as privileged as it may be here.
privileged() {
	local bnd c
	bnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
	if [[ $(capsh --decode="$bnd") == "$(capsh --decode=000001ffffffffff)" ]]; then
		echo --privileged
		return
	fi
	for c in $(capsh --decode="$bnd" | cut -d= -f2 | tr , ' '); do
		case $c in cap_bpf | cap_perfmon | cap_checkpoint_restore) ;; # newer than this Docker
		*) echo "--cap-add=${c#cap_}" ;;
		esac
	done
	printf '%s\n' --security-opt=seccomp=unconfined --security-opt=apparmor=unconfined \
		--security-opt=systempaths=unconfined
}

# node_run [-d] NAME IMAGE DIR [CMD...] : the image as the DaemonSet runs
# it, with DIR's node (config, prefix, socket) and this file's store.
node_run() {
	local detach=()
	[[ $1 != -d ]] || { detach=(-d); shift; }
	local name=$1 image=$2 dir=$3
	shift 3
	# shellcheck disable=SC2046 # one option a line
	sp_docker run "${detach[@]}" --name "$name" $(privileged) --pid host --network host \
		-v /:/host:ro -v "$dir:/host$dir" -v "$HK_ROOT:/host$HK_ROOT:rslave" \
		-e SHMPIPE_NODE_HOST_ROOT=/host -e SHMPIPE_NODE_PREFIX="$dir/prefix" \
		-e SHMPIPE_NODE_CONTAINERD_CONFIG="$dir/config.toml" \
		-e SHMPIPE_NODE_CONTAINERD_ADDRESS="$dir/containerd.sock" \
		-e SHMPIPE_NODE_SHMPIPE_CONFIG="$HK_CONFIG" -e SHMPIPE_NODE_RESTART=signal \
		-e SHMPIPE_NODE_ON_STOP=uninstall -e SHMPIPE_NODE_LABEL_FILE="$dir/features.d/shmpipe" \
		-e SHMPIPE_NODE_METRICS_LISTEN="127.0.0.1:$PORT" -e SHMPIPE_NODE_INTERVAL=2 \
		-e SHMPIPE_ROOT="/host$HK_ROOT" -e SHMPIPE_CONFIG="/host$HK_CONFIG" \
		"$image" "$@"
}

t_image() {
	local image dir orig pid sums out p1 p2 c1 c2 name
	# overlay2 where the host's filesystem takes it: vfs copies the whole
	# base for each layer and container.
	SP_DOCKER_STORAGE_DRIVER=${SP_DOCKER_STORAGE_DRIVER:-overlay2} sp_dockerd_start
	image=$(image_build) || sp_fail "the image did not build"
	dir=$(sp_tmpdir node)
	ni_state plain "$dir"
	mkdir -p "$dir/features.d"
	orig=$(ni_sums "$dir")
	ni_supervise "$dir" "$NI_RUN"
	cri_import_image
	PORT=$((20000 + RANDOM % 20000))
	name=$(sp_id node)
	pid=$(cat "$dir/containerd.pid")
	node_run -d "$name" "$image" "$dir" >/dev/null
	# The readiness probe: Ready once the running containerd has the hook.
	sp_wait_for 90 sp_docker exec "$name" shmpipe-node-install check ||
		sp_fail "never Ready: $(sp_docker logs "$name" 2>&1 | tail -20)"
	sp_docker exec "$name" sh -c 'shmpipectl --help && shmpipe-node-install --help' >/dev/null
	[[ $pid != "$(cat "$dir/containerd.pid")" ]] || sp_fail "containerd was not restarted"
	sp_wait_for 10 test -s "$dir/features.d/shmpipe" || sp_fail "no node label"
	grep -qx 'shmpipe-ready=true' "$dir/features.d/shmpipe"
	grep -q '^# +expiry-time=' "$dir/features.d/shmpipe"

	p1=$(cri_runp team-a one io.shmpipe.pipeline=frames)
	c1=$(cri_run "$p1" app)
	p2=$(cri_runp team-a two io.shmpipe.pipeline=frames)
	c2=$(cri_run "$p2" app)
	cri_exec "$c1" sh -c 'echo from-the-image >/dev/shm/x'
	sp_assert_eq from-the-image "$(cri_exec "$c2" cat /dev/shm/x)"

	# A second start of the image changes nothing, and restarts nothing.
	sums=$(ni_sums "$dir" | grep -v features.d; ni_sums "$dir/prefix")
	pid=$(cat "$dir/containerd.pid")
	out=$(node_run "$(sp_id second)" "$image" "$dir" shmpipe-node-install install 2>&1)
	sp_docker rm -f "$(sp_id second)" >/dev/null
	sp_assert_contains "$out" "already installed, nothing changed"
	sp_assert_eq "$pid" "$(cat "$dir/containerd.pid")"
	sp_assert_eq "$sums" "$(ni_sums "$dir" | grep -v features.d; ni_sums "$dir/prefix")"

	# Metrics, as Prometheus scrapes them.
	curl -sf "http://127.0.0.1:$PORT/metrics" >"$SP_CASE_DIR/scrape.prom" ||
		sp_fail "no metrics: $(sp_docker logs "$name" 2>&1 | tail)"
	"$SP_PYTHON" - "$SP_CASE_DIR/scrape.prom" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
members = {s.labels["pipeline"]: s.value for s in fams["shmpipe_pipeline_members"].samples}
assert members == {"team-a/frames": 2}, members
assert fams["shmpipe_store_pipelines"].samples[0].value == 1
EOF
	sp_assert_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/metrics")"

	# SIGTERM in uninstall mode (the pods stopped first: the hook goes too).
	cri_stopp "$p1"
	cri_stopp "$p2"
	SP_TIMEOUT=150 sp_docker stop -t 120 "$name" >/dev/null
	sp_docker logs "$name" 2>&1 | tail -8
	sp_assert_eq 0 "$(sp_docker inspect -f '{{.State.ExitCode}}' "$name")" "the pod's exit status"
	sp_assert_eq "$orig" "$(ni_sums "$dir")" "the config was not restored byte for byte"
	[[ -z $(find "$dir/prefix" ! -type d 2>/dev/null) ]] || sp_fail "left: $(find "$dir/prefix" ! -type d)"
	sp_assert_fails ni_install "$dir" check
	: "$c1"
}

sp_test "DaemonSet image: builds from a debootstrap base, Ready once containerd has the hook, node label, pods share, a second start changes nothing, metrics parsed by prometheus_client, SIGTERM in uninstall mode restores the config byte for byte" t_image
sp_done
