#!/usr/bin/env bash
# The plugin as a server, without Docker: the socket, bad requests over a
# real connection (each gets an Err and the plugin keeps serving), signals,
# stale and live sockets, systemd socket activation, the privileges it keeps,
# its idle memory.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/plugin.sh"

sp_plugin_start

# "STATUS {"Err":"..."}" with a non-empty Err containing WANT.
expect_err() {
	local want_status=$1 want=$2 out
	shift 2
	out=$(sp_plugin_req "$@")
	sp_assert_match "$out" "^$want_status \\{\"Err\":\"[^\"]" "status/Err for $1"
	sp_assert_contains "$out" "$want" "message for $1"
	echo "$1 -> $out"
}

t_socket() {
	local st
	st=$(stat -c '%a %U %G %F' "$SP_PLUGIN_SOCK")
	sp_assert_eq "600 root root socket" "$st"
	# Made by whoever came first (0755 by the plugin, 0700 by dockerd): root's.
	sp_assert_match "$(stat -c '%U %A' /run/docker/plugins)" '^root drwx[r-]-[x-][r-]-[x-]$'
	# A missing directory is created, 0755.
	local sock="$SP_CASE_DIR/new/dir/p.sock" pid
	"$SP_PLUGIN_BIN" --socket "$sock" --root "$SP_STORE" 2>>"$SP_CASE_DIR/log" &
	pid=$!
	sp_wait_for 10 test -S "$sock"
	sp_assert_eq "755 600" "$(stat -c %a "$SP_CASE_DIR/new/dir") $(stat -c %a "$sock")"
	kill -TERM $pid
	wait $pid
}
sp_test "socket is 0600 root:root in /run/docker/plugins" t_socket

