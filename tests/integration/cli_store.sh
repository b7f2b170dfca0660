#!/usr/bin/env bash
# shmpipectl against a temporary store root: the store's promises as a user
# sees them (mounts, members, locks, lifetimes, errors, gc).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

. "$(dirname "$0")/lib/store.sh"

mountinfo_of() { awk -v m="$1" '$5 == m' /proc/self/mountinfo; }

# Runs shmtool in a private mount namespace whose /dev/shm is DIR: what a
# container joined to the pipeline sees.
in_pipeline() {
	local dir=$1
	shift
	unshare -m sh -c 'mount --make-rprivate / && mount --bind "$0" /dev/shm && exec "$@"' "$dir" "$SHMTOOL" "$@"
}

t_lifecycle() {
	local root mp out
	new_root
	mp=$(ctl create frames --size 16m)
	sp_assert_eq "$root/mnt/frames" "$mp"
	out=$(ctl ls)
	sp_assert_match "$out" $'NAME +SIZE +USED +MEMBERS +LIFETIME +CREATED\nframes +16M +0B +0 +persistent +20[0-9-]+T'
	in_pipeline "$mp" write frames "hello from A"
	out=$(in_pipeline "$mp" read frames)
	sp_assert_eq "hello from A" "$out" "a second process reads the segment"
	[[ ! -e /dev/shm/frames ]] || sp_fail "the host's /dev/shm sees the segment"
	out=$(ctl inspect frames)
	[[ $(sp_json <(echo "$out") 'j["used"]') -gt 0 ]] || sp_fail "used stays 0 after a write"
	ctl rm frames
	[[ -z $(mountinfo_of "$mp") ]] || sp_fail "tmpfs still mounted after rm"
	[[ ! -e $root/state/frames.json && ! -e $mp ]] || sp_fail "rm left state or mountpoint"
	sp_assert_eq "" "$(ctl ls --json | tr -d ' \n[]')"
}

t_mount_flags() {
	local root mp line
	new_root
	mp=$(ctl create flags --size 3m --mode 1770 --uid 1000 --gid 1001 --inodes 100)
	line=$(mountinfo_of "$mp")
	# mount options (field 6) exactly rw,nosuid,nodev,noexec plus atime flavour
	sp_assert_match "$(awk '{print $6}' <<<"$line")" '^rw,nosuid,nodev,noexec(,relatime)?$'
	sp_assert_contains "$line" " - tmpfs shmpipe-flags "
	sp_assert_contains "$line" "size=3072k"
	sp_assert_contains "$line" "nr_inodes=100"
	sp_assert_contains "$line" "mode=1770"
	sp_assert_contains "$line" "uid=1000"
	sp_assert_contains "$line" "gid=1001"
	sp_assert_eq "1770 1000 1001" "$(stat -c '%a %u %g' "$mp")"
	sp_assert_eq '"1770"' "$(ctl inspect flags | grep '"mode"' | awk '{print $2}' | tr -d ,)"
	ctl rm flags
}

t_inspect_json() {
	local root out
	new_root
	ctl create insp --size 1g --huge within_size --lifetime persistent >/dev/null
	ctl join insp --id c1 --pid $$
	out=$(ctl inspect insp)
	sp_assert_eq insp "$(sp_json <(echo "$out") 'j["name"]')"
	sp_assert_eq "$root/mnt/insp" "$(sp_json <(echo "$out") 'j["mountpoint"]')"
	sp_assert_eq 1073741824 "$(sp_json <(echo "$out") 'j["size"]')"
	sp_assert_eq within_size "$(sp_json <(echo "$out") 'j["huge"]')"
	sp_assert_eq 1777 "$(sp_json <(echo "$out") 'j["mode"]')"
	sp_assert_eq '[0, 0]' "$(sp_json <(echo "$out") '[j["uid"], j["gid"]]')"
	sp_assert_match "$(sp_json <(echo "$out") 'j["created"]')" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
	sp_assert_eq "[[\"c1\", $$]]" "$(sp_json <(echo "$out") '[[m["id"], m["pid"]] for m in j["members"]]')"
	sp_assert_eq '["id", "joined", "pid"]' "$(sp_json <(echo "$out") 'sorted(j["members"][0])')"
	out=$(ctl ls --json)
	sp_assert_eq '["insp"]' "$(sp_json <(echo "$out") '[p["name"] for p in j]')"
	ctl leave insp --id c1
	ctl rm insp
}

