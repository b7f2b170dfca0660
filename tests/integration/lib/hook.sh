# shellcheck shell=bash
# tests/integration/lib/hook.sh - helpers for the hook_*.sh tests.  Source
# after lib/common.sh:
#
#   . "$(dirname "$0")/lib/common.sh"
#   . "$(dirname "$0")/lib/hook.sh"
#   hk_setup
#
# Each test file gets its own store root ($HK_ROOT, also $SHMPIPE_ROOT for
# shmpipectl) and config ($HK_CONFIG), under $SP_TMP.  The store root is a
# shared mount, as / is on systemd hosts: it keeps pipelines created by a
# hook that crun runs in a private mount namespace (hk_crun) visible to the
# host and to every other container, and it exercises the hook's claim that
# a container's /dev/shm mount is private even when the store is shared.

HK_BUILD=${BUILD:-$SP_REPO/build}
HK_HOOK=$HK_BUILD/shmpipe-hook
HK_CTL=$HK_BUILD/shmpipectl

hk_quiet() { "$@" >/dev/null 2>&1 || true; }

# hk_setup : store root + config for this file; the defers are top-level.
hk_setup() {
	[[ -x $HK_HOOK && -x $HK_CTL ]] || {
		echo "missing $HK_HOOK or $HK_CTL: run make" >&2
		exit 1
	}
	HK_ROOT=$(sp_tmpdir store)
	HK_CONFIG="$SP_TMP/shmpipe-config.json"
	echo '{}' >"$HK_CONFIG"
	mount --bind "$HK_ROOT" "$HK_ROOT"
	mount --make-shared "$HK_ROOT"
	sp_defer sp_umount_under "$HK_ROOT"
	SHMPIPE_ROOT=$HK_ROOT
	SHMPIPE_CONFIG=$HK_CONFIG
	export HK_ROOT HK_CONFIG SHMPIPE_ROOT SHMPIPE_CONFIG
}

# hk_ctl ARGS... : shmpipectl on this file's store.
hk_ctl() { "$HK_CTL" --root "$HK_ROOT" --config "$HK_CONFIG" "$@"; }

# hk_cmd STAGE : the hook's command line in a bundle (-H STAGE=...).
# HK_WRAP, when set, is a command line the hook runs under (seccomp-enosys);
# HK_HOOK_ARGS, arguments of the hook's own before the stage (--cri).
hk_cmd() { printf '%s%s --root %s --config %s %s%s' "${HK_WRAP:+$HK_WRAP }" "$HK_HOOK" "$HK_ROOT" "$HK_CONFIG" "${HK_HOOK_ARGS:+$HK_HOOK_ARGS }" "$1"; }

# hk_bundle DIR STAGES [sp_runc_bundle options] [--] CMD... : a runc-spec
# bundle with the hook at each of STAGES (comma-separated: prestart,
# createRuntime) and at poststop.
hk_bundle() {
	local dir=$1 stages=$2 s
	local -a hooks=()
	shift 2
	for s in ${stages//,/ }; do
		hooks+=(-H "$s=$(hk_cmd "$s")")
	done
	hooks+=(-H "poststop=$(hk_cmd poststop)")
	sp_runc_bundle "$dir" "${hooks[@]}" "$@"
}

# hk_crun ARGS... : crun like sp_crun, but the private mount namespace it
# needs on hybrid-cgroup hosts keeps propagation as it is ("unchanged", not
# rprivate): mounts the hook makes under the shared store root must reach
# the host, or a pipeline auto-created for a crun container would exist
# only for it.  The cgroup v2 mount is made private before it is unmounted.
hk_crun() {
	if _sp_cgroup_hybrid; then
		sp_timeout unshare -m --propagation unchanged sh -c '
			mount --make-private /sys/fs/cgroup/unified &&
			umount /sys/fs/cgroup/unified &&
			exec crun "$@"' sh --root "$SP_TMP/crun" "$@"
	else
		sp_timeout crun --root "$SP_TMP/crun" "$@"
	fi
}

# hk_rt_cmd RUNTIME : the command that runs RUNTIME (runc or crun) with this
# run's state root.
hk_rt_cmd() {
	case $1 in
	runc) echo sp_runc ;;
	crun) echo hk_crun ;;
	*) sp_fail "unknown runtime $1" ;;
	esac
}

