#!/bin/bash
# doctor.sh - `shmpipectl doctor` pointed at a private setup: each check is
# shown failing on a broken setup (with its fix), then passing once fixed;
# the hooks.d files it passes really make Podman join a container, and
# --pid tells a real container's /dev/shm from its pipeline's tmpfs.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup

RUNTIME=$HK_BUILD/shmpipe-runtime
PLUGIN=$HK_BUILD/shmpipe-plugin
DD=$SP_TMP/doctor # the private setup
mkdir -p "$DD/hooks.d"
SOCK=$DD/shmpipe.sock

sp_containerd_start # a real engine, for the store check

# doc ARGS... : doctor on the private setup; output in $out, status in $rc.
doc() {
	rc=0
	out=$("$HK_CTL" --root "$HK_ROOT" --config "$HK_CONFIG" doctor --hooks-dir "$DD/hooks.d" \
		--containerd-config "$DD/config.toml" --plugin-socket "$SOCK" --daemon-json "$DD/daemon.json" \
		--engine-pid "${ENGINE:-$SP_CTD_PID}" "$@") || rc=$?
	printf '%s\n' "$out" >&2
}
# fails CHECK TEXT : a FAIL line of CHECK containing TEXT, followed by a fix.
fails() {
	grep -F -A1 "FAIL  $1: " <<<"$out" | grep -qF -- "$2" || sp_fail "no FAIL of $1 with [$2]"
	grep -F -A1 "FAIL  $1: " <<<"$out" | grep -q '^      fix: ' || sp_fail "$1's FAIL has no fix"
	sp_assert_eq 1 "$rc" "exit status with a failure"
}
# passes CHECK [TEXT] : an ok line of CHECK, and no FAIL of it.
passes() {
	grep -qF "ok    $1: ${2:-}" <<<"$out" || sp_fail "no ok of $1 ${2:+with [$2]}"
	! grep -qF "FAIL  $1: " <<<"$out" || sp_fail "$1 still fails"
}

# hooks_file NAME HOOK : the shipped hooks.d file NAME in the private setup,
# pointed at HOOK.
hooks_file() { hk_hooks_file "$SP_REPO/install/hooks.d/$1" "$DD/hooks.d/$1" "$2"; }

t_config() {
	echo '{"max_pipelines": 0}' >"$HK_CONFIG"
	doc
	fails config "\"max_pipelines\" must be an integer"
	echo '{}' >"$HK_CONFIG"
	doc
	passes config "$HK_CONFIG loads"
}
sp_test "config: a broken config fails with the parser's line, a fixed one passes" t_config

t_hooks_d() {
	local r name pid
	hooks_file shmpipe.json /nonexistent/shmpipe-hook
	doc
	fails hooks.d "hook.path /nonexistent/shmpipe-hook: No such file or directory"
	fails hooks.d "no hooks.d file runs shmpipe-hook at poststop: members never leave"
	hooks_file shmpipe.json "$HK_HOOK"
	hooks_file shmpipe-poststop.json "$HK_HOOK"
	doc
	passes hooks.d "$DD/hooks.d/shmpipe.json runs $HK_HOOK at createRuntime/prestart"
	passes hooks.d "$DD/hooks.d/shmpipe-poststop.json runs $HK_HOOK at poststop"
	# What doctor passed, Podman runs: the container joins, and --pid says so.
	SP_PODMAN_HOOKS_DIR=$DD/hooks.d
	export SP_PODMAN_HOOKS_DIR
	r=$(sp_tmpdir rootfs)
	sp_busybox_rootfs "$r"
	name=$(sp_id doc-podman)
	sp_defer hk_quiet sp_podman rm -f -t 0 "$name"
	sp_podman_run -d --name "$name" --annotation io.shmpipe.pipeline=dpod --rootfs "$r" /bin/sleep 300 >/dev/null
	pid=$(sp_podman inspect -f '{{.State.Pid}}' "$name")
	doc --pid "$pid"
	passes pid "pid $pid's /dev/shm is pipeline dpod's tmpfs (same superblock)"
	sp_podman rm -f -t 0 "$name" >/dev/null
}
sp_test "hooks.d: a missing hook and no poststop fail; fixed files pass, and Podman joins with them" t_hooks_d

