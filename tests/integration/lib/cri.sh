# shellcheck shell=bash
# tests/integration/lib/cri.sh - Kubernetes' view of containerd for the
# kubernetes_*.sh tests: a private containerd with its CRI plugin, wired
# for shmpipe by the node installer from the shipped install/ files, a
# local busybox image in the k8s.io namespace (sandbox and app image), and
# the calls the kubelet makes, over gRPC (tests/integration/cri/cri.py).
# Source after lib/common.sh and lib/hook.sh, then call hk_setup.
#
# Pods use the host network (no CNI here); leave hostname empty with it.

CRI_CLIENT=$SP_REPO/tests/integration/cri/cri.py

# cri_setup [CMD...] : the commands and Python modules these tests need
# (exits when one is missing), then hk_setup with the store in the config
# the installer points the hook at.
cri_setup() {
	sp_require_cmd containerd ctr runc protoc "$@"
	"$SP_PYTHON" -c 'import grpc, google.protobuf, tomlkit' 2>/dev/null || {
		echo "needs python3-grpcio, python3-protobuf, python3-tomlkit (install/deps.sh)" >&2
		exit 1
	}
	hk_setup
	printf '{"root": "%s"}\n' "$HK_ROOT" >"$HK_CONFIG"
}
CRI_INSTALLER=$SP_REPO/install/kubernetes/shmpipe-node-install
CRI_IMAGE=shmpipe.test/busybox:cri
CRI_CGROUP_PARENT=/shmpipe-test

# cri_require : what these tests need, or exit 1 saying so.
cri_require() {
	sp_require_cmd containerd ctr runc protoc
	"$SP_PYTHON" -c 'import grpc, google.protobuf, tomlkit' 2>/dev/null || {
		echo "needs python3-grpcio, python3-protobuf, python3-tomlkit (install/deps.sh)" >&2
		exit 1
	}
}