# hk_rt RUNTIME ARGS... : runc or crun with this run's state root.
hk_rt() {
	local cmd
	cmd=$(hk_rt_cmd "$1")
	shift
	"$cmd" "$@"
}

# hk_run [-d] RUNTIME ID BUNDLE : sp_run_with for either runtime.
hk_run() {
	local d=() cmd
	[[ ${1:-} == -d ]] && { d=(-d); shift; }
	cmd=$(hk_rt_cmd "$1")
	shift
	sp_run_with "$cmd" "${d[@]}" "$@"
}

# hk_run_in ROOTFS PIPELINE|- NAME CMD : CMD in a fresh runc container of
# PIPELINE ("-": of none) on ROOTFS (shared read-write), the hook at
# createRuntime and poststop; prints its output.
hk_run_in() {
	local rootfs=$1 pipe=$2 name=$3 cmd=$4 b
	local -a ann=()
	b=$(sp_tmpdir bundle)
	[[ $pipe == - ]] || ann=(-a "io.shmpipe.pipeline=$pipe")
	hk_bundle "$b" createRuntime -r "$rootfs" "${ann[@]}" -- /bin/sh -c "$cmd"
	hk_run runc "$(sp_id "$name")" "$b"
}

# hk_hooks_file SRC OUT [HOOK] : a shipped hooks.d file SRC, its hook.path
# HOOK (default this build's hook) and the store and config in its env
# (Podman gives hooks almost none), written to OUT.
hk_hooks_file() {
	"$SP_PYTHON" - "$1" "$2" "${3:-$HK_HOOK}" "$HK_ROOT" "$HK_CONFIG" <<'PY'
import json, sys
src, out, hook, root, config = sys.argv[1:6]
with open(src) as f:
    h = json.load(f)
h["hook"]["path"] = hook
h["hook"]["env"] = ["SHMPIPE_ROOT=" + root, "SHMPIPE_CONFIG=" + config]
with open(out, "w") as f:
    json.dump(h, f)
PY
}

# hk_exists NAME : the pipeline has a record in this store.
hk_exists() { [[ -e $HK_ROOT/state/$1.json ]]; }

# hk_mounted NAME : its tmpfs is mounted on the host.
hk_mounted() { grep -q " $HK_ROOT/mnt/$1 " /proc/self/mountinfo; }

# hk_members NAME : member ids, one per line.
hk_members() { sp_json "$HK_ROOT/state/$1.json" '"\n".join(m["id"] for m in j["members"])'; }

# hk_direct_bundle DIR PIPE : a bundle dir whose config.json asks for
# pipeline PIPE, for running the hook by hand (no runtime).
hk_direct_bundle() {
	local b=$1 pipe=$2
	mkdir -p "$b/rootfs"
	printf '{"ociVersion":"1.0.2","root":{"path":"rootfs"},"annotations":{"io.shmpipe.pipeline":"%s"}}' \
		"$pipe" >"$b/config.json"
}

# hk_state_for ID PID BUNDLE : the OCI state a runtime gives a createRuntime hook.
hk_state_for() { printf '{"ociVersion":"1.0.2","id":"%s","status":"creating","pid":%s,"bundle":"%s"}' "$1" "$2" "$3"; }

