#!/usr/bin/env bash
# security_plugin.sh - the plugin's socket is root's alone, from the first
# instant it exists (even when the plugin is started under umask 000), and
# a user other than root can neither connect to it nor reach the store.
# (Its mode once serving, its privileges and its handling of bad requests
# are in plugin_requests.sh.)
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/plugin.sh"

# Watch the socket's path from before the plugin starts: the first mode and
# owner anyone could see, and every change after, until it answers.
t_socket_from_birth() {
	local sock="$SP_CASE_DIR/run/p.sock" pid watch seen
	mkdir -p "$SP_CASE_DIR/run"
	chmod 755 "$SP_CASE_DIR/run"
	"$SP_PYTHON" - "$sock" "$SP_CASE_DIR/modes" <<'EOF' &
import os, stat, sys, time
path, out = sys.argv[1:3]
seen = []
deadline = time.time() + 20
while time.time() < deadline:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if seen:
            break
        continue
    m = "%o %d:%d %s" % (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                         "socket" if stat.S_ISSOCK(st.st_mode) else "other")
    if not seen or seen[-1] != m:
        seen.append(m)
    if os.path.exists(out + ".stop"):
        break
with open(out, "w") as f:
    f.write("\n".join(seen) + "\n")
EOF
	watch=$!
	(umask 000 && exec "$SP_PLUGIN_BIN" --socket "$sock" --root "$SP_STORE") >>"$SP_CASE_DIR/log" 2>&1 &
	pid=$!
	sp_defer _sp_quiet kill -TERM "$pid"
	sp_wait_for 10 sh -c "curl -s --unix-socket '$sock' -X POST http://plugin/Plugin.Activate | grep -q VolumeDriver"
	touch "$SP_CASE_DIR/modes.stop"
	wait "$watch"
	seen=$(cat "$SP_CASE_DIR/modes")
	echo "modes seen: $seen"
	sp_assert_eq "600 0:0 socket" "$seen" "the socket's mode and owner from its creation on"
	kill -TERM "$pid"
	wait "$pid" || true
}

t_other_users() {
	local out rc=0 u=65534
	sp_plugin_start
	# nobody cannot connect: EACCES on the socket, before any HTTP
	out=$(setpriv --reuid "$u" --regid "$u" --clear-groups \
		curl -sS --max-time 5 --unix-socket "$SP_PLUGIN_SOCK" -X POST \
		--data-binary '{"Name":"x"}' http://plugin/VolumeDriver.Create 2>&1) || rc=$?
	echo "$out"
	sp_assert_eq 7 "$rc" "curl as uid $u"
	out=$(setpriv --reuid "$u" --regid "$u" --clear-groups "$SP_PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print(e.strerror)
else:
    print("connected")' "$SP_PLUGIN_SOCK")
	sp_assert_eq "Permission denied" "$out" "connect(2) as uid $u"
	[[ ! -e $SP_STORE/state/x.json ]] || sp_fail "a volume was made for uid $u"
	# nor does the store let it in: records are root's, tmpfs mounts too
	sp_assert_eq '200 {"Err":""}' "$(sp_plugin_req /VolumeDriver.Create '{"Name":"s1","Opts":{"mode":"0700"}}')"
	sp_assert_fails setpriv --reuid "$u" --regid "$u" --clear-groups sh -c "echo x >'$SP_STORE/state/s1.json'"
	sp_assert_fails setpriv --reuid "$u" --regid "$u" --clear-groups sh -c "ls '$SP_STORE/mnt/s1/'"
	sp_assert_fails setpriv --reuid "$u" --regid "$u" --clear-groups sh -c "echo x >'$SP_STORE/locks/s1.lock'"
	sp_assert_eq '200 {"Err":""}' "$(sp_plugin_req /VolumeDriver.Remove '{"Name":"s1"}')"
	sp_plugin_stop
}

sp_test "started under umask 000, the socket is 0600 root:root from the instant it exists" t_socket_from_birth
sp_test "a user other than root cannot connect to the socket, nor write the store" t_other_users
sp_done
