#!/usr/bin/env bash
# shmpipe-node-install (install/kubernetes) from the states real nodes are
# in: no config, a plain config, NVIDIA's toolkit (an imports drop-in that
# carries the CRI section, default_runtime_name = "nvidia"), k3s's
# template, a config that is a symlink, a runtime with a base spec of its
# own (EKS).  Each: installed twice (the second run changes nothing), the
# effective config (`containerd config dump`) has the hook on every runc
# runtime, uninstall gives back every original byte.  Against a private
# CRI containerd, supervised as systemd would: the restart is confirmed by
# the CRI's Status, pods share, and a pod that names no pipeline gets the
# OCI spec and open-file limit it had without shmpipe, apart from the hooks.
set -euo pipefail
. "$(dirname "$0")/lib/nodeinstall.sh"
. "$(dirname "$0")/lib/releases.sh"

ni_setup

# The runtimes each state's effective config has, then its default.
declare -A WANT_RUNTIMES=(
	[none]="runc runc" [plain]="runc runc" [k3s]="runc runc" [symlink]="runc runc" [basespec]="runc runc"
	[nvidia]="nvidia nvidia-cdi nvidia-legacy runc nvidia"
)

# The base spec install wrote: containerd's default (ctr oci spec) without
# process.rlimits, plus the two hook entries.
check_own_spec() {
	local spec=$1 hook=$2
	ctr oci spec >"$SP_CASE_DIR/default.json"
	"$SP_PYTHON" - "$SP_CASE_DIR/default.json" "$spec" "$hook" <<'EOF'
import json, sys
default, spec, hook = (json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3])
assert "rlimits" not in spec["process"], spec["process"].get("rlimits")
hooks = spec.pop("hooks")
default["process"].pop("rlimits")
assert spec == default, "the base spec is not containerd's default"
for s in ("createRuntime", "poststop"):
    assert [(h["path"], h["args"][0], h["args"][-2:]) for h in hooks[s]] == [(hook, "shmpipe-hook", ["--cri", s])], hooks
EOF
}

# STATE: install twice, the effective config, uninstall restores every byte.
t_converge() {
	local state=$1 dir orig sums out eff
	dir=$(sp_tmpdir node)
	ni_state "$state" "$dir"
	orig=$(ni_sums "$dir")
	ni_install "$dir" install --containerd-config "$NI_MAIN" >"$SP_CASE_DIR/out1"
	cat "$SP_CASE_DIR/out1"
	eff=$NI_MAIN
	[[ $state != k3s ]] || eff=$(dirname "$NI_MAIN")/config.toml.tmpl
	sp_assert_eq "${WANT_RUNTIMES[$state]}" "$(ni_check_effective "$dir" "$eff")" "runtimes equipped, default runtime"
	check_own_spec "$dir/prefix/share/shmpipe/base-runtime-spec.json" "$dir/prefix/libexec/shmpipe/shmpipe-hook"
	case $state in
	none) sp_assert_file "$dir/config.toml" ;;
	nvidia)
		sp_assert_eq "99-nvidia.toml" "$(ls "$dir/conf.d")" "no drop-in of shmpipe's next to NVIDIA's"
		grep -q 'imports' "$dir/config.toml"
		;;
	k3s) sp_assert_eq "$(ni_sums "$dir" | grep 'config.toml$')" "$(grep 'config.toml$' <<<"$orig")" "the generated config is k3s's to write" ;;
	symlink) sp_assert_eq "$dir/real/config.toml" "$(readlink "$dir/config.toml")" "the symlink stays" ;;
	basespec)
		sp_assert_eq 1 "$(sp_json "$dir/eks-spec.json" 'len(j["process"]["rlimits"])')" "the admin's limits stay"
		grep -q "base_runtime_spec = \"$dir/eks-spec.json\"" "$dir/config.toml"
		;;
	esac
	sums=$(ni_sums "$dir"; ni_sums "$dir/prefix")
	out=$(ni_install "$dir" install --containerd-config "$NI_MAIN")
	sp_assert_contains "$out" "already installed, nothing changed"
	sp_assert_eq "$sums" "$(ni_sums "$dir"; ni_sums "$dir/prefix")" "the second run changed a file"
	ni_install "$dir" uninstall --containerd-config "$NI_MAIN"
	sp_assert_eq "$orig" "$(ni_sums "$dir")" "uninstall did not restore every byte"
	[[ -z $(find "$dir/prefix" ! -type d 2>/dev/null) ]] || sp_fail "left: $(find "$dir/prefix" ! -type d)"
}