# hk_chroot_process ROOTFS pivoted|unlisted : a stand-in container, busybox
# `sleep 60` chrooted into ROOTFS in a private mount namespace of its own;
# "pivoted" binds ROOTFS on itself first (a mount point, as pivot_root
# requires and runtimes make it), "unlisted" does not (its mount lies above
# its root).  Sets HK_PID once the process runs busybox in its namespace;
# it is killed at the end of the case.
hk_chroot_process() {
	local rootfs=$1 kind=$2 i
	case $kind in
	pivoted) unshare -m --propagation private sh -c 'mount --bind "$1" "$1" && exec chroot "$1" /bin/sleep 60' sh "$rootfs" & ;;
	unlisted) unshare -m --propagation private --root "$rootfs" /bin/sleep 60 & ;;
	*) sp_fail "hk_chroot_process: unknown kind $kind" ;;
	esac
	HK_PID=$!
	sp_defer kill -KILL "$HK_PID"
	for ((i = 0; i < 100; i++)); do
		[[ $(readlink "/proc/$HK_PID/ns/mnt") != "$(readlink /proc/self/ns/mnt)" &&
			$(readlink "/proc/$HK_PID/exe") == */busybox ]] && break
		sleep 0.05
	done
}

# hk_mounts_snapshot FILE : the host's mount points and sources, for a later
# hk_assert_no_new_mounts, which ignores what other tests and demos running
# at the same time mount in their own directories under /tmp (never an
# attack's target: those are /, /etc, /proc, ... or our own $SP_TMP).
hk_mounts_snapshot() { awk '{print $5, $(NF-1)}' /proc/self/mountinfo | sort >"$1"; }

hk_assert_no_new_mounts() {
	local before=$1 after new
	after=$(mktemp "$SP_TMP/mounts.XXXXXX")
	hk_mounts_snapshot "$after"
	new=$(comm -13 "$before" "$after" |
		awk -v mine="$SP_TMP/" '!(index($1, "/tmp/") == 1 && index($1, mine) != 1)' |
		grep -v -E '^/run/(containerd|netns|runc|crun)/|^/var/lib/(containers|containerd)/' || true)
	rm -f "$after"
	[[ -z $new ]] || sp_fail "new mounts on the host: $new"
}

# hk_assert_no_stray_mounts BEFORE PIPELINE... : what a mount leaked by the
# hook or the store would look like, whatever else the host mounts
# meanwhile: no new mount under $SP_TMP (bundles, rootfs, the store) since
# the snapshot BEFORE (hk_mounts_snapshot), and no tmpfs of these pipelines
# anywhere but on their own mountpoint in the store (other runs' stores
# under /tmp, which may hold pipelines of the same names, do not count).
hk_assert_no_stray_mounts() {
	local before=$1 after new p left
	shift
	after=$(mktemp "$SP_TMP/mounts.XXXXXX")
	hk_mounts_snapshot "$after"
	new=$(comm -13 "$before" "$after" | awk -v mine="$SP_TMP/" 'index($1, mine) == 1')
	rm -f "$after"
	[[ -z $new ]] || sp_fail "new mounts under $SP_TMP: $new"
	for p in "$@"; do
		left=$(awk -v s="shmpipe-$p" -v own="$HK_ROOT/mnt/$p" -v mine="$SP_TMP/" \
			'$(NF-1) == s && $5 != own && (index($5, "/tmp/") != 1 || index($5, mine) == 1)' /proc/self/mountinfo)
		[[ -z $left ]] || sp_fail "a tmpfs of $p outside the store: $left"
	done
}

# hk_assert_private_shm_line LINE PIPELINE : a /dev/shm mountinfo line (as
# printed by `shmtool mountinfo`) is PIPELINE's tmpfs, nosuid,nodev,noexec,
# with no propagation (no shared:/master: tag).
hk_assert_shm_line() {
	local line=$1 pipe=$2 opts
	sp_assert_match "$line" " /dev/shm " "not the /dev/shm line"
	sp_assert_match "$line" " - tmpfs shmpipe-$pipe " "not pipeline $pipe's tmpfs"
	opts=$(awk '{print $6}' <<<"$line")
	sp_assert_contains ",$opts," ",nosuid," "mount options"
	sp_assert_contains ",$opts," ",nodev," "mount options"
	sp_assert_contains ",$opts," ",noexec," "mount options"
	sp_assert_not_contains "$line" "shared:" "propagation"
	sp_assert_not_contains "$line" "master:" "propagation"
}

