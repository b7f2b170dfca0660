#!/usr/bin/env bash
# Docker and runc in one pipeline: a Docker container on volume NAME (the
# plugin) and a runc container annotated io.shmpipe.pipeline=NAME (the OCI
# hook) share the same memory, and each side counts the other's members.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
. "$(dirname "$0")/lib/plugin.sh"

hk_setup
# One store for both: the hook's (a shared mount, as on systemd hosts).
export SP_STORE=$HK_ROOT
sp_plugin_start
sp_dockerd_start
IMG=$(sp_docker_busybox_image)
D=$SP_DRIVER
DC=$(sp_id dc) RC=$(sp_id rc)

t_docker_then_runc() {
	local b out
	sp_docker volume create -d "$D" -o size=4m joint >/dev/null
	sp_drun -d --name "$DC" -v joint:/dev/shm "$IMG" sleep 300 >/dev/null
	sp_docker exec "$DC" shmtool write fromdocker "written in docker"
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -a io.shmpipe.pipeline=joint -- \
		/bin/sh -c 'shmtool read fromdocker && shmtool write fromrunc "written in runc"'
	out=$(hk_run runc "$(sp_id once)" "$b")
	sp_assert_eq "written in docker" "$out" "runc reads what docker wrote"
	sp_assert_eq "written in runc" "$(sp_docker exec "$DC" shmtool read fromrunc)" "docker reads what runc wrote"
	# The runc container left (poststop): the Docker mount remains.
	sp_assert_eq 1 "$(sp_members joint)"
	sp_assert_match "$(hk_members joint)" '^docker:[0-9a-f]{64}$'
}
sp_test "docker (plugin) and runc (hook) containers share pipeline joint" t_docker_then_runc

t_counts_and_rm() {
	local b out rc=0
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -a io.shmpipe.pipeline=joint -- /bin/sh -c 'exec sleep 300'
	hk_run -d runc "$RC" "$b"
	sp_assert_eq 2 "$(sp_members joint)"
	sp_docker volume inspect joint >"$SP_CASE_DIR/v.json"
	sp_assert_eq true "$(sp_json "$SP_CASE_DIR/v.json" \
		"\"$RC\" in [m[\"id\"] for m in j[0][\"Status\"][\"members\"]]")"
	# Docker lets go; the runc container still holds the pipeline, so the
	# plugin refuses docker volume rm, naming it.
	sp_docker rm -f "$DC" >/dev/null
	sp_assert_eq "$RC" "$(hk_members joint)"
	out=$(sp_docker volume rm joint 2>&1) || rc=$?
	echo "$out"
	sp_assert_eq 1 "$rc"
	sp_assert_contains "$out" "volume joint is in use by 1 member ($RC)"
	hk_rt runc delete -f "$RC"
	sp_assert_eq 0 "$(sp_members joint)"
	sp_docker volume rm joint >/dev/null
	hk_exists joint && sp_fail "joint survived docker volume rm"
	true
}
sp_test "members of both kinds are counted; rm waits for the runc container" t_counts_and_rm

t_hook_made() {
	local b
	# A pipeline the hook creates (ephemeral, by annotation) is a Docker
	# volume too while it lives.
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -a io.shmpipe.pipeline=byhook -- /bin/sh -c 'shmtool write h 1 && exec sleep 300'
	hk_run -d runc "$(sp_id h)" "$b"
	sp_wait_for 10 test -e "$HK_ROOT/mnt/byhook/h"
	sp_assert_contains "$(sp_docker volume ls --format '{{.Driver}} {{.Name}}')" "$D byhook"
	sp_assert_eq 1 "$(sp_drun --rm -v byhook:/dev/shm "$IMG" shmtool read h)"
	hk_rt runc delete -f "$(sp_id h)"
}
sp_test "a pipeline the hook made is listed and usable as a Docker volume" t_hook_made

sp_done
