#!/usr/bin/env bash
# shmpipe-runtime, the OCI runtime wrapper: pipelines with an IPC namespace
# of their own (SysV shm, POSIX mqueues) through runc and Docker, the
# pass-through of every other command, and refusal of what it cannot parse.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

BUILD=${BUILD:-$SP_REPO/build}
CTL="$BUILD/shmpipectl"
WRAP="$BUILD/shmpipe-runtime"
ROOT="$SP_TMP/store"
sp_defer sp_umount_under "$ROOT"
export SHMPIPE_ROOT=$ROOT

# The wrapper as runc's callers use it: runc's global options, then the command.
wrap() { sp_timeout "$WRAP" --shmpipe-root "$ROOT" --shmpipe-runtime runc --root "$SP_TMP/runc" "$@"; }

wrap_run() {
	local id=$1 bundle=$2
	sp_defer _sp_quiet sp_runc delete -f "$id"
	wrap run --bundle "$bundle" "$id" </dev/null
}

t_ipc_pipeline_runc() {
	local a b c out
	"$CTL" create ipc1 --ipc >/dev/null
	"$CTL" create ipc2 --ipc >/dev/null
	sp_assert_eq "$ROOT/ipc/ipc1" "$(sp_json <("$CTL" inspect ipc1) 'j["ipc_namespace"]')"
	a=$(sp_tmpdir a) b=$(sp_tmpdir b) c=$(sp_tmpdir c)
	sp_runc_bundle "$a" -a io.shmpipe.pipeline=ipc1 -- /bin/sh -c \
		'shmtool sysv-write 0x5151 sysv-hello && shmtool mq-send /q mq-hello && shmtool write frames posix-hello'
	sp_runc_bundle "$b" -a io.shmpipe.pipeline=ipc1 -- /bin/sh -c \
		'shmtool sysv-read 0x5151 && shmtool mq-recv /q && shmtool read frames'
	sp_runc_bundle "$c" -a io.shmpipe.pipeline=ipc2 -- /bin/sh -c \
		'shmtool sysv-read 0x5151; shmtool mq-recv /q; shmtool read frames; exit 0'
	wrap_run "$(sp_id a)" "$a"
	out=$(wrap_run "$(sp_id b)" "$b")
	sp_assert_eq $'sysv-hello\nmq-hello\nposix-hello' "$out" "a second container of ipc1 sees all three"
	out=$(wrap_run "$(sp_id c)" "$c" 2>&1)
	sp_assert_contains "$out" "shmtool: 0x5151: No such file or directory"
	sp_assert_contains "$out" "shmtool: /q: No such file or directory"
	sp_assert_contains "$out" "shmtool: frames: No such file or directory"
	# Nor does the host's IPC namespace see them.
	if "$BUILD/shmtool" sysv-read 0x5151 2>/dev/null; then sp_fail "the host sees the pipeline's SysV segment"; fi
	# The hook did its part: members came and went.
	sp_assert_eq 0 "$(sp_json <("$CTL" inspect ipc1) 'len(j["members"])')"
	"$CTL" rm ipc1
	"$CTL" rm ipc2
	[[ -z $(grep " $ROOT/ipc/" /proc/self/mountinfo) ]] || sp_fail "IPC namespace still pinned after rm"
}

t_auto_created_ipc() {
	local a out
	a=$(sp_tmpdir a)
	sp_runc_bundle "$a" -a io.shmpipe.pipeline=autoipc -a io.shmpipe.ipc=true -- /bin/sh -c \
		'shmtool sysv-write 0x77 auto-x && shmtool sysv-read 0x77'
	out=$(wrap_run "$(sp_id auto)" "$a")
	sp_assert_eq auto-x "$out"
	# Ephemeral by default: gone with its last container, namespace released.
	sp_runc delete -f "$(sp_id auto)" 2>/dev/null || true
	[[ ! -e $ROOT/state/autoipc.json ]] || sp_fail "auto-created pipeline left behind"
	[[ ! -e $ROOT/ipc/autoipc ]] || sp_fail "IPC namespace file left behind"
}

t_untouched_without_pipeline() {
	local d before after
	d=$(sp_tmpdir plain)
	sp_runc_bundle "$d" -- /bin/true
	before=$(sha256sum <"$d/config.json")
	wrap create --bundle "$d" "$(sp_id plain)"
	sp_defer _sp_quiet sp_runc delete -f "$(sp_id plain)"
	after=$(sha256sum <"$d/config.json")
	sp_assert_eq "$before" "$after" "config.json of a container without a pipeline changed"
}

t_passthrough() {
	local d id a b
	d=$(sp_tmpdir pt)
	id=$(sp_id pt)
	sp_runc_bundle "$d" -- /bin/sleep 60
	wrap run -d --bundle "$d" "$id" </dev/null >/dev/null 2>&1
	sp_defer _sp_quiet sp_runc delete -f "$id"
	a=$(wrap state "$id" | grep -v '"created"')
	b=$(sp_runc state "$id" | grep -v '"created"')
	sp_assert_eq "$b" "$a" "state through the wrapper"
	sp_assert_eq "$(sp_runc features)" "$(wrap features)" "features through the wrapper"
	sp_assert_eq "$(sp_runc list -q)" "$(wrap list -q)"
	wrap kill "$id" KILL
	sp_wait_for 10 sh -c "runc --root '$SP_TMP/runc' state '$id' | grep -q stopped"
	wrap delete "$id"
	if sp_runc state "$id" >/dev/null 2>&1; then sp_fail "delete through the wrapper did not delete"; fi
	# Its own release and commit first, then the real runtime's lines.
	a=$(wrap --version)
	sp_assert_match "${a%%$'\n'*}" '^shmpipe-runtime [0-9]+\.[0-9]+\.[0-9]+ \(commit [^ ]+\)$'
	sp_assert_eq "$(runc --version)" "${a#*$'\n'}"
}

