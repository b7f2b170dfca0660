#!/usr/bin/env bash
# Builds the libFuzzer targets with ASan+UBSan and runs each for
# FUZZ_SECONDS (default 60), starting from seeds made of the real runtime
# inputs in tests/fixtures.  Prints per target the executions done and a
# closing "N passed, N failed".  `make fuzz FUZZ_SECONDS=3600` for a long run.
# An input that runs 30 s is a hang: 10 s was once reached by an input that
# runs in 10 ms, stalled in ASan's quarantine on a loaded 2-core machine.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_BUILD:-$repo/build/fuzz}
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"state config oci options rewrite plugin"}
mkdir -p "$out"
cflags=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE
	-Wall -Wextra -Werror -I"$repo/lib/base" -I"$repo/lib/policy" -I"$repo/lib/store" -I"$repo/lib/engines" -I"$repo/runtime" -I"$repo/plugin" $(pkg-config --cflags yajl libmicrohttpd))
libs=($(pkg-config --libs yajl libcap libseccomp libmicrohttpd))
lib_src=("$repo"/lib/*/*.c)

# seed DIR PREFIX FILE... : copy FILEs into DIR, each behind a selector byte.
seed() {
	local dir=$1 prefix=$2 f
	shift 2
	mkdir -p "$dir"
	for f in "$@"; do
		[ -f "$f" ] || continue
		{ printf "$prefix"; cat "$f"; } >"$dir/$(basename "$f")"
	done
}

make_seeds() {
	local s=$out/seeds fx=$repo/tests/fixtures
	rm -rf "$s"
	seed "$s/oci" '\001' "$fx"/oci/*-state.json
	seed "$s/oci" '\000' "$fx"/oci/*-config.json
	seed "$s/config" '' "$repo"/examples/config/*.json "$fx"/config/*.json
	seed "$s/rewrite" '' "$fx"/oci/*-config.json "$repo"/install/containerd/base-runtime-spec.json
	# The selector byte is the index in fuzz_plugin.c's endpoint table.
	local i=0 e
	for e in Plugin.Activate VolumeDriver.Create VolumeDriver.Remove VolumeDriver.Mount VolumeDriver.Unmount \
		VolumeDriver.Path VolumeDriver.Get VolumeDriver.List VolumeDriver.Capabilities; do
		seed "$s/plugin" "\\$(printf '%03o' $i)" "$fx/docker-plugin/$e-request.json"
		i=$((i + 1))
	done
	mkdir -p "$s/state" "$s/options"
	printf '{"version":1,"name":"p","size":4096,"mode":"1777","uid":0,"gid":0,"huge":"never","lifetime":"ephemeral","inodes":10,"ipc":false,"created":"2026-11-27T07:18:30Z","members":[{"id":"c1","pid":1,"start_time":2,"joined":"2026-11-27T07:18:30Z"}]}' >"$s/state/member"
	printf '\000frames' >"$s/options/name"
	printf '\0011g' >"$s/options/size"
	printf '\0021777' >"$s/options/mode"
	printf '\003within_size' >"$s/options/uid"
	printf '\004within_size' >"$s/options/huge"
	printf '\005ephemeral' >"$s/options/lifetime"
}

build() {
	local t=$1 extra=()
	case $t in
	rewrite) extra=("$repo/runtime/rewrite.c") ;;
	plugin) extra=("$repo/plugin/handlers.c" "$repo/plugin/volroot.c") ;;
	esac
	[ -f "$repo/tests/fuzz/fuzz_$t.c" ] || return 1
	clang "${cflags[@]}" -o "$out/fuzz_$t" "$repo/tests/fuzz/fuzz_$t.c" "${lib_src[@]}" "${extra[@]}" "${libs[@]}"
}

make_seeds
pass=0 fail=0
for t in $targets; do
	[ -f "$repo/tests/fuzz/fuzz_$t.c" ] || continue
	if ! build "$t"; then
		echo "fuzz $t: build failed"
		fail=$((fail + 1))
		continue
	fi
	corpus=$out/corpus/$t
	mkdir -p "$corpus" "$out/artifacts/$t"
	log=$out/fuzz_$t.log
	if (cd "$out" && "./fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$t/" "$corpus" "$out/seeds/$t") >"$log" 2>&1; then
		execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
		echo "fuzz $t: ${execs:-?} executions in ${seconds}s, no crash, leak or UBSan report"
		pass=$((pass + 1))
	else
		echo "fuzz $t: FAILED (see $log; reproducer in $out/artifacts/$t/)"
		grep -E 'ERROR|runtime error|SUMMARY' "$log" | head -5
		fail=$((fail + 1))
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
