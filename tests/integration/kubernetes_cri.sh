#!/usr/bin/env bash
# Kubernetes through containerd's CRI: pods driven the way the kubelet
# drives them (RunPodSandbox, CreateContainer, StartContainer,
# StopPodSandbox, RemovePodSandbox over gRPC on a private containerd 1.6's
# socket), on a node wired by the node installer from the shipped
# install/containerd files.  What the containers see is asserted from
# inside them (ExecSync).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
. "$(dirname "$0")/lib/cri.sh"

# The hook finds the store through the config the installer points it at.
cri_setup

# The store's file name of pipeline NS/NAME is NS+NAME.
exists() { hk_exists "${1/\//+}"; }
mounted() { hk_mounted "${1/\//+}"; }

# members NAME : member ids of pipeline NAME, sorted, one a line.
members() {
	hk_ctl inspect "$1" >"$SP_CASE_DIR/inspect.json"
	sp_json "$SP_CASE_DIR/inspect.json" '"\n".join(sorted(m["id"] for m in j["members"]))'
}
sorted_ids() { printf '%s\n' "$@" | sort; }

# Two team-a pods naming frames share one segment (team-a/frames); a team-b
# pod naming frames gets team-b/frames and sees neither; a pod naming
# nothing keeps the sandbox's own /dev/shm; sandboxes are never members.
t_pods_share() {
	local p1 p2 p3 p4 c1 c2 c3 c4
	cri_node
	p1=$(cri_runp team-a reader io.shmpipe.pipeline=frames)
	p2=$(cri_runp team-a writer io.shmpipe.pipeline=frames)
	p3=$(cri_runp team-a plain)
	p4=$(cri_runp team-b other io.shmpipe.pipeline=frames)
	c1=$(cri_run "$p1" app)
	c2=$(cri_run "$p2" app)
	c3=$(cri_run "$p3" app)
	c4=$(cri_run "$p4" app)
	cri_exec "$c2" sh -c 'echo "frame 1" >/dev/shm/ring'
	cri_exec "$c4" sh -c 'echo "team-b" >/dev/shm/b-ring'
	sp_assert_eq "frame 1" "$(cri_exec "$c1" cat /dev/shm/ring)" "reader pod sees the writer pod's segment"
	sp_assert_eq "frame 1" "$(cat "$HK_ROOT/mnt/team-a+frames/ring")" "the segment is in pipeline team-a/frames"
	sp_assert_fails cri_exec "$c4" cat /dev/shm/ring
	sp_assert_fails cri_exec "$c1" cat /dev/shm/b-ring
	sp_assert_fails cri_exec "$c2" cat /dev/shm/b-ring
	sp_assert_fails cri_exec "$c3" cat /dev/shm/ring
	sp_assert_contains "$(cri_exec "$c1" grep ' /dev/shm ' /proc/self/mountinfo)" "shmpipe-team-a/frames"
	sp_assert_contains "$(cri_exec "$c4" grep ' /dev/shm ' /proc/self/mountinfo)" "shmpipe-team-b/frames"
	sp_assert_contains "$(cri_exec "$c1" grep ' /dev/shm ' /proc/self/mountinfo)" "nosuid,nodev,noexec"
	sp_assert_not_contains "$(cri_exec "$c3" grep ' /dev/shm ' /proc/self/mountinfo)" "shmpipe"
	sp_assert_eq "$(sorted_ids "$c1" "$c2")" "$(members team-a/frames)" "members are exactly the app containers"
	sp_assert_eq "$c4" "$(members team-b/frames)"
	hk_ctl ls --json >"$SP_CASE_DIR/ls.json"
	sp_assert_eq "team-a/frames team-b/frames" "$(sp_json "$SP_CASE_DIR/ls.json" '" ".join(p["name"] for p in j)')"
	sp_assert_match "$(hk_ctl ls)" $'team-b/frames [^\n]*\n  pod team-b/other container app'
}