t_concurrent_members() {
	local root i n
	new_root
	ctl create busy --lifetime ephemeral >/dev/null
	for i in $(seq 1 50); do ctl join busy --id "c$i" & done
	wait
	n=$(sp_json <(ctl inspect busy) 'len(j["members"])')
	sp_assert_eq 50 "$n" "members after 50 concurrent joins"
	# Joining again with the same ids changes nothing.
	for i in $(seq 1 50); do ctl join busy --id "c$i" & done
	wait
	sp_assert_eq 50 "$(sp_json <(ctl inspect busy) 'len(j["members"])')"
	for i in $(seq 1 50); do ctl leave busy --id "c$i" & done
	wait
	[[ ! -e $root/state/busy.json ]] || sp_fail "ephemeral pipeline kept its state after the last leave"
	[[ -z $(mountinfo_of "$root/mnt/busy") ]] || sp_fail "ephemeral pipeline still mounted"
	[[ ! -e $root/mnt/busy ]] || sp_fail "mountpoint left behind"
}

t_concurrent_joins_leaves_mixed() {
	local root i
	new_root
	# Join and leave racing each other, auto-creating the ephemeral pipeline:
	# whatever the interleaving, every id ends up gone, and so does the pipeline.
	for i in $(seq 1 50); do (ctl join mixed --create --id "m$i" && ctl leave mixed --id "m$i") & done
	wait
	[[ ! -e $root/state/mixed.json ]] || sp_fail "state left: $(cat "$root/state/mixed.json")"
	[[ -z $(mountinfo_of "$root/mnt/mixed") ]] || sp_fail "mount left"
	sp_assert_eq "" "$(ls "$root/state")"
}

t_concurrent_create() {
	local root i ok=0
	new_root
	for i in $(seq 1 10); do (ctl create race >/dev/null 2>"$SP_CASE_DIR/err.$i" && touch "$SP_CASE_DIR/ok.$i") & done
	wait
	ok=$(find "$SP_CASE_DIR" -name 'ok.*' | wc -l)
	sp_assert_eq 1 "$ok" "exactly one create wins"
	sp_assert_eq 9 "$(grep -l 'pipeline race: already exists' "$SP_CASE_DIR"/err.* | wc -l)"
	sp_assert_eq 1 "$(grep -c " $root/mnt/race " /proc/self/mountinfo)" "one mount"
	ctl rm race
}

t_gc_killed_member() {
	local root pid out
	new_root
	ctl create g --lifetime persistent >/dev/null
	sleep 300 &
	pid=$!
	ctl join g --id victim --pid "$pid"
	ctl join g --id alive --pid $$
	ctl join g --id nopid
	out=$(ctl gc)
	sp_assert_eq "" "$out" "gc with every member alive changes nothing"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	out=$(ctl gc)
	sp_assert_contains "$out" "g: dropped member victim (pid $pid is gone)"
	sp_assert_eq '["alive", "nopid"]' "$(sp_json <(ctl inspect g) '[m["id"] for m in j["members"]]')"
}

