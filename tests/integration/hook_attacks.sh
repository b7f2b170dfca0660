#!/bin/bash
# hook_attacks.sh - hostile images, annotations and runtime input: each is
# refused with one clear line on stderr, and nothing gets mounted on the
# host.  Also: the hook's privileges after hardening, its command line, and
# the install files (hooks.d schema, install.sh).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup

# attack_image NAME WHAT : the image's own /dev (no tmpfs from the runtime)
# with /dev/shm replaced by WHAT (a shell snippet run in rootfs/dev); the
# container must not start, the error must mention EXPECTED, and the host
# must have no new mount.
attack_image() {
	local tag=$1 setup=$2 expected=$3 p="atk-$1" b before out
	shift 3
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime --no-dev-tmpfs -a "io.shmpipe.pipeline=$p" "$@" -- /bin/sh -c 'echo STARTED'
	(cd "$b/rootfs/dev" && rm -rf shm && eval "$setup")
	before="$SP_CASE_DIR/mounts.before"
	hk_mounts_snapshot "$before"
	if out=$(hk_run runc "$(sp_id "atk-$tag")" "$b" 2>&1); then
		sp_fail "the container started: $out"
	fi
	sp_assert_not_contains "$out" STARTED
	sp_assert_contains "$out" "shmpipe-hook: pipeline $p: $expected"
	hk_assert_no_new_mounts "$before"
	# the join was undone, and the pipeline it auto-created removed
	hk_exists "$p" && sp_fail "$p left behind"
	hk_mounted "$p" && sp_fail "$p's tmpfs left mounted"
	return 0
}

t_symlink_etc() { attack_image symlink-etc 'ln -s /etc shm' "container's /dev/shm is a symbolic link"; }
t_symlink_up() { attack_image symlink-up 'ln -s ../../.. shm' "container's /dev/shm is a symbolic link"; }
t_symlink_proc() {
	attack_image symlink-proc 'ln -s /proc/self/root shm' "container's /dev/shm is a symbolic link"
}
t_symlink_dangling() { attack_image symlink-dangling 'ln -s /nonexistent shm' "container's /dev/shm is a symbolic link"; }
# the pipeline the refused join created goes, even when asked persistent
# (which the default config refuses from containers: allowed here)
t_symlink_persistent() {
	local HK_CONFIG="$SP_CASE_DIR/config.json"
	echo '{"container_persistent": true}' >"$HK_CONFIG"
	attack_image symlink-persistent 'ln -s /etc shm' "container's /dev/shm is a symbolic link" \
		-a io.shmpipe.lifetime=persistent
}
t_regular_file() { attack_image file 'echo x > shm' "container's /dev/shm is not a directory"; }

# A runtime that has already pivoted (or chrooted) when it runs the hook:
# /proc/PID/root is the rootfs itself.  Stand-in: a process chrooted into a
# rootfs in a mount namespace of its own, the rootfs a mount point there (as
# pivot_root requires, and as runtimes make it).
t_pivoted() {
	local b in="$SP_CASE_DIR/state" pid line
	b=$(sp_tmpdir bundle)
	hk_direct_bundle "$b" pivoted
	sp_busybox_rootfs "$b/rootfs"
	hk_chroot_process "$b/rootfs" pivoted
	pid=$HK_PID
	hk_state_for pivoted "$pid" "$b" >"$in"
	hook_direct "$in" createRuntime
	line=$(awk '$5 == "/dev/shm"' "/proc/$pid/mountinfo" | tail -n1)
	hk_assert_shm_line "$line" pivoted
	grep -q " $b/rootfs/dev/shm " /proc/self/mountinfo && sp_fail "mounted in the host namespace"
	sp_assert_eq pivoted "$(hk_members pivoted)"
	printf '{"id":"pivoted","status":"stopped","bundle":"%s"}' "$b" >"$in"
	hook_direct "$in" poststop
	hk_exists pivoted && sp_fail "pivoted not removed at poststop"
	return 0
}