# A team-b pod naming team-a/frames: refused with the rule when containerd
# creates the container's task (StartContainer: containerd 1.6 runs runc,
# and so the hook, there, not at CreateContainer), until team-a/frames allows team-b (shmpipectl create
# --allow-namespaces, or the owning pods' annotation).
t_cross_namespace() {
	local how=$1 pa pb ca cb out
	cri_node
	sp_defer hk_quiet hk_ctl rm --force team-a/frames
	pa=$(cri_runp team-a owner io.shmpipe.pipeline=frames)
	ca=$(cri_run "$pa" app)
	pb=$(cri_runp team-b guest io.shmpipe.pipeline=team-a/frames)
	out=$(cri_run "$pb" app 2>&1) && sp_fail "team-b was admitted: $out"
	sp_assert_contains "$out" "shmpipe-hook: pipeline team-a/frames: refused for a pod of namespace team-b: it belongs to namespace team-a, and its allow-namespaces does not list team-b"
	sp_assert_eq "$ca" "$(members team-a/frames)" "the refused container is no member"
	# A team-b pod may not make a team-a pipeline either.
	out=$(cri_run "$(cri_runp team-b maker io.shmpipe.pipeline=team-a/new)" app 2>&1) &&
		sp_fail "team-b created team-a/new: $out"
	sp_assert_contains "$out" "pipeline team-a/new: does not exist, and a pod of namespace team-b may not create a pipeline of namespace team-a"
	exists team-a/new && sp_fail "team-a/new was made"

	cri_stopp "$pa"
	exists team-a/frames && sp_fail "team-a/frames outlived its pod"
	case $how in
	cli)
		hk_ctl create team-a/frames --allow-namespace team-b >/dev/null
		pa=$(cri_runp team-a owner2 io.shmpipe.pipeline=frames)
		;;
	annotation)
		pa=$(cri_runp team-a owner2 io.shmpipe.pipeline=frames io.shmpipe.allow-namespaces=team-b)
		;;
	esac
	ca=$(cri_run "$pa" app)
	hk_ctl inspect team-a/frames >"$SP_CASE_DIR/i.json"
	sp_assert_eq team-b "$(sp_json "$SP_CASE_DIR/i.json" 'j["allow-namespaces"]')"
	cb=$(cri_run "$pb" app2)
	cri_exec "$ca" sh -c 'echo shared >/dev/shm/x'
	sp_assert_eq shared "$(cri_exec "$cb" cat /dev/shm/x)" "the admitted team-b pod shares team-a/frames"
	sp_assert_eq "$(sorted_ids "$ca" "$cb")" "$(members team-a/frames)"
	hk_ctl inspect team-a/frames >"$SP_CASE_DIR/i.json"
	sp_assert_eq "team-a/owner2/app team-b/guest/app2" \
		"$(sp_json "$SP_CASE_DIR/i.json" '" ".join(sorted("%s/%s/%s" % (m["pod_namespace"], m["pod"], m["container"]) for m in j["members"]))')"
}

# A two-container pod: both share; the record lists exactly them.
t_two_containers() {
	local p c1 c2
	cri_node
	p=$(cri_runp team-a duo io.shmpipe.pipeline=frames)
	c1=$(cri_run "$p" producer)
	c2=$(cri_run "$p" consumer)
	cri_exec "$c1" sh -c 'echo tensor >/dev/shm/t'
	sp_assert_eq tensor "$(cri_exec "$c2" cat /dev/shm/t)"
	sp_assert_eq "$(sorted_ids "$c1" "$c2")" "$(members team-a/frames)"
	sp_assert_not_contains "$(members team-a/frames)" "$p" "the sandbox is no member"
	hk_ctl inspect team-a/frames >"$SP_CASE_DIR/i.json"
	sp_assert_eq "$c1 team-a duo producer|$c2 team-a duo consumer" \
		"$(sp_json "$SP_CASE_DIR/i.json" '"|".join("%s %s %s %s" % (m["id"], m["pod_namespace"], m["pod"], m["container"]) for m in j["members"])')"
	sp_assert_match "$(hk_ctl ls)" $'team-a/frames [^\n]*\n  pod team-a/duo container producer\n  pod team-a/duo container consumer'
	: "$p"
}