# cri_image_tar FILE : a docker-archive of the busybox rootfs that the CRI
# can run as the sandbox (Cmd: sleep) and as an app container.
cri_image_tar() {
	local out=$1 d
	d=$(sp_tmpdir image)
	sp_busybox_tar "$d/layer.tar"
	"$SP_PYTHON" - "$d" "$CRI_IMAGE" <<'EOF'
import hashlib, json, os, sys
d, tag = sys.argv[1], sys.argv[2]
with open(os.path.join(d, "layer.tar"), "rb") as f:
    diff = "sha256:" + hashlib.sha256(f.read()).hexdigest()
config = {
    "architecture": "amd64", "os": "linux",
    "config": {"Cmd": ["sleep", "2147483647"],
               "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
    "rootfs": {"type": "layers", "diff_ids": [diff]},
}
raw = json.dumps(config).encode()
name = hashlib.sha256(raw).hexdigest() + ".json"
with open(os.path.join(d, name), "wb") as f:
    f.write(raw)
with open(os.path.join(d, "manifest.json"), "w") as f:
    json.dump([{"Config": name, "RepoTags": [tag], "Layers": ["layer.tar"]}], f)
EOF
	tar -C "$d" -cf "$out" .
}

# cri_containerd_config DIR : containerd's config for a private CRI
# containerd in DIR, before shmpipe: what a node has before the installer.
cri_containerd_config() {
	local dir=$1
	mkdir -p "$dir/cni/bin" "$dir/cni/conf"
	cat <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = "$dir/containerd.sock"

[ttrpc]
  address = "$dir/containerd.sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$CRI_IMAGE"
  disable_apparmor = true
  stream_server_port = "0"
  # root here lacks CAP_SYS_RESOURCE: no oom_score_adj below containerd's own
  restrict_oom_score_adj = true

[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "$dir/cni/bin"
  conf_dir = "$dir/cni/conf"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  Root = "$dir/runc"
  SystemdCgroup = false
EOF
}

# cri_install DIR [INSTALLER-ARGS...] : the node installer, wiring
# shmpipe into DIR's containerd config, with this file's store and config.
cri_install() {
	local dir=$1
	shift
	"$CRI_INSTALLER" install --prefix "$dir/prefix" --from "$HK_BUILD" \
		--containerd-config "$dir/config.toml" --shmpipe-config "$HK_CONFIG" "$@"
}

cri_uninstall() {
	local dir=$1
	shift
	"$CRI_INSTALLER" uninstall --prefix "$dir/prefix" --from "$HK_BUILD" \
		--containerd-config "$dir/config.toml" --shmpipe-config "$HK_CONFIG" "$@"
}

# cri_containerd_up DIR : start (or restart) the containerd of DIR, with
# DIR/config.toml as it is now; waits until the CRI answers.  Sets
# CRI_DIR, CRI_SOCK.  Its stop (tasks killed, mounts gone) is deferred once.
cri_containerd_up() {
	local dir=$1 pid
	CRI_DIR=$dir CRI_SOCK=$dir/containerd.sock
	export CRI_DIR CRI_SOCK
	[[ -e $dir/.stop-deferred ]] || { sp_defer sp_containerd_stop "$dir"; touch "$dir/.stop-deferred"; }
	# Without the store's env: the hook must find it through the config the
	# installer gave it, as on a node.
	setsid env -u SHMPIPE_ROOT -u SHMPIPE_CONFIG containerd --config "$dir/config.toml" \
		</dev/null >>"$dir/containerd.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/containerd.pid"
	if ! sp_wait_for "$SP_TIMEOUT" cri Version; then
		tail -20 "$dir/containerd.log" >&2
		sp_fail "containerd (CRI) did not come up"
	fi
}

# cri_containerd_down DIR [SIGNAL] : stop that containerd only (its shims
# and containers go on, as on a containerd restart; KILL: as if it died).
cri_containerd_down() {
	local dir=$1 sig=${2:-TERM} pid i
	pid=$(cat "$dir/containerd.pid")
	kill "-$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && sp_fail "containerd $pid did not stop"
	return 0
}

# cri_node [SED-SCRIPT] : a node as these tests use it: containerd config
# from cri_containerd_config, the installer run (then SED-SCRIPT applied to
# the config, if given), the image imported, containerd up.  Sets CRI_DIR,
# CRI_SOCK.
cri_node() {
	local dir
	dir=$(sp_tmpdir cri)
	cri_containerd_config "$dir" >"$dir/config.toml"
	cri_install "$dir" >/dev/null
	[[ -z ${1:-} ]] || sed -i "$1" "$dir/config.toml"
	cri_containerd_up "$dir"
	cri_import_image
}

cri_import_image() {
	[[ -e $SP_TMP/cri-image.tar ]] || cri_image_tar "$SP_TMP/cri-image.tar"
	sp_timeout ctr --address "$CRI_SOCK" -n k8s.io images import "$SP_TMP/cri-image.tar" >/dev/null
}

# cri METHOD [JSON] : one CRI call; the response as JSON on stdout.
cri() {
	sp_timeout "$SP_PYTHON" "$CRI_CLIENT" --sock "$CRI_SOCK" --gen "$SP_TMP/cri-gen" "$@"
}

# cri_field JSON KEY : a top-level string field of a response.
cri_field() { "$SP_PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"; }

# cri_pod_config NAMESPACE NAME [KEY=VALUE...] : a PodSandboxConfig (JSON)
# with those pod annotations, host network, as the kubelet would send it.
cri_pod_config() {
	"$SP_PYTHON" - "$@" "$CRI_CGROUP_PARENT" "$SP_TMP/cri-logs" <<'EOF'
import json, os, sys, uuid
ns, name, *ann, cgroup, logs = sys.argv[1:]
uid = str(uuid.uuid4())
# The kubelet makes the pod's log directory; containerd only writes in it.
os.makedirs("%s/%s_%s_%s" % (logs, ns, name, uid))
print(json.dumps({
    "metadata": {"name": name, "namespace": ns, "uid": uid, "attempt": 0},
    "log_directory": "%s/%s_%s_%s" % (logs, ns, name, uid),
    "labels": {"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": ns,
               "io.kubernetes.pod.uid": uid},
    "annotations": dict(a.split("=", 1) for a in ann),
    "linux": {"cgroup_parent": cgroup,
              "security_context": {"namespace_options": {"network": "NODE"}}},
}))
EOF
}

# cri_runp NAMESPACE NAME [KEY=VALUE...] : RunPodSandbox; prints the pod id.
# Its config is kept for CreateContainer (the kubelet sends it again).
# CRI_HANDLER, when set, is the pod's runtime handler (RuntimeClass).
cri_runp() {
	local conf out id
	conf=$(cri_pod_config "$@")
	out=$(cri RunPodSandbox "{\"config\": $conf${CRI_HANDLER:+, \"runtime_handler\": \"$CRI_HANDLER\"}}")
	id=$(cri_field "$out" pod_sandbox_id)
	[[ -n $id ]] || sp_fail "RunPodSandbox gave no id: $out"
	mkdir -p "$SP_TMP/cri-pods"
	printf '%s\n' "$conf" >"$SP_TMP/cri-pods/$id.json"
	echo "$id"
}

# cri_create POD NAME [KEY=VALUE...] : CreateContainer of a container NAME
# (image CRI_IMAGE, sleeping, or running CRI_COMMAND: a JSON argv) in POD
# with those container annotations; prints its id, or fails with the CRI's
# error on stderr.
cri_create() {
	local pod=$1 name=$2 conf out id
	shift 2
	conf=$(CRI_COMMAND=${CRI_COMMAND:-} "$SP_PYTHON" - "$name" "$CRI_IMAGE" "$@" <<'EOF'
import json, os, sys
name, image, *ann = sys.argv[1:]
print(json.dumps({
    "metadata": {"name": name, "attempt": 0},
    "image": {"image": image},
    "command": json.loads(os.environ["CRI_COMMAND"] or '["sleep", "2147483647"]'),
    "log_path": "%s.log" % name,
    "labels": {"io.kubernetes.container.name": name},
    "annotations": dict(a.split("=", 1) for a in ann),
}))
EOF
)
	out=$(cri CreateContainer "{\"pod_sandbox_id\": \"$pod\", \"config\": $conf, \"sandbox_config\": $(cat "$SP_TMP/cri-pods/$pod.json")}") || return 1
	id=$(cri_field "$out" container_id)
	[[ -n $id ]] || sp_fail "CreateContainer gave no id: $out"
	echo "$id"
}

# cri_run POD NAME [KEY=VALUE...] : CreateContainer + StartContainer.
cri_run() {
	local id
	id=$(cri_create "$@") || return 1
	cri StartContainer "{\"container_id\": \"$id\"}" >/dev/null || return 1
	echo "$id"
}

# cri_exec CONTAINER CMD... : ExecSync; the command's stdout; fails when it
# exits non-zero.
cri_exec() {
	local id=$1 out rc
	shift
	out=$(cri ExecSync "$("$SP_PYTHON" -c 'import json,sys; print(json.dumps({"container_id": sys.argv[1], "cmd": sys.argv[2:], "timeout": 30}))' "$id" "$@")")
	"$SP_PYTHON" - "$out" <<'EOF'
import base64, json, sys
r = json.loads(sys.argv[1])
sys.stdout.write(base64.b64decode(r.get("stdout", "")).decode())
sys.stderr.write(base64.b64decode(r.get("stderr", "")).decode())
sys.exit(r.get("exit_code", 0))
EOF
}

# cri_stopp POD / cri_rmp POD : StopPodSandbox / RemovePodSandbox.
cri_stopp() { cri StopPodSandbox "{\"pod_sandbox_id\": \"$1\"}" >/dev/null; }
cri_rmp() { cri RemovePodSandbox "{\"pod_sandbox_id\": \"$1\"}" >/dev/null; }
