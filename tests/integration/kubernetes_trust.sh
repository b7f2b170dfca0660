#!/usr/bin/env bash
# The CRI's word only from the CRI: a pod's namespace is read from the CRI's
# annotations only when the CRI's own configuration runs the hook (its base
# runtime spec: shmpipe-hook --cri).  runc, Podman and shmpipe-runtime
# callers who write those annotations themselves are refused, while pods
# through the CRI (a private containerd 1.6 wired by the node installer)
# share team-a/frames.  A join-only pod (io.shmpipe.create=false) on a node
# without its pipeline fails to start with the hook's line in
# StartContainer's error.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
. "$(dirname "$0")/lib/cri.sh"

cri_setup podman
exists() { hk_exists "${1/\//+}"; }
members() { hk_members "${1/\//+}" | sort; }

# One node for every case: containerd with the installer's base spec.
cri_node
grep -q '"--cri"' "$CRI_DIR/prefix/share/shmpipe/base-runtime-spec.json" ||
	sp_fail "the installed base spec does not run the hook with --cri"

ROOTFS=$(sp_tmpdir rootfs)
sp_busybox_rootfs "$ROOTFS"
FORGED_KEYS=(io.kubernetes.pod.namespace io.kubernetes.cri.sandbox-namespace)

# hooks_dir SRC DIR : the shipped hooks.d files of SRC (install/hooks.d, or
# its crio/ variant) in DIR.
hooks_dir() {
	local f
	mkdir -p "$2"
	for f in "$1"/*.json; do hk_hooks_file "$f" "$2/$(basename "$f")"; done
}
PODMAN_HOOKS=$SP_TMP/podman-hooks.d
CRIO_HOOKS=$SP_TMP/crio-hooks.d
hooks_dir "$SP_REPO/install/hooks.d" "$PODMAN_HOOKS"
hooks_dir "$SP_REPO/install/hooks.d/crio" "$CRIO_HOOKS"

# team-a/frames, with team-a's data in it (made on the node, so that what a
# forger reaches does not depend on how pods are told apart).
hk_ctl create team-a/frames >/dev/null
sp_defer hk_quiet hk_ctl rm --force team-a/frames
echo team-a-secret >"$HK_ROOT/mnt/team-a+frames/ring"

# refused OUT KEY : no team-a data, the hook's (or the wrapper's) one line
# naming KEY, and team-a/frames without members.
refused() {
	sp_assert_not_contains "$1" team-a-secret
	sp_assert_contains "$1" "pipeline frames: annotation $2 is a Kubernetes CRI's, and no CRI vouches for this container"
	sp_assert_eq "" "$(members team-a/frames)" "team-a/frames has no member"
	exists frames && sp_fail "a plain frames was made"
	return 0
}

t_pods_still_share() {
	local p c
	p=$(cri_runp team-a reader io.shmpipe.pipeline=frames)
	c=$(cri_run "$p" app)
	sp_assert_eq team-a-secret "$(cri_exec "$c" cat /dev/shm/ring)"
	sp_assert_eq "$c" "$(members team-a/frames)"
	cri_stopp "$p"
	cri_rmp "$p"
	sp_assert_eq "" "$(members team-a/frames)"
}
sp_test "CRI: pods of team-a share team-a/frames through the base spec's shmpipe-hook --cri" t_pods_still_share

t_runc_forged() {
	local key b out
	for key in "${FORGED_KEYS[@]}"; do
		b=$(sp_tmpdir "runc-$key")
		hk_bundle "$b" createRuntime -r "$ROOTFS" -a io.shmpipe.pipeline=frames -a "$key=team-a" \
			-- cat /dev/shm/ring
		out=$(hk_run runc "$(sp_id "forged-${key//./-}")" "$b" 2>&1) && sp_fail "runc with $key=team-a started: $out"
		refused "$out" "$key"
	done
}
sp_test "runc: a container with forged CRI keys (pod.namespace, cri.sandbox-namespace = team-a) is refused, naming the key" t_runc_forged

# A CDI device's hook (--pipeline NAME) names the pipeline itself: a
# container with forged keys that asks for nothing else gets the plain NAME,
# its keys unread.
t_runc_forged_device() {
	local b out
	b=$(sp_tmpdir runc-device)
	HK_HOOK_ARGS="--pipeline frames" hk_bundle "$b" createRuntime -r "$ROOTFS" \
		-a io.kubernetes.pod.namespace=team-a -- sh -c 'cat /dev/shm/ring; grep " /dev/shm " /proc/self/mountinfo'
	out=$(hk_run runc "$(sp_id forged-device)" "$b" 2>&1) || true
	sp_assert_not_contains "$out" team-a-secret
	sp_assert_contains "$out" " - tmpfs shmpipe-frames "
	sp_assert_eq "" "$(members team-a/frames)"
}
sp_test "runc, a CDI device's hook (--pipeline frames): forged CRI keys are not read; the container gets plain frames" t_runc_forged_device

t_podman_forged() {
	local key out
	export SP_PODMAN_HOOKS_DIR=$PODMAN_HOOKS
	for key in "${FORGED_KEYS[@]}"; do
		out=$(sp_podman_run --rm --name "$(sp_id "podman-${key//./-}")" \
			--annotation io.shmpipe.pipeline=frames --annotation "$key=team-a" --rootfs "$ROOTFS" \
			cat /dev/shm/ring 2>&1) && sp_fail "podman with $key=team-a started: $out"
		refused "$out" "$key"
	done
	# Podman's own io.kubernetes.cri-o.* keys are no claim: a plain container joins.
	out=$(sp_podman_run --rm --name "$(sp_id podman-plain)" \
		--annotation io.shmpipe.pipeline=plain --rootfs "$ROOTFS" sh -c 'grep " /dev/shm " /proc/self/mountinfo')
	sp_assert_contains "$out" "shmpipe-plain"
}
sp_test "Podman (the shipped hooks.d): forged CRI keys are refused, naming the key; a plain container still joins" t_podman_forged

# CRI-O's own directory, read after the shared one, replaces its files by
# name (containers/common's hooks, which Podman shares): with both, the
# hook runs with --cri.  Podman never reads it in a real install.
t_crio_dir_replaces() {
	local out
	export SP_PODMAN_HOOKS_DIR="$PODMAN_HOOKS $CRIO_HOOKS"
	out=$(sp_podman_run --rm --name "$(sp_id crio-dir)" --annotation io.shmpipe.pipeline=frames \
		--annotation io.kubernetes.pod.namespace=team-c --rootfs "$ROOTFS" sh -c 'grep " /dev/shm " /proc/self/mountinfo')
	sp_assert_contains "$out" "shmpipe-team-c/frames" "the --cri file replaced the shared one"
	exists team-c/frames && sp_fail "team-c/frames outlived its container"
	return 0
}
sp_test "CRI-O's hooks dir (install/hooks.d/crio) read after the shared one: its shmpipe-hook --cri files replace the shared ones" t_crio_dir_replaces

wrap() { sp_timeout "$HK_BUILD/shmpipe-runtime" --shmpipe-root "$HK_ROOT" --shmpipe-config "$HK_CONFIG" --shmpipe-runtime runc --root "$SP_TMP/runc" "$@"; }

t_runtime_forged() {
	local b out
	b=$(sp_tmpdir wrapped)
	sp_runc_bundle "$b" -r "$ROOTFS" -a io.shmpipe.pipeline=frames -a io.kubernetes.pod.namespace=team-a \
		-- cat /dev/shm/ring
	out=$(sp_run_with wrap "$(sp_id wrapped)" "$b" 2>&1) && sp_fail "the wrapper ran it: $out"
	sp_assert_contains "$out" "shmpipe-runtime: "
	refused "$out" io.kubernetes.pod.namespace
	# A bundle whose hooks already run shmpipe-hook --cri (the CRI's base
	# spec) is that hook's: the wrapper leaves config.json as it is.
	mkdir -p "$SP_CASE_DIR/bin"
	printf '#!/bin/sh\ncat >/dev/null\n' >"$SP_CASE_DIR/bin/shmpipe-hook"
	chmod +x "$SP_CASE_DIR/bin/shmpipe-hook"
	b=$(sp_tmpdir wrapped-cri)
	sp_runc_bundle "$b" -r "$ROOTFS" -a io.shmpipe.pipeline=frames -a io.kubernetes.pod.namespace=team-a \
		-H "createRuntime=$SP_CASE_DIR/bin/shmpipe-hook --cri createRuntime" -- /bin/true
	cp "$b/config.json" "$SP_CASE_DIR/before.json"
	sp_run_with wrap "$(sp_id wrapped-cri)" "$b"
	cmp "$SP_CASE_DIR/before.json" "$b/config.json" || sp_fail "the wrapper rewrote a --cri bundle"
}
sp_test "shmpipe-runtime: a bundle with forged CRI keys is refused, naming the key; one whose hooks run shmpipe-hook --cri is left to it" t_runtime_forged

# Join-only outside the CRI: the hook on runc and shmpipe-runtime refuse a
# missing pipeline and make none; an existing one is joined.
t_join_only_runc() {
	local b out
	b=$(sp_tmpdir join-hook)
	hk_bundle "$b" createRuntime -r "$ROOTFS" -a io.shmpipe.pipeline=later -a io.shmpipe.create=false -- /bin/true
	out=$(hk_run runc "$(sp_id join-hook)" "$b" 2>&1) && sp_fail "runc started: $out"
	sp_assert_contains "$out" "shmpipe-hook: pipeline later: does not exist on this node, and the container only joins (io.shmpipe.create=false)"
	b=$(sp_tmpdir join-wrap)
	sp_runc_bundle "$b" -r "$ROOTFS" -a io.shmpipe.pipeline=later -a io.shmpipe.create=false -- /bin/true
	out=$(sp_run_with wrap "$(sp_id join-wrap)" "$b" 2>&1) && sp_fail "the wrapper ran it: $out"
	sp_assert_contains "$out" "shmpipe-runtime: pipeline later: does not exist, and the container only joins (io.shmpipe.create=false)"
	exists later && sp_fail "later was made"
	hk_ctl create later >/dev/null
	sp_defer hk_quiet hk_ctl rm --force later
	b=$(sp_tmpdir join-wrap2)
	sp_runc_bundle "$b" -r "$ROOTFS" -a io.shmpipe.pipeline=later -a io.shmpipe.create=false \
		-- sh -c 'grep " /dev/shm " /proc/self/mountinfo'
	sp_assert_contains "$(sp_run_with wrap "$(sp_id join-wrap2)" "$b")" "shmpipe-later"
}
sp_test "runc (hook) and shmpipe-runtime: create=false without the pipeline fails with one line and makes none; with it, joins" t_join_only_runc

# A consumer that only joins, on a node where its pipeline is not: no start,
# with the hook's line in StartContainer's error; once its producer made the
# pipeline, it joins.
t_join_only() {
	local p out c
	p=$(cri_runp team-b consumer io.shmpipe.pipeline=frames io.shmpipe.create=false)
	c=$(cri_create "$p" app)
	out=$(cri StartContainer "{\"container_id\": \"$c\"}" 2>&1) && sp_fail "the join-only consumer started: $out"
	sp_assert_contains "$out" "shmpipe-hook: pipeline team-b/frames: does not exist on this node, and the container only joins (io.shmpipe.create=false)"
	exists team-b/frames && sp_fail "team-b/frames was made"
	hk_ctl create team-b/frames >/dev/null
	sp_defer hk_quiet hk_ctl rm --force team-b/frames
	p=$(cri_runp team-b consumer2 io.shmpipe.pipeline=frames io.shmpipe.create=false)
	c=$(cri_run "$p" app)
	sp_assert_contains "$(cri_exec "$c" grep ' /dev/shm ' /proc/self/mountinfo)" "shmpipe-team-b/frames"
	hk_ctl inspect team-b/frames >"$SP_CASE_DIR/i.json"
	sp_assert_eq false "$(sp_json "$SP_CASE_DIR/i.json" '"create" in j')" "create is not shown"
	! grep -q '"create"' "$HK_ROOT/state/team-b+frames.json" || sp_fail "create was recorded"
	cri_stopp "$p"
}
sp_test "CRI: a join-only pod (io.shmpipe.create=false) without its pipeline fails to start with the hook's line in StartContainer's error; with it, it joins" t_join_only

sp_done