# StopPodSandbox, RemovePodSandbox: no members left; an ephemeral pipeline
# goes with its last pod; a persistent one stays, empty.
t_lifecycle() {
	local p1 p2 p3 c1 c2
	cri_node
	hk_ctl create team-a/keep --lifetime persistent >/dev/null
	sp_defer hk_quiet hk_ctl rm --force team-a/keep
	p1=$(cri_runp team-a a1 io.shmpipe.pipeline=frames)
	p2=$(cri_runp team-a a2 io.shmpipe.pipeline=frames)
	p3=$(cri_runp team-a k1 io.shmpipe.pipeline=keep)
	c1=$(cri_run "$p1" app)
	c2=$(cri_run "$p2" app)
	cri_run "$p3" app >/dev/null
	cri_stopp "$p1"
	sp_assert_eq "$c2" "$(members team-a/frames)" "StopPodSandbox: its container left"
	cri_rmp "$p1"
	sp_assert_eq "$c2" "$(members team-a/frames)"
	cri_stopp "$p2"
	exists team-a/frames && sp_fail "ephemeral frames outlived its last pod"
	mounted team-a/frames && sp_fail "frames' tmpfs is still mounted"
	cri_rmp "$p2"
	cri_stopp "$p3"
	cri_rmp "$p3"
	sp_assert_eq "" "$(members team-a/keep)" "persistent keep: no members"
	mounted team-a/keep || sp_fail "persistent keep lost its tmpfs"
	: "$c1"
}

# containerd and the pod's shim and processes SIGKILLed (a node losing its
# runtime): poststop never runs; gc drops the member and the pipeline.
t_containerd_killed() {
	local p c pid
	cri_node
	p=$(cri_runp team-a lost io.shmpipe.pipeline=frames)
	c=$(cri_run "$p" app)
	sp_assert_eq "$c" "$(members team-a/frames)"
	cri_containerd_down "$CRI_DIR" KILL
	sp_kill_matching "$CRI_DIR"  # the shims
	for pid in $({ grep -l -e "$p" -e "$c" /proc/[0-9]*/cgroup 2>/dev/null || true; } | cut -d/ -f3); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	sp_wait_for 10 sh -c "! grep -q -e $p -e $c /proc/[0-9]*/cgroup 2>/dev/null" ||
		sp_fail "the pod's processes did not die"
	sp_assert_eq "$c" "$(members team-a/frames)" "the member is still recorded before gc"
	hk_ctl gc
	exists team-a/frames && sp_fail "gc left frames"
	mounted team-a/frames && sp_fail "gc left frames' tmpfs mounted"
	# containerd comes back over what is left.
	cri_containerd_up "$CRI_DIR"
	cri_stopp "$p"
	cri_rmp "$p"
}

# The namespace comes from the CRI alone.  With pod_annotations widened to
# io.kubernetes.* (what the docs warn against), a team-b pod claiming
# team-a's namespace is refused, as is an io.shmpipe.* key that is no option.
t_forged() {
	local p out
	cri_node 's|pod_annotations = \["io.shmpipe.\*"\]|pod_annotations = ["io.shmpipe.*", "io.kubernetes.*"]|'
	grep -q '"io.kubernetes.\*"' "$CRI_DIR/config.toml" || sp_fail "the config was not widened"
	p=$(cri_runp team-b forger io.shmpipe.pipeline=frames io.kubernetes.pod.namespace=team-a)
	out=$(cri_run "$p" app 2>&1) && sp_fail "the forged namespace was admitted: $out"
	sp_assert_contains "$out" 'annotations io.kubernetes.cri.sandbox-namespace="team-b" and io.kubernetes.pod.namespace="team-a" disagree'
	p=$(cri_runp team-b forger2 io.shmpipe.pipeline=frames io.kubernetes.cri.sandbox-namespace=team-a)
	out=$(cri_run "$p" app 2>&1) || true
	# containerd's own value wins over the pod's copy: the pod stays in team-b.
	if [[ $out != *disagree* ]]; then
		exists team-a/frames && sp_fail "the pod reached team-a/frames"
		exists team-b/frames || sp_fail "the pod is not in team-b/frames: $out"
	fi
	p=$(cri_runp team-b forger3 io.shmpipe.pipeline=frames io.shmpipe.namespace=team-a)
	out=$(cri_run "$p" app 2>&1) && sp_fail "io.shmpipe.namespace was accepted: $out"
	sp_assert_contains "$out" 'unknown annotation "io.shmpipe.namespace"'
	exists team-a/frames && sp_fail "team-a/frames was made"
	return 0
}

