#!/usr/bin/env bash
# Docker members reconciled after crashes (issue 15): a member docker:MOUNT-ID
# whose Unmount never comes (dockerd SIGKILLed while its container ran; the
# plugin SIGKILLed between recording a Mount and answering it) is dropped by
# `shmpipectl gc` or by the restarted plugin once dockerd has no live
# container holding that mount; the members of live containers, those kept
# alive by live-restore included, are never dropped.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/plugin.sh"

sp_plugin_start
D=$SP_DRIVER

# ids NAME : the member ids of NAME, sorted, one a line.
ids() { sp_json "$SP_STORE/state/$1.json" '"\n".join(sorted(m["id"] for m in j["members"]))'; }

# kill_dockerd : SIGKILL dockerd (its containerd shims live on).
kill_dockerd() {
	local pid
	pid=$(cat "$SP_DOCKER_DIR/docker.pid")
	kill -KILL "$pid"
	sp_wait_for 20 sh -c "! kill -0 $pid"
}

# kill_plugin : SIGKILL the plugin and wait until it is gone.
kill_plugin() {
	local pid
	pid=$(sp_plugin_pid)
	kill -KILL "$pid"
	sp_wait_for 10 sh -c "! kill -0 $pid"
}

# age_members NAME [ID] : NAME's members (or member ID) recorded an hour
# ago, past the grace in which Docker members are never judged (dockerd
# mounts a volume before the container that uses it runs).  Under the
# pipeline's lock, written as the store writes: a temp file renamed.
age_members() {
	flock "$SP_STORE/locks/$1.lock" "$SP_PYTHON" - "$SP_STORE/state/$1.json" "${2:-}" <<'PY'
import datetime, json, os, sys
path, only = sys.argv[1:3]
r = json.load(open(path))
fmt = "%Y-%m-%dT%H:%M:%SZ"
for m in r["members"]:
    if not only or m["id"] == only:
        t = datetime.datetime.strptime(m["joined"], fmt) - datetime.timedelta(hours=1)
        m["joined"] = t.strftime(fmt)
with open(path + ".aged", "w") as f:
    json.dump(r, f)
os.rename(path + ".aged", path)
PY
}

# reconciled N : the plugin's log has N "docker members checked" lines.
reconciled() { [[ $(grep -c "docker members checked" "$SP_PLUGIN_LOG") -ge $1 ]]; }

t_dockerd_killed() {
	local img c1 c2 old out rc=0
	sp_dockerd_start
	img=$(sp_docker_busybox_image)
	c1=$(sp_id a1) c2=$(sp_id a2)
	sp_docker volume create -d "$D" -o size=4m ra >/dev/null
	sp_drun -d --name "$c1" -v ra:/dev/shm "$img" sleep 600 >/dev/null
	old=$(ids ra)
	sp_assert_match "$old" '^docker:[0-9a-f]{64}$'

	kill_dockerd
	sp_dockerd_restart
	# Without live-restore dockerd stopped c1 when it came back, and sent no
	# Unmount: the member stays (the bug).
	sp_assert_eq exited "$(sp_docker inspect -f '{{.State.Status}}' "$c1")"
	sp_assert_eq "$old" "$(ids ra)"
	sp_docker rm "$c1" >/dev/null
	out=$(sp_docker volume rm ra 2>&1) || rc=$?
	sp_assert_eq 1 "$rc" "docker volume rm before gc"
	sp_assert_contains "$out" "in use by 1 member"

	# A container started after the restart joins.
	sp_drun -d --name "$c2" -v ra:/dev/shm "$img" sleep 600 >/dev/null
	sp_assert_eq 2 "$(sp_members ra)"
	sp_docker exec "$c2" shmtool write k "written after the restart"

	age_members ra
	out=$(sp_ctl gc 2>&1)
	sp_log "gc: $out"
	sp_assert_eq "ra: dropped member $old (no live container of dockerd holds it)" "$out"
	sp_assert_eq 1 "$(sp_members ra)"
	sp_assert_not_contains "$(ids ra)" "$old"
	# Again: nothing to drop, c2 is kept and still shares.
	sp_assert_eq "" "$(sp_ctl gc 2>&1)"
	sp_assert_eq 1 "$(sp_members ra)"
	sp_assert_eq "written after the restart" "$(sp_docker exec "$c2" shmtool read k)"

	sp_docker rm -f "$c2" >/dev/null
	sp_assert_eq 0 "$(sp_members ra)"
	sp_docker volume rm ra >/dev/null
	[[ ! -e $SP_STORE/state/ra.json ]] || sp_fail "ra's record survived docker volume rm"
}
sp_test "dockerd SIGKILL, restart, docker rm: gc drops the stale member, keeps the new one; volume rm works" t_dockerd_killed