t_containerd() {
	local spec=$DD/base-spec.json
	"$SP_PYTHON" - "$SP_REPO/install/containerd/base-runtime-spec.json" "$spec" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    s = json.load(f)
s.pop("hooks", None)
with open(sys.argv[2], "w") as f:
    json.dump(s, f)
PY
	# version 2: what containerd reads the CRI section under that name in
	printf 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  base_runtime_spec = "%s"\n' "$spec" >"$DD/config.toml"
	doc
	fails containerd "base spec $spec: no createRuntime hook runs shmpipe-hook"
	fails containerd "pod_annotations does not let io.shmpipe.* through"
	sed "s|/usr/local/libexec/shmpipe/shmpipe-hook|$HK_HOOK|" "$SP_REPO/install/containerd/base-runtime-spec.json" >"$spec"
	printf '  pod_annotations = ["io.shmpipe.*"]\n' >>"$DD/config.toml"
	doc
	passes containerd "base spec $spec runs shmpipe-hook --cri at createRuntime and poststop"
	passes containerd "$DD/config.toml: pod_annotations = [\"io.shmpipe.*\"]"
}
sp_test "containerd: a base spec without the hook and no pod_annotations fail; fixed, both pass" t_containerd

# NVIDIA's container toolkit: the CRI section lives in a drop-in that
# config.toml imports, and the node installer sets the base spec and
# pod_annotations on every runc-compatible runtime there; what containerd
# runs with (its dump) passes, though config.toml itself names neither.
t_containerd_nvidia() {
	local dir=$DD/nvidia spec=$DD/base-spec.json rt
	mkdir -p "$dir/conf.d"
	printf 'version = 2\nimports = ["%s/conf.d/*.toml"]\nroot = "%s/root"\nstate = "%s/state"\n' "$dir" "$dir" "$dir" >"$dir/config.toml"
	{
		printf 'version = 2\n\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  default_runtime_name = "nvidia"\n'
		for rt in nvidia runc; do
			printf '\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.%s]\n' "$rt"
			printf '  runtime_type = "io.containerd.runc.v2"\n  base_runtime_spec = "%s"\n' "$spec"
			printf '  pod_annotations = ["io.shmpipe.*"]\n'
		done
	} >"$dir/conf.d/99-nvidia.toml"
	sed "s|/usr/local/libexec/shmpipe/shmpipe-hook|$HK_HOOK|" "$SP_REPO/install/containerd/base-runtime-spec.json" >"$spec"
	doc --containerd-config "$dir/config.toml"
	passes containerd "base spec $spec runs shmpipe-hook --cri at createRuntime and poststop"
	passes containerd "$dir/config.toml: pod_annotations = [\"io.shmpipe.*\"]"
	# The base spec the drop-in names is what is checked: without the hook, it fails.
	grep -v '"--cri",' "$spec" >"$dir/spec-nocri.json"
	sed -i "0,/base_runtime_spec = .*/s||base_runtime_spec = \"$dir/spec-nocri.json\"|" "$dir/conf.d/99-nvidia.toml"
	doc --containerd-config "$dir/config.toml"
	fails containerd "base spec $dir/spec-nocri.json runs shmpipe-hook without --cri"
	grep -qF "ok    containerd: base spec $spec runs shmpipe-hook --cri" <<<"$out" || sp_fail "the other runtime's base spec is not checked"
}
sp_test "containerd (NVIDIA toolkit): the CRI section in an imported drop-in, two runtimes with the base spec, passes; a broken spec there fails" t_containerd_nvidia

