#!/usr/bin/env bash
# tests/bench/collect.sh RAWDIR - run the benchmark parts and leave their raw
# measurements in RAWDIR (pN.txt, pN.status); tests/bench/report.py turns
# them into the table.  Called by tests/bench/run.sh (`make bench`).
#
# Built on the integration harness (tests/integration/lib/common.sh): every
# part is a bounded sp_test case, all engines are private (own runc root,
# containerd, dockerd, plugin socket, store), everything is removed at exit.
# Env: SHMPIPE_BENCH_QUICK=1 (fewer repetitions: a smoke run, not numbers).
set -euo pipefail
RAW=$(readlink -f "$1")
. "$(dirname "$0")/../integration/lib/common.sh"

HOOK=$SP_BUILD_DIR/shmpipe-hook
CTL=$SP_BUILD_DIR/shmpipectl
PLUGIN=$SP_BUILD_DIR/shmpipe-plugin
HANDOFF=$SP_BUILD_DIR/bench/handoff
LIFECYCLE=$SP_BUILD_DIR/bench/lifecycle
QUICK=${SHMPIPE_BENCH_QUICK:-0}
if ((QUICK)); then
	P1_REPS=2 P1_TARGET_MS=40 P2_PAIRS=6 P3_ROUNDS=3 P4_REPS=2 P5_REPS=8 P5_PLUGIN_REPS=20 P5_CMD_REPS=5 P5_SCAN_REPS=2 P5_LEVELS="1 100"
	P6_REPS=2 P6_HANDOFF=100 P6_E2E=30 P6_LATENCY=30
else
	P1_REPS=7 P1_TARGET_MS=150 P2_PAIRS=40 P3_ROUNDS=15 P4_REPS=5 P5_REPS=100 P5_PLUGIN_REPS=200 P5_CMD_REPS=30 P5_SCAN_REPS=5
	P5_LEVELS="1 100 1000 4096"
	P6_REPS=7 P6_HANDOFF=20000 P6_E2E=200 P6_LATENCY=300
fi

# The store lives on a tmpfs, like /run/shmpipe on a real host (its state
# files are fsync()ed: on a disk that would be a different benchmark).
RUN_DIR=$SP_TMP/run
mkdir -p "$RUN_DIR"
mount -t tmpfs -o size=64m,mode=0755 shmpipe-bench "$RUN_DIR"
STORE=$RUN_DIR/store
CONFIG=$SP_TMP/config.json
cat >"$CONFIG" <<EOF
{ "root": "$STORE", "default_size": "64m", "max_size": "4g", "max_inodes": 65536,
  "auto_create": true, "auto_lifetime": "ephemeral", "log_level": "warning" }
EOF
ctl() { "$CTL" --root "$STORE" --config "$CONFIG" "$@"; }
HOOK_FLAGS=(-H "createRuntime=$HOOK --root $STORE --config $CONFIG createRuntime"
	-H "poststop=$HOOK --root $STORE --config $CONFIG poststop")

# status PART TEXT : what the report says instead of numbers.
status() { printf '%s\n' "$2" >"$RAW/$1.status"; }
need_hook() { [[ -x $HOOK ]] || { status "$1" "not run: no $HOOK (the hook is not built)"; sp_skip "no hook"; }; }

echo "start $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" >"$RAW/meta.txt"

# A busybox rootfs with the static bench program, shared by the containers
# of a part (its /data directory is the shared "disk" of part 1).
bench_rootfs() {
	local d
	d=$(sp_tmpdir rootfs)
	sp_busybox_rootfs "$d"
	cp "$HANDOFF" "$d/bin/handoff"
	mkdir -p "$d/data"
	chmod 1777 "$d/data"
	printf '%s\n' "$d"
}

