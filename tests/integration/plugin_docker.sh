#!/usr/bin/env bash
# The plugin against a real (private) dockerd: Docker containers share a
# pipeline's memory on /dev/shm through `--volume-driver`, and docker volume
# create / ls / inspect / rm behave as users expect.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/plugin.sh"

sp_plugin_start
sp_dockerd_start
IMG=$(sp_docker_busybox_image)

# The run's own driver, e.g. "shmpipe-sp1234x0a1f" (see lib/plugin.sh).
D=$SP_DRIVER

t_share() {
	local a b out
	sp_docker volume create -d "$D" -o size=8m p1 >/dev/null
	a=$(sp_drun -d --name "$(sp_id a)" -v p1:/dev/shm "$IMG" sleep 300)
	b=$(sp_drun -d --name "$(sp_id b)" -v p1:/dev/shm "$IMG" sleep 300)
	# a and b run on: the cases below inspect, then stop them.
	sp_docker exec "$a" shmtool write frame "hello from a"
	out=$(sp_docker exec "$b" shmtool read frame)
	sp_assert_eq "hello from a" "$out" "b reads what a wrote"
	sp_docker exec "$b" shmtool write reply "hi from b"
	sp_assert_eq "hi from b" "$(sp_docker exec "$a" shmtool read reply)"
	# It is the pipeline's tmpfs: the host (and shmpipectl, the hook) see it.
	sp_assert_eq "hello from a" "$(cat "$SP_STORE/mnt/p1/frame")"
	sp_assert_eq 2 "$(sp_members p1)"
}
sp_test "two containers on volume p1 share /dev/shm" t_share

t_isolation() {
	local out
	sp_docker volume create -d "$D" p2 >/dev/null
	out=$(sp_drun --rm -v p2:/dev/shm "$IMG" shmtool ls)
	sp_assert_not_contains "$out" frame "a container on p2"
	sp_assert_fails sp_drun --rm -v p2:/dev/shm "$IMG" shmtool read frame
	out=$(sp_docker run --rm "$IMG" shmtool ls)
	sp_assert_not_contains "$out" frame "a default container"
	sp_assert_fails sp_docker run --rm "$IMG" shmtool read frame
	# ... and what is written on p2 stays on p2.
	sp_drun --rm -v p2:/dev/shm "$IMG" shmtool write only2 x
	[[ ! -e $SP_STORE/mnt/p1/only2 ]] || sp_fail "p2's segment leaked into p1"
	sp_assert_eq x "$(cat "$SP_STORE/mnt/p2/only2")"
}
sp_test "a container on p2 and a default container do not see p1" t_isolation

t_mount_flags() {
	local line opts super
	line=$(sp_drun --rm -v p1:/dev/shm "$IMG" shmtool mountinfo)
	echo "$line"
	# mountinfo: ID PARENT DEV ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER
	opts=$(awk '{print $6}' <<<"$line")
	super=$(awk '{for (i = 1; i <= NF; i++) if ($i == "-") {print $(i+1), $(i+2), $(i+3); exit}}' <<<"$line")
	sp_assert_match ",$opts," ',nosuid,' "nosuid"
	sp_assert_match ",$opts," ',nodev,' "nodev"
	sp_assert_match ",$opts," ',noexec,' "noexec"
	sp_assert_match ",$opts," ',rw,' "rw"
	sp_assert_match "$super" '^tmpfs shmpipe-p1 ' "fstype and source"
	sp_assert_match "$super" '[ ,]size=8192k(,|$)' "size=8m"
	# df agrees: 8 MiB.
	sp_assert_match "$(sp_drun --rm -v p1:/dev/shm "$IMG" df -k /dev/shm | tail -1)" '^shmpipe-p1 +8192 '
	# noexec for real: a copied binary does not run from /dev/shm.
	sp_assert_fails sp_drun --rm -v p1:/dev/shm "$IMG" sh -c 'cp /bin/busybox /dev/shm/bb && /dev/shm/bb true'
	# Other options reach the tmpfs: huge, inodes, mode, uid/gid.
	sp_docker volume create -d "$D" -o size=4m -o inodes=500 -o mode=0770 -o uid=1000 -o gid=1000 p3 >/dev/null
	# :nocopy - Docker then skips its copy of the image's /dev/shm (without
	# it, the plugin restores the root: plugin_writable.sh).
	line=$(sp_drun --rm -v p3:/dev/shm:nocopy "$IMG" shmtool mountinfo)
	echo "$line"
	sp_assert_match "$line" 'size=4096k'
	sp_assert_match "$line" 'nr_inodes=500'
	sp_assert_match "$line" 'mode=770'
	sp_assert_match "$line" 'uid=1000'
	sp_assert_match "$line" 'gid=1000'
	sp_assert_eq "770 1000 1000" "$(sp_drun --rm -v p3:/dev/shm:nocopy "$IMG" stat -c '%a %u %g' /dev/shm)"
	# The owner's container writes, another uid cannot; the plugin
	# (CAP_DAC_OVERRIDE, not root's full set) still mounts and counts.
	sp_drun --rm -u 1000:1000 -v p3:/dev/shm:nocopy "$IMG" shmtool write mine ok
	sp_assert_fails sp_drun --rm -u 2000:2000 --cap-drop ALL -v p3:/dev/shm:nocopy "$IMG" shmtool write theirs no
	sp_assert_eq 0 "$(sp_members p3)"
	sp_assert_eq "770 1000 1000" "$(stat -c '%a %u %g' "$SP_STORE/mnt/p3")"
	# huge= needs transparent huge pages for shmem in the kernel.
	if [[ -e /sys/kernel/mm/transparent_hugepage/shmem_enabled ]]; then
		sp_docker volume create -d "$D" -o size=4m -o huge=within_size p4 >/dev/null
		sp_assert_match "$(sp_drun --rm -v p4:/dev/shm "$IMG" shmtool mountinfo)" 'huge=within_size'
	fi
}
sp_test "/dev/shm is nosuid,nodev,noexec tmpfs of the requested size and options" t_mount_flags