# The image has no /dev/shm at all: the hook creates it (mkdirat on fds).
t_missing_shm() {
	local b p=created-shm out
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime --no-dev-tmpfs -a "io.shmpipe.pipeline=$p" -- /bin/sh -c 'shmtool mountinfo'
	rm -rf "$b/rootfs/dev/shm"
	out=$(hk_run runc "$(sp_id missing-shm)" "$b")
	hk_assert_shm_line "$out" "$p"
	[[ -d $b/rootfs/dev/shm && ! -L $b/rootfs/dev/shm ]] || sp_fail "dev/shm was not created as a directory"
}

# attack_annotation TAG EXPECTED -a K=V... : refused before any mount.
attack_config() {
	local tag=$1 expected=$2 b before out
	shift 2
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime "$@" -- /bin/sh -c 'echo STARTED'
	before="$SP_CASE_DIR/mounts.before"
	hk_mounts_snapshot "$before"
	if out=$(hk_run runc "$(sp_id "atk-$tag")" "$b" 2>&1); then
		sp_fail "the container started: $out"
	fi
	sp_assert_contains "$out" "shmpipe-hook: $expected"
	hk_assert_no_new_mounts "$before"
	[[ -z $(ls "$HK_ROOT/state") ]] || sp_fail "records left: $(ls "$HK_ROOT/state")"
}

t_name_dotdot() {
	attack_config dotdot 'annotation io.shmpipe.pipeline: invalid pipeline name \"../../etc\"' \
		-a io.shmpipe.pipeline=../../etc
}
# NAMESPACE/NAME is a Kubernetes pod's; any other slash is no name at all.
t_name_slash() { attack_config slash 'pipeline a/b: a qualified name (NAMESPACE/NAME) is for Kubernetes pods only' -a io.shmpipe.pipeline=a/b; }
t_name_slashes() { attack_config slashes 'annotation io.shmpipe.pipeline: invalid pipeline name \"a/b/c\"' -a io.shmpipe.pipeline=a/b/c; }
t_name_newline() {
	attack_config newline 'annotation io.shmpipe.pipeline: value contains control characters' -a $'io.shmpipe.pipeline=p\nforged log line'
}
t_env_dotdot() {
	attack_config env-dotdot 'environment SHMPIPE_PIPELINE: invalid pipeline name \"..\"' -e SHMPIPE_PIPELINE=..
}
t_size_too_big() {
	attack_config size 'pipeline big: size 1P exceeds the configured maximum' \
		-a io.shmpipe.pipeline=big -a io.shmpipe.size=1024t
}
# Every io.shmpipe.* key is an option of the table or refused: a typo must
# not leave the container on a default it did not ask for.
t_misspelt_option() {
	attack_config sizee 'unknown annotation \"io.shmpipe.sizee\" (did you mean \"io.shmpipe.size\"?)' \
		-a io.shmpipe.pipeline=typo -a io.shmpipe.sizee=1m
}
t_option_not_for_containers() {
	attack_config uid 'annotation io.shmpipe.uid: not for containers to set' \
		-a io.shmpipe.pipeline=own -a io.shmpipe.uid=0
}
t_bad_mode() { attack_config mode 'annotation io.shmpipe.mode: invalid mode' -a io.shmpipe.pipeline=m -a io.shmpipe.mode=4777x; }

# auto_create off in the config: a missing pipeline is refused.
t_auto_create_off() {
	local b cfg out
	b=$(sp_tmpdir bundle)
	cfg="$SP_CASE_DIR/config.json"
	echo '{"auto_create": false}' >"$cfg"
	sp_runc_bundle "$b" -a io.shmpipe.pipeline=nope \
		-H "createRuntime=$HK_HOOK --root $HK_ROOT --config $cfg createRuntime" -- /bin/sh -c 'echo STARTED'
	if out=$(hk_run runc "$(sp_id noauto)" "$b" 2>&1); then
		sp_fail "the container started: $out"
	fi
	sp_assert_contains "$out" "shmpipe-hook: pipeline nope: does not exist, and auto_create is off in the config"
	hk_exists nope && sp_fail "nope was created"
	return 0
}