t_gc_ephemeral_and_orphans() {
	local root out
	new_root
	ctl create e --lifetime ephemeral >/dev/null
	sh -c 'exit 0' &
	wait $!
	ctl join e --id gone --pid $!
	# A tmpfs whose record was lost (a create that died half-way).
	ctl create orphan >/dev/null
	rm "$root/state/orphan.json"
	out=$(ctl gc)
	sp_assert_contains "$out" "e: removed (ephemeral, no members left)"
	sp_assert_contains "$out" "orphan: removed a tmpfs left without a record"
	[[ -z $(grep " $root/mnt/" /proc/self/mountinfo) ]] || sp_fail "mounts left after gc"
	# A persistent pipeline whose tmpfs vanished is mounted again.
	ctl create p >/dev/null
	umount "$root/mnt/p"
	sp_assert_fails ctl join p --id x
	out=$(ctl gc)
	sp_assert_contains "$out" "p: remounted its missing tmpfs"
	ctl join p --id x
}

# in_ipc_ns PID INODE: PID is in the IPC namespace INODE.
in_ipc_ns() { [[ $(stat -L -c %i "/proc/$1/ns/ipc") == "$2" ]]; }

# gc remounts a lost tmpfs without cutting its members off their IPC
# namespace, and pins a new one when that was lost too.
t_gc_keeps_ipc() {
	local root out ns member
	new_root
	ctl create p --ipc >/dev/null
	ns=$(stat -c %i "$root/ipc/p")
	# A member in the namespace, as a container would be: it keeps the
	# namespace (and its inode number) alive whatever gc does to the pin.
	nsenter --ipc="$root/ipc/p" sleep 300 &
	member=$!
	sp_defer kill "$member"
	sp_wait_for 10 in_ipc_ns "$member" "$ns"
	umount "$root/mnt/p"
	out=$(ctl gc)
	sp_assert_contains "$out" "p: remounted its missing tmpfs"
	sp_assert_eq "$ns" "$(stat -c %i "$root/ipc/p")" "the IPC namespace pinned before gc"
	umount "$root/ipc/p"
	out=$(ctl gc)
	sp_assert_contains "$out" "p: pinned a new IPC namespace"
	[[ $(stat -f -c %T "$root/ipc/p") == nsfs ]] || sp_fail "ipc/p is not an nsfs pin: $(stat -f -c %T "$root/ipc/p")"
	sp_assert_eq "" "$(ctl gc)" "a second gc changes nothing"
	ctl rm p
}

# A pipeline gc cannot repair is reported on stderr, left as it was, and
# does not stop gc of the others; gc then exits 1.
t_gc_unrepairable() {
	local root out err rc=0 pid
	new_root
	ctl create a1 >/dev/null
	ctl create a2 >/dev/null
	ctl create b >/dev/null
	sh -c 'exit 0' &
	pid=$!
	wait $pid
	ctl join b --id gone --pid $pid
	# a1: another filesystem mounted over its tmpfs; a2: a symlink in place
	# of its mountpoint.
	mount -t ramfs -o size=1m ramfs "$root/mnt/a1"
	umount "$root/mnt/a2"
	rmdir "$root/mnt/a2"
	ln -s / "$root/mnt/a2"
	ctl gc >"$SP_TMP/gc.out" 2>"$SP_TMP/gc.err" || rc=$?
	out=$(cat "$SP_TMP/gc.out")
	err=$(cat "$SP_TMP/gc.err")
	sp_assert_eq 1 "$rc" "gc exit status"
	sp_assert_contains "$out" "b: dropped member gone"
	sp_assert_contains "$err" "shmpipectl: gc: a1: something other than its tmpfs is mounted on its mountpoint"
	sp_assert_contains "$err" "shmpipectl: gc: a2: cannot check its mountpoint"
	sp_assert_contains "$err" "shmpipectl: gc: 2 pipelines could not be repaired"
	sp_assert_eq ramfs "$(stat -f -c %T "$root/mnt/a1")" "gc left a1's mount alone"
	[[ -L $root/mnt/a2 ]] || sp_fail "gc replaced a2's symlink"
	umount "$root/mnt/a1"
	rm "$root/mnt/a2"
	out=$(ctl gc)
	sp_assert_eq "a2: remounted its missing tmpfs (content was lost)" "$out" "gc once the damage is undone"
	sp_assert_eq tmpfs "$(stat -f -c %T "$root/mnt/a1")" "a1's own tmpfs under the ramfs"
	ctl rm a1
	ctl rm a2
	ctl rm b
}

