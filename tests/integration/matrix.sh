#!/usr/bin/env bash
# matrix.sh - features across each other.  For every row of the options
# table, a pipeline with that option set is made, in turn, by shmpipectl
# (plain NAME and NAMESPACE/NAME), by a runc container's auto-create
# through the hook (plain; NAMESPACE/NAME is refused: no pod) and by a pod's
# container through containerd's CRI (NAME in its namespace, or
# NAMESPACE/NAME).  Each is joined by one container (a runc container, or a
# pod's container for NAMESPACE/NAME), then: ls, inspect and metrics show the
# option and its own numbers, the member sees its tmpfs (and its socket
# directory), resize changes its size (and the row when it may change
# live, else is refused), gc remounts its lost tmpfs (and socket
# directory), rm (or, for lifetime=ephemeral, its member's leaving) takes
# every entry of it away.  Rows a container may not set are refused for
# containers and pods with one line, leaving nothing.  Last, two pods share
# a namespaced pipeline's socket directory that one of them made.
#
# One containerd for the file, one pod per namespace, one container start
# per cell.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
. "$(dirname "$0")/lib/cri.sh"

cri_require
hk_setup
# Containers may set every row that has an annotation; what a container
# makes stays after it (persistent) unless the row says otherwise.
printf '{"root": "%s", "auto_lifetime": "persistent", "container_options": ["size", "mode", "lifetime", "ipc", "allow-namespaces", "sockets"]}\n' \
	"$HK_ROOT" >"$HK_CONFIG"

ROOTFS=$(sp_tmpdir rootfs)
sp_busybox_rootfs "$ROOTFS"
cri_node
NS=team-m
POD=$(cri_runp "$NS" matrix)

# ROW VALUE INSPECT-KEY JSON-VALUE CHANGE: one line per row of the options
# table; CHANGE is what resize gives it live ("-": it may not change).
ROWS="size 8m size 8388608 12m
mode 0770 mode \"0770\" -
uid 1000 uid 1000 -
gid 1000 gid 1000 -
huge advise huge \"advise\" -
lifetime ephemeral lifetime \"ephemeral\" -
inodes 1000 inodes 1000 2000
ipc true ipc true -
allow-namespaces team-x allow-namespaces \"team-x\" -
sockets /tmp sockets \"/tmp\" -"

# What a member prints of its view, and leaves in its /dev/shm.
SEEN="grep -E ' /dev/shm | /tmp ' /proc/self/mountinfo >/dev/shm/seen; cat /dev/shm/seen"

# cli_args ROW VALUE / annotation ROW VALUE
cli_args() { if [[ $1 == ipc ]]; then echo --ipc; else echo "--$1" "$2"; fi; }
annotation() { echo "io.shmpipe.$1=$2"; }
# fname NAME : its file name in the store.
fname() { echo "${1/\//+}"; }

# runc_member NAME [ANNOTATION] : a detached runc container of NAME; its id.
runc_member() {
	local b id
	b=$(sp_tmpdir bundle)
	id=$(sp_id "m-${1//\//-}")
	hk_bundle "$b" createRuntime -r "$ROOTFS" -a "io.shmpipe.pipeline=$1" ${2:+-a "$2"} \
		-- /bin/sh -c "$SEEN; exec sleep 600" >/dev/null
	hk_run -d runc "$id" "$b" || {
		cat "$b/stderr.log" >&2
		return 1
	}
	sp_wait_for 10 test -s "$HK_ROOT/mnt/$(fname "$1")/seen" || sp_fail "member of $1 saw nothing"
	echo "runc:$id"
}