# ---------------------------------------------------------------------------
# Direct invocations: what a runtime could hand the hook.

# hook_direct STDIN_FILE ARGS... : run the hook; prints stderr, returns rc.
hook_direct() {
	local in=$1
	shift
	timeout 10 "$HK_HOOK" --root "$HK_ROOT" --config "$HK_CONFIG" "$@" <"$in" 2>&1 >/dev/null
}

t_oversized_state() {
	local in="$SP_CASE_DIR/state" b out
	b=$(sp_tmpdir bundle)
	hk_direct_bundle "$b" big
	{
		printf '{"id":"x","bundle":"%s","pad":"' "$b"
		head -c 70000 /dev/zero | tr '\0' a
		printf '"}'
	} >"$in"
	out=$(hook_direct "$in" createRuntime) && sp_fail "accepted"
	sp_assert_eq "shmpipe-hook: read state from stdin: larger than 65536 bytes" "$out"
	hk_exists big && sp_fail "record made"
	return 0
}

t_oversized_config() {
	local in="$SP_CASE_DIR/state" b out
	b=$(sp_tmpdir bundle)
	mkdir -p "$b/rootfs"
	{
		printf '{"root":{"path":"rootfs"},"annotations":{"io.shmpipe.pipeline":"big","pad":"'
		head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' a
		printf '"}}'
	} >"$b/config.json"
	hk_state_for big-config 1 "$b" >"$in"
	out=$(hook_direct "$in" createRuntime) && sp_fail "accepted"
	sp_assert_eq "shmpipe-hook: bundle $b: config.json is larger than 4194304 bytes" "$out"
}

t_deep_config() {
	local in="$SP_CASE_DIR/state" b out rc=0
	b=$(sp_tmpdir bundle)
	mkdir -p "$b/rootfs"
	# 300,000 levels, about 600 KB: under the size cap, and enough to
	# overflow the stack in yajl's recursive tree free (exit 139 before).
	"$SP_PYTHON" -c 'import sys; n = 300000
sys.stdout.write("{\"root\":{\"path\":\"rootfs\"},\"annotations\":{\"io.shmpipe.pipeline\":\"deep\"},\"x\":" + "[" * n + "]" * n + "}")' >"$b/config.json"
	hk_state_for deep-config 1 "$b" >"$in"
	out=$(hook_direct "$in" createRuntime) || rc=$?
	sp_assert_eq 1 "$rc" "exit status"
	sp_assert_eq "shmpipe-hook: bundle $b: config.json: invalid JSON: nested deeper than 64 levels" "$out"
	hk_exists deep && sp_fail "record made"
	true
}

t_no_config() {
	local in="$SP_CASE_DIR/state" b out
	b=$(sp_tmpdir bundle)
	hk_state_for noconfig 1 "$b" >"$in"
	out=$(hook_direct "$in" createRuntime) && sp_fail "accepted"
	sp_assert_eq "shmpipe-hook: bundle $b: config.json: No such file or directory" "$out"
}

t_fifo_config() {
	local in="$SP_CASE_DIR/state" b out
	b=$(sp_tmpdir bundle)
	mkfifo "$b/config.json"
	hk_state_for fifo 1 "$b" >"$in"
	out=$(hook_direct "$in" createRuntime) && sp_fail "accepted"
	sp_assert_eq "shmpipe-hook: bundle $b: config.json is not a regular file" "$out"
}

t_malformed() {
	local in="$SP_CASE_DIR/state" b out
	b=$(sp_tmpdir bundle)
	printf '{"id":"x","bundle":' >"$in"
	out=$(hook_direct "$in" createRuntime) && sp_fail "accepted"
	sp_assert_match "$out" '^shmpipe-hook: state: invalid JSON: '
	printf '{"root":{"path":"rootfs"},"annotations":{"io.shmpipe.pipeline":"x"' >"$b/config.json"
	hk_state_for malformed 1 "$b" >"$in"
	out=$(hook_direct "$in" createRuntime) && sp_fail "accepted"
	sp_assert_match "$out" "^shmpipe-hook: bundle $b: config.json: invalid JSON: "
	printf '{"id":"x","bundle":"%s","pid":"12"}' "$b" >"$in"
	out=$(hook_direct "$in" createRuntime) && sp_fail "accepted"
	sp_assert_eq 'shmpipe-hook: state: "pid" must be an integer' "$out"
	[[ $(wc -l <<<"$out") == 1 ]] || sp_fail "more than one line"
}

