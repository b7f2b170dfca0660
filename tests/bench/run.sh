#!/usr/bin/env bash
# tests/bench/run.sh - `make bench`: measure what shmpipe buys and costs, in
# one invocation, and print one Markdown table (also written to
# tests/bench/results.md, git-ignored).  See tests/bench/README.md.
#
# Env: BUILD (default ./build), SHMPIPE_BENCH_OUT (the table file),
# SHMPIPE_BENCH_TIMEOUT (default 570 s for everything),
# SHMPIPE_BENCH_QUICK=1 (few repetitions: checks the harness, not numbers),
# SHMPIPE_BENCH_KEEP=1 (keep the raw measurements),
# SHMPIPE_BENCH_PARTS="2 6" (only these parts),
# SHMPIPE_BENCH_P6_AA=1 (part 6 with two identical sides: its own noise).
# Needs root, runc, the hook; parts 3 and 5 also dockerd and the plugin
# (missing pieces turn their rows into "not run: <reason>").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$repo/build}
BUILD=$(readlink -f "$BUILD")
out=${SHMPIPE_BENCH_OUT:-$here/results.md}

if [[ $(id -u) != 0 ]]; then
	echo "bench: needs root (containers, mounts)" >&2
	exit 1
fi
[[ -x $BUILD/shmpipectl ]] || { echo "bench: no $BUILD/shmpipectl: run make" >&2; exit 1; }

# The bench programs: handoff static (it runs in a busybox container).
mkdir -p "$BUILD/bench"
cflags=(-O2 -g -std=gnu11 -Wall -Wextra -Werror)
if [[ ! -x $BUILD/bench/handoff || $here/handoff.c -nt $BUILD/bench/handoff ||
	$repo/examples/resize-inference/c/ring.h -nt $BUILD/bench/handoff ]]; then
	gcc "${cflags[@]}" -static -o "$BUILD/bench/handoff" "$here/handoff.c"
fi
if [[ ! -x $BUILD/bench/lifecycle || $here/lifecycle.c -nt $BUILD/bench/lifecycle ]]; then
	gcc "${cflags[@]}" -o "$BUILD/bench/lifecycle" "$here/lifecycle.c"
fi

raw=$(mktemp -d /tmp/shmpipe-bench.XXXXXX)
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [[ ${SHMPIPE_BENCH_KEEP:-0} == 1 ]]; then
		echo "bench: raw measurements kept in $raw" >&2
	else
		rm -rf "$raw"
	fi
}
trap cleanup EXIT

echo "bench: measuring (progress below; the table follows; up to ${SHMPIPE_BENCH_TIMEOUT:-570} s)" >&2
rc=0
# Each part is bounded by SP_TEST_TIMEOUT, the whole by SHMPIPE_BENCH_TIMEOUT.
BUILD=$BUILD SP_TEST_TIMEOUT=${SP_TEST_TIMEOUT:-240} \
	timeout -k 15 "${SHMPIPE_BENCH_TIMEOUT:-570}" bash "$here/collect.sh" "$raw" 2>&1 |
	sed -u 's/^/bench: /' >&2 || rc=$?
echo >&2
/usr/bin/python3 "$here/report.py" "$raw" --out "$out" --command "make bench"
echo >&2
echo "bench: table written to $out" >&2
exit "$rc"