# pod_member NAME [ANNOTATION] : a container of the matrix pod naming NAME;
# NAME may be the pod's (namespace-less) name.
pod_member() {
	local c full=$1 n
	[[ $full == */* ]] || full=$NS/$full
	# A name of its own in the pod: stopped members keep theirs reserved, and
	# c$RANDOM once drew one of them ("name ... is reserved for ...").
	n=$(($(cat "$SP_TMP/pod-members" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$SP_TMP/pod-members"
	c=$(CRI_COMMAND=$(printf '["sh", "-c", "%s; exec sleep 600"]' "$SEEN") \
		cri_run "$POD" "c$n" "io.shmpipe.pipeline=$1" ${2:+"$2"}) || return 1
	sp_wait_for 10 test -s "$HK_ROOT/mnt/$(fname "$full")/seen" || sp_fail "member of $full saw nothing"
	echo "cri:$c"
}

# stop_member ID : the member goes (its poststop leaves the pipeline).
stop_member() {
	case $1 in
	runc:*) sp_runc delete -f "${1#runc:}" >/dev/null ;;
	cri:*) cri StopContainer "{\"container_id\": \"${1#cri:}\", \"timeout\": 0}" >/dev/null ;;
	esac
}

# check NAME KEY JSON-VALUE : ls, ls --json (inspect's objects), metrics and
# the member's view agree on NAME and its option.
check() {
	local name=$1 file
	file=$(fname "$name")
	hk_ctl ls --json >"$SP_CASE_DIR/ls.json"
	hk_ctl ls >"$SP_CASE_DIR/ls.txt"
	hk_ctl metrics >"$SP_CASE_DIR/metrics.prom"
	"$SP_PYTHON" - "$name" "$2" "$3" "$SP_CASE_DIR" "$HK_ROOT/mnt/$file/seen" <<'EOF'
import json, sys
name, key, want, d, seen = sys.argv[1:]
p = {q["name"]: q for q in json.load(open(d + "/ls.json"))}[name]
assert p[key] == json.loads(want), (key, p[key], want)
assert len(p["members"]) == 1, p["members"]
assert p["used"] > 0, p["used"]
if key == "ipc":
    assert p["ipc_namespace"].endswith("/ipc/" + name.replace("/", "+")), p["ipc_namespace"]
lines = [l for l in open(d + "/ls.txt") if l.split()[0] == name]
assert len(lines) == 1, lines
m = {}
for l in open(d + "/metrics.prom"):
    if l.startswith("shmpipe_pipeline_") and '{pipeline="%s"}' % name in l:
        m[l.split("{")[0]] = int(l.split()[-1])
assert m["shmpipe_pipeline_size_bytes"] == p["size"], (m, p["size"])
assert m["shmpipe_pipeline_used_bytes"] == p["used"], (m, p["used"])
assert m["shmpipe_pipeline_inodes_used"] == 2, m
v = open(seen).read()
assert " /dev/shm " in v and "shmpipe-%s " % name in v, v
if key == "sockets":
    assert " /tmp " in v and "shmpipe-sockets-%s " % name in v, v
EOF
}

# cell ROW VALUE KEY JSON CHANGE NAME MAKER : one pipeline through its life.
# MAKER: cli (shmpipectl create, then a member joins) or runc / pod (the
# member's auto-create).
cell() {
	local row=$1 value=$2 key=$3 json=$4 change=$5 name=$6 maker=$7 file member out
	local -a args
	file=$(fname "$name")
	read -ra args <<<"$(cli_args "$row" "$value")"
	case $maker in
	cli)
		hk_ctl create "$name" --size 4m "${args[@]}" >/dev/null
		if [[ $name == */* ]]; then member=$(pod_member "${name#*/}"); else member=$(runc_member "$name"); fi
		;;
	runc) member=$(runc_member "$name" "$(annotation "$row" "$value")") ;;
	pod) member=$(pod_member "$name" "$(annotation "$row" "$value")") ;;
	esac
	[[ $maker != pod || $name == */* ]] || name=$NS/$name
	file=$(fname "$name")
	check "$name" "$key" "$json"
	# resize: the size always; the row itself when it may change live
	hk_ctl resize "$name" --size 16m
	sp_assert_eq 16777216 "$(($(stat -f -c '%b * %S' "$HK_ROOT/mnt/$file")))" "$name: size after resize"
	if [[ $change != - ]]; then
		hk_ctl resize "$name" "--$row" "$change"
	elif out=$(hk_ctl resize "$name" "${args[@]}" 2>&1); then
		sp_fail "$name: resize --$row was taken"
	else
		sp_assert_eq 1 "$(grep -c . <<<"$out")" "$name: one line: $out"
	fi
	# gc: a lost tmpfs (and socket directory) is remounted
	umount "$HK_ROOT/mnt/$file"
	[[ $row != sockets ]] || umount "$HK_ROOT/sockets/$file"
	out=$(hk_ctl gc)
	sp_assert_contains "$out" "$name: remounted its missing tmpfs (content was lost)"
	[[ $row != sockets ]] || sp_assert_contains "$out" "$name: remounted its missing socket directory"
	hk_mounted "$file" || sp_fail "$name: gc did not remount its tmpfs"
	# the member goes; rm (or its leaving, for an ephemeral pipeline)
	stop_member "$member"
	if [[ $row == lifetime ]]; then
		! hk_exists "$file" || sp_fail "$name: ephemeral, but outlived its member"
	else
		hk_ctl rm "$name"
	fi
	for d in mnt sockets ipc; do
		[[ ! -e $HK_ROOT/$d/$file ]] || sp_fail "$name: $d/$file left"
	done
	! hk_exists "$file" || sp_fail "$name: record left"
}

# refused_cell ROW VALUE NAME MAKER : a container (runc) or a pod's
# container asks for what it may not: refused, one line, nothing left.
refused_cell() {
	local row=$1 value=$2 name=$3 maker=$4 out
	case $maker in
	runc) out=$(runc_member "$name" "$(annotation "$row" "$value")" 2>&1) ;;
	pod) out=$(pod_member "$name" "$(annotation "$row" "$value")" 2>&1) ;;
	esac && sp_fail "$name ($maker, $row=$value) was admitted: $out"
	sp_assert_match "$out" "shmpipe-hook: (pipeline $name: a qualified name|annotation io.shmpipe.$row: not for containers)"
	[[ -z $(ls -A "$HK_ROOT/state") ]] || sp_fail "$name: left $(ls -A "$HK_ROOT/state")"
}

# row_cells N : every cell of row N of ROWS.
row_cells() {
	local row value key json change
	read -r row value key json change <<<"$(sed -n "$1p" <<<"$ROWS")"
	cell "$row" "$value" "$key" "$json" "$change" "m$1" cli
	cell "$row" "$value" "$key" "$json" "$change" "$NS/m$1" cli
	# a runc container is no pod: NAMESPACE/NAME is refused
	refused_cell "$row" "$value" "$NS/k$1" runc
	if grep -qw -- "$row" <<<"size mode lifetime ipc allow-namespaces sockets"; then
		cell "$row" "$value" "$key" "$json" "$change" "k$1" runc
		# a pod names NAME (its namespace's) or NAMESPACE/NAME, in turn
		if (($1 % 2)); then
			cell "$row" "$value" "$key" "$json" "$change" "p$1" pod
		else
			cell "$row" "$value" "$key" "$json" "$change" "$NS/p$1" pod
		fi
	else
		refused_cell "$row" "$value" "k$1" runc
		refused_cell "$row" "$value" "p$1" pod
	fi
}

# Two pods of one namespace share the socket directory that the first one's
# container made (io.shmpipe.sockets), through a FIFO and a file, with
# their own /tmp; a pod of another namespace naming the same NAME has its own.
t_pods_share_sockets() {
	local p1 p2 p3 c1 c2 c3
	p1=$(cri_runp team-s one)
	p2=$(cri_runp team-s two)
	p3=$(cri_runp team-t three)
	c1=$(cri_run "$p1" app io.shmpipe.pipeline=sock io.shmpipe.sockets=/tmp)
	c2=$(cri_run "$p2" app io.shmpipe.pipeline=sock)
	c3=$(cri_run "$p3" app io.shmpipe.pipeline=sock io.shmpipe.sockets=/tmp)
	sp_defer hk_quiet hk_ctl rm --force team-s/sock
	sp_defer hk_quiet hk_ctl rm --force team-t/sock
	cri_exec "$c1" sh -c 'mkfifo /tmp/fifo && echo from-one >/tmp/hello'
	cri_exec "$c2" sh -c 'test -p /tmp/fifo && cat /tmp/hello' >"$SP_CASE_DIR/two"
	sp_assert_eq from-one "$(cat "$SP_CASE_DIR/two")" "the second pod reads the first one's file"
	sp_assert_contains "$(cri_exec "$c2" grep ' /tmp ' /proc/self/mountinfo)" "shmpipe-sockets-team-s/sock "
	sp_assert_fails cri_exec "$c3" test -e /tmp/hello
	sp_assert_contains "$(cri_exec "$c3" grep ' /tmp ' /proc/self/mountinfo)" "shmpipe-sockets-team-t/sock "
	# a FIFO between the two pods: one writes, the other reads
	cri_exec "$c1" sh -c '(echo through-fifo >/tmp/fifo) </dev/null >/dev/null 2>&1 &' 
	sp_assert_eq through-fifo "$(cri_exec "$c2" cat /tmp/fifo)"
	sp_assert_eq "$(printf '%s\n' "$c1" "$c2" | sort)" "$(hk_members team-s+sock | sort)" "members"
	[[ -d $HK_ROOT/sockets/team-s+sock && ! -e $HK_ROOT/sockets/team-s ]] || sp_fail "socket directory not at sockets/team-s+sock"
}

for i in $(seq 1 "$(grep -c . <<<"$ROWS")"); do
	sp_test "matrix: $(sed -n "${i}p" <<<"$ROWS" | cut -d' ' -f1-2): CLI NAME and $NS/NAME, runc auto-create, pod; ls, inspect, metrics, resize, gc, rm" row_cells "$i"
done
sp_test "matrix: two pods of team-s share the socket directory one of them made; team-t's sock is its own" t_pods_share_sockets
sp_done
