#!/usr/bin/env bash
# A simulated reboot: every store tmpfs unmounted and the store's /run part
# wiped (its definitions directory is what a disk keeps).  Persistent
# pipelines, made with shmpipectl or `docker volume create -o ...`, come back
# with their options, empty, at `shmpipectl restore` or the plugin's start;
# ephemeral ones and members do not; a container naming a defined pipeline
# before the restore is refused, never given a looser one.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"

hk_setup
SPEC_DIR=$(sp_tmpdir cdi)
printf '{"cdi": true, "cdi_spec_dir": "%s", "cdi_hook": "%s"}\n' "$SPEC_DIR" "$HK_HOOK" >"$HK_CONFIG"

# reboot ROOT : what a reboot does to a store whose definitions are on disk:
# its mounts are gone, and so is everything in /run but the definitions.
reboot() {
	local root=$1 m
	while m=$(awk -v r="$root/" 'index($5, r) == 1 {print $5}' /proc/self/mountinfo | sort -r | head -n1) && [[ -n $m ]]; do
		umount -l "$m"
	done
	(cd "$root" && rm -rf state locks mnt ipc sockets restored)
}

t_hook() {
	local b out rc=0 id
	hk_ctl create keep --size 16m --mode 1770 --ipc --sockets /tmp >/dev/null
	hk_ctl create team-a/keep --allow-namespaces team-b,team-c >/dev/null
	hk_ctl create eph --lifetime ephemeral >/dev/null
	hk_ctl join keep --id ghost >/dev/null
	echo lost >"$HK_ROOT/mnt/keep/frame"
	reboot "$HK_ROOT"
	rm -f "$SPEC_DIR"/*

	# Before the restore: listed as such; a container naming it is refused
	# and nothing is made in its place.
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -a io.shmpipe.pipeline=keep -- /bin/sh -c 'stat -c %a /dev/shm'
	out=$(hk_run runc "$(sp_id early)" "$b" 2>&1) || rc=$?
	((rc != 0)) || sp_fail "a container joined keep before the restore: $out"
	sp_assert_contains "$out" "run \`shmpipectl restore\`" "the refusal says to restore"
	hk_exists keep && sp_fail "a record of keep was made before the restore"
	hk_mounted keep && sp_fail "a tmpfs of keep was mounted before the restore"
	out=$(hk_ctl ls)
	sp_assert_match "$out" "keep +16M +- +0 +persistent .*not restored since boot: run .shmpipectl restore." "ls"

	out=$(hk_ctl restore)
	sp_assert_contains "$out" "keep: restored from its definition"
	sp_assert_contains "$out" "team-a/keep: restored from its definition"
	sp_assert_not_contains "$out" "eph"
	hk_ctl inspect keep >"$SP_CASE_DIR/keep.json"
	sp_assert_eq '[16777216, "1770", true, "/tmp", 0, 0]' \
		"$(sp_json "$SP_CASE_DIR/keep.json" '[j["size"], j["mode"], j["ipc"], j["sockets"], len(j["members"]), j["used"]]')"
	hk_ctl inspect team-a/keep >"$SP_CASE_DIR/ns.json"
	sp_assert_eq team-b,team-c "$(sp_json "$SP_CASE_DIR/ns.json" 'j["allow-namespaces"]')"
	[[ ! -e $HK_ROOT/state/eph.json ]] || sp_fail "the ephemeral pipeline came back"
	[[ -z $(ls -A "$HK_ROOT/mnt/keep") ]] || sp_fail "keep is not empty after the reboot"
	grep -q 'shmpipe.io/pipeline=keep\|"name": *"keep"' "$SPEC_DIR"/* || sp_fail "the CDI spec was not made again"
	# A second restore (the unit, then the plugin or gc) changes nothing.
	sp_assert_eq "" "$(hk_ctl restore)" "a second restore"

	# A container now gets what was defined: mode, size, socket directory.
	id=$(sp_id late)
	hk_bundle "$b" createRuntime -a io.shmpipe.pipeline=keep -- /bin/sh -c \
		'stat -c %a /dev/shm; shmtool mountinfo; grep -c " /tmp " /proc/self/mountinfo'
	out=$(hk_run runc "$id" "$b")
	sp_assert_eq 1770 "$(sed -n 1p <<<"$out")" "mode of /dev/shm"
	sp_assert_contains "$(sed -n 2p <<<"$out")" "size=16384k" "size of /dev/shm"
	sp_assert_eq 1 "$(sed -n 3p <<<"$out")" "the socket directory on /tmp"
	hk_ctl rm keep
	[[ ! -e $HK_ROOT/definitions/keep.json ]] || sp_fail "rm left keep's definition"
	hk_ctl rm team-a/keep
}
sp_test "hook: persistent pipelines come back after a reboot with their options, empty; refused before restore" t_hook

t_gc_restores() {
	local out
	hk_ctl create g1 --size 8m >/dev/null
	reboot "$HK_ROOT"
	# Removing a pipeline that is not restored yet drops its definition.
	hk_ctl create g2 >/dev/null
	reboot "$HK_ROOT"
	hk_ctl rm g2
	out=$(hk_ctl gc)
	sp_assert_contains "$out" "g1: restored from its definition"
	sp_assert_not_contains "$out" "g2"
	hk_ctl inspect g1 >"$SP_CASE_DIR/g1.json"
	sp_assert_eq 8388608 "$(sp_json "$SP_CASE_DIR/g1.json" 'j["size"]')"
	# A tmpfs that vanished under a record is listed as missing.
	umount -l "$HK_ROOT/mnt/g1"
	sp_assert_match "$(hk_ctl ls)" "g1 .*tmpfs missing: run .shmpipectl gc." "ls"
	hk_ctl gc >/dev/null
	hk_mounted g1 || sp_fail "gc did not mount g1 again"
	hk_ctl rm g1
}
sp_test "without systemd: gc restores too; rm of a pipeline not restored drops its definition; ls flags a missing tmpfs" t_gc_restores

# A read-only /var (a metrics container, a live image): the store still
# serves; only keeping a persistent pipeline fails, in one line.
t_readonly_definitions() {
	local ro out rc=0
	ro=$(sp_tmpdir ro)
	mount --bind "$ro" "$ro"
	mount -o remount,bind,ro "$ro"
	sp_defer umount -l "$ro"
	out=$(SHMPIPE_DEFINITIONS=$ro/pipelines hk_ctl create ro1 2>&1) || rc=$?
	((rc == 1)) || sp_fail "a persistent pipeline was made without its definition: $out"
	sp_assert_contains "$out" "pipeline ro1: cannot keep its definition: definitions: mkdir $ro/pipelines: Read-only file system"
	hk_exists ro1 && sp_fail "ro1 left a record"
	hk_mounted ro1 && sp_fail "ro1 left a mount"
	SHMPIPE_DEFINITIONS=$ro/pipelines hk_ctl create ro2 --lifetime ephemeral >/dev/null
	SHMPIPE_DEFINITIONS=$ro/pipelines hk_ctl ls >/dev/null
	SHMPIPE_DEFINITIONS=$ro/pipelines hk_ctl rm ro2
}
sp_test "a read-only definitions directory: the store serves, a persistent create fails in one line" t_readonly_definitions

# The runtime wrapper (an --ipc pipeline's IPC namespace) refuses the same.
t_runtime() {
	local b out rc=0 id
	hk_ctl create rw --ipc --size 4m >/dev/null
	reboot "$HK_ROOT"
	b=$(sp_tmpdir bundle)
	sp_runc_bundle "$b" -a io.shmpipe.pipeline=rw -- /bin/sh -c 'stat -c %a /dev/shm'
	id=$(sp_id rw)
	sp_defer _sp_quiet sp_runc delete -f "$id"
	out=$(sp_timeout "$HK_BUILD/shmpipe-runtime" --shmpipe-root "$HK_ROOT" --shmpipe-runtime runc \
		--root "$SP_TMP/runc" run --bundle "$b" "$id" </dev/null 2>&1) || rc=$?
	((rc != 0)) || sp_fail "the wrapper ran a container in rw before the restore: $out"
	sp_assert_contains "$out" "run \`shmpipectl restore\`" "the refusal says to restore"
	hk_exists rw && sp_fail "a record of rw was made before the restore"
	hk_ctl restore >/dev/null
	sp_assert_eq true "$(sp_json <(hk_ctl inspect rw) 'j["ipc"]')"
	hk_ctl rm rw
}
sp_test "runtime wrapper: a container naming a defined --ipc pipeline is refused before the restore" t_runtime

# Docker: the plugin's start restores what `docker volume create` made.
t_docker() {
	. "$(dirname "$0")/lib/plugin.sh"
	local img out cid
	sp_plugin_start
	sp_dockerd_start
	img=$(sp_docker_busybox_image)
	sp_docker volume create -d "$SP_DRIVER" -o size=16m -o mode=1770 rb1 >/dev/null
	sp_plugin_stop
	reboot "$SP_STORE"
	# A definition this release cannot make (a newer release's): it stays
	# refused after the plugin's restore, never replaced by a looser volume.
	printf '{"version":2,"name":"rb2","size":4096,"mode":"1777","uid":0,"gid":0,"huge":"never","lifetime":"persistent","inodes":10,"created":"2026-12-01T00:00:00Z","future":1,"members":[]}' \
		>"$SP_STORE/definitions/rb2.json"
	sp_plugin_start
	grep -q "rb2: not restored: its definition was written by a newer release (format 2)" "$SP_PLUGIN_LOG" ||
		sp_fail "the plugin did not report rb2"
	out=$(sp_plugin_req /VolumeDriver.Create '{"Name":"rb2","Opts":{}}')
	sp_assert_contains "$out" "the last restore could not make it: run \`shmpipectl restore\` to see why" "Create of rb2"
	out=$(sp_plugin_req /VolumeDriver.Mount '{"Name":"rb2","ID":"x"}')
	sp_assert_contains "$out" "shmpipectl restore" "Mount of rb2"
	[[ ! -e $SP_STORE/state/rb2.json ]] || sp_fail "a looser rb2 was made"
	rm "$SP_STORE/definitions/rb2.json"
	sp_assert_contains "$(sp_docker volume ls --format '{{.Driver}} {{.Name}}')" "$SP_DRIVER rb1"
	grep -q "rb1: restored from its definition" "$SP_PLUGIN_LOG" || sp_fail "the plugin did not say it restored rb1"
	# As a Compose file's external volume: no --volume-driver.
	cid=$(sp_id rb1)
	out=$(sp_docker run --rm --name "$cid" -v rb1:/dev/shm "$img" sh -c 'stat -c %a /dev/shm; shmtool mountinfo')
	sp_assert_eq 1770 "$(sed -n 1p <<<"$out")" "mode of /dev/shm"
	sp_assert_contains "$(sed -n 2p <<<"$out")" "shmpipe-rb1" "/dev/shm is the pipeline's tmpfs"
	sp_assert_contains "$(sed -n 2p <<<"$out")" "size=16384k" "size of /dev/shm"
	sp_docker volume rm rb1 >/dev/null
	[[ ! -e $SP_STORE/definitions/rb1.json ]] || sp_fail "docker volume rm left rb1's definition"
}
sp_test "Docker: a volume from docker volume create -o size=16m -o mode=1770 works after a reboot" t_docker

sp_done