# ---------------------------------------------------------------------------
# 1. Hand-off between two runc containers joined to one pipeline.
p1() {
	local rootfs rb sb id_r
	need_hook p1
	status p1 "failed: see the log"
	rootfs=$(bench_rootfs)
	ctl create bench-handoff --size 256m >/dev/null
	sp_defer "$CTL" --root "$STORE" --config "$CONFIG" rm --force bench-handoff
	# host network: TCP over the loopback both containers share (like two
	# containers of one pod); everything else private (mount, IPC, PID, UTS)
	local ns='linux.namespaces=[{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]'
	rb=$(sp_tmpdir bundle)
	sp_runc_bundle "$rb" -r "$rootfs" -a io.shmpipe.pipeline=bench-handoff "${HOOK_FLAGS[@]}" -s "$ns" \
		-- /bin/handoff recv --dir /dev/shm --disk-dir /data --timeout 60
	sb=$(sp_tmpdir bundle)
	sp_runc_bundle "$sb" -r "$rootfs" -a io.shmpipe.pipeline=bench-handoff "${HOOK_FLAGS[@]}" -s "$ns" \
		-- /bin/handoff send --dir /dev/shm --disk-dir /data --timeout 60 --modes verify,handoff,e2e \
		--reps "$P1_REPS" --target-ms "$P1_TARGET_MS"
	id_r=$(sp_id p1-recv)
	sp_runc_run -d "$id_r" "$rb"
	sp_runc_run "$(sp_id p1-send)" "$sb" >"$RAW/p1.txt"
	sp_wait_for 30 sh -c "! runc --root '$SP_TMP/runc' state '$id_r' 2>/dev/null | grep -q running"
	grep -q '^RESULT mode=verify' "$RAW/p1.txt" || sp_fail "no verification runs"
	if grep '^RESULT' "$RAW/p1.txt" | grep -qv 'errors=0$'; then
		sp_fail "a method delivered wrong bytes"
	fi
	echo "containers=runc+hook network=host-loopback ipc=private" >>"$RAW/p1.txt"
	rm -f "$RAW/p1.status"
}

# ---------------------------------------------------------------------------
# 2. What the hook adds to `runc run` of a trivial container, against its
# floor: the same bundle with two no-op hooks (any OCI hook is a process
# spawned at createRuntime and at poststop).
p2() {
	local rootfs plain noop hooked i k v t0 t1 kinds
	need_hook p2
	status p2 "failed: see the log"
	rootfs=$(sp_tmpdir rootfs)
	sp_busybox_rootfs "$rootfs"
	ctl create bench-start --size 16m >/dev/null
	sp_defer "$CTL" --root "$STORE" --config "$CONFIG" rm --force bench-start
	plain=$(sp_tmpdir bundle)
	sp_runc_bundle "$plain" -r "$rootfs" -- /bin/true
	noop=$(sp_tmpdir bundle)
	sp_runc_bundle "$noop" -r "$rootfs" -H "createRuntime=$(type -P true)" -H "poststop=$(type -P true)" -- /bin/true
	hooked=$(sp_tmpdir bundle)
	sp_runc_bundle "$hooked" -r "$rootfs" -a io.shmpipe.pipeline=bench-start "${HOOK_FLAGS[@]}" -- /bin/true
	: >"$RAW/p2.txt"
	# interleaved, the order rotated every round; 3 warm-up rounds not recorded
	kinds=(plain noop hook)
	for ((i = -3; i < P2_PAIRS; i++)); do
		for ((k = 0; k < 3; k++)); do
			v=${kinds[$(((i + 3 + k) % 3))]}
			local b=$plain
			[[ $v == noop ]] && b=$noop
			[[ $v == hook ]] && b=$hooked
			t0=$EPOCHREALTIME
			sp_runc run --bundle "$b" "$(sp_id "p2-$v")" </dev/null >/dev/null
			t1=$EPOCHREALTIME
			((i < 0)) || echo "$v $((${t1/./} - ${t0/./}))" >>"$RAW/p2.txt"
		done
	done
	# the hook's own join + leave, outside runc (stand-in containers)
	"$LIFECYCLE" hook --hook "$HOOK" --root "$STORE" --pipeline bench-start --reps "$P2_PAIRS" |
		sed 's/^/own /' >>"$RAW/p2.txt"
	rm -f "$RAW/p2.status"
}

