#!/bin/bash
# hook_engines.sh - shmpipe-hook through containerd (ctr) and Podman, sharing
# a pipeline with plain runc containers; the shipped hooks.d files and
# containerd base runtime spec, with the hook path pointed at the build.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup

# hk_ctr_spec BUNDLE : BUNDLE/ctr-spec.json, config.json with an absolute
# root.path (`ctr run --config` takes no rootfs argument).
hk_ctr_spec() {
	"$SP_PYTHON" - "$1" <<'PY'
import json, os, sys
b = sys.argv[1]
with open(os.path.join(b, "config.json")) as f:
    c = json.load(f)
c["root"]["path"] = os.path.join(b, c["root"]["path"])
with open(os.path.join(b, "ctr-spec.json"), "w") as f:
    json.dump(c, f)
PY
}

# runc writer, detached, in pipeline $1 writing $2
runc_writer() {
	local b
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -a "io.shmpipe.pipeline=$1" -- /bin/sh -c "shmtool write frames '$2' && exec sleep 300"
	hk_run -d runc "$(sp_id "writer-$1")" "$b"
}

runc_reader() {
	local b
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -a "io.shmpipe.pipeline=$1" -- /bin/sh -c 'shmtool wait frames 10 && shmtool read frames'
	hk_run runc "$(sp_id "reader-$1")" "$b"
}

# ctr run --config with the hooks in the spec; the pipeline from --label
# (containerd 1.6 copies labels into the OCI annotations).
t_ctr_label() {
	local p=ctr-label data="ctr-$SP_RUN_ID" b id out
	sp_containerd_start
	runc_writer "$p" "$data"
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -- /bin/sh -c 'shmtool wait frames 10 && shmtool read frames; echo; shmtool mountinfo'
	hk_ctr_spec "$b"
	id=$(sp_id ctr-label)
	out=$(sp_ctr_run "$id" --rm --config "$b/ctr-spec.json" --label "io.shmpipe.pipeline=$p")
	sp_assert_eq "$data" "$(sed -n 1p <<<"$out")" "ctr container reads the runc container's segment"
	hk_assert_shm_line "$(sed -n 2p <<<"$out")" "$p"
	# `ctr run --rm` deleted the task: poststop left the pipeline
	sp_assert_eq "$(sp_id "writer-$p")" "$(hk_members "$p")" "members after the ctr container is gone"
}

# The other way round: a detached ctr container (annotation in its spec)
# writes, runc reads; deleting the ctr task leaves the pipeline.
t_ctr_writer() {
	local p=ctr-writer data="ctrw-$SP_RUN_ID" b id out
	sp_containerd_start
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -a "io.shmpipe.pipeline=$p" -- /bin/sh -c "shmtool write frames '$data' && exec sleep 300"
	hk_ctr_spec "$b"
	id=$(sp_id ctr-writer)
	sp_ctr_run "$id" -d --config "$b/ctr-spec.json" >/dev/null
	out=$(runc_reader "$p")
	sp_assert_eq "$data" "$out" "runc container reads the ctr container's segment"
	sp_assert_eq "$id" "$(hk_members "$p")"
	sp_ctr tasks kill -s KILL "$id" >/dev/null
	sp_wait_for 10 sh -c "ctr --address '$SP_CTD_SOCK' -n '$SP_CTD_NS' tasks ls | grep -q '^$id .*STOPPED'"
	sp_ctr tasks delete "$id" >/dev/null
	hk_exists "$p" && sp_fail "$p survived its last container"
	return 0
}

# An engine that passes no annotations: SHMPIPE_PIPELINE in the spec's env,
# through the shipped base runtime spec (hook path and store rewritten).
t_ctr_base_spec_env() {
	local p=ctr-env data="ctre-$SP_RUN_ID" r spec id out
	sp_containerd_start
	runc_writer "$p" "$data"
	r=$(sp_tmpdir rootfs)
	sp_busybox_rootfs "$r"
	spec="$SP_CASE_DIR/spec.json"
	"$SP_PYTHON" - "$SP_REPO/install/containerd/base-runtime-spec.json" "$spec" "$r" "$HK_HOOK" \
		"$HK_ROOT" "$HK_CONFIG" "$p" <<'PY'
import json, sys
src, out, rootfs, hook, root, config, pipe = sys.argv[1:8]
with open(src) as f:
    s = json.load(f)
for stage, hooks in s["hooks"].items():
    for h in hooks:
        assert h["path"] == "/usr/local/libexec/shmpipe/shmpipe-hook", h
        h["path"] = hook
        h["args"] = h["args"][:1] + ["--root", root, "--config", config] + h["args"][1:]
s["root"] = {"path": rootfs}
s["process"]["args"] = ["/bin/sh", "-c", "shmtool wait frames 10 && shmtool read frames"]
s["process"].setdefault("env", ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]).append("SHMPIPE_PIPELINE=" + pipe)
with open(out, "w") as f:
    json.dump(s, f)
