#!/usr/bin/env bash
# tests/bench/collect.sh RAWDIR - run the benchmark parts and leave their raw
# measurements in RAWDIR (pN.txt, pN.status); tests/bench/report.py turns
# them into the table.  Called by tests/bench/run.sh (`make bench`).
#
# Built on the integration harness (tests/integration/lib/common.sh): every
# part is a bounded sp_test case, all engines are private (own runc root,
# containerd, dockerd, plugin socket, store), everything is removed at exit.
# Env: SHMPIPE_BENCH_QUICK=1 (fewer repetitions: a smoke run, not numbers),
# SHMPIPE_BENCH_PARTS, SHMPIPE_BENCH_P6_AA (see run.sh).
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
	P1_REPS=2 P1_TARGET_MS=40 P2_ROUNDS=6 P2_OWN=6 P3_ROUNDS=3 P4_REPS=2 P5_REPS=8 P5_PLUGIN_REPS=20 P5_CMD_REPS=5 P5_SCAN_REPS=2 P5_LEVELS="1 100"
	P6_REPS=2 P6_HANDOFF=400 P6_HANDOFF_BURST=100 P6_HANDOFF1=400 P6_HANDOFF1_BURST=100 P6_E2E=40 P6_E2E_BURST=10 P6_LATENCY=40 P6_LATENCY_BURST=10
else
	P1_REPS=7 P1_TARGET_MS=150 P2_ROUNDS=300 P2_OWN=150 P3_ROUNDS=25 P4_REPS=5 P5_REPS=100 P5_PLUGIN_REPS=200 P5_CMD_REPS=30 P5_SCAN_REPS=5
	P5_LEVELS="1 100 1000 4096"
	P6_REPS=12 P6_HANDOFF=100000 P6_HANDOFF_BURST=2000 P6_HANDOFF1=40000 P6_HANDOFF1_BURST=1000 P6_E2E=200 P6_E2E_BURST=10 P6_LATENCY=300 P6_LATENCY_BURST=30
fi

# The store lives on a tmpfs, like /run/shmpipe on a real host (its state
# files are fsync()ed: on a disk that would be a different benchmark).
P6_SIZE=6220800 # a 1080p RGB frame
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
# any_order A B C : ORDER=(the three, in one of their 6 orders drawn at random).
# Rounds of A/B comparisons take one each: with a fixed rotation the same
# kind always came after the same other, and whatever a run leaves behind
# for the kernel to finish (cgroups, mounts) fell on that one.
any_order() {
	local orders=("$1 $2 $3" "$1 $3 $2" "$2 $1 $3" "$2 $3 $1" "$3 $1 $2" "$3 $2 $1")
	read -ra ORDER <<<"${orders[RANDOM % 6]}"
}
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
	local rootfs plain noop hooked i v t0 t1
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
	# interleaved in random orders; 3 warm-up rounds not recorded
	for ((i = -3; i < P2_ROUNDS; i++)); do
		any_order plain noop hook
		for v in "${ORDER[@]}"; do
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
	"$LIFECYCLE" hook --hook "$HOOK" --root "$STORE" --pipeline bench-start --reps "$P2_OWN" |
		sed 's/^/own /' >>"$RAW/p2.txt"
	rm -f "$RAW/p2.status"
}