t_persist() {
	sp_docker volume create -d "$D" -o size=2m keep >/dev/null
	sp_drun --rm -v keep:/dev/shm "$IMG" shmtool write state "written before everyone left"
	# No container uses it now; the content stays (unlike Docker's tmpfs).
	sp_assert_eq 0 "$(sp_members keep)"
	sp_assert_eq "written before everyone left" "$(sp_drun --rm -v keep:/dev/shm "$IMG" shmtool read state)"
	# A container started later with the implicit create (no options) too.
	sp_assert_eq "written before everyone left" \
		"$(sp_drun --rm -v keep:/dev/shm "$IMG" cat /dev/shm/state)"
	# docker run -v of a volume that does not exist yet: created, defaults.
	sp_drun --rm -v fresh:/dev/shm "$IMG" shmtool write x 1
	sp_assert_eq persistent "$(sp_json "$SP_STORE/state/fresh.json" 'j["lifetime"]')"
	sp_assert_eq 1 "$(cat "$SP_STORE/mnt/fresh/x")"
}
sp_test "data outlives the containers until docker volume rm" t_persist

t_ls_inspect() {
	local out st
	out=$(sp_docker volume ls --format '{{.Driver}} {{.Name}}')
	echo "$out"
	sp_assert_contains "$out" "$D p1"
	sp_assert_contains "$out" "$D p2"
	sp_assert_contains "$out" "$D keep"
	# Made by shmpipectl (or the hook): Docker lists it too.
	if [[ -x $SP_CTL_BIN ]]; then
		"$SP_CTL_BIN" --root "$SP_STORE" create fromctl --size 1m >/dev/null
		sp_assert_contains "$(sp_docker volume ls --format '{{.Driver}} {{.Name}}')" "$D fromctl"
	fi
	sp_docker volume inspect p1 >"$SP_CASE_DIR/p1.json"
	cat "$SP_CASE_DIR/p1.json"
	sp_assert_eq "$D" "$(sp_json "$SP_CASE_DIR/p1.json" 'j[0]["Driver"]')"
	sp_assert_eq "$SP_STORE/mnt/p1" "$(sp_json "$SP_CASE_DIR/p1.json" 'j[0]["Mountpoint"]')"
	sp_assert_eq local "$(sp_json "$SP_CASE_DIR/p1.json" 'j[0]["Scope"]')"
	sp_assert_match "$(sp_json "$SP_CASE_DIR/p1.json" 'j[0]["CreatedAt"]')" '^20[0-9][0-9]-'
	st='j[0]["Status"]'
	sp_assert_eq 8388608 "$(sp_json "$SP_CASE_DIR/p1.json" "${st}[\"size\"]")"
	sp_assert_eq never "$(sp_json "$SP_CASE_DIR/p1.json" "${st}[\"huge\"]")"
	sp_assert_eq persistent "$(sp_json "$SP_CASE_DIR/p1.json" "${st}[\"lifetime\"]")"
	# Two running containers from t_share, each a Docker mount.
	sp_assert_eq 2 "$(sp_json "$SP_CASE_DIR/p1.json" "len(${st}[\"members\"])")"
	sp_assert_eq true "$(sp_json "$SP_CASE_DIR/p1.json" \
		"all(m[\"id\"].startswith(\"docker:\") for m in ${st}[\"members\"])")"
	# used: a's and b's segments, at least a page each.
	sp_assert_eq true "$(sp_json "$SP_CASE_DIR/p1.json" "${st}[\"used\"] >= 8192")"
}
sp_test "docker volume ls and inspect (with Status)" t_ls_inspect

t_rm() {
	local out rc=0 c
	# In use by a container: Docker itself refuses.
	c=$(sp_drun -d -v keep:/dev/shm "$IMG" sleep 300)
	out=$(sp_docker volume rm keep 2>&1) || rc=$?
	sp_assert_eq 1 "$rc"
	sp_assert_contains "$out" "in use"
	sp_docker rm -f "$c" >/dev/null
	sp_assert_eq 0 "$(sp_members keep)"
	# In use by a member Docker does not know of (a runc container joined by
	# the hook): the plugin refuses, naming it.
	if [[ -x $SP_CTL_BIN ]]; then
		"$SP_CTL_BIN" --root "$SP_STORE" join keep --id runc-ctr-1 >/dev/null
		rc=0
		out=$(sp_docker volume rm keep 2>&1) || rc=$?
		echo "$out"
		sp_assert_eq 1 "$rc"
		sp_assert_contains "$out" "volume keep is in use by 1 member (runc-ctr-1)"
		"$SP_CTL_BIN" --root "$SP_STORE" leave keep --id runc-ctr-1 >/dev/null
	fi
	# Then it works: the pipeline, its tmpfs and its content are gone.
	sp_docker volume rm keep >/dev/null
	[[ ! -e $SP_STORE/state/keep.json ]] || sp_fail "keep's record survived docker volume rm"
	mountpoint -q "$SP_STORE/mnt/keep" 2>/dev/null && sp_fail "keep still mounted"
	# (this run's driver only: dockerd lists the volumes of every plugin
	# socket in /run/docker/plugins, other test runs' included)
	sp_assert_not_contains "$(sp_docker volume ls -q --filter "driver=$D")" keep
	# Created again: empty.
	sp_docker volume create -d "$D" keep >/dev/null
	sp_assert_eq "" "$(sp_drun --rm -v keep:/dev/shm "$IMG" shmtool ls)"
	sp_docker volume rm keep >/dev/null
	# Removed behind Docker's back (shmpipectl rm): Docker forgets it (its
	# Get fails), and the name can be used again.
	if [[ -x $SP_CTL_BIN ]]; then
		sp_docker volume create -d "$D" gone >/dev/null
		"$SP_CTL_BIN" --root "$SP_STORE" rm gone >/dev/null
		sp_assert_not_contains "$(sp_docker volume ls -q)" gone
		sp_docker volume rm gone >/dev/null 2>&1 || true
		sp_docker volume create -d "$D" -o size=1m gone >/dev/null
		sp_assert_eq 1048576 "$(sp_json "$SP_STORE/state/gone.json" 'j["size"]')"
	fi
}
sp_test "docker volume rm: refused while in use, then works" t_rm

t_create_errors() {
	local out rc=0
	out=$(sp_docker volume create -d "$D" -o size=lots bad1 2>&1) || rc=$?
	echo "$out"
	sp_assert_eq 1 "$rc"
	sp_assert_contains "$out" 'invalid size "lots"'
	rc=0
	out=$(sp_docker volume create -d "$D" -o colour=red bad2 2>&1) || rc=$?
	echo "$out"
	sp_assert_eq 1 "$rc"
	sp_assert_contains "$out" 'unknown option "colour"'
	# Same options again: fine.  Different ones: Docker answers with the
	# volume it has (it asks the driver's Get, never Create, for a name that
	# exists); the pipeline keeps its size.  (The plugin's own refusal of a
	# Create with other options is in plugin_requests and the unit tests.)
	sp_docker volume create -d "$D" -o size=8m p1 >/dev/null
	sp_docker volume create -d "$D" -o size=16m p1 >/dev/null 2>&1 || true
	sp_assert_eq 8388608 "$(sp_json "$SP_STORE/state/p1.json" 'j["size"]')"
}
sp_test "docker volume create: bad size, unknown option, same and other options" t_create_errors

t_stop_counts() {
	# The two long-running containers of t_share stop: their mounts go.
	sp_assert_eq 2 "$(sp_members p1)"
	sp_docker stop -t 1 "$(sp_id a)" >/dev/null
	sp_assert_eq 1 "$(sp_members p1)"
	sp_docker stop -t 1 "$(sp_id b)" >/dev/null
	sp_assert_eq 0 "$(sp_members p1)"
	# Restarted: mounted again, content still there.
	sp_docker start "$(sp_id a)" >/dev/null
	sp_assert_eq 1 "$(sp_members p1)"
	sp_assert_eq "hello from a" "$(sp_docker exec "$(sp_id a)" shmtool read frame)"
	sp_docker rm -f "$(sp_id a)" "$(sp_id b)" >/dev/null
	sp_assert_eq 0 "$(sp_members p1)"
}
sp_test "stop/start/rm of containers count mounts exactly" t_stop_counts

sp_done