# Who may run the hook with --cri: never a hooks.d file Podman reads; always
# containerd's base spec and the files CRI-O's hooks_dir gives it (its own
# directory, read after the shared one, replacing the shared files by name).
t_cri_split() {
	local spec=$DD/base-spec.json crio=$DD/crio f
	# Podman's directory with --cri: any Podman container could be a pod.
	"$SP_PYTHON" - "$DD/hooks.d/shmpipe.json" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    h = json.load(f)
h["hook"]["args"] = ["shmpipe-hook", "--cri", "createRuntime"]
with open(sys.argv[1], "w") as f:
    json.dump(h, f)
PY
	# containerd's base spec without --cri: every pod is refused.
	sed "s|/usr/local/libexec/shmpipe/shmpipe-hook|$HK_HOOK|" "$SP_REPO/install/containerd/base-runtime-spec.json" |
		grep -v '"--cri",' >"$spec"
	# CRI-O reading only the shared directory.
	mkdir -p "$crio/crio.conf.d" "$DD/crio-hooks.d"
	printf '[crio.runtime]\nhooks_dir = ["%s"]\n' "$DD/hooks.d" >"$crio/crio.conf"
	doc --crio-config "$crio"
	fails hooks.d "$DD/hooks.d/shmpipe.json: runs shmpipe-hook --cri, and Podman reads this directory"
	fails containerd "base spec $spec runs shmpipe-hook without --cri: every pod that names a pipeline is refused"
	fails crio "CRI-O runs $DD/hooks.d/shmpipe-poststop.json without --cri (hooks_dir from $crio/crio.conf)"
	# Fixed as shipped: the shared files without --cri, the base spec with
	# it, and CRI-O's drop-in reading its own directory last.
	hooks_file shmpipe.json "$HK_HOOK"
	sed "s|/usr/local/libexec/shmpipe/shmpipe-hook|$HK_HOOK|" "$SP_REPO/install/containerd/base-runtime-spec.json" >"$spec"
	for f in shmpipe.json shmpipe-poststop.json; do
		sed "s|/usr/local/libexec/shmpipe/shmpipe-hook|$HK_HOOK|" "$SP_REPO/install/hooks.d/crio/$f" >"$DD/crio-hooks.d/$f"
	done
	sed -e "s|/usr/share/containers/oci/hooks.d|$DD/hooks.d|" -e "s|/usr/local/share/shmpipe/crio-hooks.d|$DD/crio-hooks.d|" \
		"$SP_REPO/install/crio/99-shmpipe.conf" >"$crio/crio.conf.d/99-shmpipe.conf"
	doc --crio-config "$crio"
	passes hooks.d "$DD/hooks.d/shmpipe.json runs $HK_HOOK at createRuntime/prestart"
	passes containerd "base spec $spec runs shmpipe-hook --cri at createRuntime and poststop"
	passes crio "CRI-O runs shmpipe-hook --cri at createRuntime and poststop (hooks_dir from $crio/crio.conf.d/99-shmpipe.conf)"
}
sp_test "--cri: Podman's hooks.d with it, containerd's base spec and CRI-O's hooks without it fail; as shipped (CRI-O's own dir read last), all pass" t_cri_split

# start_plugin : shmpipe-plugin serving $SOCK until the case ends.
start_plugin() {
	local pid
	rm -f "$SOCK"
	"$PLUGIN" --socket "$SOCK" --root "$HK_ROOT" --config "$HK_CONFIG" >"$SP_CASE_DIR/plugin.log" 2>&1 &
	pid=$!
	sp_defer kill "$pid"
	sp_wait_for 10 test -S "$SOCK" || sp_fail "the plugin did not start: $(cat "$SP_CASE_DIR/plugin.log")"
}

t_plugin_socket() {
	rm -f "$SOCK"
	# A socket file nobody listens on: what a dead plugin leaves.
	"$SP_PYTHON" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SOCK"
	doc
	fails plugin "$SOCK: connect: Connection refused"
	start_plugin
	doc
	passes plugin "$SOCK answers Plugin.Activate as a VolumeDriver"
}
sp_test "plugin: a dead socket fails; with shmpipe-plugin serving it, it passes" t_plugin_socket