# A k3s template with Go template actions cannot be edited as TOML: one
# line saying what to add by hand, nothing written.
t_go_template() {
	local dir d out orig
	dir=$(sp_tmpdir node)
	ni_state k3s "$dir"
	d=$(dirname "$NI_MAIN")
	printf '{{ template "base" . }}\n\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/x"\n' >"$d/config.toml.tmpl"
	orig=$(ni_sums "$dir")
	out=$(ni_install "$dir" install --containerd-config "$NI_MAIN" 2>&1) && sp_fail "installed: $out"
	sp_assert_contains "$(tail -1 <<<"$out")" "config.toml.tmpl is a Go template ({{ ... }}): add to each runc runtime's table base_runtime_spec"
	sp_assert_eq "$orig" "$(ni_sums "$dir")" "a file was changed"
}

# Paths as a container sees the host (--host-root): an absolute symlink is
# the host's, not the container's; k3s's config is found by itself.
t_host_root() {
	local dir host orig
	dir=$(sp_tmpdir node)
	host=$dir/host
	mkdir -p "$host/etc/containerd" "$host/var/lib/rancher/k3s/agent/etc/containerd"
	cri_containerd_config "$dir" >"$host/etc/containerd/real.toml"
	ln -s /etc/containerd/real.toml "$host/etc/containerd/config.toml"
	orig=$(ni_sums "$host")
	"$CRI_INSTALLER" install --host-root "$host" --from "$HK_BUILD" --containerd-address /none
	grep -q 'base_runtime_spec = "/usr/local/share/shmpipe/base-runtime-spec.json"' "$host/etc/containerd/real.toml"
	sp_assert_eq /etc/containerd/real.toml "$(readlink "$host/etc/containerd/config.toml")"
	sp_assert_file "$host/usr/local/libexec/shmpipe/shmpipe-hook"
	sp_assert_file "$host/etc/shmpipe/config.json"
	"$CRI_INSTALLER" uninstall --host-root "$host" --containerd-address /none
	sp_assert_eq "$orig" "$(ni_sums "$host")"
	[[ -z $(cd "$host" && find . -path '*shmpipe*') ]] || sp_fail "left: $(cd "$host" && find . -path '*shmpipe*')"

	# k3s: its generated config is found without --containerd-config; the
	# template is made from it.
	cri_containerd_config "$dir" >"$host/var/lib/rancher/k3s/agent/etc/containerd/config.toml"
	orig=$(ni_sums "$host")
	"$CRI_INSTALLER" install --host-root "$host" --from "$HK_BUILD" --containerd-address /none
	grep -q 'pod_annotations = \["io.shmpipe.\*"\]' "$host/var/lib/rancher/k3s/agent/etc/containerd/config.toml.tmpl"
	"$CRI_INSTALLER" uninstall --host-root "$host" --containerd-address /none
	sp_assert_eq "$orig" "$(ni_sums "$host")"
}