# ---------------------------------------------------------------------------
# 3. docker run with a shmpipe volume, a local tmpfs volume, neither.
p3() {
	local img i k v t0 t1 kinds
	[[ -x $PLUGIN ]] || { status p3 "not run: no $PLUGIN (the plugin is not built)"; sp_skip "no plugin"; }
	command -v dockerd >/dev/null || { status p3 "not run: no dockerd"; sp_skip "no dockerd"; }
	status p3 "failed: see the log"
	SP_PLUGIN_BIN=$PLUGIN
	. "$SP_REPO/tests/integration/lib/plugin.sh"
	SP_STORE=$STORE
	sp_dockerd_start
	"$PLUGIN" --socket "$SP_PLUGIN_SOCK" --root "$STORE" --config "$CONFIG" >>"$SP_PLUGIN_LOG" 2>&1 &
	echo $! >"$SP_PLUGIN_PIDFILE"
	sp_defer kill "$(cat "$SP_PLUGIN_PIDFILE")"
	sp_wait_for 10 _sp_plugin_answers || sp_fail "the plugin did not come up"
	img=$(sp_docker_busybox_image)
	sp_docker volume create -d "$SP_DRIVER" -o size=64m bench-vol >/dev/null
	sp_docker volume create --driver local --opt type=tmpfs --opt device=tmpfs --opt o=size=64m bench-tmpfs >/dev/null
	: >"$RAW/p3.txt"
	kinds=(none tmpfs shmpipe)
	for ((i = -2; i < P3_ROUNDS; i++)); do
		for ((k = 0; k < 3; k++)); do
			v=${kinds[$(((i + 3 + k) % 3))]}   # rotate the order every round
			local vol=()
			[[ $v == tmpfs ]] && vol=(-v bench-tmpfs:/dev/shm)
			[[ $v == shmpipe ]] && vol=(-v bench-vol:/dev/shm)
			t0=$EPOCHREALTIME
			sp_docker run --rm --network none "${vol[@]}" "$img" true >/dev/null
			t1=$EPOCHREALTIME
			((i < 0)) || echo "$v $((${t1/./} - ${t0/./}))" >>"$RAW/p3.txt"
		done
	done
	sp_docker volume rm bench-vol bench-tmpfs >/dev/null
	rm -f "$RAW/p3.status"
}

# ---------------------------------------------------------------------------
# 4. A reader's first touch of a segment another process wrote.
p4() {
	local r size huge mnt out
	status p4 "failed: see the log"
	ctl create bench-never --size 1100m --huge never >/dev/null
	sp_defer "$CTL" --root "$STORE" --config "$CONFIG" rm --force bench-never
	ctl create bench-thp --size 1100m --huge within_size >/dev/null
	sp_defer "$CTL" --root "$STORE" --config "$CONFIG" rm --force bench-thp
	: >"$RAW/p4.txt"
	for ((r = 0; r < P4_REPS; r++)); do
		for size in 67108864 536870912; do
			for huge in never within_size; do
				[[ $huge == never ]] && mnt=$STORE/mnt/bench-never || mnt=$STORE/mnt/bench-thp
				"$HANDOFF" touch-write "$mnt/seg" "$size" >/dev/null
				out=$("$HANDOFF" touch-read "$mnt/seg")
				rm -f "$mnt/seg"
				echo "size=$size huge=$huge $out" >>"$RAW/p4.txt"
			done
		done
	done
	rm -f "$RAW/p4.status"
}

# ---------------------------------------------------------------------------
# 5. Every command with 1, 100, 1,000, 4,096 pipelines; memory (scale.sh, in
# a mount namespace of its own).
p5() {
	need_hook p5
	status p5 "failed: see the log"
	mkdir -p "$SP_TMP/scale"
	CTL=$CTL HOOK=$HOOK PLUGIN=$PLUGIN LIFECYCLE=$LIFECYCLE RUN_DIR=$SP_TMP/scale \
		SOCK=$SP_TMP/p5-plugin.sock LEVELS=$P5_LEVELS REPS_HOOK=$P5_REPS \
		REPS_PLUGIN=$P5_PLUGIN_REPS REPS_CMD=$P5_CMD_REPS REPS_SCAN=$P5_SCAN_REPS \
		unshare -m --propagation private bash "$SP_REPO/tests/bench/scale.sh" "$RAW/p5.txt"
	rm -f "$RAW/p5.status"
}

