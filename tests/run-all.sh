#!/usr/bin/env bash
# `make test`: unit tests, schema checks, then the integration suite.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rc=0
"$here/run-unit.sh" "$@" || rc=1
echo "=== schemas"
/usr/bin/python3 "$here/schema_check.py" || rc=1
echo "=== fuzz (brief; make fuzz for a long run)"
FUZZ_SECONDS=${FUZZ_SECONDS:-10} "$here/fuzz/run.sh" || rc=1
"$here/run-integration.sh" || rc=1
exit $rc