t_protocol() {
	sp_assert_eq '200 {"Implements":["VolumeDriver"]}' "$(sp_plugin_req /Plugin.Activate)"
	sp_assert_eq '200 {"Capabilities":{"Scope":"local"}}' "$(sp_plugin_req /VolumeDriver.Capabilities '{}')"
	local ct
	ct=$(curl -sS --unix-socket "$SP_PLUGIN_SOCK" -X POST -d '{}' -o /dev/null -w '%{content_type}' \
		http://plugin/VolumeDriver.List)
	sp_assert_eq "application/vnd.docker.plugins.v1.1+json" "$ct"
	sp_assert_eq '200 {"Err":""}' "$(sp_plugin_req /VolumeDriver.Create '{"Name":"q1","Opts":{"size":"1m"}}')"
	sp_assert_contains "$(sp_plugin_req /VolumeDriver.List '{}')" '"Name":"q1"'
	# Create again: same options fine, other options refused naming the
	# option, none at all fine (Docker's implicit create on `run -v`).
	sp_assert_eq '200 {"Err":""}' "$(sp_plugin_req /VolumeDriver.Create '{"Name":"q1","Opts":{"size":"1m"}}')"
	sp_assert_contains "$(sp_plugin_req /VolumeDriver.Create '{"Name":"q1","Opts":{"size":"2m"}}')" \
		'already exists with a different size'
	sp_assert_eq '200 {"Err":""}' "$(sp_plugin_req /VolumeDriver.Create '{"Name":"q1","Opts":null}')"
	sp_assert_eq '200 {"Err":""}' "$(sp_plugin_req /VolumeDriver.Remove '{"Name":"q1"}')"
}
sp_test "Activate, Capabilities, content type, Create/List/Remove" t_protocol

t_bad_requests() {
	local big="$SP_CASE_DIR/big"
	expect_err 200 'VolumeDriver.Create: request body: invalid JSON' /VolumeDriver.Create '{"Name": "x"'
	expect_err 200 'not a JSON object' /VolumeDriver.Create '["Name"]'
	expect_err 200 '"Name\" must be a string' /VolumeDriver.Create '{"Name": 5}'
	expect_err 200 '"Opts\" must be an object of strings' /VolumeDriver.Create '{"Name":"x","Opts":[1]}'
	expect_err 200 'option \"size\": the value must be a string' /VolumeDriver.Create \
		'{"Name":"x","Opts":{"size":1}}'
	expect_err 200 '"ID\" must be a string' /VolumeDriver.Mount '{"Name":"x","ID":1}'
	expect_err 200 'missing \"Name\"' /VolumeDriver.Get '{}'
	expect_err 404 'unknown endpoint \"/VolumeDriver.Explode\"' /VolumeDriver.Explode '{}'
	expect_err 404 'unknown endpoint' /etc/passwd '{}'
	expect_err 200 'invalid pipeline name \"../../etc\"' /VolumeDriver.Create '{"Name":"../../etc"}'
	expect_err 200 'invalid pipeline name' /VolumeDriver.Mount '{"Name":"a b","ID":"x"}'
	expect_err 200 'invalid size \"huge\"' /VolumeDriver.Create '{"Name":"x","Opts":{"size":"huge"}}'
	expect_err 200 'exceeds the configured maximum' /VolumeDriver.Create '{"Name":"x","Opts":{"size":"900t"}}'
	expect_err 200 'unknown option \"colour\"' /VolumeDriver.Create '{"Name":"x","Opts":{"colour":"red"}}'
	expect_err 200 'invalid mount ID' /VolumeDriver.Mount '{"Name":"x","ID":"../x"}'
	# Over the 64 KiB cap, with a Content-Length and chunked: read, dropped,
	# refused.
	head -c 100000 /dev/zero | tr '\0' ' ' >"$big"
	expect_err 413 'request body larger than 65536 bytes' /VolumeDriver.Create "@$big"
	expect_err 413 'request body larger than 65536 bytes' /VolumeDriver.Create "@$big" \
		-H 'Transfer-Encoding: chunked'
	# Far over it (8 MiB): refused as soon as the headers are in.
	head -c 8M /dev/zero | tr '\0' ' ' >"$big"
	expect_err 413 'request body larger than 65536 bytes' /VolumeDriver.Create "@$big" \
		-H 'Expect: 100-continue'
	# Streamed without a length, far over it: the connection is cut.
	if sp_plugin_req /VolumeDriver.Create "@$big" -H 'Transfer-Encoding: chunked' >/dev/null 2>&1; then
		:
	fi
	expect_err 405 'method GET not allowed' /VolumeDriver.List '' -X GET
	# Nothing was created by any of it, and the plugin still serves.
	[[ ! -e $SP_STORE/state/x.json ]] || sp_fail "a refused request created a pipeline"
	kill -0 "$(sp_plugin_pid)"
	sp_assert_eq '200 {"Implements":["VolumeDriver"]}' "$(sp_plugin_req /Plugin.Activate)"
}
sp_test "bad requests each get a clear Err; the plugin keeps serving" t_bad_requests

t_abuse() {
	local i pids=() ok=0
	# A client that sends half a request and stalls does not block others
	# (one thread, but non-blocking I/O).
	python3 - "$SP_PLUGIN_SOCK" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.send(b"POST /VolumeDriver.List HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
time.sleep(5)
EOF
	pids+=($!)
	sleep 0.3
	sp_assert_eq '200 {"Implements":["VolumeDriver"]}' "$(sp_plugin_req /Plugin.Activate)"
	# Bursts of parallel clients all get answers.
	for ((i = 0; i < 40; i++)); do
		sp_plugin_req /VolumeDriver.List '{}' >"$SP_CASE_DIR/burst.$i" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}" || true
	for ((i = 0; i < 40; i++)); do
		[[ $(cat "$SP_CASE_DIR/burst.$i") == 200\ * ]] && ok=$((ok + 1))
	done
	sp_assert_eq 40 "$ok" "answered parallel requests"
	# Garbage that is not HTTP.
	head -c 3000 /dev/urandom | python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read())
s.settimeout(5)
try: s.recv(100)
except Exception: pass' "$SP_PLUGIN_SOCK"
	sp_assert_eq '200 {"Implements":["VolumeDriver"]}' "$(sp_plugin_req /Plugin.Activate)"
}
sp_test "a stalled client, 40 parallel clients, non-HTTP garbage" t_abuse

