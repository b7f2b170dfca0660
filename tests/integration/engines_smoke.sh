#!/bin/bash
# engines_smoke.sh - prove every harness function in lib/common.sh works
# against the real engines on this host (runc, crun, containerd/ctr, podman,
# docker), and capture the exact OCI hook state + config.json each engine
# produces.
#
#   tests/integration/engines_smoke.sh                       # run
#   SP_UPDATE_FIXTURES=1 tests/integration/engines_smoke.sh  # also refresh
#                                                            # tests/fixtures/oci
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

CAP="$SP_TMP/capture"              # all hook captures land here
HOOK=$(sp_capture_hook)
PIPE=smoke                         # io.shmpipe.pipeline annotation value
# the payload every engine runs: create a POSIX shm segment and read it back
HELLO='shmtool write x hello && shmtool read x'
mkdir -p "$CAP"

# Save captured state/config files as fixtures (only on request: they embed
# run-specific paths and pids, so refreshing them on every run is churn).
save_fixtures() {
	local engine=$1 f stage
	[[ ${SP_UPDATE_FIXTURES:-0} == 1 ]] || return 0
	mkdir -p "$SP_FIXTURES_DIR/oci"
	for f in "$CAP/$engine"-*-state.json; do
		[[ -e $f ]] && cp "$f" "$SP_FIXTURES_DIR/oci/"
	done
	# one config.json per engine: the one the runtime saw at prestart-ish time
	for stage in createRuntime prestart; do
		f="$CAP/$engine-$stage-config.json"
		if [[ -s $f ]]; then
			cp "$f" "$SP_FIXTURES_DIR/oci/$engine-config.json"
			break
		fi
	done
}

# status_of LABEL : the "status" field of a captured state
status_of() { sp_json "$CAP/$1-state.json" 'j.get("status")'; }

# check_state LABEL STATUS PID : assertions on a capture; PID is "host" (a
# real host pid), "0" or "1" (literal values), or "none" (no pid key)
check_state() {
	local label=$1 status=$2 want_pid=$3 f="$CAP/$1-state.json" pid
	sp_assert_file "$f" "hook $label did not run"
	sp_assert_eq "$status" "$(status_of "$label")" "$label status"
	pid=$(sp_json "$f" 'j.get("pid", "none")')
	case $want_pid in
	host)
		if ! [[ $pid =~ ^[0-9]+$ ]] || ((pid <= 1)); then
			sp_fail "$label: pid [$pid] is not a host pid"
		fi
		;;
	*) sp_assert_eq "$want_pid" "$pid" "$label pid" ;;
	esac
}

# check_annotation LABEL : our annotation reached the hook state
check_annotation() {
	sp_assert_eq "$PIPE" \
		"$(sp_json "$CAP/$1-state.json" 'j.get("annotations", {}).get("io.shmpipe.pipeline")')" \
		"$1 annotation"
}

# hook_flags ENGINE STAGE... : -H options for sp_runc_bundle
hook_flags() {
	local engine=$1 s
	shift
	for s in "$@"; do
		printf -- '-H\n%s=%s %s %s\n' "$s" "$HOOK" "$engine-$s" "$CAP"
	done
}

# ---------------------------------------------------------------------------

t_shmtool_host() {
	local tool name out
	tool=$(sp_shmtool)
	file "$tool" | grep -q 'statically linked' || sp_fail "shmtool is not static"
	name="$SP_RUN_ID-host"
	sp_defer rm -f "/dev/shm/$name"
	"$tool" write "$name" "hello host"
	sp_assert_eq "hello host" "$("$tool" read "$name")"
	sp_assert_contains "$("$tool" ls)" "$name"
	"$tool" wait "$name" 1
	out=$("$tool" read "$name-absent" 2>&1) && sp_fail "read of absent segment succeeded"
	sp_assert_eq "shmtool: $name-absent: No such file or directory" "$out"
	sp_assert_fails "$tool" wait "$name-absent" 0.3
	sp_assert_match "$("$tool" mountinfo)" ' /dev/shm .* - tmpfs '
}

t_rootfs() {
	local d
	d=$(sp_tmpdir rootfs)
	sp_busybox_rootfs "$d"
	[[ -x $d/bin/busybox && ! -L $d/bin/busybox ]] || sp_fail "busybox missing"
	[[ -x $d/bin/shmtool && -L $d/bin/sh && -L $d/usr/bin/env ]] || sp_fail "applets missing"
	[[ -d $d/dev/shm && -d $d/proc && -s $d/etc/passwd ]] || sp_fail "skeleton missing"
}