t_refuses_bad_config() {
	local d out id
	d=$(sp_tmpdir bad)
	id=$(sp_id bad)
	sp_runc_bundle "$d" -a io.shmpipe.pipeline=p1 -- /bin/true
	printf '{"ociVersion": "1.0.2", "annotations": {"io.shmpipe.pipeline": "p1"' >"$d/config.json"
	out=$(wrap create --bundle "$d" "$id" 2>&1) && sp_fail "create with a torn config.json"
	sp_assert_contains "$out" "shmpipe-runtime: bundle $d: config.json: invalid JSON"
	if sp_runc state "$id" >/dev/null 2>&1; then sp_fail "a container was created anyway"; fi
	sp_runc_bundle "$d" -a 'io.shmpipe.pipeline=../../etc' -- /bin/true
	out=$(wrap create --bundle "$d" "$id" 2>&1) && sp_fail "create with a hostile pipeline name"
	sp_assert_contains "$out" "invalid pipeline name"
	if sp_runc state "$id" >/dev/null 2>&1; then sp_fail "a container was created anyway"; fi
	out=$("$WRAP" --shmpipe-runtime "$WRAP" list 2>&1) && sp_fail "the wrapper wrapped itself"
	sp_assert_contains "$out" "is shmpipe-runtime itself"
	out=$("$WRAP" --shmpipe-bogus x list 2>&1) && sp_fail "unknown --shmpipe option accepted"
	sp_assert_contains "$out" "unknown option --shmpipe-bogus"
}

t_docker_runtime() {
	local wrapper img out
	sp_require_cmd dockerd
	"$CTL" create dk --ipc >/dev/null
	# dockerd takes a runtime path without arguments: a two-line wrapper
	# carries this test's store root.
	wrapper="$SP_TMP/shmpipe-runtime-test"
	printf '#!/bin/sh\nexec %q --shmpipe-root %q "$@"\n' "$WRAP" "$ROOT" >"$wrapper"
	chmod +x "$wrapper"
	sp_dockerd_start --add-runtime "shmpipe=$wrapper"
	img=$(sp_docker_busybox_image)
	sp_docker run --rm --network none --runtime shmpipe -e SHMPIPE_PIPELINE=dk "$img" \
		sh -c 'shmtool write frames from-docker && shmtool sysv-write 0x4242 sysv-docker'
	out=$(sp_docker run --rm --network none --runtime shmpipe -e SHMPIPE_PIPELINE=dk "$img" \
		sh -c 'shmtool read frames && echo && shmtool sysv-read 0x4242')
	sp_assert_eq $'from-docker\nsysv-docker' "$out"
	# Without the variable: Docker's own /dev/shm and IPC namespace.
	out=$(sp_docker run --rm --network none --runtime shmpipe "$img" sh -c 'shmtool ls; shmtool sysv-read 0x4242' 2>&1 || true)
	sp_assert_not_contains "$out" "frames"
	sp_assert_contains "$out" "0x4242: No such file or directory"
	sp_assert_eq 0 "$(sp_json <("$CTL" inspect dk) 'len(j["members"])')"
	"$CTL" rm dk
}

# The documented recipes for engines used without the wrapper.
t_ipc_recipes() {
	local a rootfs out
	"$CTL" create rec --ipc >/dev/null
	a=$(sp_tmpdir a)
	# runc: linux.namespaces ipc path in config.json.
	sp_runc_bundle "$a" -s "linux.namespaces=[{\"type\":\"mount\"},{\"type\":\"pid\"},{\"type\":\"uts\"},{\"type\":\"network\"},{\"type\":\"ipc\",\"path\":\"$ROOT/ipc/rec\"}]" \
		-- /bin/shmtool sysv-write 0x99 from-runc
	sp_runc_run "$(sp_id rec)" "$a"
	# ctr run --with-ns ipc:PATH
	sp_containerd_start
	rootfs=$(sp_tmpdir ctr-rootfs)
	sp_busybox_rootfs "$rootfs"
	out=$(sp_ctr_run "$(sp_id ctr)" --rm --with-ns "ipc:$ROOT/ipc/rec" --rootfs -- "$rootfs" /bin/shmtool sysv-read 0x99)
	sp_assert_eq from-runc "$out" "ctr --with-ns ipc:PATH"
	# podman run --ipc ns:PATH
	rootfs=$(sp_tmpdir podman-rootfs)
	sp_busybox_rootfs "$rootfs"
	out=$(sp_podman_run --rm --ipc "ns:$ROOT/ipc/rec" --rootfs "$rootfs" /bin/shmtool sysv-read 0x99)
	sp_assert_eq from-runc "$out" "podman --ipc ns:PATH"
	"$CTL" rm rec
}

sp_test "runc: an --ipc pipeline shares SysV shm and mqueues, another sees none" t_ipc_pipeline_runc
sp_test "runc: io.shmpipe.ipc=true auto-creates an ephemeral IPC pipeline" t_auto_created_ipc
sp_test "a container naming no pipeline: config.json unchanged byte for byte" t_untouched_without_pipeline
sp_test "state, features, list, kill, delete, --version pass through" t_passthrough
sp_test "unparseable config or hostile name: create fails, no container" t_refuses_bad_config
sp_test "recipes: runc namespaces path, ctr --with-ns, podman --ipc ns:" t_ipc_recipes
sp_test "docker --runtime shmpipe -e SHMPIPE_PIPELINE joins /dev/shm and IPC" t_docker_runtime
sp_done
