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

sp_require_cmd containerd ctr runc protoc
"$SP_PYTHON" -c 'import grpc, google.protobuf, tomlkit' 2>/dev/null || {
	echo "needs python3-grpcio, python3-protobuf, python3-tomlkit (install/deps.sh)" >&2
	exit 1
}
hk_setup
# The hook finds the store through the config the installer points it at.
printf '{"root": "%s"}\n' "$HK_ROOT" >"$HK_CONFIG"

# members NAME : member ids of pipeline NAME, sorted, one a line.
members() {
	hk_ctl inspect "$1" >"$SP_CASE_DIR/inspect.json"
	sp_json "$SP_CASE_DIR/inspect.json" '"\n".join(sorted(m["id"] for m in j["members"]))'
}
sorted_ids() { printf '%s\n' "$@" | sort; }

# Two pods naming frames share one segment; a pod naming nothing keeps the
# sandbox's own /dev/shm; the sandboxes are never members.
t_pods_share() {
	local p1 p2 p3 c1 c2 c3
	cri_node
	p1=$(cri_runp team-a reader io.shmpipe.pipeline=frames)
	p2=$(cri_runp team-a writer io.shmpipe.pipeline=frames)
	p3=$(cri_runp team-a plain)
	c1=$(cri_run "$p1" app)
	c2=$(cri_run "$p2" app)
	c3=$(cri_run "$p3" app)
	cri_exec "$c2" sh -c 'echo "frame 1" >/dev/shm/ring'
	sp_assert_eq "frame 1" "$(cri_exec "$c1" cat /dev/shm/ring)" "reader pod sees the writer pod's segment"
	sp_assert_eq "frame 1" "$(cat "$HK_ROOT/mnt/frames/ring")" "the segment is in pipeline frames"
	sp_assert_fails cri_exec "$c3" cat /dev/shm/ring
	sp_assert_contains "$(cri_exec "$c1" grep ' /dev/shm ' /proc/self/mountinfo)" "shmpipe-frames"
	sp_assert_contains "$(cri_exec "$c1" grep ' /dev/shm ' /proc/self/mountinfo)" "nosuid,nodev,noexec"
	sp_assert_not_contains "$(cri_exec "$c3" grep ' /dev/shm ' /proc/self/mountinfo)" "shmpipe"
	sp_assert_eq "$(sorted_ids "$c1" "$c2")" "$(members frames)" "members are exactly the app containers"
	hk_ctl ls --json >"$SP_CASE_DIR/ls.json"
	sp_assert_eq "frames" "$(sp_json "$SP_CASE_DIR/ls.json" '" ".join(p["name"] for p in j)')"
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
	sp_assert_eq "$(sorted_ids "$c1" "$c2")" "$(members frames)"
	sp_assert_not_contains "$(members frames)" "$p" "the sandbox is no member"
}

# StopPodSandbox, RemovePodSandbox: no members left; an ephemeral pipeline
# goes with its last pod; a persistent one stays, empty.
t_lifecycle() {
	local p1 p2 p3 c1 c2
	cri_node
	hk_ctl create keep --lifetime persistent
	p1=$(cri_runp team-a a1 io.shmpipe.pipeline=frames)
	p2=$(cri_runp team-a a2 io.shmpipe.pipeline=frames)
	p3=$(cri_runp team-a k1 io.shmpipe.pipeline=keep)
	c1=$(cri_run "$p1" app)
	c2=$(cri_run "$p2" app)
	cri_run "$p3" app >/dev/null
	cri_stopp "$p1"
	sp_assert_eq "$c2" "$(members frames)" "StopPodSandbox: its container left"
	cri_rmp "$p1"
	sp_assert_eq "$c2" "$(members frames)"
	cri_stopp "$p2"
	hk_exists frames && sp_fail "ephemeral frames outlived its last pod"
	hk_mounted frames && sp_fail "frames' tmpfs is still mounted"
	cri_rmp "$p2"
	cri_stopp "$p3"
	cri_rmp "$p3"
	sp_assert_eq "" "$(members keep)" "persistent keep: no members"
	hk_mounted keep || sp_fail "persistent keep lost its tmpfs"
	: "$c1"
}