# Go's net.Dial (dockerd's) does a non-blocking connect on unix sockets and
# fails at once with EAGAIN when the backlog is full.  200 clients dialling
# while the plugin cannot accept (stopped here) must all get in and then all
# get answers.
t_connect_burst() {
	local pid out
	pid=$(sp_plugin_pid)
	kill -STOP "$pid"
	sp_defer kill -CONT "$pid"
	out=$(python3 - "$SP_PLUGIN_SOCK" "$pid" <<'EOF'
import os, signal, socket, sys
path, pid, n = sys.argv[1], int(sys.argv[2]), 200
req = b"POST /VolumeDriver.Capabilities HTTP/1.1\r\nHost: p\r\nContent-Length: 2\r\n\r\n{}"
socks, refused = [], 0
for _ in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.setblocking(False)
    try:
        s.connect(path)
        s.send(req)
        socks.append(s)
    except BlockingIOError:
        refused += 1
        s.close()
os.kill(pid, signal.SIGCONT)
answered = 0
for s in socks:
    s.setblocking(True)
    s.settimeout(20)
    try:
        if s.recv(4096).startswith(b"HTTP/1.1 200"):
            answered += 1
    except OSError:
        pass
    s.close()  # frees one of the plugin's connection slots
print(f"refused={refused} answered={answered}")
EOF
	)
	sp_assert_eq "refused=0 answered=200" "$out"
}
sp_test "200 non-blocking connects while the plugin is stopped: none refused, all answered" t_connect_burst