t_no_dockerd() {
	local cfg out rc=0
	cfg=$SP_CASE_DIR/config.json
	sp_ctl create rb --size 1m >/dev/null
	sp_ctl join rb --id docker:0123abcd >/dev/null
	age_members rb
	# Nothing answers at the socket: one line, exit 0, member kept.
	printf '{"docker_socket": "%s"}\n' "$SP_CASE_DIR/none.sock" >"$cfg"
	out=$("$SP_CTL_BIN" --root "$SP_STORE" --config "$cfg" gc 2>&1) || rc=$?
	sp_assert_eq 0 "$rc"
	sp_assert_eq "shmpipectl: gc: Docker members not checked: no dockerd answers at $SP_CASE_DIR/none.sock" "$out"
	sp_assert_eq 1 "$(sp_members rb)"
	# "" turns the check off: not a word.
	echo '{"docker_socket": ""}' >"$cfg"
	sp_assert_eq "" "$("$SP_CTL_BIN" --root "$SP_STORE" --config "$cfg" gc 2>&1)"
	# Once a dockerd that uses this store answers (it lists rb as a volume:
	# the plugin lists every pipeline), no container of it holds the mount.
	sp_dockerd_start
	sp_assert_eq "rb: dropped member docker:0123abcd (no live container of dockerd holds it)" \
		"$(sp_ctl gc 2>&1)"
	sp_assert_eq 0 "$(sp_members rb)"
	sp_ctl rm rb >/dev/null
}
sp_test "no dockerd answering: gc says so in one line and keeps Docker members" t_no_dockerd

t_plugin_killed_in_mount() {
	local img c3 c4 rc=0 n
	sp_dockerd_start
	img=$(sp_docker_busybox_image)
	c3=$(sp_id c3) c4=$(sp_id c4)
	sp_docker volume create -d "$D" rc >/dev/null
	sp_plugin_stop
	# The plugin dies right after the store recorded the Mount, before it
	# answers: Docker sees the request fail and never sends its Unmount.
	SHMPIPE_FAULT=join:recorded sp_plugin_start
	sp_drun --name "$c3" -v rc:/dev/shm "$img" true >"$SP_CASE_DIR/run.log" 2>&1 || rc=$?
	[[ $rc -ne 0 ]] || sp_fail "docker run succeeded through a plugin killed in Mount"
	sp_wait_for 10 sh -c "! kill -0 $(sp_plugin_pid)"
	sp_assert_eq 1 "$(sp_members rc)"
	n=$(grep -c "docker members checked" "$SP_PLUGIN_LOG" || true)
	# (restarted a while later: the member is past the grace)
	age_members rc

	sp_plugin_start
	sp_wait_for 30 reconciled $((n + 1)) || sp_fail "the restarted plugin did not check its members"
	grep -q "docker members: rc: dropped member docker:" "$SP_PLUGIN_LOG"
	sp_assert_eq 0 "$(sp_members rc)"

	# A container started since is kept by the next restart's check.
	sp_drun -d --name "$c4" -v rc:/dev/shm "$img" sleep 600 >/dev/null
	sp_assert_eq 1 "$(sp_members rc)"
	kill_plugin
	sp_plugin_start
	sp_wait_for 30 reconciled $((n + 2)) || sp_fail "the restarted plugin did not check its members"
	sp_assert_eq 1 "$(sp_members rc)"
	sp_docker exec "$c4" shmtool write k v
	age_members rc
	sp_assert_eq "" "$(sp_ctl gc 2>&1)" "gc with a live container's member"

	sp_docker rm -f "$c3" "$c4" >/dev/null
	sp_assert_eq 0 "$(sp_members rc)"
	sp_docker volume rm rc >/dev/null
}
sp_test "plugin SIGKILL between recording and answering a Mount: the restarted plugin drops it, keeps a live one" t_plugin_killed_in_mount