# A Kubernetes namespace's pipeline, as an admin handles it.
t_qualified() {
	local out
	new_root
	ctl create frames --size 1m >/dev/null
	sp_assert_eq "$root/mnt/team-a+frames" "$(ctl create team-a/frames --size 2m --allow-namespace team-b --allow-namespaces team-c)"
	sp_assert_file "$root/state/team-a+frames.json"
	sp_assert_eq tmpfs "$(stat -f -c %T "$root/mnt/team-a+frames")"
	sp_assert_eq "frames team-a/frames" "$(ctl ls --json | "$SP_PYTHON" -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)))')"
	out=$(ctl inspect team-a/frames)
	sp_assert_contains "$out" '"name": "team-a/frames"'
	sp_assert_contains "$out" '"allow-namespaces": "team-b,team-c"'
	ctl join team-a/frames --id c1
	sp_assert_match "$(ctl ls)" $'team-a/frames +2M +0B +1 '
	ctl leave team-a/frames --id c1
	ctl rm team-a/frames
	[[ ! -e $root/state/team-a+frames.json && ! -e $root/mnt/team-a+frames ]] || sp_fail "rm left files"
	sp_assert_eq tmpfs "$(stat -f -c %T "$root/mnt/frames")" "the plain frames is untouched"
	out=$(ctl create team-a/x --allow-namespaces Team_B 2>&1) && sp_fail "bad namespace accepted"
	sp_assert_contains "$out" 'invalid namespace "Team_B"'
	ctl rm frames
}

t_errors() {
	local root out name
	new_root
	for name in '..' '../x' 'a/b/c' 'A/b' 'a/' '/b' 'a+b' '' '-x' "$(printf 'a%.0s' {1..65})" $'new\nline' 'café'; do
		if out=$(ctl create -- "$name" 2>&1); then sp_fail "bad name accepted: [$name]"; fi
		sp_assert_contains "$out" "invalid pipeline name"
		sp_assert_eq 1 "$(wc -l <<<"$out")" "one-line error"
	done
	for size in 0 -1 1x 1.5g 9999999t lots; do
		out=$(ctl create s --size "$size" 2>&1) && sp_fail "bad size accepted: $size"
		sp_assert_contains "$out" "invalid size \"$size\""
	done
	out=$(ctl create big --size 100t 2>&1) && sp_fail "size over max accepted"
	sp_assert_contains "$out" "pipeline big: size 100T exceeds the configured maximum"
	out=$(ctl inspect missing 2>&1) && sp_fail "inspect of a missing pipeline"
	sp_assert_eq "shmpipectl: pipeline missing: does not exist" "$out"
	out=$(ctl rm missing 2>&1) && sp_fail "rm of a missing pipeline"
	sp_assert_eq "shmpipectl: pipeline missing: does not exist" "$out"
	ctl create dup >/dev/null
	out=$(ctl create dup 2>&1) && sp_fail "duplicate create"
	sp_assert_eq "shmpipectl: pipeline dup: already exists" "$out"
	ctl join dup --id c1
	ctl join dup --id c2
	out=$(ctl rm dup 2>&1) && sp_fail "removal of a busy pipeline"
	sp_assert_contains "$out" "pipeline dup: in use by 2 members (c1, c2)"
	[[ -n $(mountinfo_of "$root/mnt/dup") ]] || sp_fail "refused rm still unmounted"
	ctl rm --force dup
	[[ -z $(mountinfo_of "$root/mnt/dup") && ! -e $root/state/dup.json ]] || sp_fail "rm --force left something"
	out=$(ctl frobnicate 2>&1) && sp_fail "unknown command accepted"
	sp_assert_contains "$out" 'unknown command "frobnicate"'
	# Nothing was left behind by all these failures.
	sp_assert_eq "" "$(ls "$root/state" "$root/mnt" | grep -v '^/\|^$' || true)"
	[[ -z $(grep " $root/mnt/" /proc/self/mountinfo) ]] || sp_fail "stray mount"
}