# ---------------------------------------------------------------------------
# The sharing suite, for one runtime and the hook's stage(s)
# ---------------------------------------------------------------------------

# A (detached) writes /frames in pipeline P1 and sleeps; B (P1) reads the
# same bytes; C (P2), D (no annotation) and the host do not see them.
_hk_t_share() {
	local rt=$1 stages=$2 tag=$3 p1="p1.$3" p2="p2.$3" data="frames-$SP_RUN_ID-$3"
	local a b c d out
	a=$(sp_tmpdir bundle) b=$(sp_tmpdir bundle) c=$(sp_tmpdir bundle) d=$(sp_tmpdir bundle)
	hk_bundle "$a" "$stages" -a "io.shmpipe.pipeline=$p1" -- /bin/sh -c "shmtool write frames '$data' && exec sleep 300"
	hk_bundle "$b" "$stages" -a "io.shmpipe.pipeline=$p1" -- /bin/sh -c 'shmtool wait frames 10 && shmtool read frames'
	hk_bundle "$c" "$stages" -a "io.shmpipe.pipeline=$p2" -- /bin/sh -c 'shmtool ls; shmtool read frames || echo ABSENT'
	hk_bundle "$d" "$stages" -- /bin/sh -c 'shmtool ls; shmtool read frames || echo ABSENT; shmtool mountinfo'

	hk_run -d "$rt" "$(sp_id "$tag-a")" "$a"
	out=$(hk_run "$rt" "$(sp_id "$tag-b")" "$b")
	sp_assert_eq "$data" "$out" "B reads what A wrote"
	sp_assert_eq "$(sp_id "$tag-a")" "$(hk_members "$p1")" "members of $p1 after B left"

	out=$(hk_run "$rt" "$(sp_id "$tag-c")" "$c")
	sp_assert_not_contains "$out" frames "C (other pipeline) sees A's segment"
	sp_assert_contains "$out" ABSENT
	out=$(hk_run "$rt" "$(sp_id "$tag-d")" "$d")
	sp_assert_not_contains "$out" "$data" "D (no annotation) sees A's segment"
	sp_assert_contains "$out" ABSENT
	sp_assert_not_contains "$out" shmpipe- "D got a pipeline"
	if [[ -e /dev/shm/frames ]] && grep -q "$data" /dev/shm/frames; then
		sp_fail "the host's /dev/shm sees A's segment"
	fi
	# the data is in the pipeline's tmpfs, nowhere else
	sp_assert_eq "$data" "$(cat "$HK_ROOT/mnt/$p1/frames")"
	hk_exists "$p2" && sp_fail "$p2 (ephemeral, C gone) still exists"
	return 0
}

# /dev/shm inside is the pipeline's tmpfs, nosuid,nodev,noexec and private,
# mounted once even with the hook at two stages.
_hk_t_flags() {
	local rt=$1 stages=$2 tag=$3 p="flags.$3" b out
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" "$stages" -a "io.shmpipe.pipeline=$p" -a io.shmpipe.size=2m -a io.shmpipe.mode=0770 -- \
		/bin/sh -c 'shmtool mountinfo; grep -c " /dev/shm " /proc/self/mountinfo; stat -c %a /dev/shm'
	out=$(hk_run "$rt" "$(sp_id "$tag-flags")" "$b")
	hk_assert_shm_line "$(sed -n 1p <<<"$out")" "$p"
	sp_assert_contains "$(sed -n 1p <<<"$out")" "size=2048k" "size annotation"
	# the runtime's own shm tmpfs below ours, nothing more
	sp_assert_eq 2 "$(sed -n 2p <<<"$out")" "/dev/shm mounts in the container"
	sp_assert_eq 770 "$(sed -n 3p <<<"$out")" "mode annotation"
}