t_daemon_json() {
	echo '{"runtimes": {' >"$DD/daemon.json"
	doc
	fails daemon.json "$DD/daemon.json"
	echo '{"runtimes": {"shmpipe": {"path": "/usr/local/nonexistent/shmpipe-runtime"}}}' >"$DD/daemon.json"
	doc
	fails daemon.json "runtime \"shmpipe\": /usr/local/nonexistent/shmpipe-runtime: No such file or directory"
	printf '{"runtimes": {"shmpipe": {"path": "%s"}}}\n' "$RUNTIME" >"$DD/daemon.json"
	doc
	passes daemon.json "runtime \"shmpipe\" is $RUNTIME"
}
sp_test "daemon.json: invalid JSON and a missing runtime fail; the built runtime passes" t_daemon_json

# An engine whose mount namespace does not see the store: one with the store
# root shadowed, one cut off (private propagation) before a pipeline was
# mounted; the real containerd sees everything.
t_store_visible() {
	local shadow cutoff
	unshare -m sh -c 'mount -t tmpfs shadow "$1" && exec sleep 300' sh "$HK_ROOT" &
	shadow=$!
	sp_defer kill "$shadow"
	"$HK_CTL" --root "$HK_ROOT" --config "$HK_CONFIG" create before --size 1m >/dev/null
	unshare -m --propagation private sleep 300 &
	cutoff=$!
	sp_defer kill "$cutoff"
	sp_wait_for 10 sh -c "[ \"\$(readlink /proc/$shadow/ns/mnt)\" != \"\$(readlink /proc/self/ns/mnt)\" ] && [ \"\$(readlink /proc/$cutoff/ns/mnt)\" != \"\$(readlink /proc/self/ns/mnt)\" ]"
	sleep 0.5 # the shadow's mount
	"$HK_CTL" --root "$HK_ROOT" --config "$HK_CONFIG" create after --size 1m >/dev/null
	ENGINE=$shadow doc
	fails store "(pid $shadow) does not see $HK_ROOT/mnt from its mount namespace"
	ENGINE=$cutoff doc
	fails store "(pid $cutoff) does not see the tmpfs of 1 of"
	doc
	passes store "containerd (pid $SP_CTD_PID) sees $HK_ROOT and the tmpfs of all"
	"$HK_CTL" --root "$HK_ROOT" --config "$HK_CONFIG" rm before
	"$HK_CTL" --root "$HK_ROOT" --config "$HK_CONFIG" rm after
}
sp_test "store: an engine with the store shadowed, or cut off before a mount, fails; containerd passes" t_store_visible

t_pid() {
	local b pid
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -a io.shmpipe.pipeline=dpid -- /bin/sleep 300
	hk_run -d runc "$(sp_id doc-pid)" "$b"
	pid=$(cat "$b/pid")
	doc --pid "$pid"
	passes pid "pid $pid's /dev/shm is pipeline dpid's tmpfs (same superblock)"
	"$HK_CTL" --root "$HK_ROOT" --config "$HK_CONFIG" create other --size 1m >/dev/null
	doc --pid "$pid" --pipeline other
	fails pid "pid $pid's /dev/shm is not pipeline other's tmpfs (it is another pipeline's)"
	# A container without the hook: its /dev/shm is runc's own tmpfs.
	b=$(sp_tmpdir bundle)
	sp_runc_bundle "$b" -- /bin/sleep 300
	sp_runc_run -d "$(sp_id doc-plain)" "$b"
	pid=$(cat "$b/pid")
	doc --pid "$pid"
	fails pid "pid $pid is no pipeline's member and its /dev/shm is no pipeline's tmpfs"
	"$HK_CTL" --root "$HK_ROOT" --config "$HK_CONFIG" rm other
}
sp_test "--pid: a joined runc container passes; another pipeline, or no hook at all, fails" t_pid

# Everything above fixed: doctor passes as a whole.
t_all() {
	start_plugin
	doc --crio-config "$DD/crio"
	sp_assert_eq 0 "$rc" "exit status"
	sp_assert_match "$(tail -n1 <<<"$out")" '^doctor: [0-9]+ passed, 0 failed, 0 skipped$'
}
sp_test "all fixed: exit status 0, nothing failed or skipped" t_all

sp_done