t_live_restore() {
	local img c5 kept out
	sp_dockerd_start
	img=$(sp_docker_busybox_image)
	c5=$(sp_id c5)
	sp_docker volume create -d "$D" rd >/dev/null
	sp_drun -d --name "$c5" -v rd:/dev/shm "$img" sleep 600 >/dev/null
	sp_docker exec "$c5" shmtool write k "before the kill"
	kept=$(ids rd)

	kill_dockerd
	sp_dockerd_restart --live-restore
	sp_assert_eq running "$(sp_docker inspect -f '{{.State.Status}}' "$c5")"
	# gc and a restarted plugin both keep the survivor's member.
	age_members rd
	out=$(sp_ctl gc 2>&1)
	sp_assert_eq "" "$out"
	sp_assert_eq "$kept" "$(ids rd)"
	kill_plugin
	n=$(grep -c "docker members checked" "$SP_PLUGIN_LOG" || true)
	sp_plugin_start
	sp_wait_for 30 reconciled $((n + 1)) || sp_fail "the restarted plugin did not check its members"
	sp_assert_eq "$kept" "$(ids rd)"
	sp_assert_eq "before the kill" "$(sp_docker exec "$c5" shmtool read k)"

	# Once it is gone, its member goes too (by Unmount, or else by gc).
	sp_docker rm -f "$c5" >/dev/null
	sp_ctl gc >/dev/null
	sp_assert_eq 0 "$(sp_members rd)"
	sp_docker volume rm rd >/dev/null
}
sp_test "live-restore: a container that survives dockerd's SIGKILL keeps its member" t_live_restore

# dockerd's copy of an image's directory into a new volume: Mount under a
# random ID before any container exists, then Unmount.  A gc or a plugin's
# reconciliation in that window keeps the member (and so the pipeline, even
# an ephemeral one); past the grace, one that never saw its Unmount goes.
t_populate_window() {
	local rid n out
	sp_dockerd_start
	sp_docker volume create -d "$D" -o lifetime=ephemeral re >/dev/null
	rid=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
	sp_assert_match "$(sp_plugin_req /VolumeDriver.Mount "{\"Name\": \"re\", \"ID\": \"$rid\"}")" '^200 ' "Mount"
	sp_assert_eq "docker:$rid" "$(ids re)"
	out=$(sp_ctl gc 2>&1)
	sp_assert_eq "" "$out" "gc in the window"
	sp_assert_eq "docker:$rid" "$(ids re)" "after gc"
	n=$(grep -c "docker members checked" "$SP_PLUGIN_LOG" || true)
	kill_plugin
	sp_plugin_start
	sp_wait_for 30 reconciled $((n + 1)) || sp_fail "the restarted plugin did not check its members"
	sp_assert_eq "docker:$rid" "$(ids re)" "after the plugin's check"
	# the copy done: Unmount; the ephemeral pipeline goes with it
	sp_assert_match "$(sp_plugin_req /VolumeDriver.Unmount "{\"Name\": \"re\", \"ID\": \"$rid\"}")" '^200 ' "Unmount"
	[[ ! -e $SP_STORE/state/re.json ]] || sp_fail "the ephemeral pipeline outlived its last Unmount"
	# a Mount whose Unmount never comes goes once past the grace
	sp_docker volume rm re >/dev/null 2>&1 || true
	sp_docker volume create -d "$D" rf >/dev/null
	sp_plugin_req /VolumeDriver.Mount "{\"Name\": \"rf\", \"ID\": \"$rid\"}" >/dev/null
	age_members rf
	sp_assert_eq "rf: dropped member docker:$rid (no live container of dockerd holds it)" "$(sp_ctl gc 2>&1)"
	sp_docker volume rm rf >/dev/null
}
sp_test "Docker's copy into a new volume (Mount under a random ID, no container yet): gc and the plugin keep the member" t_populate_window

sp_done