t_damaged_state() {
	local root out
	new_root
	ctl create d >/dev/null
	head -c 40 "$root/state/d.json" >"$root/state/d.json.cut" && mv "$root/state/d.json.cut" "$root/state/d.json"
	out=$(ctl inspect d 2>&1) && sp_fail "a torn state file was trusted"
	sp_assert_contains "$out" "pipeline d: damaged record $root/state/d.json: state: invalid JSON"
	out=$(ctl join d --id x 2>&1) && sp_fail "join on a torn record"
	sp_assert_contains "$out" "damaged record"
	ctl rm --force d
	[[ -z $(mountinfo_of "$root/mnt/d") ]] || sp_fail "forced rm of a damaged record left the mount"
}

t_config() {
	local root cfg out
	new_root
	cfg="$SP_CASE_DIR/config.json"
	printf '{"default_size": "8m", "max_size": "32m", "default_mode": "0770"}\n' >"$cfg"
	ctl --config "$cfg" create c1 >/dev/null
	sp_assert_contains "$(mountinfo_of "$root/mnt/c1")" "size=8192k"
	sp_assert_contains "$(mountinfo_of "$root/mnt/c1")" "mode=770"
	out=$(SHMPIPE_CONFIG=$cfg ctl create c2 --size 64m 2>&1) && sp_fail "max_size not enforced"
	sp_assert_contains "$out" "pipeline c2: size 64M exceeds the configured maximum 32M"
	printf '{"default_size": "8m", "colour": "blue"}\n' >"$cfg"
	out=$(ctl --config "$cfg" ls 2>&1) && sp_fail "unknown config key accepted"
	sp_assert_eq "shmpipectl: $cfg: config: unknown key \"colour\"" "$out"
	# A key given twice is refused, not settled by the last one.
	printf '{"max_size": "1g", "max_size": "3g"}\n' >"$cfg"
	out=$(ctl --config "$cfg" create twice --size 2g 2>&1) && sp_fail "a key given twice was accepted"
	sp_assert_eq "shmpipectl: $cfg: config: key \"max_size\" is given twice" "$out"
	[[ ! -e $root/state/twice.json ]] || sp_fail "a pipeline was made under a refused config"
	out=$(ctl --config "$SP_CASE_DIR/missing.json" ls 2>&1) && sp_fail "missing explicit config accepted"
	sp_assert_contains "$out" "missing.json: No such file or directory"
	# --root beats SHMPIPE_ROOT.
	ctl --root "$root/other" create elsewhere >/dev/null
	[[ -e $root/other/state/elsewhere.json ]] || sp_fail "--root ignored"
}

# The C parser and the JSON Schema agree on every shipped and every bad config.
t_config_examples() {
	local f
	new_root
	for f in "$SP_REPO"/examples/config/*.json "$SP_REPO"/install/config.json; do
		ctl --config "$f" --root "$root" ls >/dev/null || sp_fail "shipped config rejected: $f"
	done
	for f in "$SP_REPO"/tests/fixtures/config/invalid-*.json; do
		if ctl --config "$f" --root "$root" ls >/dev/null 2>&1; then sp_fail "bad config accepted: $f"; fi
	done
}

t_help() {
	local c out
	out=$(ctl --help)
	sp_assert_contains "$out" "Usage: shmpipectl"
	for c in create ls inspect rm gc join leave; do
		out=$(ctl "$c" --help)
		sp_assert_contains "$out" "Usage: shmpipectl $c"
	done
	# Every command `shmpipectl --help` lists (the command table) has a help
	# with its usage line, its options and its exit status, in 80 columns.
	local cmds
	cmds=$(ctl --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]\+\).*/\1/p')
	[[ $(wc -w <<<"$cmds") -ge 12 ]] || sp_fail "shmpipectl --help lists too few commands: $cmds"
	for c in $cmds; do
		out=$(ctl "$c" --help)
		sp_assert_contains "$out" "Usage: shmpipectl $c"
		sp_assert_contains "$out" $'\nOptions:\n'
		sp_assert_contains "$out" "  -h, --help"
		sp_assert_contains "$out" $'\nExit status: '
		if awk 'length > 80 { exit 1 }' <<<"$out"; then :; else sp_fail "$c --help has a line over 80 columns"; fi
	done
	# A mistyped option names the one meant, for every command.
	out=$(ctl ls --jsn 2>&1) && sp_fail "ls --jsn accepted"
	sp_assert_eq "shmpipectl ls: unknown option \"--jsn\" (did you mean \"--json\"?); try 'shmpipectl ls --help'" "$out"
	out=$(ctl create 2>&1) && sp_fail "create without a name"
	sp_assert_contains "$out" "want exactly one NAME"
	ctl --version | grep -q '^shmpipectl [0-9]'
}