# An admin's edits made after install survive uninstall (only shmpipe's keys
# come out), and a config rewritten by another tool is taken as the
# original: uninstall gives back the rewrite, byte for byte.
t_edited_since() {
	local dir drop
	dir=$(sp_tmpdir node)
	ni_state nvidia "$dir"
	drop=$dir/conf.d/99-nvidia.toml
	ni_install "$dir" install --containerd-config "$NI_MAIN" >/dev/null
	# The GPU operator rewrites its drop-in (an upgrade): shmpipe's keys gone.
	_ni_nvidia_dropin "$dir" | sed 's/privileged_without_host_devices = false/privileged_without_host_devices = true/' >"$drop"
	cp -p "$drop" "$dir/rewritten.toml"
	sp_assert_contains "$(ni_install "$dir" install --containerd-config "$NI_MAIN")" "changed since the last run"
	ni_check_effective "$dir" "$NI_MAIN" >/dev/null
	ni_install "$dir" uninstall --containerd-config "$NI_MAIN" >/dev/null
	cmp "$dir/rewritten.toml" "$drop" || sp_fail "uninstall did not give back the rewritten drop-in"
	# An admin edit after install.
	ni_install "$dir" install --containerd-config "$NI_MAIN" >/dev/null
	local edit='s/^  sandbox_image = .*/  sandbox_image = "admin.example\/pause:1" # admin/'
	sed -i "$edit" "$drop"
	sp_assert_contains "$(ni_install "$dir" uninstall --containerd-config "$NI_MAIN")" "took out shmpipe's keys only"
	diff <(sed "$edit" "$dir/rewritten.toml") "$drop" || sp_fail "uninstall did not give back exactly the admin's edit"
	# shmpipe's own config, edited by the admin, stays.
	ni_install "$dir" install --containerd-config "$NI_MAIN" --shmpipe-config "$dir/shmpipe.json" >/dev/null
	echo '{"log_level": "debug"}' >"$dir/shmpipe.json"
	ni_install "$dir" uninstall --containerd-config "$NI_MAIN" --shmpipe-config "$dir/shmpipe.json" >/dev/null
	sp_assert_eq '{"log_level": "debug"}' "$(cat "$dir/shmpipe.json")"
}

# A run killed half-way (after the record and the backup, before the config
# was written): the next run finishes, uninstall restores the original.
t_half_done() {
	local dir orig
	dir=$(sp_tmpdir node)
	ni_state plain "$dir"
	orig=$(ni_sums "$dir")
	# Make the config's directory refuse the rename: the run stops there.
	chattr +i "$dir" 2>/dev/null || sp_skip "no chattr +i here"
	sp_defer chattr -i "$dir"
	ni_install "$dir" install --containerd-config "$NI_MAIN" >/dev/null 2>&1 && sp_fail "install wrote into an immutable directory"
	chattr -i "$dir"
	ni_install "$dir" install --containerd-config "$NI_MAIN" >/dev/null
	ni_check_effective "$dir" "$NI_MAIN" >/dev/null
	ni_install "$dir" uninstall --containerd-config "$NI_MAIN" >/dev/null
	sp_assert_eq "$orig" "$(ni_sums "$dir")"
}

# A node that shmpipe 0.2's installer set up (the previous release: a
# backup beside the config it edited, or a drop-in holding a frozen copy of
# the CRI section): the next run takes over its record, gives the config
# back its own form, and uninstall restores the bytes from before 0.2.
t_from_v02() {
	local state=$1 dir old orig commit
	commit=$(sp_release_commit v0.2.0 1365ad0) ||
		sp_skip "release v0.2.0: neither its tag nor commit 1365ad0 is in this clone"
	old=$(sp_tmpdir v02)
	git -C "$SP_REPO" archive "$commit" install | tar -x -C "$old"
	dir=$(sp_tmpdir node)
	ni_state "$state" "$dir"
	orig=$(ni_sums "$dir")
	"$old/install/kubernetes/shmpipe-node-install" install --prefix "$dir/prefix" --from "$HK_BUILD" \
		--containerd-config "$NI_MAIN" --shmpipe-config "$HK_CONFIG"
	[[ -e $dir/config.toml.shmpipe-orig || -e $dir/conf.d/99-shmpipe.toml ]] || sp_fail "0.2 left no trace"
	sp_assert_contains "$(ni_install "$dir" install --containerd-config "$NI_MAIN")" "migrated the record of shmpipe 0.2's installer"
	sp_assert_eq "${WANT_RUNTIMES[$state]}" "$(ni_check_effective "$dir" "$NI_MAIN")"
	[[ ! -e $dir/config.toml.shmpipe-orig && ! -e $dir/conf.d/99-shmpipe.toml ]] || sp_fail "0.2's backup or drop-in is left"
	check_own_spec "$dir/prefix/share/shmpipe/base-runtime-spec.json" "$dir/prefix/libexec/shmpipe/shmpipe-hook"
	sp_assert_contains "$(ni_install "$dir" install --containerd-config "$NI_MAIN")" "already installed, nothing changed"
	ni_install "$dir" uninstall --containerd-config "$NI_MAIN" >/dev/null
	sp_assert_eq "$orig" "$(ni_sums "$dir")"
	[[ -z $(find "$dir/prefix" ! -type d 2>/dev/null) ]] || sp_fail "left: $(find "$dir/prefix" ! -type d)"
}