# The hook's rules on runc: a bundle that carries a CRI sandbox's
# annotations is no member when the hook runs as the CRI's (--cri, as from
# CRI-O's own hooks dir, which runs it for sandboxes too); without --cri the
# same keys are refused by name; a plain runc container may not use a
# qualified name.
t_sandbox_and_plain() {
	local b out
	b=$(sp_tmpdir b1)
	HK_HOOK_ARGS=--cri hk_bundle "$b" createRuntime -a io.shmpipe.pipeline=frames \
		-a io.kubernetes.cri.container-type=sandbox -a io.kubernetes.cri.sandbox-namespace=team-a \
		-- /bin/true
	hk_run runc "$(sp_id sandbox)" "$b"
	b=$(sp_tmpdir b2)
	HK_HOOK_ARGS=--cri hk_bundle "$b" createRuntime -a io.shmpipe.pipeline=frames \
		-a io.kubernetes.cri-o.ContainerType=sandbox -a io.kubernetes.pod.namespace=team-a -- /bin/true
	hk_run runc "$(sp_id crio-sandbox)" "$b"
	b=$(sp_tmpdir b2n)
	hk_bundle "$b" createRuntime -a io.shmpipe.pipeline=frames \
		-a io.kubernetes.cri-o.ContainerType=sandbox -a io.kubernetes.pod.namespace=team-a -- /bin/true
	out=$(hk_run runc "$(sp_id crio-sandbox-no-cri)" "$b" 2>&1) && sp_fail "no --cri, and the CRI's keys were taken: $out"
	sp_assert_contains "$out" "shmpipe-hook: pipeline frames: annotation io.kubernetes.pod.namespace is a Kubernetes CRI's"
	exists team-a/frames && sp_fail "a sandbox made team-a/frames"
	exists frames && sp_fail "a sandbox made frames"
	b=$(sp_tmpdir b3)
	hk_bundle "$b" createRuntime -a io.shmpipe.pipeline=team-a/frames -- /bin/true
	out=$(hk_run runc "$(sp_id qualified)" "$b" 2>&1) && sp_fail "runc joined team-a/frames: $out"
	sp_assert_contains "$out" "shmpipe-hook: pipeline team-a/frames: a qualified name (NAMESPACE/NAME) is for Kubernetes pods only"
	exists team-a/frames && sp_fail "team-a/frames was made"
	return 0
}

sp_test "CRI: two team-a pods naming frames share a segment; a team-b pod naming frames gets its own and sees neither; a plain pod sees none" t_pods_share
sp_test "CRI: a team-b pod naming team-a/frames is refused with the rule (at StartContainer), then admitted once allowed (shmpipectl create --allow-namespace)" t_cross_namespace cli
sp_test "CRI: ... admitted once allowed (the owning pod's annotation io.shmpipe.allow-namespaces)" t_cross_namespace annotation
sp_test "CRI: a pod claiming another namespace through widened pod_annotations is refused; io.shmpipe.namespace is no option" t_forged
sp_test "hook --cri: a CRI sandbox (containerd's or CRI-O's annotations) is no member; without --cri its keys are refused; runc may not use NAMESPACE/NAME" t_sandbox_and_plain
sp_test "CRI: a two-container pod: both containers share; inspect and ls list exactly the app containers with pod and container names" t_two_containers
sp_test "CRI: StopPodSandbox/RemovePodSandbox leave no members; ephemeral pipeline gone with its last pod" t_lifecycle
sp_test "CRI: containerd, shim and pod SIGKILLed: gc drops the member and the pipeline" t_containerd_killed
# The installer itself: kubernetes_install.sh.
sp_done
