#!/usr/bin/env bash
# Runs tests/integration/*.sh (optionally only those whose name starts with
# one of the arguments), each bounded in time.  Each test prints "N passed, N failed" itself;
# this prints the total over all files.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${BUILD:=$(cd "$here/.." && pwd)/build}"
export BUILD
prefixes=("${@:-}")
if [ "$(id -u)" != 0 ]; then
	echo "integration tests need root" >&2
	exit 1
fi
files_pass=0 files_fail=0 tests_pass=0 tests_fail=0 tests_skip=0
failed=()
files=()
for p in "${prefixes[@]}"; do
	files+=("$here"/integration/"$p"*.sh)
done
for t in "${files[@]}"; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	echo "=== $name"
	log=$(mktemp)
	timeout --kill-after=10 "${SHMPIPE_TEST_TIMEOUT:-600}" bash "$t" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n1)
	rm -f "$log"
	if [ -n "$line" ]; then
		read -r p _ f _ s _ <<<"${line//,/}"
		tests_pass=$((tests_pass + p)) tests_fail=$((tests_fail + f)) tests_skip=$((tests_skip + ${s:-0}))
	fi
	if [ "$rc" -eq 0 ] && [ -n "$line" ]; then
		files_pass=$((files_pass + 1))
	else
		files_fail=$((files_fail + 1))
		failed+=("$name (exit $rc)")
		[ -n "$line" ] || tests_fail=$((tests_fail + 1))
	fi
done
[ ${#failed[@]} -eq 0 ] || printf 'FAILED: %s\n' "${failed[@]}" >&2
echo "integration files: $files_pass passed, $files_fail failed"
echo "integration: $tests_pass passed, $tests_fail failed, $tests_skip skipped"
[ "$files_fail" -eq 0 ]