# A "container" in the hook's own mount namespace: mounting there would
# mount on the host.
t_no_mount_ns() {
	local in="$SP_CASE_DIR/state" b before out
	b=$(sp_tmpdir bundle)
	hk_direct_bundle "$b" hostns
	hk_state_for hostns $$ "$b" >"$in"
	before="$SP_CASE_DIR/mounts.before"
	hk_mounts_snapshot "$before"
	out=$(hook_direct "$in" createRuntime) && sp_fail "accepted"
	sp_assert_eq "shmpipe-hook: pipeline hostns: the container has no mount namespace of its own: refusing to mount" \
		"$out"
	hk_assert_no_new_mounts "$before"
	hk_exists hostns && sp_fail "the join was not undone"
	return 0
}

# No annotation, no env variable: exit 0, not even the store is created.
t_not_ours() {
	local in="$SP_CASE_DIR/state" b root="$SP_CASE_DIR/never"
	b=$(sp_tmpdir bundle)
	mkdir -p "$b/rootfs"
	echo '{"root":{"path":"rootfs"},"process":{"env":["PATH=/bin"]},"annotations":{"a":"b"}}' >"$b/config.json"
	hk_state_for notours 1 "$b" >"$in"
	timeout 10 "$HK_HOOK" --root "$root" --config /nonexistent/config.json createRuntime <"$in"
	timeout 10 "$HK_HOOK" --root "$root" --config /nonexistent/config.json poststop <"$in"
	[[ ! -e $root ]] || sp_fail "the hook created $root"
}

# Poststop when the bundle's config.json is already gone: from the state's
# annotations (podman sends them), else by finding the container's id.
t_poststop_no_config() {
	local in="$SP_CASE_DIR/state" b
	b=$(sp_tmpdir bundle)
	hk_ctl create gone1 --lifetime persistent >/dev/null
	hk_ctl create gone2 --lifetime ephemeral >/dev/null
	hk_ctl join gone1 --id ctr-a >/dev/null
	hk_ctl join gone1 --id ctr-b >/dev/null
	hk_ctl join gone2 --id ctr-b >/dev/null
	printf '{"id":"ctr-a","status":"stopped","bundle":"%s","annotations":{"io.shmpipe.pipeline":"gone1"}}' "$b" >"$in"
	hook_direct "$in" poststop
	sp_assert_eq ctr-b "$(hk_members gone1)" "left by annotation"
	printf '{"id":"ctr-b","status":"stopped","bundle":"%s"}' "$b" >"$in"
	hook_direct "$in"
	sp_assert_eq "" "$(hk_members gone1)" "left gone1 by id"
	hk_exists gone2 && sp_fail "ephemeral gone2 not removed when ctr-b left"
	hk_ctl rm gone1 >/dev/null
}

# Errors go to syslog too (through the seccomp filter), with the container
# id; /dev/log is a socket of ours in a private mount namespace.
t_syslog() {
	local d="$SP_CASE_DIR/dev" in="$SP_CASE_DIR/state" b out
	b=$(sp_tmpdir bundle)
	hk_direct_bundle "$b" ../x
	hk_state_for syslog-ctr 1 "$b" >"$in"
	mkdir -p "$d"
	"$SP_PYTHON" - "$d/log" >"$SP_CASE_DIR/syslog" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(10)
print(s.recv(4096).decode(), flush=True)
PY
	sp_wait_for 10 test -S "$d/log"
	out=$(unshare -m sh -c 'mount --make-rprivate / && mount --bind "$1" /dev && shift && exec "$@"' sh "$d" \
		"$HK_HOOK" --root "$HK_ROOT" --config "$HK_CONFIG" createRuntime <"$in" 2>&1) && sp_fail "accepted"
	wait
	sp_assert_contains "$out" 'shmpipe-hook: annotation io.shmpipe.pipeline: invalid pipeline name "../x"'
	sp_assert_match "$(cat "$SP_CASE_DIR/syslog")" \
		'^<27>.*shmpipe-hook\[[0-9]+\]: container syslog-ctr: annotation io.shmpipe.pipeline: invalid pipeline name'
}

