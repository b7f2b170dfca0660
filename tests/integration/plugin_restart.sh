#!/usr/bin/env bash
# Restart safety: the plugin is SIGKILLed while Docker containers run on its
# volumes, then restarted.  Nothing was in its memory: the containers still
# share, Mount/Unmount/Remove still work, and the member counts are exact.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/plugin.sh"

sp_plugin_start
sp_dockerd_start
IMG=$(sp_docker_busybox_image)
D=$SP_DRIVER
C1=$(sp_id c1) C2=$(sp_id c2) C3=$(sp_id c3)

t_before() {
	sp_docker volume create -d "$D" -o size=4m r1 >/dev/null
	sp_drun -d --name "$C1" -v r1:/dev/shm "$IMG" sleep 600 >/dev/null
	sp_drun -d --name "$C2" -v r1:/dev/shm "$IMG" sleep 600 >/dev/null
	sp_docker exec "$C1" shmtool write before "written before the kill"
	sp_assert_eq "written before the kill" "$(sp_docker exec "$C2" shmtool read before)"
	sp_assert_eq 2 "$(sp_members r1)"
}
sp_test "two containers share r1" t_before

t_kill() {
	local pid
	pid=$(sp_plugin_pid)
	kill -KILL "$pid"
	sp_wait_for 10 sh -c "! kill -0 $pid"
	# Its socket is left behind, answering nothing.
	[[ -S $SP_PLUGIN_SOCK ]] || sp_fail "expected the killed plugin's socket"
	sp_assert_fails curl -sS --max-time 5 --unix-socket "$SP_PLUGIN_SOCK" -X POST http://plugin/Plugin.Activate
	# The containers do not need the plugin to share: the tmpfs is the kernel's.
	sp_docker exec "$C2" shmtool write during "written while the plugin was dead"
	sp_assert_eq "written while the plugin was dead" "$(sp_docker exec "$C1" shmtool read during)"
	sp_assert_eq 2 "$(sp_members r1)"
}
sp_test "SIGKILL: containers keep sharing, the store keeps its count" t_kill

t_restart() {
	sp_plugin_start
	grep -q "removed a stale socket" "$SP_PLUGIN_LOG"
	# Docker sees the same volume, with both mounts.
	sp_docker volume inspect r1 >"$SP_CASE_DIR/r1.json"
	sp_assert_eq 2 "$(sp_json "$SP_CASE_DIR/r1.json" 'len(j[0]["Status"]["members"])')"
	sp_assert_eq 4194304 "$(sp_json "$SP_CASE_DIR/r1.json" 'j[0]["Status"]["size"]')"
	sp_assert_contains "$(sp_docker volume ls --format '{{.Driver}} {{.Name}}')" "$D r1"
	# A new container joins and sees everything.
	sp_drun -d --name "$C3" -v r1:/dev/shm "$IMG" sleep 600 >/dev/null
	sp_assert_eq 3 "$(sp_members r1)"
	sp_assert_eq "written before the kill" "$(sp_docker exec "$C3" shmtool read before)"
	sp_assert_eq "written while the plugin was dead" "$(sp_docker exec "$C3" shmtool read during)"
	sp_docker exec "$C3" shmtool write after "written after the restart"
	sp_assert_eq "written after the restart" "$(sp_docker exec "$C1" shmtool read after)"
}
sp_test "restarted: same volume, same members, a new container joins" t_restart

t_unmount_remove() {
	local out rc=0
	# Unmounts of mounts made before the kill are counted off exactly.
	sp_docker rm -f "$C1" >/dev/null
	sp_assert_eq 2 "$(sp_members r1)"
	sp_docker stop -t 1 "$C2" >/dev/null
	sp_assert_eq 1 "$(sp_members r1)"
	# Docker refuses rm while C2 (stopped) and C3 (running) exist.
	out=$(sp_docker volume rm r1 2>&1) || rc=$?
	sp_assert_eq 1 "$rc"
	sp_assert_contains "$out" "in use"
	sp_docker rm -f "$C2" "$C3" >/dev/null
	sp_assert_eq 0 "$(sp_members r1)"
	# Persistent: still there, content and all.
	sp_assert_eq "written after the restart" "$(sp_drun --rm -v r1:/dev/shm "$IMG" shmtool read after)"
	sp_docker volume rm r1 >/dev/null
	[[ ! -e $SP_STORE/state/r1.json ]] || sp_fail "r1's record survived docker volume rm"
	mountpoint -q "$SP_STORE/mnt/r1" 2>/dev/null && sp_fail "r1 still mounted"
	true
}
sp_test "Unmount and Remove work after the restart; counts are exact" t_unmount_remove

t_kill_during_use() {
	local i pid
	# Kill and restart the plugin repeatedly while containers come and go:
	# every Mount/Unmount Docker got an answer for is in the store.
	sp_docker volume create -d "$D" r2 >/dev/null
	for ((i = 0; i < 3; i++)); do
		sp_drun -d --name "$(sp_id k$i)" -v r2:/dev/shm "$IMG" sleep 600 >/dev/null
		pid=$(sp_plugin_pid)
		kill -KILL "$pid"
		sp_wait_for 10 sh -c "! kill -0 $pid"
		sp_plugin_start
		sp_assert_eq $((i + 1)) "$(sp_members r2)"
	done
	for ((i = 0; i < 3; i++)); do
		sp_docker rm -f "$(sp_id k$i)" >/dev/null
		sp_assert_eq $((2 - i)) "$(sp_members r2)"
	done
	sp_docker volume rm r2 >/dev/null
}
sp_test "kill/restart between container starts: counts stay exact" t_kill_during_use

t_unmount_while_down() {
	local pid stopper
	# docker stop while the plugin is down: Docker retries the Unmount (for
	# up to 30 s), so a prompt restart (systemd Restart=, or its socket
	# queueing connections) loses nothing.
	sp_docker volume create -d "$D" r3 >/dev/null
	sp_drun -d --name "$(sp_id w)" -v r3:/dev/shm "$IMG" sleep 600 >/dev/null
	sp_assert_eq 1 "$(sp_members r3)"
	pid=$(sp_plugin_pid)
	kill -KILL "$pid"
	sp_wait_for 10 sh -c "! kill -0 $pid"
	sp_docker stop -t 1 "$(sp_id w)" >"$SP_CASE_DIR/stop.log" 2>&1 &
	stopper=$!
	sleep 3
	sp_plugin_start
	wait "$stopper"
	# docker stop returned: its Unmount got through.
	sp_assert_eq 0 "$(sp_members r3)" "members after the retried Unmount"
	sp_docker rm -f "$(sp_id w)" >/dev/null
	sp_docker volume rm r3 >/dev/null
}
sp_test "an Unmount sent while the plugin is down lands after the restart" t_unmount_while_down

t_lost_tmpfs() {
	local pid
	# A persistent store root whose tmpfs went away (a reboot): the plugin
	# mounts it again when it starts, and Docker can use the volume.
	sp_docker volume create -d "$D" -o size=1m r4 >/dev/null
	pid=$(sp_plugin_pid)
	kill -KILL "$pid"
	sp_wait_for 10 sh -c "! kill -0 $pid"
	umount "$SP_STORE/mnt/r4"
	sp_plugin_start
	grep -q "store: r4: remounted its missing tmpfs" "$SP_PLUGIN_LOG"
	mountpoint -q "$SP_STORE/mnt/r4"
	sp_drun --rm -v r4:/dev/shm "$IMG" shmtool write again ok
	sp_docker volume rm r4 >/dev/null
}
sp_test "a pipeline whose tmpfs vanished is mounted again at start" t_lost_tmpfs

sp_done