t_runc_hello() {
	local b out
	b=$(sp_tmpdir bundle)
	sp_runc_bundle "$b" -e SP_TEST=1 -- /bin/sh -c "$HELLO; echo; echo \$SP_TEST; shmtool mountinfo"
	out=$(sp_runc_run "$(sp_id runc-hello)" "$b")
	sp_assert_eq hello "$(sed -n 1p <<<"$out")"
	sp_assert_eq 1 "$(sed -n 2p <<<"$out")" "env"
	sp_assert_match "$(sed -n 3p <<<"$out")" ' /dev/shm [^ ]*nosuid,nodev,noexec'
}

t_runc_detached() {
	local b id
	b=$(sp_tmpdir bundle)
	id=$(sp_id runc-detached)
	sp_runc_bundle "$b" -- /bin/sh -c 'shmtool write ready 1; sleep 30'
	sp_runc_run -d "$id" "$b"
	sp_assert_file "$b/pid"
	sp_wait_for 10 sp_runc exec "$id" shmtool read ready
	sp_assert_contains "$(sp_runc state "$id")" '"status": "running"'
	sp_runc kill "$id" KILL
	sp_wait_for 10 sh -c "runc --root '$SP_TMP/runc' state '$id' | grep -q stopped"
}

t_runc_no_dev_tmpfs() {
	local b out
	b=$(sp_tmpdir bundle)
	sp_runc_bundle "$b" --no-dev-tmpfs -- /bin/sh -c \
		'shmtool mountinfo || echo NOMOUNT; shmtool write y image-dev'
	out=$(sp_runc_run "$(sp_id runc-nodev)" "$b" 2>&1)
	sp_assert_contains "$out" NOMOUNT "/dev/shm must not be a mount"
	# the segment landed in the image's own /dev/shm directory
	sp_assert_eq image-dev "$(cat "$b/rootfs/dev/shm/y")"
}

t_runc_hooks() {
	local b
	local -a hooks
	b=$(sp_tmpdir bundle)
	mapfile -t hooks < <(hook_flags runc createRuntime createContainer prestart poststart poststop)
	# startContainer runs inside the container: use the image's own sh
	sp_runc_bundle "$b" -a io.shmpipe.pipeline=$PIPE "${hooks[@]}" \
		-H 'startContainer=/bin/sh -c cat>/tmp/startContainer-state.json' \
		-- /bin/sh -c "$HELLO"
	sp_assert_eq hello "$(sp_runc_run "$(sp_id runc-hooks)" "$b")"
	cp "$b/rootfs/tmp/startContainer-state.json" "$CAP/runc-startContainer-state.json"
	# runc: pid 1 = the container's own pid namespace view; poststart is
	# still "created" (state is taken before the status flips)
	check_state runc-createRuntime creating host
	check_state runc-createContainer creating 1
	check_state runc-prestart creating host
	check_state runc-startContainer created 1
	check_state runc-poststart created host
	check_state runc-poststop stopped none
	check_annotation runc-prestart
	check_annotation runc-poststop
	save_fixtures runc
}

t_crun_hello() {
	local b
	b=$(sp_tmpdir bundle)
	sp_runc_bundle "$b" -- /bin/sh -c "$HELLO"
	sp_assert_eq hello "$(sp_crun_run "$(sp_id crun-hello)" "$b")"
}

t_crun_detached() {
	local b id
	b=$(sp_tmpdir bundle)
	id=$(sp_id crun-detached)
	# -s: arbitrary spec edits (here cwd and an IPC sysctl)
	# shellcheck disable=SC2016 # expanded by the container's shell
	sp_runc_bundle "$b" -s process.cwd='"/tmp"' \
		-s 'linux.sysctl={"kernel.shmmni":"1234"}' -- \
		/bin/sh -c 'shmtool write ready "$(pwd) $(cat /proc/sys/kernel/shmmni)"; sleep 30'
	sp_crun_run -d "$id" "$b"
	sp_wait_for 10 sp_crun exec "$id" shmtool read ready
	sp_assert_eq "/tmp 1234" "$(sp_crun exec "$id" shmtool read ready)"
	sp_assert_contains "$(sp_crun state "$id")" '"status": "running"'
	# left running on purpose: the deferred `crun delete -f` must reap it
}

t_crun_hooks() {
	local b
	local -a hooks
	b=$(sp_tmpdir bundle)
	mapfile -t hooks < <(hook_flags crun createRuntime createContainer prestart poststart poststop)
	sp_runc_bundle "$b" -a io.shmpipe.pipeline=$PIPE "${hooks[@]}" \
		-H 'startContainer=/bin/sh -c cat>/tmp/startContainer-state.json' \
		-- /bin/sh -c "$HELLO"
	sp_assert_eq hello "$(sp_crun_run "$(sp_id crun-hooks)" "$b")"
	cp "$b/rootfs/tmp/startContainer-state.json" "$CAP/crun-startContainer-state.json"
	# crun: "created" already at createRuntime, pid 0 inside the container
	# and at poststop, "starting" (and bundle "/") at startContainer
	check_state crun-createRuntime created host
	check_state crun-createContainer created 0
	check_state crun-prestart created host
	check_state crun-startContainer starting 0
	check_state crun-poststart running host
	check_state crun-poststop stopped 0
	check_annotation crun-createRuntime
	check_annotation crun-poststop
	save_fixtures crun
}