# nofile CONTAINER : the open-file limits (`ulimit -n`, soft and hard) of
# the container's own process (its init.pid), which runc sets before the
# process starts.  (`ulimit -n` in an ExecSync process is racy: runc 1.1's
# exec may apply the limits after the command has read them.)
nofile() {
	grep '^Max open files' "/proc/$(cat "$CRI_DIR/state/io.containerd.runtime.v2.task/k8s.io/$1/init.pid")/limits"
}

# STATE on a running, supervised containerd.
t_node() {
	local state=$1 dir orig sums pid out p p1 p2 c c1 c2 before restart=(--restart signal)
	dir=$(sp_tmpdir node)
	ni_state "$state" "$dir"
	orig=$(ni_sums "$dir")
	ni_supervise "$dir" "$NI_RUN" "$NI_RENDER"
	cri_import_image
	# k3s: restarted with its service; the first restart fails (it is retried).
	[[ $state != k3s ]] || restart=(--restart command --restart-command
		"if [ ! -e $SP_CASE_DIR/failed-once ]; then touch $SP_CASE_DIR/failed-once; exit 1; fi; kill \$(cat $dir/containerd.pid)")

	# Before shmpipe: a pod's spec and open-file limits.
	p=$(cri_runp team-a plain)
	c=$(cri_run "$p" app)
	ni_spec_of "$c" >"$SP_CASE_DIR/before.json"
	before=$(nofile "$c")
	# (the limits seen are the container's: EKS's soft limit shows)
	[[ $state != basespec ]] || sp_assert_match "$before" "^Max open files +$(sp_json "$dir/eks-spec.json" 'j["process"]["rlimits"][0]["soft"]') "
	cri_stopp "$p"
	cri_rmp "$p"

	pid=$(cat "$dir/containerd.pid")
	out=$(ni_install "$dir" install --containerd-config "$NI_MAIN" "${restart[@]}")
	sp_assert_contains "$out" "confirmed: the running containerd has shmpipe's hook"
	[[ $pid != "$(cat "$dir/containerd.pid")" ]] || sp_fail "containerd was not restarted"
	[[ $state != k3s ]] || sp_assert_contains "$out" "attempt 1: restart failed"
	ni_install "$dir" check
	sums=$(ni_sums "$dir"; ni_sums "$dir/prefix")
	pid=$(cat "$dir/containerd.pid")
	out=$(ni_install "$dir" install --containerd-config "$NI_MAIN" "${restart[@]}")
	sp_assert_contains "$out" "already installed, nothing changed"
	sp_assert_eq "$pid" "$(cat "$dir/containerd.pid")" "restarted although nothing changed"
	sp_assert_eq "$sums" "$(ni_sums "$dir"; ni_sums "$dir/prefix")"

	# A pod naming no pipeline: the same spec apart from the hooks, the same limits.
	p=$(cri_runp team-a plain)
	c=$(cri_run "$p" app)
	ni_spec_of "$c" >"$SP_CASE_DIR/after.json"
	sp_assert_eq "$(sp_json "$SP_CASE_DIR/before.json" 'j["spec"]')" "$(sp_json "$SP_CASE_DIR/after.json" 'j["spec"]')" \
		"the OCI spec of a pod without a pipeline changed"
	sp_assert_eq '["createRuntime", "poststop"]' "$(sp_json "$SP_CASE_DIR/after.json" 'sorted(j["hooks"])')"
	sp_assert_eq "$before" "$(nofile "$c")" "ulimit -n changed"
	cri_stopp "$p"

	# Two pods share; on NVIDIA's node also through the runc handler.
	p1=$(cri_runp team-a one io.shmpipe.pipeline=frames)
	c1=$(cri_run "$p1" app)
	p2=$(CRI_HANDLER=runc cri_runp team-a two io.shmpipe.pipeline=frames)
	c2=$(cri_run "$p2" app)
	cri_exec "$c1" sh -c 'echo installed >/dev/shm/x'
	sp_assert_eq installed "$(cri_exec "$c2" cat /dev/shm/x)"
	sp_assert_eq installed "$(cat "$HK_ROOT/mnt/team-a+frames/x")" "not in this file's store"

	# Uninstall while a member runs: the config goes back at once, the hook
	# stays until no container has it as its poststop hook.
	out=$(ni_install "$dir" uninstall --containerd-config "$NI_MAIN" "${restart[@]}")
	sp_assert_contains "$out" "confirmed: the running containerd no longer uses shmpipe's hook"
	sp_assert_contains "$out" "keeping $dir/prefix/libexec/shmpipe/shmpipe-hook"
	sp_assert_eq "$orig" "$(ni_sums "$dir")" "uninstall did not restore every byte"
	sp_assert_fails ni_install "$dir" check
	cri_stopp "$p1"
	cri_stopp "$p2"
	sp_assert_eq "" "$(hk_ctl ls --json | "$SP_PYTHON" -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)))')" \
		"the members' poststop hook did not run"
	ni_install "$dir" uninstall --containerd-config "$NI_MAIN" "${restart[@]}" >/dev/null
	[[ -z $(find "$dir/prefix" ! -type d 2>/dev/null) ]] || sp_fail "left: $(find "$dir/prefix" ! -type d)"
	p=$(cri_runp team-a after)
	c=$(cri_run "$p" app)
	sp_assert_eq null "$(ni_spec_of "$c" | "$SP_PYTHON" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["hooks"]))')" \
		"containerd still gives pods the hook"
}