PY
	id=$(sp_id ctr-env)
	out=$(sp_ctr_run "$id" --rm --config "$spec")
	sp_assert_eq "$data" "$out" "env-only ctr container reads the runc container's segment"
	sp_assert_eq "$(sp_id "writer-$p")" "$(hk_members "$p")"
}

# hooks.d for Podman: the shipped files, the path pointed at the build, the
# store passed through the hook's env.
podman_hooks_dir() {
	local dir="$SP_TMP/podman-hooks.d" f
	if [[ ! -d $dir ]]; then
		mkdir -p "$dir"
		for f in "$SP_REPO"/install/hooks.d/*.json; do
			hk_hooks_file "$f" "$dir/$(basename "$f")"
		done
	fi
	echo "$dir"
}

# Podman writes (detached, --rootfs: root.path is not BUNDLE/rootfs), runc
# reads; removing the podman container removes the ephemeral pipeline.
t_podman_writer() {
	local p=podman-w data="podw-$SP_RUN_ID" r name out
	SP_PODMAN_HOOKS_DIR=$(podman_hooks_dir)
	export SP_PODMAN_HOOKS_DIR
	r=$(sp_tmpdir rootfs)
	sp_busybox_rootfs "$r"
	name=$(sp_id podman-w)
	sp_podman_run -d --name "$name" --annotation "io.shmpipe.pipeline=$p" --rootfs "$r" \
		/bin/sh -c "shmtool write frames '$data' && exec sleep 300" >/dev/null
	sp_assert_contains "$(sp_podman inspect -f '{{.Id}}' "$name")" "$(hk_members "$p")" "podman member id"
	out=$(runc_reader "$p")
	sp_assert_eq "$data" "$out" "runc container reads the podman container's segment"
	sp_podman rm -f -t 0 "$name" >/dev/null
	sp_wait_for 10 sh -c "! test -e '$HK_ROOT/state/$p.json'" || sp_fail "$p survived its podman container"
	hk_mounted "$p" && sp_fail "$p's tmpfs is still mounted"
	return 0
}

# runc writes, a podman container reads, and sees the pipeline on /dev/shm.
t_podman_reader() {
	local p=podman-r data="podr-$SP_RUN_ID" r out
	SP_PODMAN_HOOKS_DIR=$(podman_hooks_dir)
	export SP_PODMAN_HOOKS_DIR
	runc_writer "$p" "$data"
	r=$(sp_tmpdir rootfs)
	sp_busybox_rootfs "$r"
	out=$(sp_podman_run --rm --name "$(sp_id podman-r)" --annotation "io.shmpipe.pipeline=$p" --rootfs "$r" \
		/bin/sh -c 'shmtool wait frames 10 && shmtool read frames; echo; shmtool mountinfo')
	sp_assert_eq "$data" "$(sed -n 1p <<<"$out")" "podman container reads the runc container's segment"
	hk_assert_shm_line "$(sed -n 2p <<<"$out")" "$p"
	sp_wait_for 10 sh -c "[ \"\$(cat '$HK_ROOT/state/$p.json' | grep -c '\"id\"')\" = 1 ]" ||
		sp_fail "the podman container did not leave: $(hk_members "$p")"
}

# A podman container without the annotation: the hooks.d "when" does not
# even run the hook, and /dev/shm is podman's own.
t_podman_none() {
	local r out
	SP_PODMAN_HOOKS_DIR=$(podman_hooks_dir)
	export SP_PODMAN_HOOKS_DIR
	r=$(sp_tmpdir rootfs)
	sp_busybox_rootfs "$r"
	out=$(sp_podman_run --rm --name "$(sp_id podman-none)" --rootfs "$r" /bin/sh -c 'shmtool mountinfo')
	sp_assert_not_contains "$out" shmpipe-
}

sp_test "containerd: ctr --label io.shmpipe.pipeline joins, shares with runc, leaves at poststop" t_ctr_label
sp_test "containerd: a ctr container writes, runc reads; task delete removes the pipeline" t_ctr_writer
sp_test "containerd: shipped base runtime spec + SHMPIPE_PIPELINE env only" t_ctr_base_spec_env
sp_test "podman --hooks-dir (shipped hooks.d): podman writes, runc reads, rm removes the pipeline" t_podman_writer
sp_test "podman --hooks-dir (shipped hooks.d): runc writes, podman reads" t_podman_reader
sp_test "podman without the annotation keeps its own /dev/shm" t_podman_none
sp_done