# containerd and the pod's shim and processes SIGKILLed (a node losing its
# runtime): poststop never runs; gc drops the member and the pipeline.
t_containerd_killed() {
	local p c pid
	cri_node
	p=$(cri_runp team-a lost io.shmpipe.pipeline=frames)
	c=$(cri_run "$p" app)
	sp_assert_eq "$c" "$(members frames)"
	cri_containerd_down "$CRI_DIR" KILL
	sp_kill_matching "$CRI_DIR"  # the shims
	for pid in $(grep -l -e "$p" -e "$c" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	sp_wait_for 10 sh -c "! grep -q -e $p -e $c /proc/[0-9]*/cgroup 2>/dev/null" ||
		sp_fail "the pod's processes did not die"
	sp_assert_eq "$c" "$(members frames)" "the member is still recorded before gc"
	hk_ctl gc
	hk_exists frames && sp_fail "gc left frames"
	hk_mounted frames && sp_fail "gc left frames' tmpfs mounted"
	# containerd comes back over what is left.
	cri_containerd_up "$CRI_DIR"
	cri_stopp "$p"
	cri_rmp "$p"
}

# The installer against a private containerd: install (no restart unless
# asked), pods share, install again changes nothing, uninstall restores the
# config byte for byte.  VARIANT: edit (no imports) or drop-in (imports).
t_installer() {
	local variant=$1 dir pid out sums p1 p2 c1 c2
	dir=$(sp_tmpdir cri)
	cri_containerd_config "$dir" >"$dir/config.toml"
	if [[ $variant == drop-in ]]; then
		mkdir -p "$dir/conf.d"
		sed -i "1a imports = [\"$dir/conf.d/*.toml\"]" "$dir/config.toml"
	fi
	cp -p "$dir/config.toml" "$dir/original.toml"
	cri_containerd_up "$dir"
	pid=$(cat "$dir/containerd.pid")
	cri_import_image

	out=$(cri_install "$dir")
	sp_assert_contains "$out" "wrote $dir/prefix/libexec/shmpipe/shmpipe-hook"
	sp_assert_eq "$pid" "$(cat "$dir/containerd.pid")" "not restarted unless asked"
	kill -0 "$pid" || sp_fail "containerd died"
	if [[ $variant == drop-in ]]; then
		cmp "$dir/original.toml" "$dir/config.toml" || sp_fail "drop-in mode edited the main config"
		sp_assert_file "$dir/conf.d/99-shmpipe.toml"
	else
		sp_assert_file "$dir/config.toml.shmpipe-orig"
		cmp "$dir/original.toml" "$dir/config.toml.shmpipe-orig" || sp_fail "the backup is not the original"
	fi
	cri_containerd_down "$dir"
	cri_containerd_up "$dir"

	p1=$(cri_runp team-a one io.shmpipe.pipeline=frames)
	p2=$(cri_runp team-a two io.shmpipe.pipeline=frames)
	c1=$(cri_run "$p1" app)
	c2=$(cri_run "$p2" app)
	cri_exec "$c1" sh -c 'echo installed >/dev/shm/x'
	sp_assert_eq installed "$(cri_exec "$c2" cat /dev/shm/x)"

	sums=$(cd "$dir" && find . -path ./root -prune -o -path ./state -prune -o -type f \
		! -name '*.log' ! -name containerd.pid -print0 | sort -z | xargs -0 sha256sum)
	out=$(cri_install "$dir")
	sp_assert_eq "shmpipe-node-install: already installed, nothing changed" "$out"
	sp_assert_eq "$sums" "$(cd "$dir" && find . -path ./root -prune -o -path ./state -prune -o -type f \
		! -name '*.log' ! -name containerd.pid -print0 | sort -z | xargs -0 sha256sum)" \
		"install again changed a file"

	cri_stopp "$p1"
	cri_stopp "$p2"
	cri_uninstall "$dir" >/dev/null
	cmp "$dir/original.toml" "$dir/config.toml" || sp_fail "uninstall did not restore the config"
	sp_assert_eq "$(stat -c %a "$dir/original.toml")" "$(stat -c %a "$dir/config.toml")"
	[[ ! -e $dir/config.toml.shmpipe-orig && ! -e $dir/conf.d/99-shmpipe.toml ]] ||
		sp_fail "uninstall left its backup or drop-in"
	[[ -z $(find "$dir/prefix" -type f) ]] || sp_fail "uninstall left files: $(find "$dir/prefix" -type f)"
	: "$c1"
}

# A runtime that has a base spec of its own: refused, nothing written.
t_installer_refuses() {
	local dir out
	dir=$(sp_tmpdir cri)
	cri_containerd_config "$dir" >"$dir/config.toml"
	sed -i '/^  runtime_type = "io.containerd.runc.v2"/a \  base_runtime_spec = "/etc/other-spec.json"' "$dir/config.toml"
	cp -p "$dir/config.toml" "$dir/original.toml"
	out=$(cri_install "$dir" 2>&1) && sp_fail "install succeeded: $out"
	sp_assert_eq 1 "$(wc -l <<<"$out")" "one line"
	sp_assert_contains "$out" "already has base_runtime_spec /etc/other-spec.json"
	cmp "$dir/original.toml" "$dir/config.toml" || sp_fail "the config was changed"
	[[ ! -e $dir/prefix ]] || sp_fail "files were installed: $(find "$dir/prefix")"
}

sp_test "CRI: two pods naming frames share a segment; a plain pod does not see it; sandboxes are no members" t_pods_share
sp_test "CRI: a two-container pod: both containers share; members are exactly the app containers" t_two_containers
sp_test "CRI: StopPodSandbox/RemovePodSandbox leave no members; ephemeral pipeline gone with its last pod" t_lifecycle
sp_test "CRI: containerd, shim and pod SIGKILLed: gc drops the member and the pipeline" t_containerd_killed
sp_test "installer (edit + backup): install, pods share, install again changes nothing, uninstall restores byte for byte" t_installer edit
sp_test "installer (drop-in, config has imports): same" t_installer drop-in
sp_test "installer: a runtime with a base spec of its own is refused, nothing written" t_installer_refuses
sp_done