for s in $NI_STATES; do
	sp_test "installer, $s: twice (the second changes nothing), every runc runtime of the effective config has the hook, uninstall restores every byte" t_converge "$s"
done
sp_test "installer, k3s template with Go template actions: one line with the keys to add by hand, nothing changed" t_go_template
sp_test "installer with --host-root: an absolute symlink is the host's; k3s's config found, its template made and removed" t_host_root
sp_test "installer: a drop-in rewritten by its tool is the new original; an admin's later edit survives uninstall; shmpipe's config edited by the admin stays" t_edited_since
sp_test "installer: a run stopped half-way is finished by the next; uninstall restores the original" t_half_done
sp_test "installer over shmpipe 0.2's install (config edited, backup beside it): taken over, uninstall restores the bytes from before 0.2" t_from_v02 plain
sp_test "installer over shmpipe 0.2's install (its drop-in with a frozen copy of NVIDIA's CRI section): the copy goes" t_from_v02 nvidia
for s in plain nvidia k3s symlink basespec; do
	sp_test "node ($s, containerd running): restart confirmed by the CRI's Status (k3s: its first restart fails and is retried), second run changes nothing, a pod without a pipeline has the same spec (hooks apart) and ulimit -n, two pods share, uninstall keeps the hook until its members stopped and restores every byte" t_node "$s"
done
sp_done