t_hardening() {
	local pid st
	pid=$(sp_plugin_pid)
	st=$(cat "/proc/$pid/status")
	sp_assert_match "$st" $'NoNewPrivs:\t1'
	sp_assert_match "$st" $'Seccomp:\t2'
	# CAP_SYS_ADMIN (21), CAP_DAC_OVERRIDE (1), CAP_CHOWN (0) and CAP_FOWNER
	# (3) only, bounding set too.
	sp_assert_match "$st" $'CapEff:\t000000000020000b'
	sp_assert_match "$st" $'CapPrm:\t000000000020000b'
	sp_assert_match "$st" $'CapBnd:\t000000000020000b'
	sp_assert_match "$st" $'CapInh:\t0000000000000000'
	# ... and it still mounts under them (and the filter), also a tmpfs that
	# belongs to another uid with mode 0700.
	sp_assert_eq '200 {"Err":""}' \
		"$(sp_plugin_req /VolumeDriver.Create '{"Name":"h1","Opts":{"uid":"1000","mode":"0700"}}')"
	# ... and puts back the root's owner and mode that something (Docker's
	# copy of an image directory) changed, on Mount and on Unmount.
	chown 0:0 "$SP_STORE/mnt/h1" && chmod 0755 "$SP_STORE/mnt/h1"
	sp_assert_contains "$(sp_plugin_req /VolumeDriver.Mount '{"Name":"h1","ID":"m1"}')" '"Mountpoint"'
	sp_assert_eq "700 1000 0" "$(stat -c '%a %u %g' "$SP_STORE/mnt/h1")" "root after Mount"
	chown 0:0 "$SP_STORE/mnt/h1" && chmod 0755 "$SP_STORE/mnt/h1"
	sp_assert_eq '200 {"Err":""}' "$(sp_plugin_req /VolumeDriver.Unmount '{"Name":"h1","ID":"m1"}')"
	sp_assert_eq "700 1000 0" "$(stat -c '%a %u %g' "$SP_STORE/mnt/h1")" "root after Unmount"
	sp_assert_contains "$(sp_plugin_req /VolumeDriver.Get '{"Name":"h1"}')" '"used":'
	sp_assert_eq '200 {"Err":""}' "$(sp_plugin_req /VolumeDriver.Remove '{"Name":"h1"}')"
	mountpoint -q "$SP_STORE/mnt/h1" && sp_fail "h1 still mounted"
	# The seccomp filter is really there: the plugin's threads carry it.
	for t in /proc/"$pid"/task/*; do
		sp_assert_match "$(cat "$t/status")" $'Seccomp:\t2' "thread $t"
	done
}
sp_test "no_new_privs, seccomp, only CAP_SYS_ADMIN+CAP_DAC_OVERRIDE+CAP_CHOWN+CAP_FOWNER; still mounts, restores the root" t_hardening

t_rss() {
	local pid rss
	grep -qa __asan_init "$SP_PLUGIN_BIN" && sp_skip "a sanitizer build: its shadow memory is not the plugin's"
	pid=$(sp_plugin_pid)
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
	echo "idle RSS: ${rss} KiB"
	echo "idle RSS: ${rss} KiB" >"$SP_TMP/rss"
	((rss < 8192)) || sp_fail "idle RSS ${rss} KiB >= 8 MiB"
}
# ipc=true pins an IPC namespace from a child that unshares: the seccomp
# filter lets exactly that through, and nothing else of unshare.
t_ipc_under_seccomp() {
	local out
	out=$(sp_plugin_req /VolumeDriver.Create '{"Name":"ipcv","Opts":{"ipc":"true"}}')
	sp_assert_eq '200 {"Err":""}' "$out"
	out=$(sp_plugin_req /VolumeDriver.Get '{"Name":"ipcv"}')
	sp_assert_contains "$out" "\"ipc_namespace\":\"$SP_STORE/ipc/ipcv\""
	[[ $(stat -f -c %T "$SP_STORE/ipc/ipcv") == nsfs ]] || sp_fail "no IPC namespace pinned"
	sp_assert_eq '200 {"Err":""}' "$(sp_plugin_req /VolumeDriver.Remove '{"Name":"ipcv"}')"
	[[ ! -e $SP_STORE/ipc/ipcv ]] || sp_fail "IPC namespace left pinned"
}

sp_test "ipc=true works under the plugin's seccomp filter" t_ipc_under_seccomp
sp_test "idle RSS under 8 MiB" t_rss

t_sigterm() {
	local pid rc=0
	pid=$(sp_plugin_pid)
	kill -TERM "$pid"
	sp_wait_for 10 sh -c "! kill -0 $pid"
	[[ ! -e $SP_PLUGIN_SOCK ]] || sp_fail "socket left after SIGTERM"
	grep -q 'Terminated: stopping' "$SP_PLUGIN_LOG"
	# SIGINT too.
	sp_plugin_start
	pid=$(sp_plugin_pid)
	kill -INT "$pid"
	sp_wait_for 10 sh -c "! kill -0 $pid"
	[[ ! -e $SP_PLUGIN_SOCK ]] || sp_fail "socket left after SIGINT"
	# The exit status: run one in the foreground of a subshell.
	("$SP_PLUGIN_BIN" --socket "$SP_PLUGIN_SOCK" --root "$SP_STORE" 2>>"$SP_PLUGIN_LOG" &
		p=$!
		sleep 0.5
		kill -TERM $p
		wait $p) || rc=$?
	sp_assert_eq 0 "$rc" "exit status after SIGTERM"
}
sp_test "SIGTERM/SIGINT: exit 0, socket removed" t_sigterm

t_stale_and_live() {
	local pid out rc=0
	# A plugin killed with SIGKILL leaves its socket: the next one replaces it.
	sp_plugin_start
	sp_plugin_stop KILL
	[[ -S $SP_PLUGIN_SOCK ]] || sp_fail "expected a stale socket"
	sp_plugin_start
	grep -q "removed a stale socket $SP_PLUGIN_SOCK" "$SP_PLUGIN_LOG"
	# A second plugin on a live socket refuses, and leaves it alone.
	out=$("$SP_PLUGIN_BIN" --socket "$SP_PLUGIN_SOCK" --root "$SP_STORE" 2>&1) || rc=$?
	sp_assert_eq 1 "$rc"
	sp_assert_contains "$out" "another plugin is serving it"
	sp_assert_eq '200 {"Implements":["VolumeDriver"]}' "$(sp_plugin_req /Plugin.Activate)"
	# Not a socket: refused, not removed.
	touch "$SP_CASE_DIR/file"
	rc=0
	out=$("$SP_PLUGIN_BIN" --socket "$SP_CASE_DIR/file" --root "$SP_STORE" 2>&1) || rc=$?
	sp_assert_eq 1 "$rc"
	sp_assert_contains "$out" "exists and is not a socket"
	[[ -f $SP_CASE_DIR/file ]]
}
sp_test "stale socket replaced, live socket and non-socket refused" t_stale_and_live

t_socket_activation() {
	local sock="$SP_CASE_DIR/act.sock" pid out
	sp_require_cmd systemd-socket-activate
	# The plugin is given fd 3 (LISTEN_FDS/LISTEN_PID); --socket is ignored.
	systemd-socket-activate -l "$sock" -- "$SP_PLUGIN_BIN" --root "$SP_STORE" \
		--socket "$SP_CASE_DIR/unused.sock" >>"$SP_CASE_DIR/act.log" 2>&1 &
	pid=$!
	sp_defer kill "$pid"
	sp_wait_for 10 test -S "$sock"
	out=$(SP_REQ_SOCK=$sock sp_plugin_req /Plugin.Activate)
	sp_assert_eq '200 {"Implements":["VolumeDriver"]}' "$out"
	out=$(SP_REQ_SOCK=$sock sp_plugin_req /VolumeDriver.List '{}')
	sp_assert_match "$out" '^200 \{"Volumes":'
	[[ ! -e $SP_CASE_DIR/unused.sock ]] || sp_fail "--socket was bound despite socket activation"
	grep -q "socket-activated fd 3" "$SP_CASE_DIR/act.log"
	# Stopping leaves the socket to its owner (systemd).
	kill -TERM "$pid"
	sp_wait_for 10 sh -c "! kill -0 $pid"
}
sp_test "systemd socket activation (fd 3)" t_socket_activation

t_cli() {
	local out rc=0
	out=$("$SP_PLUGIN_BIN" --help)
	sp_assert_contains "$out" "Usage: shmpipe-plugin"
	sp_assert_contains "$out" "docker volume create -d shmpipe"
	sp_assert_contains "$out" "lifetime=L"
	sp_assert_match "$("$SP_PLUGIN_BIN" --version)" '^shmpipe-plugin [0-9]+\.[0-9]+'
	"$SP_PLUGIN_BIN" --bogus >/dev/null 2>&1 || rc=$?
	sp_assert_eq 2 "$rc"
	rc=0
	"$SP_PLUGIN_BIN" --log-level loud >/dev/null 2>&1 || rc=$?
	sp_assert_eq 2 "$rc"
	rc=0
	out=$("$SP_PLUGIN_BIN" --socket relative.sock --root "$SP_STORE" 2>&1) || rc=$?
	sp_assert_eq 1 "$rc"
	sp_assert_contains "$out" "must be an absolute path"
	rc=0
	out=$("$SP_PLUGIN_BIN" --config "$SP_CASE_DIR/missing.json" --socket "$SP_CASE_DIR/s.sock" 2>&1) || rc=$?
	sp_assert_eq 1 "$rc"
}
sp_test "--help, --version, usage errors" t_cli

sp_done