t_ls_nearly_full() {
	local root mp out
	new_root
	# bytes: 1 MiB, 950 KiB written (93%); inodes: 10, root + 9 files.
	mp=$(ctl create bytes --size 1m)
	dd if=/dev/zero of="$mp/seg" bs=1k count=950 status=none
	mp=$(ctl create files --size 1m --inodes 10)
	touch "$mp"/f{1..9}
	ctl create roomy --size 1m >/dev/null
	dd if=/dev/zero of="$root/mnt/roomy/seg" bs=1k count=800 status=none
	out=$(ctl ls)
	echo "$out"
	sp_assert_match "$out" $'\nbytes +1M +952K +0 +persistent +[0-9TZ:-]+  nearly full: 9[0-9]% of size\n'
	sp_assert_match "$out" $'\nfiles +1M +0B +0 +persistent +[0-9TZ:-]+  nearly full: 100% of inodes\n'
	sp_assert_match "$out" $'\nroomy +1M +800K +0 +persistent +[0-9TZ:-]+$'
	# What the flag warns of: the next segment does not fit.
	out=$(in_pipeline "$root/mnt/bytes" write more "$(head -c 120000 /dev/zero | tr '\0' x)" 2>&1) &&
		sp_fail "a segment past the free space was written"
	sp_assert_contains "$out" "No space left on device"
	for n in bytes files roomy; do ctl rm "$n"; done
}

sp_test "create, ls, two processes share a segment, rm" t_lifecycle
sp_test "ls flags a pipeline with 90% of its size or inodes in use" t_ls_nearly_full
sp_test "mount flags are nosuid,nodev,noexec with the requested size and mode" t_mount_flags
sp_test "inspect and ls --json print the documented object" t_inspect_json
sp_test "50 concurrent joins then leaves: exact counts, ephemeral gone" t_concurrent_members
sp_test "50 racing join+leave pairs leave nothing" t_concurrent_joins_leaves_mixed
sp_test "10 concurrent creates of one name make one pipeline" t_concurrent_create
sp_test "gc drops a member killed with SIGKILL" t_gc_killed_member
sp_test "gc removes ephemeral leftovers and orphan mounts, remounts a lost tmpfs" t_gc_ephemeral_and_orphans
sp_test "gc remounts a lost tmpfs but keeps the IPC namespace; re-pins a lost one" t_gc_keeps_ipc
sp_test "gc reports a pipeline it cannot repair and still repairs the others" t_gc_unrepairable
sp_test "errors: bad names, sizes, busy, missing, duplicate; nothing left behind" t_errors
sp_test "NAMESPACE/NAME: created, listed, inspected, joined, removed; stored as NAMESPACE+NAME beside a plain NAME" t_qualified
sp_test "a torn state file is reported, not trusted" t_damaged_state
sp_test "config file: defaults, limits, unknown keys, a key given twice, --root" t_config
sp_test "shipped configs load, bad ones are refused" t_config_examples
sp_test "--help on every command" t_help
sp_done
