#!/bin/bash
# hook_runc.sh - shmpipe-hook with runc, the hook at createRuntime, at
# prestart, and at both: containers of one pipeline share /dev/shm, others
# and the host do not; flags, env-variable path, lifetimes.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup

hk_suite runc createRuntime
hk_suite runc prestart
sp_test "runc, hook at prestart and createRuntime: /dev/shm is mounted once" \
	_hk_t_flags runc prestart,createRuntime runc.both
sp_done
