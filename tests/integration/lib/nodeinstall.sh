# shellcheck shell=bash
# tests/integration/lib/nodeinstall.sh - the states real nodes are in before
# shmpipe-node-install runs (for kubernetes_install.sh and
# kubernetes_image.sh), a supervised private CRI containerd (restarted when
# it exits, as systemd does), and the checks of what the installer left.
# Sources lib/common.sh, lib/hook.sh and lib/cri.sh; call ni_setup first.
#
# ni_state STATE DIR : writes STATE's containerd config under DIR, for a
# private containerd in DIR.  Sets NI_MAIN (the config the installer is
# pointed at, or finds), NI_RUN (the file containerd is started with) and
# NI_RENDER (k3s: the command that makes NI_RUN from the template).
# States: none plain nvidia k3s symlink basespec.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/hook.sh"
. "$(dirname "${BASH_SOURCE[0]}")/cri.sh"

# ni_setup : the store and config of hk_setup; the hook finds the store
# through the config the installer gives it, as on a node.
ni_setup() {
	hk_setup
	printf '{"root": "%s"}\n' "$HK_ROOT" >"$HK_CONFIG"
}

# shellcheck disable=SC2034 # NI_* are read by the tests that source this
NI_STATES="none plain nvidia k3s symlink basespec"

# The CRI section and runtimes of cri_containerd_config, as the last
# import that sets the CRI section carries them (NVIDIA's drop-in).
_ni_nvidia_dropin() {
	local dir=$1 rt
	cri_containerd_config "$dir" | sed -n '/^\[plugins/,$p' |
		sed 's/^\[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc\]$/[plugins."io.containerd.grpc.v1.cri".containerd]\n  default_runtime_name = "nvidia"\n\n&/'
	for rt in nvidia nvidia-cdi nvidia-legacy; do
		printf '#!/bin/sh\n# %s: a runc-compatible wrapper, as nvidia-container-runtime is\nexec runc "$@"\n' "$rt" \
			>"$dir/bin/$rt-container-runtime"
		chmod 755 "$dir/bin/$rt-container-runtime"
		cat <<EOF

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$rt]
  privileged_without_host_devices = false
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$rt.options]
  BinaryName = "$dir/bin/$rt-container-runtime"
  Root = "$dir/runc"
  SystemdCgroup = false
EOF
	done
}

ni_state() {
	local state=$1 dir=$2
	mkdir -p "$dir/bin"
	NI_MAIN=$dir/config.toml NI_RUN=$dir/config.toml NI_RENDER=""
	case $state in
	none) ;;
	plain) cri_containerd_config "$dir" >"$dir/config.toml" ;;
	nvidia)
		mkdir -p "$dir/conf.d"
		cri_containerd_config "$dir" | sed "1a imports = [\"$dir/conf.d/*.toml\"]" >"$dir/config.toml"
		_ni_nvidia_dropin "$dir" >"$dir/conf.d/99-nvidia.toml"
		;;
	k3s)
		# k3s writes config.toml from config.toml.tmpl (when there is one)
		# at each start; base.toml stands for what it renders without one.
		local d=$dir/agent/etc/containerd
		mkdir -p "$d"
		cri_containerd_config "$dir" >"$d/base.toml"
		cp "$d/base.toml" "$d/config.toml"
		NI_MAIN=$d/config.toml NI_RUN=$d/config.toml
		NI_RENDER="if [ -e $d/config.toml.tmpl ]; then cp $d/config.toml.tmpl $d/config.toml; else cp $d/base.toml $d/config.toml; fi"
		;;
	symlink)
		mkdir -p "$dir/real"
		cri_containerd_config "$dir" >"$dir/real/config.toml"
		ln -s "$dir/real/config.toml" "$dir/config.toml"
		;;
	basespec)
		# EKS (AL2023): the runc runtime has a base spec of its own, with
		# its own open-file limits.
		cri_containerd_config "$dir" |
			sed "/^  runtime_type = \"io.containerd.runc.v2\"/a \  base_runtime_spec = \"$dir/eks-spec.json\"" >"$dir/config.toml"
		# (EKS: 65536 soft, 1048576 hard; no higher than this host allows)
		ctr oci spec | "$SP_PYTHON" -c '
