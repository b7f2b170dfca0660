#!/usr/bin/env bash
# tests/bench/scale.sh OUT - part 5 of `make bench`: every command against
# stores of 1, 100, 1,000 and 4,096 pipelines.  collect.sh runs it in a mount
# namespace of its own (unshare -m, private propagation), so that the
# thousands of tmpfs mounts never reach the host's mount table and go away
# with the namespace whatever happens.
#
# Env (set by collect.sh): CTL HOOK PLUGIN LIFECYCLE (binaries), RUN_DIR (a
# directory for the stores' own tmpfs), SOCK (the plugins' sockets are
# SOCK.LEVEL), LEVELS, ROUNDS (default 5),
# REPS_HOOK, REPS_PLUGIN (requests of each kind), REPS_CMD (flat commands),
# REPS_SCAN (commands that look at every pipeline).
#
# OUT gets one line per sample: "n=LEVEL OP MICROSECONDS [MAXRSS_KB]", and
# "plugin idle-start|idle-end rss_kb=.. hwm_kb=.." (the plugin of the
# largest store, after it started and after the last round).
set -euo pipefail
out=$1
: >"$out"

mount -t tmpfs -o size=512m,mode=0755 shmpipe-scale "$RUN_DIR"
# One store per level, all filled first, then measured in rounds that visit
# every level in turn (the order rotating), so that a slow stretch of the
# machine falls on every level alike: measured one level after the other,
# a flat command looked up to 1.7x slower at one level than at another.
ROUNDS=${ROUNDS:-5}
read -ra levels <<<"$LEVELS"
declare -A plugin_pid=()
trap 'kill "${plugin_pid[@]}" 2>/dev/null || true' EXIT

# Each level's store and config; ctl LEVEL ARGS... runs shmpipectl on it
# (no command substitution: a fork would be timed with the command).
declare -A store=() config=()
for level in "${levels[@]}"; do
	store[$level]=$RUN_DIR/store-$level config[$level]=$RUN_DIR/config-$level.json
done
ctl() { "$CTL" --root "${store[$1]}" --config "${config[$1]}" "${@:2}"; }

for level in "${levels[@]}"; do
	# Limits above the largest level; sizes are caps (a tmpfs reserves nothing).
	cat >"${config[$level]}" <<EOF
{ "root": "${store[$level]}", "default_size": "1m", "max_pipelines": 8192, "max_total_size": "64g",
  "auto_create": true, "auto_lifetime": "ephemeral", "log_level": "warning" }
EOF
	ctl "$level" ls >/dev/null
	# Many creates at once: 4,096 one by one would take most of the bench.
	seq -f 'bench-scale-%04g' 0 $((level - 1)) |
		xargs -r -P 4 -n 32 sh -c 'c=$0 r=$1 f=$2; shift 3
			for n; do "$c" --root "$r" --config "$f" create "$n" >/dev/null || exit 255; done' \
			"$CTL" "${store[$level]}" "${config[$level]}" _
	echo "n=$level present $(find "${store[$level]}/state" -name '*.json' | wc -l)" >>"$out"
	if [[ -x $PLUGIN ]]; then
		"$PLUGIN" --socket "$SOCK.$level" --root "${store[$level]}" --config "${config[$level]}" \
			--log-level warning >"$RUN_DIR/plugin-$level.log" 2>&1 &
		plugin_pid[$level]=$!
		for ((i = 0; i < 100; i++)); do [[ -S $SOCK.$level ]] && break; sleep 0.1; done
		[[ -S $SOCK.$level ]] || { cat "$RUN_DIR/plugin-$level.log" >&2; exit 1; }
	fi
done
top=${levels[-1]}
if [[ -x $PLUGIN ]]; then
	sleep 0.5
	echo "plugin idle-start $("$LIFECYCLE" rss "${plugin_pid[$top]}")" >>"$out"
else
	echo "plugin not-run: no $PLUGIN" >>"$out"
fi

# time LEVEL OP REPS CMD... : REPS samples of CMD's wall time; in the first
# round after one untimed run (the page cache, the store's new files).
time_cmd() {
	local level=$1 op=$2 reps=$3 i t0 t1
	shift 3
	((round > 0)) || "$@" >/dev/null 2>&1 || true
	for ((i = 0; i < reps; i++)); do
		t0=$EPOCHREALTIME
		"$@" >/dev/null 2>&1 || [[ $op == doctor ]] # doctor fails without engines: timed all the same
		t1=$EPOCHREALTIME
		echo "n=$level $op $((${t1/./} - ${t0/./}))" >>"$out"
	done
}

# A create in a store of LEVEL pipelines: create + rm of one more.
create_rm() { ctl "$1" create bench-probe --size 1m && ctl "$1" rm bench-probe; }

# share TOTAL : this round's part of TOTAL repetitions (at least one).
share() { local n=$((($1 + ROUNDS - 1) / ROUNDS)); echo $((n > 0 ? n : 1)); }

for ((round = 0; round < ROUNDS; round++)); do
	n=${#levels[@]}
	for ((k = 0; k < n; k++)); do
		level=${levels[(k + round) % n]}
		time_cmd "$level" create "$(share "$REPS_CMD")" create_rm "$level"
		time_cmd "$level" inspect "$(share "$REPS_CMD")" ctl "$level" inspect bench-scale-0000
		time_cmd "$level" ls "$(share "$REPS_SCAN")" ctl "$level" ls
		time_cmd "$level" metrics "$(share "$REPS_SCAN")" ctl "$level" metrics
		time_cmd "$level" gc "$(share "$REPS_SCAN")" ctl "$level" gc
		time_cmd "$level" doctor "$(share "$REPS_CMD")" ctl "$level" doctor
		"$LIFECYCLE" hook --hook "$HOOK" --root "${store[$level]}" --pipeline bench-scale-0000 \
			--reps "$(share "$REPS_HOOK")" | sed "s/^/n=$level hook-/" >>"$out"
		if [[ -n ${plugin_pid[$level]:-} ]]; then
			"$LIFECYCLE" plugin --socket "$SOCK.$level" --name bench-scale-0000 \
				--reps "$(share "$REPS_PLUGIN")" | sed "s/^/n=$level plugin-/" >>"$out"
		fi
	done
done
if [[ -n ${plugin_pid[$top]:-} ]]; then
	sleep 0.5
	echo "plugin idle-end $("$LIFECYCLE" rss "${plugin_pid[$top]}")" >>"$out"
fi