t_ctr_hello() {
	local r
	r=$(sp_tmpdir rootfs)
	sp_busybox_rootfs "$r"
	sp_assert_eq hello "$(sp_ctr_run "$(sp_id ctr-hello)" --rm --rootfs -- "$r" /bin/sh -c "$HELLO")"
}

t_ctr_hooks() {
	local b
	local -a hooks
	b=$(sp_tmpdir bundle)
	mapfile -t hooks < <(hook_flags containerd createRuntime prestart poststart poststop)
	sp_runc_bundle "$b" -a io.shmpipe.pipeline=$PIPE "${hooks[@]}" -- /bin/sh -c "$HELLO"
	sp_assert_eq hello "$(sp_ctr_run_bundle "$(sp_id ctr-hooks)" "$b")"
	check_state containerd-createRuntime creating host
	check_state containerd-prestart creating host
	check_state containerd-poststart created host
	check_state containerd-poststop stopped none
	check_annotation containerd-prestart
	check_annotation containerd-poststop
	save_fixtures containerd

	# containerd's own generated spec (no --config): capture it through a
	# runtime wrapper passed with --runc-binary
	local r wrap
	r=$(sp_tmpdir rootfs)
	sp_busybox_rootfs "$r"
	echo '{}' >"$SP_CASE_DIR/no-hooks.json"
	wrap="$SP_CASE_DIR/ctr-wrapper"
	sp_runtime_wrapper "$wrap" "$SP_CASE_DIR/no-hooks.json" "$CAP/containerd-default"
	sp_assert_eq hello "$(sp_ctr_run "$(sp_id ctr-default)" --rm --runc-binary "$wrap" \
		--annotation io.shmpipe.pipeline=$PIPE --rootfs -- "$r" /bin/sh -c "$HELLO")"
	sp_assert_eq "$PIPE" "$(sp_json "$CAP/containerd-default/config.json" \
		'j["annotations"]["io.shmpipe.pipeline"]')"
	if [[ ${SP_UPDATE_FIXTURES:-0} == 1 ]]; then
		cp "$CAP/containerd-default/config.json" "$SP_FIXTURES_DIR/oci/containerd-config.json"
	fi
}

t_podman_hello() {
	local r
	r=$(sp_tmpdir rootfs)
	sp_busybox_rootfs "$r"
	sp_assert_eq hello "$(sp_podman_run --rm --rootfs "$r" /bin/sh -c "$HELLO")"
}

t_podman_hooks() {
	local r s
	r=$(sp_tmpdir rootfs)
	sp_busybox_rootfs "$r"
	for s in createRuntime prestart poststart poststop; do
		sp_podman_hook "capture-$s" "$s" "$HOOK" "podman-$s" "$CAP"
	done
	# no annotation -> the hooks.d "when" clause must keep hooks away
	sp_assert_eq hello "$(sp_podman_run --rm --rootfs "$r" /bin/sh -c "$HELLO")"
	[[ ! -e $CAP/podman-prestart-state.json ]] || sp_fail "hook ran without annotation"
	sp_assert_eq hello "$(sp_podman_run --rm --annotation io.shmpipe.pipeline=$PIPE \
		--rootfs "$r" /bin/sh -c "$HELLO")"
	check_state podman-createRuntime creating host
	check_state podman-prestart creating host
	check_state podman-poststart created host
	# poststop is run by podman itself, not runc
	check_state podman-poststop stopped none
	check_annotation podman-prestart
	check_annotation podman-poststop
	save_fixtures podman
}

t_docker() {
	local img wrap
	wrap="$SP_TMP/docker-runtime-wrapper"
	# docker has no hook flag: a runtime wrapper injects them into config.json
	"$SP_PYTHON" - "$HOOK" "$CAP" >"$SP_TMP/docker-hooks.json" <<'EOF'
import json, sys
hook, cap = sys.argv[1:3]
print(json.dumps({s: [{"path": hook, "args": [hook, "docker-" + s, cap]}]
                  for s in ("createRuntime", "prestart", "poststart", "poststop")}))
EOF
	sp_runtime_wrapper "$wrap" "$SP_TMP/docker-hooks.json" "$CAP/docker-original"
	sp_dockerd_start --add-runtime "sp-capture=$wrap"
	img=$(sp_docker_busybox_image)
	sp_assert_eq hello "$(sp_docker run --rm --network none "$img" sh -c "$HELLO")"
	sp_assert_eq hello "$(sp_docker run --rm --network none --runtime sp-capture \
		--label io.shmpipe.pipeline=$PIPE "$img" sh -c "$HELLO")"
	sp_assert_file "$CAP/docker-original/config.json"
	check_state docker-createRuntime creating host
	check_state docker-prestart creating host
	check_state docker-poststart created host
	check_state docker-poststop stopped none
	# docker 20.10 has no --annotation: the state carries none at all
	sp_assert_eq false "$(sp_json "$CAP/docker-prestart-state.json" '"annotations" in j')"
	if [[ ${SP_UPDATE_FIXTURES:-0} == 1 ]]; then
		save_fixtures docker
		# the config docker generated, before the wrapper added hooks
		cp "$CAP/docker-original/config.json" "$SP_FIXTURES_DIR/oci/docker-config.json"
	fi
}

