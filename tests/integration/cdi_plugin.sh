#!/bin/bash
# cdi_plugin.sh - the Docker volume plugin keeps the CDI spec current
# ("cdi": true): at start-up (after its gc) and on VolumeDriver.Create and
# VolumeDriver.Remove.  Requests go straight to its socket (no dockerd).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/plugin.sh"

SPEC=$SP_TMP/cdi/shmpipe.json
CONFIG=$SP_TMP/config.json
HOOK=${BUILD:-$SP_REPO/build}/shmpipe-hook
printf '{"cdi": true, "cdi_spec_dir": "%s", "cdi_hook": "%s"}\n' "$SP_TMP/cdi" "$HOOK" >"$CONFIG"
sp_defer sp_plugin_stop
sp_defer sp_umount_under "$SP_STORE"

devices() { sp_json "$SPEC" '" ".join(d["name"] for d in j["devices"])'; }

# A pipeline made while no one kept the spec is in it once the plugin starts.
t_startup() {
	echo '{}' >"$SP_TMP/nocdi.json"
	"$SP_CTL_BIN" --root "$SP_STORE" --config "$SP_TMP/nocdi.json" create early --size 1m >/dev/null
	[[ -e $SPEC ]] && sp_fail "a spec was written with cdi off"
	sp_plugin_start --config "$CONFIG"
	sp_assert_eq early "$(devices)" "devices after the plugin's start"
}

t_create_remove() {
	local out
	out=$(sp_plugin_req /VolumeDriver.Create '{"Name":"vol1","Opts":{"size":"1m"}}')
	sp_assert_eq '200 {"Err":""}' "$out"
	sp_assert_eq "early vol1" "$(devices)" "devices after Create"
	out=$(sp_plugin_req /VolumeDriver.Remove '{"Name":"vol1"}')
	sp_assert_eq '200 {"Err":""}' "$out"
	sp_assert_eq early "$(devices)" "devices after Remove"
	"$SP_REPO/tests/schema_check.py" "$SP_REPO/schemas/cdi.schema.json" "$SPEC"
	"$SP_CTL_BIN" --root "$SP_STORE" --config "$CONFIG" rm early
	sp_assert_eq "" "$(devices)" "devices after rm"
}

sp_test "cdi: the plugin writes the spec at start-up" t_startup
sp_test "cdi: VolumeDriver.Create and Remove refresh the spec" t_create_remove
sp_done