# ---------------------------------------------------------------------------
# 3. docker run with a shmpipe volume, a local tmpfs volume, neither.
p3() {
	local img i v t0 t1
	[[ -x $PLUGIN ]] || { status p3 "not run: no $PLUGIN (the plugin is not built)"; sp_skip "no plugin"; }
	command -v dockerd >/dev/null || { status p3 "not run: no dockerd"; sp_skip "no dockerd"; }
	status p3 "failed: see the log"
	SP_PLUGIN_BIN=$PLUGIN
	. "$SP_REPO/tests/integration/lib/plugin.sh"
	SP_STORE=$STORE
	# overlay2, Docker's default on a node: the tests' vfs copies the whole
	# image at every create, 300-900 ms that drowned what a volume costs
	SP_DOCKER_STORAGE_DRIVER=overlay2 sp_dockerd_start
	"$PLUGIN" --socket "$SP_PLUGIN_SOCK" --root "$STORE" --config "$CONFIG" >>"$SP_PLUGIN_LOG" 2>&1 &
	echo $! >"$SP_PLUGIN_PIDFILE"
	sp_defer kill "$(cat "$SP_PLUGIN_PIDFILE")"
	sp_wait_for 10 _sp_plugin_answers || sp_fail "the plugin did not come up"
	img=$(sp_docker_busybox_image)
	sp_docker volume create -d "$SP_DRIVER" -o size=64m bench-vol >/dev/null
	sp_docker volume create --driver local --opt type=tmpfs --opt device=tmpfs --opt o=size=64m bench-tmpfs >/dev/null
	: >"$RAW/p3.txt"
	for ((i = -2; i < P3_ROUNDS; i++)); do
		any_order none tmpfs shmpipe
		for v in "${ORDER[@]}"; do
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
# config (examples/iceoryx) on two sides, A and B:
#   A: host processes on the host's /dev/shm and /tmp (with
#      SHMPIPE_BENCH_P6_AA=1, instead three containers of a second pipeline:
#      the method's own check, where both sides are the same);
#   B: three runc containers of one pipeline with its socket directory at /tmp.
# Both pairs run at once and take turns, a burst each, through two FIFOs
# (a, b): every burst of one side is measured next to one of the other.  Each
# round starts both RouDis afresh, and which side starts first flips every
# round (README, part 6).
p6() {
	local rep mode lock side qos k fd_a fd_b
	need_hook p6
	command -v iox-roudi >/dev/null || { status p6 "not run: iceoryx is not installed"; sp_skip "no iceoryx"; }
	# P6_SIDE[a|b]: "host" or the pipeline whose containers are that side.
	declare -gA P6_SIDE=([a]=host [b]=bench-iox) P6_TURN=()
	[[ ${SHMPIPE_BENCH_P6_AA:-0} == 1 ]] && P6_SIDE[a]=bench-iox-a
	if [[ ${P6_SIDE[a]} == host ]]; then
		# The host side uses the host's fixed names (/tmp/roudi, /dev/shm/iceoryx_mgmt).
		exec {lock}>/tmp/shmpipe-bench-iceoryx.lock
		if ! flock -n "$lock" || [[ -e /tmp/roudi ]]; then
			status p6 "not run: another RouDi runs on this host (/tmp/roudi)"
			sp_skip "host RouDi busy"
		fi
	fi
	status p6 "failed: see the log"
	. "$SP_REPO/examples/lib/usr-rootfs.sh"
	P6_APP=$SP_TMP/iceoryx-app
	make -s -C "$SP_REPO/examples/iceoryx" OUT="$P6_APP" >&2
	cp "$SP_REPO/examples/iceoryx/roudi.toml" "$P6_APP/"
	P6_ROOTFS=$(sp_tmpdir rootfs)
	usr_rootfs "$P6_ROOTFS"
	for side in "${P6_SIDE[@]}"; do
		[[ $side == host ]] && continue
		ctl create "$side" --size 192m --sockets /tmp >/dev/null
		sp_defer "$CTL" --root "$STORE" --config "$CONFIG" rm --force "$side"
	done
	# The turns: a side's publisher waits on its own FIFO, its subscriber
	# passes the turn to the other's after each burst.  The bench holds both
	# open, so that no turn is lost while a process starts.
	P6_TURNS=$(sp_tmpdir turns)
	mkfifo "$P6_TURNS/a" "$P6_TURNS/b"
	exec {fd_a}<>"$P6_TURNS/a" {fd_b}<>"$P6_TURNS/b"
	P6_TURN=([a]=$fd_a [b]=$fd_b)
	# Cleanups run after the case, outside it: what they need is in files.
	P6_STATE=$SP_CASE_DIR
	sp_defer p6_roudis_down "$P6_STATE"
	sp_defer p6_cg_remove_all
	# The subscribers on one CPU and the publishers on another, the same on
	# both sides: left to the scheduler, whether a pair shares a CPU changes
	# its hand-off rate by 2x, on either side.
	P6_CPU_SUB=0 P6_CPU_PUB=$(($(nproc) > 1 ? 1 : 0))
	# Idle CPUs poll instead of halting while the part runs (PM QoS: a
	# wake-up latency of 0, held as long as this file stays open, as
	# latency-sensitive hosts set it).  In a VM a halted CPU wakes through
	# the hypervisor: 20-40 us that vary with the host's other guests, the
	# same for both sides but noise larger than what is compared.
	[[ -w /dev/cpu_dma_latency ]] && exec {qos}>/dev/cpu_dma_latency && printf '\x00\x00\x00\x00' >&"$qos"
	echo "SIDES a=$([[ ${P6_SIDE[a]} == host ]] && echo host || echo pipeline) b=containers" >"$RAW/p6.txt"
	for ((rep = -1; rep < P6_REPS; rep++)); do
		# as everything else, the RouDi of the side that starts this round first
		for k in $(p6_order "$rep"); do p6_roudi_up "${P6_SIDE[$k]}" "$rep"; done
		for mode in handoff-1cpu handoff e2e latency; do
			p6_run "$mode" "$rep" || sp_fail "iceoryx run failed ($mode, round $rep)"
		done
		p6_roudis_down "$P6_STATE"
	done
	rm -f "$RAW/p6.status"
}

# p6_bundle DIR PIPELINE CPUS CMD : a container of PIPELINE on CPUS running
# CMD: the /usr image, the apps at /app, the turns at /turns.
p6_bundle() {
	local pin=()
	[[ -n $3 ]] && pin=(-s "linux.resources.cpu.cpus=\"$3\"")
	sp_runc_bundle "$1" -r "$P6_ROOTFS" -a "io.shmpipe.pipeline=$2" "${HOOK_FLAGS[@]}" "${pin[@]}" \
		-e PATH=/usr/sbin:/usr/bin:/sbin:/bin -- /bin/sh -c "$4"
	"$SP_PYTHON" - "$1/config.json" "$P6_APP" "$P6_TURNS" "$USR_ROOTFS_MOUNT" <<'PY'
import json, sys
path, app, turns, usr = sys.argv[1:5]
with open(path) as f:
    c = json.load(f)
c["mounts"] += [json.loads(usr),
                {"destination": "/app", "type": "bind", "source": app,
                 "options": ["rbind", "ro", "nosuid", "nodev"]},
                {"destination": "/turns", "type": "bind", "source": turns,
                 "options": ["rbind", "rw", "nosuid", "nodev", "noexec"]}]
with open(path, "w") as f:
    json.dump(c, f)
PY
}

P6_ROUDI="iox-roudi -c /app/roudi.toml -l warning -m off"

# p6_order REP : the sides in the order they start in round REP.  Started
# first, a pair is scheduled differently for the whole round, so the order
# flips every round.
p6_order() { if (($1 % 2)); then echo b a; else echo a b; fi; }

# p6_roudi_up SIDE REP : the side's RouDi, same flags on both sides.  No
# process monitoring (-m off): on a loaded machine it drops an app whose
# keep-alive is late, a failure the bench must not depend on.
p6_roudi_up() {
	local side=$1 id b
	if [[ $side == host ]]; then
		(cd / && exec ${P6_ROUDI//\/app\//$P6_APP/}) >"$SP_TMP/p6-host-roudi.log" 2>&1 &
		echo "$! host" >"$P6_STATE/p6-roudi-host"
		sp_wait_for 30 test -S /tmp/roudi || { cat "$SP_TMP/p6-host-roudi.log" >&2; sp_fail "RouDi did not come up on the host"; }
		return
	fi
	id=$(sp_id "p6-roudi-$side-$2") b=$(sp_tmpdir bundle)
	p6_bundle "$b" "$side" "" "exec $P6_ROUDI"
	echo "$id $side" >"$P6_STATE/p6-roudi-$side"
	sp_runc_run -d "$id" "$b"
	sp_wait_for 30 test -S "$STORE/sockets/$side/roudi" || sp_fail "RouDi did not come up in pipeline $side"
}

# p6_roudis_down STATEDIR : every RouDi ends on TERM and removes its shared
# memory and socket; what a killed one leaves is removed, so that the next
# round (or run) starts clean.
p6_roudis_down() {
	local f id side i
	for f in "$1"/p6-roudi-*; do
		[[ -s $f ]] || continue
		read -r id side <"$f"
		if [[ $side == host ]]; then
			p6_host_teardown "$id"
		else
			sp_runc kill "$id" TERM >/dev/null 2>&1 || true
			for ((i = 0; i < 50; i++)); do
				[[ $(sp_runc state "$id" 2>/dev/null) == *'"running"'* ]] || break
				sleep 0.1
			done
			sp_runc delete -f "$id" >/dev/null 2>&1 || true
			rm -f "$STORE/sockets/$side/roudi" "$STORE/mnt/$side/iceoryx_mgmt" "$STORE/mnt/$side/root"
		fi
		rm -f "$f"
	done
}

# p6_start SIDE ROLE CPU CMD : start ROLE (sub, pub) of SIDE on CPU in the
# background; its pid in P6_PID[SIDE-ROLE], its output in p6-SIDE-ROLE.out,
# what to remove after it in P6_CGS (a host process's cgroups) or P6_CTRS
# (a container).
p6_start() {
	local side=$1 role=$2 cpu=$3 cmd=$4 name out b
	name=p6-$side-$role-$P6_ROUND out=$SP_TMP/p6-$side-$role.out
	if [[ $side == host ]]; then
		cmd=${cmd//\/app\//$P6_APP/}
		(p6_cg_exec "$name" "$cpu" ${cmd//\/turns\//$P6_TURNS/}) >"$out" 2>&1 &
		P6_CGS+=("$name")
	else
		b=$(sp_tmpdir bundle)
		p6_bundle "$b" "$side" "$cpu" "exec $cmd"
		sp_runc_run "$(sp_id "$name")" "$b" >"$out" 2>&1 &
		P6_CTRS+=("$(sp_id "$name")")
	fi
	P6_PID[$side-$role]=$!
}

# p6_run MODE REP : one round of MODE, both sides at once taking turns; the
# result lines into p6.txt (not for the warm-up round, REP -1).
p6_run() {
	local mode=$1 rep=$2 flags_s="" flags_p="" n burst rc=0 k side label out id cpu_s=$P6_CPU_SUB
	local -A turn=([a]=b [b]=a)
	declare -gA P6_PID=()
	P6_ROUND=$rep-$mode P6_CGS=() P6_CTRS=()
	case $mode in
	handoff) flags_s=--no-check flags_p=--no-fill n=$P6_HANDOFF burst=$P6_HANDOFF_BURST ;;
	handoff-1cpu) flags_s=--no-check flags_p=--no-fill n=$P6_HANDOFF1 burst=$P6_HANDOFF1_BURST cpu_s=$P6_CPU_PUB ;;
	e2e) n=$P6_E2E burst=$P6_E2E_BURST ;;
	latency) flags_s="--no-check --latencies" flags_p="--no-fill --interval-us 1000" n=$P6_LATENCY burst=$P6_LATENCY_BURST ;;
	esac
	# The side that starts this round: its processes first, and the first turn.
	for k in $(p6_order "$rep"); do
		p6_start "${P6_SIDE[$k]}" sub "$cpu_s" \
			"/app/subscriber --count $n --timeout 60 $flags_s --burst $burst --turn-out /turns/${turn[$k]}"
		p6_start "${P6_SIDE[$k]}" pub "$P6_CPU_PUB" \
			"/app/publisher --count $n --size $P6_SIZE --timeout 60 $flags_p --burst $burst --turn-in /turns/$k"
	done
	k=$(p6_order "$rep")
	echo t >&"${P6_TURN[${k%% *}]}"
	for k in "${!P6_PID[@]}"; do
		wait "${P6_PID[$k]}" || { rc=$?; echo "p6: $k exited with $rc" >&2; }
	done
	p6_cg_remove "${P6_CGS[@]}"
	for id in "${P6_CTRS[@]}"; do sp_runc delete -f "$id" >/dev/null 2>&1 || true; done
	if ((rc != 0)); then
		tail -n 5 "$SP_TMP"/p6-*-{sub,pub}.out >&2
		return 1
	fi
	# the first round warms up (RouDi's pools, the page cache of /usr)
	((rep >= 0)) || return 0
	for k in a b; do
		side=${P6_SIDE[$k]}
		out=$(cat "$SP_TMP/p6-$side-sub.out")
		grep -q "received $n of $n samples, $n intact" <<<"$out" ||
			{ echo "not every sample arrived intact ($side): $out" >&2; return 1; }
		label="side=$k mode=$mode rep=$rep"
		sed -n "s/^subscriber: bursts_ns /BURSTS $label burst=$burst size=$P6_SIZE /p" <<<"$out" >>"$RAW/p6.txt"
		sed -n "s/^subscriber: latencies_ns /LATENCY $label /p" <<<"$out" >>"$RAW/p6.txt"
	done
}

# p6_cg_dirs NAME : the cgroup directories where runc puts a container
# named NAME: NAME under the caller's own cgroup, in every hierarchy the
# caller is in (cgroup v1: each controller and name=systemd; v2: the
# unified tree, at /sys/fs/cgroup or, on a hybrid host, /sys/fs/cgroup/unified).
p6_cg_dirs() {
	local id ctrls path mnt
	while IFS=: read -r id ctrls path; do
		if [[ -z $ctrls ]]; then
			mnt=/sys/fs/cgroup
			[[ -f $mnt/cgroup.controllers ]] || mnt=/sys/fs/cgroup/unified
		elif [[ -d /sys/fs/cgroup/$ctrls ]]; then
			mnt=/sys/fs/cgroup/$ctrls
		else
			mnt=/sys/fs/cgroup/${ctrls%%,*}
			mnt=${mnt/name=/}
		fi
		[[ -d $mnt ]] && echo "$(readlink -f "$mnt")${path%/}/$1"
	done </proc/self/cgroup | sort -u
}

# p6_cg_exec NAME CPU CMD... : CMD on CPU, in cgroups of its own in every
# hierarchy as runc places a container (a v1 cpuset limited to CPU, as runc
# makes for linux.resources.cpu.cpus), so that both sides are scheduled and
# accounted alike.  Run it in a subshell: it execs.
p6_cg_exec() {
	local d name cpu=$2
	name=$(sp_id "$1")
	shift 2
	for d in $(p6_cg_dirs "$name"); do
		mkdir -p "$d"
		if [[ -f $d/cpuset.cpus ]]; then
			cat "$d/../cpuset.mems" >"$d/cpuset.mems"
			echo "$cpu" >"$d/cpuset.cpus"
		fi
		echo "$BASHPID" >"$d/cgroup.procs"
	done
	exec taskset -c "$cpu" "$@"
}

# p6_cg_remove NAME... : remove what p6_cg_exec made (after its process).
p6_cg_remove() {
	local n d
	for n in "$@"; do
		for d in $(p6_cg_dirs "$(sp_id "$n")"); do rmdir "$d" 2>/dev/null || true; done
	done
}

p6_cg_remove_all() {
	local d
	for d in $(p6_cg_dirs "$(sp_id p6-host-)"); do rmdir "$d"*/ 2>/dev/null || true; done
}

# The host RouDi ends on TERM and removes its shared memory and socket; what
# a killed one leaves is removed here, so the next run starts clean.
p6_host_teardown() {
	local i
	kill -TERM "$1" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	rm -f /dev/shm/iceoryx_mgmt /dev/shm/root /tmp/roudi /tmp/iox-unique-roudi.lock /tmp/shmpipe-subscriber /tmp/shmpipe-publisher
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