# SHMPIPE_PIPELINE in process.env alone joins.
_hk_t_env() {
	local rt=$1 stages=$2 tag=$3 p="env.$3" data="env-$SP_RUN_ID-$3" a b out
	a=$(sp_tmpdir bundle) b=$(sp_tmpdir bundle)
	hk_bundle "$a" "$stages" -a "io.shmpipe.pipeline=$p" -- /bin/sh -c "shmtool write frames '$data' && exec sleep 300"
	hk_bundle "$b" "$stages" -e "SHMPIPE_PIPELINE=$p" -- /bin/sh -c 'shmtool wait frames 10 && shmtool read frames'
	hk_run -d "$rt" "$(sp_id "$tag-env-a")" "$a"
	out=$(hk_run "$rt" "$(sp_id "$tag-env-b")" "$b")
	sp_assert_eq "$data" "$out" "the env-only container reads A's segment"
}

# An auto-created (ephemeral) pipeline goes with its last container; a
# persistent one (shmpipectl create) stays, with its data.
_hk_t_lifetime() {
	local rt=$1 stages=$2 tag=$3 pe="eph.$3" pp="per.$3" a w r id out
	a=$(sp_tmpdir bundle) w=$(sp_tmpdir bundle) r=$(sp_tmpdir bundle)
	id=$(sp_id "$tag-eph")
	hk_bundle "$a" "$stages" -a "io.shmpipe.pipeline=$pe" -- /bin/sh -c 'exec sleep 300'
	hk_run -d "$rt" "$id" "$a"
	hk_exists "$pe" || sp_fail "$pe was not created"
	hk_mounted "$pe" || sp_fail "$pe is not mounted"
	sp_assert_eq ephemeral "$(sp_json "$HK_ROOT/state/$pe.json" 'j["lifetime"]')"
	sp_assert_eq "$id" "$(hk_members "$pe")"
	hk_rt "$rt" delete -f "$id"
	hk_exists "$pe" && sp_fail "$pe survived its last container"
	hk_mounted "$pe" && sp_fail "$pe's tmpfs is still mounted"

	hk_ctl create "$pp" --lifetime persistent
	hk_bundle "$w" "$stages" -a "io.shmpipe.pipeline=$pp" -- /bin/sh -c "shmtool write frames 'kept-$SP_RUN_ID'"
	hk_bundle "$r" "$stages" -a "io.shmpipe.pipeline=$pp" -- /bin/sh -c 'shmtool read frames'
	hk_run "$rt" "$(sp_id "$tag-per-w")" "$w"
	hk_exists "$pp" || sp_fail "persistent $pp went with its container"
	out=$(hk_run "$rt" "$(sp_id "$tag-per-r")" "$r")
	sp_assert_eq "kept-$SP_RUN_ID" "$out" "persistent data"
	sp_assert_eq "" "$(hk_members "$pp")" "members left"
	hk_ctl rm "$pp"
}

# hk_suite RUNTIME STAGES : the four cases above for one runtime and stage.
hk_suite() {
	local rt=$1 stages=$2 tag
	tag="$rt.${stages//,/-}"
	sp_test "$rt, hook at $stages: A and B in p1 share /frames; C (p2), D (none), the host do not" \
		_hk_t_share "$rt" "$stages" "$tag"
	sp_test "$rt, hook at $stages: /dev/shm is the pipeline's tmpfs, nosuid,nodev,noexec, private" \
		_hk_t_flags "$rt" "$stages" "$tag"
	sp_test "$rt, hook at $stages: SHMPIPE_PIPELINE in process.env alone joins" \
		_hk_t_env "$rt" "$stages" "$tag"
	sp_test "$rt, hook at $stages: ephemeral pipeline goes with its last container, persistent stays" \
		_hk_t_lifetime "$rt" "$stages" "$tag"
}