t_security_mode() {
	local out want
	want=$'CapInh:\t0000000000000000\nCapPrm:\t00000000002c0000\nCapEff:\t00000000002c0000\nCapBnd:\t00000000002c0000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2'
	out=$("$HK_HOOK" --print-security)
	sp_assert_eq "$want" "$out" "--print-security"
	out=$(SHMPIPE_HOOK_SELFTEST=status "$HK_HOOK" </dev/null)
	sp_assert_eq "$want" "$out" "SHMPIPE_HOOK_SELFTEST=status"
	sp_assert_eq "0x00000000002c0000=cap_sys_chroot,cap_sys_ptrace,cap_sys_admin" "$(capsh --decode=00000000002c0000)"
}

t_cli() {
	local out
	out=$("$HK_HOOK" --help)
	sp_assert_contains "$out" "Usage: shmpipe-hook"
	sp_assert_match "$("$HK_HOOK" --version)" '^shmpipe-hook [0-9]+\.[0-9]+'
	out=$("$HK_HOOK" createContainer </dev/null 2>&1) && sp_fail "createContainer accepted"
	sp_assert_contains "$out" 'unsupported hook stage "createContainer"'
	"$HK_HOOK" createContainer </dev/null >/dev/null 2>&1 || sp_assert_eq 2 $?
	"$HK_HOOK" --bogus </dev/null >/dev/null 2>&1 || sp_assert_eq 2 $?
	"$HK_HOOK" prestart extra </dev/null >/dev/null 2>&1 || sp_assert_eq 2 $?
	"$HK_HOOK" --root relative prestart </dev/null >/dev/null 2>&1 || sp_assert_eq 2 $?
	# no stage argument and a status that says nothing about the stage
	out=$(printf '{"id":"x","bundle":"/","status":"running"}' | "$HK_HOOK" 2>&1) && sp_fail "running accepted"
	sp_assert_contains "$out" 'cannot tell the stage from status "running"'
}

