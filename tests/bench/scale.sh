#!/usr/bin/env bash
# tests/bench/scale.sh OUT - part 5 of `make bench`: every command against a
# store of 1, 100, 1,000 and 4,096 pipelines.  collect.sh runs it in a mount
# namespace of its own (unshare -m, private propagation), so that the
# thousands of tmpfs mounts never reach the host's mount table and go away
# with the namespace whatever happens.
#
# Env (set by collect.sh): CTL HOOK PLUGIN LIFECYCLE (binaries), RUN_DIR (a
# directory for the store's own tmpfs), SOCK (the plugin's socket), LEVELS,
# REPS_HOOK, REPS_PLUGIN (requests of each kind), REPS_CMD (flat commands),
# REPS_SCAN (commands that look at every pipeline).
#
# OUT gets one line per sample: "n=LEVEL OP MICROSECONDS [MAXRSS_KB]", and
# "plugin idle-start|idle-end rss_kb=.. hwm_kb=..".
set -euo pipefail
out=$1
: >"$out"

mount -t tmpfs -o size=256m,mode=0755 shmpipe-scale "$RUN_DIR"
store=$RUN_DIR/store
config=$RUN_DIR/config.json
# Limits above the largest level; sizes are caps (a tmpfs reserves nothing).
cat >"$config" <<EOF
{ "root": "$store", "default_size": "1m", "max_pipelines": 8192, "max_total_size": "64g",
  "auto_create": true, "auto_lifetime": "ephemeral", "log_level": "warning" }
EOF
ctl() { "$CTL" --root "$store" --config "$config" "$@"; }
ctl ls >/dev/null

pid=
if [[ -x $PLUGIN ]]; then
	"$PLUGIN" --socket "$SOCK" --root "$store" --config "$config" --log-level warning \
		>"$RUN_DIR/plugin.log" 2>&1 &
	pid=$!
	trap 'kill $pid 2>/dev/null || true' EXIT
	for ((i = 0; i < 100; i++)); do [[ -S $SOCK ]] && break; sleep 0.1; done
	[[ -S $SOCK ]] || { cat "$RUN_DIR/plugin.log" >&2; exit 1; }
	sleep 0.5
	echo "plugin idle-start $("$LIFECYCLE" rss "$pid")" >>"$out"
else
	echo "plugin not-run: no $PLUGIN" >>"$out"
fi

# time LEVEL OP REPS CMD... : REPS samples of CMD's wall time, after one
# untimed run (the page cache, the store's new files).
time_cmd() {
	local level=$1 op=$2 reps=$3 i t0 t1
	shift 3
	"$@" >/dev/null 2>&1 || true
	for ((i = 0; i < reps; i++)); do
		t0=$EPOCHREALTIME
		"$@" >/dev/null 2>&1 || [[ $op == doctor ]] # doctor fails without engines: timed all the same
		t1=$EPOCHREALTIME
		echo "n=$level $op $((${t1/./} - ${t0/./}))" >>"$out"
	done
}

# A create in a store of LEVEL pipelines: create + rm of one more.
create_rm() { ctl create bench-probe --size 1m && ctl rm bench-probe; }

have=0
for level in $LEVELS; do
	# Many creates at once: 4,096 one by one would take most of the bench.
	seq -f 'bench-scale-%04g' "$have" $((level - 1)) |
		xargs -r -P 4 -n 32 sh -c 'c=$0 r=$1 f=$2; shift 3
			for n; do "$c" --root "$r" --config "$f" create "$n" >/dev/null || exit 255; done' \
			"$CTL" "$store" "$config" _
	have=$level
	echo "n=$level present $(find "$store/state" -name '*.json' | wc -l)" >>"$out"
	time_cmd "$level" create "$REPS_CMD" create_rm
	time_cmd "$level" inspect "$REPS_CMD" ctl inspect bench-scale-0000
	time_cmd "$level" ls "$REPS_SCAN" ctl ls
	time_cmd "$level" metrics "$REPS_SCAN" ctl metrics
	time_cmd "$level" gc "$REPS_SCAN" ctl gc
	time_cmd "$level" doctor "$REPS_CMD" ctl doctor
	"$LIFECYCLE" hook --hook "$HOOK" --root "$store" --pipeline bench-scale-0000 --reps "$REPS_HOOK" |
		sed "s/^/n=$level hook-/" >>"$out"
	if [[ -n $pid ]]; then
		"$LIFECYCLE" plugin --socket "$SOCK" --name bench-scale-0000 --reps "$REPS_PLUGIN" |
			sed "s/^/n=$level plugin-/" >>"$out"
	fi
done
if [[ -n $pid ]]; then
	sleep 0.5
	echo "plugin idle-end $("$LIFECYCLE" rss "$pid")" >>"$out"
fi
