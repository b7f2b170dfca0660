#!/usr/bin/env bash
# install/kubernetes as `kubectl kustomize` renders it (kubectl's built-in
# kustomize, no cluster): what an operator's review asks of a privileged
# node agent, field by field; the uninstall overlay and the k3s component.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

K=$SP_REPO/install/kubernetes

# render DIR OUT : kubectl kustomize DIR, as JSON documents in OUT.
render() {
	sp_timeout kubectl kustomize --load-restrictor LoadRestrictionsNone "$1" >"$2.yaml"
	"$SP_PYTHON" -c 'import json, sys, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), open(sys.argv[2], "w"))' \
		"$2.yaml" "$2"
}

t_base() {
	render "$K" "$SP_CASE_DIR/all.json"
	"$SP_PYTHON" - "$SP_CASE_DIR/all.json" <<'EOF'
import json, sys
docs = {d["kind"]: d for d in json.load(open(sys.argv[1]))}
assert sorted(docs) == ["DaemonSet", "Namespace", "ServiceAccount"], sorted(docs)
ns = docs["Namespace"]["metadata"]
assert ns["labels"]["pod-security.kubernetes.io/enforce"] == "privileged", ns
sa = docs["ServiceAccount"]
assert sa["automountServiceAccountToken"] is False, sa
ds = docs["DaemonSet"]
assert ds["metadata"]["namespace"] == ns["name"] == sa["metadata"]["namespace"]
pod = ds["spec"]["template"]["spec"]
assert pod["serviceAccountName"] == sa["metadata"]["name"], pod.get("serviceAccountName")
assert pod["automountServiceAccountToken"] is False
assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}, pod.get("nodeSelector")
for t in pod["tolerations"]:
    assert t.get("key") and t.get("effect"), ("a toleration of everything", t)
(c,) = pod["containers"]
assert "@sha256:" in c["image"], ("image not pinned by digest", c["image"])
assert c["command"] == ["shmpipe-node-install", "run"], c["command"]
assert c["readinessProbe"]["exec"]["command"] == ["shmpipe-node-install", "check"], c["readinessProbe"]
assert c["livenessProbe"]["httpGet"]["path"] == "/metrics"
env = {e["name"]: e["value"] for e in c["env"]}
assert env["SHMPIPE_NODE_ON_STOP"] == "keep" and env["SHMPIPE_NODE_HOST_ROOT"] == "/host", env
port = {p["name"]: p["containerPort"] for p in c["ports"]}["metrics"]
assert env["SHMPIPE_NODE_METRICS_LISTEN"] == ":%d" % port, env
ann = ds["spec"]["template"]["metadata"]["annotations"]
assert ann["prometheus.io/scrape"] == "true" and ann["prometheus.io/port"] == str(port), ann
assert ann["prometheus.io/path"] == "/metrics"
# Host paths: / read-only; written only what the installer writes.
vols = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"]}
written = sorted((vols[m["name"]], m["mountPath"]) for m in c["volumeMounts"] if not m.get("readOnly"))
assert written == sorted([
    ("/etc/containerd", "/host/etc/containerd"),
    ("/etc/kubernetes/node-feature-discovery/features.d",
     "/host/etc/kubernetes/node-feature-discovery/features.d"),
    ("/etc/shmpipe", "/host/etc/shmpipe"),
    ("/run/shmpipe", "/run/shmpipe"),
    ("/usr/local/libexec/shmpipe", "/host/usr/local/libexec/shmpipe"),
    ("/usr/local/share/shmpipe", "/host/usr/local/share/shmpipe"),
]), written
root = [m for m in c["volumeMounts"] if vols[m["name"]] == "/"]
assert len(root) == 1 and root[0]["readOnly"] is True and root[0]["mountPath"] == "/host", root
assert c["securityContext"] == {"privileged": True}, c["securityContext"]
EOF
}

t_overlays() {
	local ov k
	render "$K/uninstall" "$SP_CASE_DIR/un.json"
	sp_assert_eq uninstall "$(sp_json "$SP_CASE_DIR/un.json" \
		'[e["value"] for d in j if d["kind"] == "DaemonSet" for e in d["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] == "SHMPIPE_NODE_ON_STOP"][0]')"
	ov=$(sp_tmpdir overlay)
	# An overlay of the operator's own (kustomize wants relative paths).
	k=$(realpath --relative-to="$ov" "$K")
	printf 'resources: [%s]\ncomponents: [%s]\n' "$k" "$k/components/k3s" >"$ov/kustomization.yaml"
	render "$ov" "$SP_CASE_DIR/k3s.json"
	"$SP_PYTHON" - "$SP_CASE_DIR/k3s.json" <<'EOF'
import json, sys
(ds,) = [d for d in json.load(open(sys.argv[1])) if d["kind"] == "DaemonSet"]
c = ds["spec"]["template"]["spec"]["containers"][0]
env = {e["name"]: e["value"] for e in c["env"]}
assert env["SHMPIPE_NODE_RESTART"] == "command", env
assert "systemctl restart k3s-agent" in env["SHMPIPE_NODE_RESTART_COMMAND"], env
assert "/host/var/lib/rancher/k3s/agent/etc/containerd" in [m["mountPath"] for m in c["volumeMounts"]]
EOF
}

sp_test "kubectl kustomize install/kubernetes: Pod Security label, no token, linux nodes, named tolerations, image by digest, probes, scrape annotations, host / read-only and only the written paths writable" t_base
sp_test "kustomize overlays: uninstall sets on-stop uninstall; the k3s component restarts k3s and mounts its config" t_overlays
sp_done