t_install_files() {
	local d f
	for f in "$SP_REPO"/install/hooks.d/*.json "$SP_REPO"/install/hooks.d/crio/*.json; do
		"$SP_PYTHON" - "$SP_REPO/schemas/hooks.d.schema.json" "$f" <<'PY'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[2])))
PY
	done
	# the schema is not a rubber stamp
	if "$SP_PYTHON" - "$SP_REPO/schemas/hooks.d.schema.json" <<'PY'; then
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator(schema).validate(
    {"version": "1.0.0", "hook": {"path": "relative"}, "when": {}, "stages": ["createRuntime"]})
PY
		sp_fail "the schema accepts a relative path and an empty when"
	fi
	d=$(sp_tmpdir destdir)
	sh "$SP_REPO/install/install.sh" "$HK_BUILD" "$d" /opt/shmpipe
	[[ -x $d/opt/shmpipe/libexec/shmpipe/shmpipe-hook ]] || sp_fail "hook not installed"
	for f in shmpipe.json shmpipe-poststop.json; do
		sp_assert_eq /opt/shmpipe/libexec/shmpipe/shmpipe-hook \
			"$(sp_json "$d/usr/share/containers/oci/hooks.d/$f" 'j["hook"]["path"]')" "$f path"
		# Podman reads the shared directory: no --cri there; CRI-O's own has it.
		sp_assert_eq false "$(sp_json "$d/usr/share/containers/oci/hooks.d/$f" '"--cri" in j["hook"]["args"]')"
		sp_assert_eq "/opt/shmpipe/libexec/shmpipe/shmpipe-hook True" \
			"$(sp_json "$d/opt/shmpipe/share/shmpipe/crio-hooks.d/$f" '"%s %s" % (j["hook"]["path"], "--cri" in j["hook"]["args"])')"
	done
	grep -q '"/opt/shmpipe/share/shmpipe/crio-hooks.d",' "$d/etc/crio/crio.conf.d/99-shmpipe.conf" ||
		sp_fail "CRI-O's drop-in does not name its hooks dir under the prefix"
	sp_assert_eq '["/opt/shmpipe/libexec/shmpipe/shmpipe-hook", "/opt/shmpipe/libexec/shmpipe/shmpipe-hook"]' \
		"$(sp_json "$d/opt/shmpipe/share/shmpipe/base-runtime-spec.json" \
			'[h["path"] for s in ("createRuntime", "poststop") for h in j["hooks"][s]]')"
	grep -q 'base_runtime_spec = "/opt/shmpipe/share/shmpipe/base-runtime-spec.json"' \
		"$d/opt/shmpipe/share/shmpipe/containerd-config.toml.snippet" || sp_fail "snippet path"
	# containerd accepts the snippet as a config
	containerd -c "$d/opt/shmpipe/share/shmpipe/containerd-config.toml.snippet" config dump |
		grep -q 'pod_annotations = \["io.shmpipe.\*"\]' || sp_fail "containerd does not read the snippet"
}

sp_test "image /dev/shm -> /etc: refused, nothing mounted" t_symlink_etc
sp_test "image /dev/shm -> ../../..: refused, nothing mounted" t_symlink_up
sp_test "image /dev/shm -> /proc/self/root: refused, nothing mounted" t_symlink_proc
sp_test "image /dev/shm -> dangling: refused, nothing mounted" t_symlink_dangling
sp_test "image /dev/shm -> /etc, lifetime persistent: refused, the pipeline made for it removed" t_symlink_persistent
sp_test "image /dev/shm a regular file: refused, nothing mounted" t_regular_file
sp_test "runtime already pivoted (/proc/PID/root is the rootfs): mounted in its namespace" t_pivoted
sp_test "image without /dev/shm: created, mounted" t_missing_shm
sp_test "pipeline name ../../etc: refused" t_name_dotdot
sp_test "pipeline name a/b from a container that is no pod: refused" t_name_slash
sp_test "pipeline name a/b/c: refused" t_name_slashes
sp_test "pipeline name with a newline: refused" t_name_newline
sp_test "SHMPIPE_PIPELINE=..: refused" t_env_dotdot
sp_test "io.shmpipe.size above the configured maximum: refused" t_size_too_big
sp_test "io.shmpipe.mode garbage: refused" t_bad_mode
sp_test "io.shmpipe.sizee (a typo): refused, naming io.shmpipe.size" t_misspelt_option
sp_test "io.shmpipe.uid from a container: refused" t_option_not_for_containers
sp_test "auto_create off: a missing pipeline is refused" t_auto_create_off
sp_test "state over 64 KiB: refused" t_oversized_state
sp_test "config.json over 4 MiB: refused" t_oversized_config
sp_test "config.json nested 300,000 deep: refused in one line, no crash" t_deep_config
sp_test "bundle without config.json: refused" t_no_config
sp_test "config.json a FIFO: refused without hanging" t_fifo_config
sp_test "malformed state / config.json: refused, one line" t_malformed
sp_test "pid in the hook's own mount namespace: refused, join undone" t_no_mount_ns
sp_test "no annotation, no env: exit 0 without touching the store" t_not_ours
sp_test "poststop without config.json: leaves by the state's annotation, else by container id" t_poststop_no_config
sp_test "errors reach syslog with the container id" t_syslog
sp_test "security mode: CapEff/CapBnd = sys_admin,sys_chroot,sys_ptrace; NoNewPrivs 1; Seccomp 2" t_security_mode
sp_test "command line: --help, --version, bad stage/option exit 2, unknown status" t_cli
sp_test "install: hooks.d files match the schema; install.sh rewrites paths; containerd reads the snippet" t_install_files
sp_done