t_docker_volume_plugin() {
	local img drv out f
	sp_dockerd_start
	img=$(sp_docker_busybox_image)
	drv=$(sp_id shmvol)
	sp_docker_fake_volume_plugin "$drv"
	sp_docker volume create -d "$drv" -o size=1m pipe1 >/dev/null
	# a volume on /dev/shm replaces docker's own shm tmpfs
	out=$(sp_docker run --rm --network none -v pipe1:/dev/shm "$img" \
		sh -c 'shmtool write seg fromA && shmtool mountinfo')
	sp_assert_contains "$out" "$SP_FAKEVOL_DIR/vols/pipe1 /dev/shm "
	sp_assert_eq fromA "$(sp_docker run --rm --network none -v pipe1:/dev/shm "$img" shmtool read seg)"
	sp_assert_eq fromA "$(cat "$SP_FAKEVOL_DIR/vols/pipe1/seg")"
	sp_docker volume rm pipe1 >/dev/null
	for f in Plugin.Activate VolumeDriver.Create VolumeDriver.Mount VolumeDriver.Unmount VolumeDriver.Remove; do
		[[ -e $SP_FAKEVOL_DIR/rec/$f.json ]] || sp_fail "plugin never got $f"
	done
	if [[ ${SP_UPDATE_FIXTURES:-0} == 1 ]]; then
		mkdir -p "$SP_FIXTURES_DIR/docker-plugin"
		for f in "$SP_FAKEVOL_DIR"/rec/*.json; do
			cp "$f" "$SP_FIXTURES_DIR/docker-plugin/$(basename "$f" .json)-request.json"
		done
	fi
}

t_cleanup() {
	# stop the shared daemons now and prove nothing is left behind
	sp_dockerd_stop
	sp_containerd_stop
	sp_podman_cleanup
	local m p
	m=$(grep -F " $SP_TMP" /proc/self/mountinfo || true)
	[[ -z $m ]] || sp_fail "mounts left: $m"
	# containerd's namespace is the run's id: its cgroup directories go too
	m=$(find /sys/fs/cgroup -maxdepth 4 -type d -name "$SP_RUN_ID*" 2>/dev/null || true)
	[[ -z $m ]] || sp_fail "cgroups left: $m"
	for p in /proc/[0-9]*; do
		if grep -qzF -- "$SP_TMP/" "$p/cmdline" 2>/dev/null; then
			[[ ${p#/proc/} == "$BASHPID" ]] || sp_fail "process left: ${p#/proc/} $(tr '\0' ' ' <"$p/cmdline")"
		fi
	done
}

sp_containerd_start                  # shared by ctr and dockerd cases

sp_test "shmtool works on the host (static, write/read/ls/wait/mountinfo)" t_shmtool_host
sp_test "sp_busybox_rootfs builds a busybox+shmtool rootfs" t_rootfs
sp_test "runc: shmtool write/read in a container" t_runc_hello
sp_test "runc: detached run + exec + kill" t_runc_detached
sp_test "runc: --no-dev-tmpfs leaves the image /dev/shm" t_runc_no_dev_tmpfs
sp_test "runc: all hook stages get state with annotations" t_runc_hooks
sp_test "crun: shmtool write/read in a container" t_crun_hello
sp_test "crun: detached run + exec + spec edits (-s)" t_crun_detached
sp_test "crun: all hook stages get state with annotations" t_crun_hooks
sp_test "containerd: ctr run --rootfs" t_ctr_hello
sp_test "containerd: ctr run --config bundle with hooks; --runc-binary wrapper" t_ctr_hooks
sp_test "podman: run --rootfs" t_podman_hello
sp_test "podman: hooks.d 1.0.0 with when.annotations" t_podman_hooks
sp_test "docker: imported busybox image + hook-injecting runtime" t_docker
sp_test "docker: legacy volume plugin on /dev/shm (fake plugin)" t_docker_volume_plugin
sp_test "daemons stop without leaving mounts or processes" t_cleanup
sp_done