# ---------------------------------------------------------------------------
# 6. iceoryx at parity: the same publisher, subscriber, sample size and RouDi
# config (examples/iceoryx), as host processes on the host's /dev/shm and
# /tmp, and as three runc containers of one pipeline with its socket
# directory at /tmp; interleaved, every mode and both sides once per round.
p6() {
	local rootfs app rb rep mode side sub rc out lock roudi_pid
	need_hook p6
	command -v iox-roudi >/dev/null || { status p6 "not run: iceoryx is not installed"; sp_skip "no iceoryx"; }
	# The host side uses the host's fixed names (/tmp/roudi, /dev/shm/iceoryx_mgmt).
	exec {lock}>/tmp/shmpipe-bench-iceoryx.lock
	if ! flock -n "$lock" || [[ -e /tmp/roudi ]]; then
		status p6 "not run: another RouDi runs on this host (/tmp/roudi)"
		sp_skip "host RouDi busy"
	fi
	status p6 "failed: see the log"
	. "$SP_REPO/examples/lib/usr-rootfs.sh"
	app=$SP_TMP/iceoryx-app
	make -s -C "$SP_REPO/examples/iceoryx" OUT="$app" >&2
	cp "$SP_REPO/examples/iceoryx/roudi.toml" "$app/"
	rootfs=$(sp_tmpdir rootfs)
	usr_rootfs "$rootfs"
	ctl create bench-iox --size 192m --sockets /tmp >/dev/null
	sp_defer "$CTL" --root "$STORE" --config "$CONFIG" rm --force bench-iox
	# iox_bundle DIR CMD : the /usr image, the apps at /app, the pipeline.
	iox_bundle() {
		sp_runc_bundle "$1" -r "$rootfs" -a io.shmpipe.pipeline=bench-iox "${HOOK_FLAGS[@]}" \
			-e PATH=/usr/sbin:/usr/bin:/sbin:/bin -- /bin/sh -c "$2"
		"$SP_PYTHON" - "$1/config.json" "$app" "$USR_ROOTFS_MOUNT" <<'PY'
import json, sys
path, app, usr = sys.argv[1:4]
with open(path) as f:
    c = json.load(f)
c["mounts"] += [json.loads(usr), {"destination": "/app", "type": "bind", "source": app,
                                  "options": ["rbind", "ro", "nosuid", "nodev"]}]
with open(path, "w") as f:
    json.dump(c, f)
PY
	}
	# One RouDi per side, both up for the whole part, same flags.  No process
	# monitoring: on a loaded machine it drops an app whose keep-alive is late,
	# a failure the bench must not depend on.
	local roudi_cmd="iox-roudi -c /app/roudi.toml -l warning -m off"
	rb=$(sp_tmpdir bundle)
	iox_bundle "$rb" "exec $roudi_cmd"
	sp_runc_run -d "$(sp_id p6-roudi)" "$rb"
	sp_defer sp_runc delete -f "$(sp_id p6-roudi)"
	sp_wait_for 30 test -S "$STORE/sockets/bench-iox/roudi" || sp_fail "RouDi did not come up in its container"
	(cd / && exec ${roudi_cmd//\/app\//$app/}) >"$SP_TMP/p6-host-roudi.log" 2>&1 &
	roudi_pid=$!
	sp_defer p6_host_teardown "$roudi_pid"
	sp_defer p6_cg_remove
	sp_wait_for 30 test -S /tmp/roudi || { cat "$SP_TMP/p6-host-roudi.log" >&2; sp_fail "RouDi did not come up on the host"; }
	: >"$RAW/p6.txt"
	for ((rep = -1; rep < P6_REPS; rep++)); do
		for mode in handoff e2e latency; do
			for side in host containers; do
				# the order of the sides flips every round
				((rep % 2)) && side=$([[ $side == host ]] && echo containers || echo host)
				p6_run "$side" "$mode" "$rep" "$app" || sp_fail "iceoryx run failed ($side, $mode)"
			done
		done
	done
	sp_runc kill "$(sp_id p6-roudi)" TERM >/dev/null 2>&1 || true
	rm -f "$RAW/p6.status"
}

# p6_run SIDE MODE REP APP : one publisher/subscriber run; its result lines
# into p6.txt (not for the warm-up round, REP -1).
p6_run() {
	local side=$1 mode=$2 rep=$3 app=$4 flags_s="" flags_p="" sub rc=0 out sb pb n=$P6_E2E
	case $mode in
	handoff) flags_s=--no-check flags_p=--no-fill n=$P6_HANDOFF ;;
	latency) flags_s="--no-check --latencies" flags_p="--no-fill --interval-us 1000" n=$P6_LATENCY ;;
	esac
	local cmd_s="/app/subscriber --count $n --timeout 60 $flags_s"
	local cmd_p="/app/publisher --count $n --size 6220800 --timeout 60 $flags_p"
	if [[ $side == host ]]; then
		(p6_cg_exec p6-host-sub ${cmd_s//\/app\//$app/}) >"$SP_TMP/p6-sub.out" 2>&1 &
		sub=$!
		(p6_cg_exec p6-host-pub ${cmd_p//\/app\//$app/}) >"$SP_TMP/p6-pub.out" 2>&1 || rc=$?
	else
		sb=$(sp_tmpdir bundle) pb=$(sp_tmpdir bundle)
		iox_bundle "$sb" "exec $cmd_s"
		iox_bundle "$pb" "exec $cmd_p"
		sp_runc_run "$(sp_id "p6-sub-$rep-$mode")" "$sb" >"$SP_TMP/p6-sub.out" 2>&1 &
		sub=$!
		sp_runc_run "$(sp_id "p6-pub-$rep-$mode")" "$pb" >"$SP_TMP/p6-pub.out" 2>&1 || rc=$?
	fi
	wait "$sub" || rc=$((rc ? rc : $?))
	if [[ $side == containers ]]; then
		sp_runc delete -f "$(sp_id "p6-sub-$rep-$mode")" >/dev/null 2>&1 || true
		sp_runc delete -f "$(sp_id "p6-pub-$rep-$mode")" >/dev/null 2>&1 || true
	fi
	out=$(cat "$SP_TMP/p6-sub.out")
	if ((rc != 0)); then
		cat "$SP_TMP/p6-pub.out" >&2
		echo "$out" >&2
		return 1
	fi
	# the first round warms up (RouDi's pools, the page cache of /usr)
	((rep >= 0)) || return 0
	grep -q "received $n of $n samples, $n intact" <<<"$out" ||
		{ echo "not every sample arrived intact: $out" >&2; return 1; }
	sed -n "s/^subscriber: timing samples=\([0-9]*\) ns=\([0-9]*\)$/RESULT side=$side mode=$mode size=6220800 rep=$rep frames=\1 ns=\2/p" \
		<<<"$out" >>"$RAW/p6.txt"
	sed -n "s/^subscriber: latencies_ns /LATENCY side=$side mode=$mode rep=$rep /p" <<<"$out" >>"$RAW/p6.txt"
}

# p6_cg_dirs NAME : the cgroup directories where runc would put a container
# named NAME: NAME under the caller's own cgroup, for the CPU controllers
# (cgroup v1: cpu and cpuacct; v2: the unified tree).
p6_cg_dirs() {
	local c own
	if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
		echo "/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)/$1"
		return
	fi
	for c in cpu cpuacct; do
		own=$(awk -F: -v c=$c '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' /proc/self/cgroup)
		[[ -d /sys/fs/cgroup/$c ]] && echo "$(readlink -f "/sys/fs/cgroup/$c")${own%/}/$1"
	done | sort -u
}

# p6_cg_exec NAME CMD... : CMD in cgroups of its own, as runc places each
# container, so that both sides of the comparison are scheduled alike: on a
# busy machine a task in a cgroup of its own wakes up later than one among
# the caller's (README, part 6).  Run it in a subshell: it execs.
p6_cg_exec() {
	local d name
	name=$(sp_id "$1")
	shift
	for d in $(p6_cg_dirs "$name"); do
		mkdir -p "$d" && echo "$BASHPID" >"$d/cgroup.procs"
	done
	exec "$@"
}

p6_cg_remove() {
	local n d
	for n in p6-host-sub p6-host-pub; do
		for d in $(p6_cg_dirs "$(sp_id "$n")"); do rmdir "$d" 2>/dev/null || true; done
	done
}

# The host RouDi ends on TERM and removes its shared memory and socket; what
# a killed one leaves is removed here, so the next run starts clean.
p6_host_teardown() {
	kill -TERM "$1" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	rm -f /dev/shm/iceoryx_mgmt /dev/shm/root /tmp/roudi /tmp/iox-unique-roudi /tmp/shmpipe-subscriber /tmp/shmpipe-publisher
}

# SHMPIPE_BENCH_PARTS="1 6": only these parts (default all).
part() { [[ " ${SHMPIPE_BENCH_PARTS:-1 2 3 4 5 6} " == *" $1 "* ]]; }
part 1 && sp_test "1. hand-off between two runc containers (6 methods x 2 sizes)" p1
part 2 && sp_test "2. runc run: no hook, two no-op hooks, the shmpipe hook" p2
part 3 && sp_test "3. docker run: shmpipe volume, tmpfs volume, none" p3
part 4 && sp_test "4. first touch, huge=never vs within_size" p4
part 5 && sp_test "5. scale: every command at 1/100/1000/4096 pipelines; memory" p5
part 6 && sp_test "6. iceoryx: host processes vs three containers of a pipeline" p6
echo "end $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RAW/meta.txt"
sp_done
