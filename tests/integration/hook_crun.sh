#!/bin/bash
# hook_crun.sh - the hook_runc.sh suite with crun (which says "created" at
# createRuntime, and runs in a private mount namespace on hybrid-cgroup
# hosts: see hk_crun).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup

hk_suite crun createRuntime
hk_suite crun prestart
sp_done