import json, resource, sys
s = json.load(sys.stdin)
hard = min(1048576, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
s["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": hard, "soft": min(65536, hard // 2)}]
print(json.dumps(s, indent=4))' >"$dir/eks-spec.json"
		;;
	*) sp_fail "ni_state: unknown state $state" ;;
	esac
}

# ni_sums DIR : a listing of every file and symlink under DIR (the store,
# containerd's own dirs and logs left out) with its content's hash.
ni_sums() {
	local prune=(\( -path ./root -o -path ./state -o -path ./runc -o -path ./cni -o -path ./prefix \) -prune -o)
	(cd "$1" && find . "${prune[@]}" -type f ! -name '*.log' ! -name '*.pid' ! -name stop -print0 |
		sort -z | xargs -0 -r sha256sum && find . "${prune[@]}" -type l -printf '%p -> %l\n' | sort)
}

# ni_install DIR COMMAND [ARGS...] : the installer with this file's prefix,
# hook, shmpipe config and containerd socket.
ni_install() {
	local dir=$1 cmd=$2
	shift 2
	"$CRI_INSTALLER" "$cmd" --prefix "$dir/prefix" --from "$HK_BUILD" --shmpipe-config "$HK_CONFIG" \
		--containerd-address "$dir/containerd.sock" "$@"
}

# ni_check_effective DIR MAIN : containerd's effective config from MAIN
# (`containerd config dump`): every runc runtime has a base spec that runs
# the hook with --cri at createRuntime and poststop, and io.shmpipe.* in
# both annotation lists; prints the equipped runtimes.
ni_check_effective() {
	local dir=$1 main=$2
	containerd --config "$main" config dump >"$SP_CASE_DIR/dump.toml"
	"$SP_PYTHON" - "$SP_CASE_DIR/dump.toml" "$dir/prefix/libexec/shmpipe/shmpipe-hook" <<'EOF'
import json, sys, tomlkit
dump, hook = sys.argv[1:]
cri = tomlkit.parse(open(dump).read()).unwrap()["plugins"]["io.containerd.grpc.v1.cri"]
names = []
for name, rt in sorted(cri["containerd"]["runtimes"].items()):
    if rt["runtime_type"] != "io.containerd.runc.v2":
        continue
    assert rt["base_runtime_spec"], (name, "no base spec")
    spec = json.load(open(rt["base_runtime_spec"]))
    for stage in ("createRuntime", "poststop"):
        ours = [h for h in spec["hooks"][stage] if h["path"] == hook]
        assert len(ours) == 1 and ours[0]["args"][-2:] == ["--cri", stage], (name, stage, ours)
    for key in ("pod_annotations", "container_annotations"):
        assert "io.shmpipe.*" in rt[key], (name, key, rt[key])
    names.append(name)
print(" ".join(names), cri["containerd"]["default_runtime_name"])
EOF
}

# ni_supervise DIR CONFIG [RENDER] : a private CRI containerd on CONFIG,
# started again whenever it exits (as systemd's Restart=always does), after
# RENDER (a shell command; k3s renders its template then).  Sets CRI_DIR,
# CRI_SOCK; containerd's pid is in DIR/containerd.pid.  Stops at scope end.
ni_supervise() {
	local dir=$1 config=$2 render=${3:-:}
	CRI_DIR=$dir CRI_SOCK=$dir/containerd.sock
	export CRI_DIR CRI_SOCK
	rm -f "$dir/stop"
	sp_defer ni_supervise_stop "$dir"
	setsid env -u SHMPIPE_ROOT -u SHMPIPE_CONFIG bash -c '
		cd "$1" || exit 1
		until [ -e stop ]; do
			eval "$3"
			containerd --config "$2" </dev/null >>containerd.log 2>&1 &
			echo $! >containerd.pid
			wait $!
			sleep 0.2
		done' ni-supervisor "$dir" "$config" "$render" </dev/null >/dev/null 2>&1 &
	echo $! >"$dir/supervisor.pid"
	sp_wait_for "$SP_TIMEOUT" cri Version || {
		tail -20 "$dir/containerd.log" >&2
		sp_fail "containerd (CRI) did not come up"
	}
}

ni_supervise_stop() {
	local dir=$1
	touch "$dir/stop"
	sp_containerd_stop "$dir"
	kill "$(cat "$dir/supervisor.pid")" 2>/dev/null || true
}

# ni_spec_of CONTAINER : the OCI spec containerd gave runc for CONTAINER,
# with what differs between any two pods (ids, pids, names, uids) made
# equal, and its hooks apart: prints {"spec": ..., "hooks": ...}.
ni_spec_of() {
	"$SP_PYTHON" - "$CRI_DIR/state/io.containerd.runtime.v2.task/k8s.io/$1/config.json" <<'EOF'
import json, re, sys
spec = json.load(open(sys.argv[1]))
hooks = spec.pop("hooks", None)
ann = spec.get("annotations", {})
for k in ("io.kubernetes.cri.sandbox-name", "io.kubernetes.cri.sandbox-uid"):
    ann.pop(k, None)
text = json.dumps(spec, indent=1, sort_keys=True)
text = re.sub(r"[0-9a-f]{64}", "ID", text)
text = re.sub(r"/proc/[0-9]+/", "/proc/PID/", text)
print(json.dumps({"spec": json.loads(text), "hooks": hooks}, indent=1, sort_keys=True))
EOF
}
