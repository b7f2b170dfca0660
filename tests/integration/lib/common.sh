# shellcheck shell=bash
# tests/integration/lib/common.sh - shared harness for shmpipe integration tests.
#
# Source it from a test script that runs `set -euo pipefail`:
#
#   . "$(dirname "$0")/lib/common.sh"
#   t_hello() { out=$(sp_runc_run "$(sp_id hello)" "$bundle"); sp_assert_eq hello "$out"; }
#   sp_test "runc says hello" t_hello
#   sp_done
#
# Everything a test creates lives under one per-run directory ($SP_TMP, under
# /tmp) and uses ids derived from $SP_RUN_ID, so test files can run in parallel.
# Cleanup is a file-backed stack (sp_defer) so that registrations made inside
# $(...) or inside a test-case subshell are not lost: test-case defers run when
# the case ends, top-level ones when the script exits (also on failure/signal).
#
# See tests/integration/README.md for the function reference and engine facts.

if [[ -n "${_SP_COMMON_LOADED:-}" ]]; then
	return 0
fi
_SP_COMMON_LOADED=1

# ---------------------------------------------------------------------------
# Configuration (override from the environment)
# ---------------------------------------------------------------------------
SP_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
SP_PYTHON=${SP_PYTHON:-/usr/bin/python3}          # never the pyenv shim
SP_CACHE_DIR=${SP_CACHE_DIR:-/var/cache/shmpipe-test}
SP_BUILD_DIR=${SP_BUILD_DIR:-${BUILD:-$SP_CACHE_DIR/build}}  # run-integration.sh exports BUILD
SP_TIMEOUT=${SP_TIMEOUT:-60}                      # per engine command / wait
SP_TEST_TIMEOUT=${SP_TEST_TIMEOUT:-300}           # per sp_test case
SP_VERBOSE=${SP_VERBOSE:-0}                       # 1: show logs of passing cases
SP_KEEP_TMP=${SP_KEEP_TMP:-0}                     # 1: leave $SP_TMP for debugging
SP_FIXTURES_DIR=${SP_FIXTURES_DIR:-$SP_REPO/tests/fixtures}

# ---------------------------------------------------------------------------
# Internal state
# ---------------------------------------------------------------------------
_sp_n=0 _sp_pass=0 _sp_fail=0 _sp_skip=0 _sp_done=0 _sp_case_pid="" _sp_case_desc=""
SP_TMP=$(mktemp -d /tmp/shmpipe-test.XXXXXX)
chmod 755 "$SP_TMP"                   # containers running as non-root may need to traverse it
# Lower-case (docker/containerd names), unique among live processes via $$.
SP_RUN_ID="sp$$x$(printf '%04x' "$RANDOM")"
SP_DEFER_FILE="$SP_TMP/.defer.top"
: >"$SP_DEFER_FILE"
_SP_TOP_DEFER_FILE=$SP_DEFER_FILE
_SP_MAIN_PID=$$
export SP_TMP SP_RUN_ID

# ---------------------------------------------------------------------------
# Logging / cleanup stack
# ---------------------------------------------------------------------------

# sp_log MSG... : diagnostic on stderr, TAP comment style.
sp_log() { printf '# %s\n' "$*" >&2; }

# sp_defer CMD [ARGS...] : run CMD at the end of the current scope (test case
# or script), in reverse registration order.  Safe from subshells.
sp_defer() {
	local q
	printf -v q '%q ' "$@"
	printf '%s\n' "$q" >>"$SP_DEFER_FILE"
}

# Run (and consume) a defer file in reverse order; never fails.
_sp_run_defers() {
	local file=$1 line
	[[ -s "$file" ]] || { rm -f "$file"; return 0; }
	while IFS= read -r line; do
		# best effort, isolated: a subshell without -e/-u so that a failing
		# or exiting cleanup step can neither stop the others nor kill the
		# test script; stdin detached so it cannot eat the list
		(
			set +eu
			eval "$line"
		) </dev/null || sp_log "cleanup failed (rc=$?): $line"
	done < <(tac "$file")
	rm -f "$file"
}

# _sp_kill_tree PID [SIG] : signal PID and all its descendants (by pid only).
_sp_kill_tree() {
	local pid=$1 sig=${2:-TERM} child
	kill -STOP "$pid" 2>/dev/null || true   # freeze so it cannot fork more
	for child in $(pgrep -P "$pid" 2>/dev/null); do
		_sp_kill_tree "$child" "$sig"
	done
	kill "-$sig" "$pid" 2>/dev/null || true
	kill -CONT "$pid" 2>/dev/null || true
}

# sp_umount_under DIR : unmount every mount at or below DIR (deepest first).
sp_umount_under() {
	local dir mp
	dir=$(readlink -f "$1")
	# mountinfo field 5, octal escapes (\040 etc.) decoded by printf %b
	while IFS= read -r mp; do
		umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null ||
			sp_log "cannot unmount $mp"
	done < <(awk '{print $5}' /proc/self/mountinfo |
		while IFS= read -r m; do printf '%b\n' "$m"; done |
		awk -v d="$dir" '$0 == d || index($0, d "/") == 1' | sort -r -u)
}

# sp_kill_matching DIR : kill processes whose command line mentions DIR.
# DIR is always one of our unique per-run paths, so this only hits processes
# this run started (leaked shims, daemons) - never by program name.
sp_kill_matching() {
	local dir=$1 f p pids=() procs
	# one grep over all cmdlines (NUL-separated args, hence -z); the list is
	# expanded here, before grep exists, so grep never matches itself
	procs=(/proc/[0-9]*/cmdline)
	while IFS= read -r f; do
		p=${f#/proc/}
		p=${p%/cmdline}
		[[ $p == "$$" || $p == "$BASHPID" || $p == "$_SP_MAIN_PID" ]] && continue
		pids+=("$p")
	done < <(grep -lzF -- "$dir" "${procs[@]}" 2>/dev/null)
	((${#pids[@]})) || return 0
	sp_log "killing leftover processes under $dir: ${pids[*]}"
	kill -TERM "${pids[@]}" 2>/dev/null || true
	sleep 1
	kill -KILL "${pids[@]}" 2>/dev/null || true
}

# sp_rm_tree DIR : unmount anything below DIR, then remove it without ever
# crossing into another filesystem (a leaked bind mount must not be wiped).
sp_rm_tree() {
	[[ -e "$1" ]] || return 0
	sp_umount_under "$1"
	rm -rf --one-file-system "$1" 2>/dev/null || {
		sp_umount_under "$1"
		rm -rf --one-file-system "$1"
	}
}

_sp_on_exit() {
	local rc=$?
	set +e
	[[ $BASHPID == "$_SP_MAIN_PID" ]] || return "$rc"
	if ((!_sp_done)); then
		local running=${_sp_case_pid:+$_sp_case_desc}
		_sp_finish_cleanup
		_sp_fail=$((_sp_fail + 1))
		if [[ -n $running ]]; then
			# interrupted (signal / timeout from outside) inside a case
			echo "not ok $_sp_n - $running # interrupted, script exit status $rc"
		else
			_sp_n=$((_sp_n + 1))
			echo "not ok $_sp_n - aborted: script exited with status $rc outside sp_test"
		fi
		_sp_summary
		((rc)) || rc=1
	fi
	exit "$rc"
}

_sp_finish_cleanup() {
	local f
	# a case interrupted by a signal: stop it and run its defers first
	if [[ -n "${_sp_case_pid:-}" ]]; then
		_sp_kill_tree "$_sp_case_pid" KILL
		{ wait "$_sp_case_pid"; } 2>/dev/null || true   # no "Killed" job noise
		_sp_case_pid=""
	fi
	# cleanup chatter goes to stdout as TAP comments, before the summary
	for f in "$SP_TMP"/.defer.case.*; do
		[[ -e $f ]] || continue
		_sp_run_defers "$f" 2>&1 | sed 's/^\([^#]\)/# \1/'
	done
	SP_DEFER_FILE=$_SP_TOP_DEFER_FILE
	_sp_run_defers "$_SP_TOP_DEFER_FILE" 2>&1 | sed 's/^\([^#]\)/# \1/'
	sp_kill_matching "$SP_TMP" 2>&1 | sed 's/^\([^#]\)/# \1/'
	if [[ $SP_KEEP_TMP == 1 ]]; then
		sp_log "kept $SP_TMP"
	else
		sp_rm_tree "$SP_TMP"
	fi
}

trap _sp_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# TAP-like reporter
# ---------------------------------------------------------------------------

# sp_test DESC FUNC [ARGS...] : run FUNC in a subshell with errexit, its output
# captured; print "ok N - DESC" / "not ok N - DESC" (+ log as # comments).
# Defers registered inside run when the case ends.  Bounded by SP_TEST_TIMEOUT.
sp_test() {
	local desc=$1 n log skipf deff pid wd rc=0
	shift
	_sp_n=$((_sp_n + 1))
	n=$_sp_n
	log="$SP_TMP/.case.$n.log"
	skipf="$SP_TMP/.case.$n.skip"
	deff="$SP_TMP/.defer.case.$n"
	: >"$deff"
	(
		set -eEuo pipefail
		trap - EXIT INT TERM
		# say which command failed (set -E: also inside functions)
		trap 'echo "FAILED (status $?): ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND" >&2' ERR
		SP_DEFER_FILE=$deff
		# shellcheck disable=SC2030 # deliberately scoped to the case subshell
		SP_SKIP_FILE=$skipf
		SP_CASE_DIR="$SP_TMP/case.$n"
		mkdir -p "$SP_CASE_DIR"
		"$@"
	) </dev/null >"$log" 2>&1 &
	pid=$!
	_sp_case_pid=$pid _sp_case_desc=$desc
	(
		trap - EXIT
		sleep "$SP_TEST_TIMEOUT"
		echo "TIMEOUT after ${SP_TEST_TIMEOUT}s" >>"$log"
		_sp_kill_tree "$pid" TERM
		sleep 2
		_sp_kill_tree "$pid" KILL
	) </dev/null >/dev/null 2>&1 &
	wd=$!
	wait "$pid" || rc=$?
	_sp_case_pid=""
	_sp_kill_tree "$wd" KILL
	wait "$wd" 2>/dev/null || true
	_sp_run_defers "$deff" >>"$log" 2>&1
	if [[ -e "$skipf" ]]; then
		_sp_skip=$((_sp_skip + 1))
		echo "ok $n - $desc # SKIP $(cat "$skipf")"
	elif ((rc == 0)); then
		_sp_pass=$((_sp_pass + 1))
		echo "ok $n - $desc"
	else
		_sp_fail=$((_sp_fail + 1))
		echo "not ok $n - $desc"
		sed 's/^/#   /' "$log"
		echo "#   (exit status $rc)"
	fi
	if [[ $SP_VERBOSE == 1 && $rc == 0 ]]; then
		sed 's/^/#   /' "$log"
	fi
	return 0
}

# sp_skip REASON : inside a sp_test case, mark it skipped and leave it.
# shellcheck disable=SC2031 # SP_SKIP_FILE is only set inside case subshells
sp_skip() {
	if [[ -z "${SP_SKIP_FILE:-}" ]]; then
		sp_log "sp_skip outside sp_test: $*"
		exit 1
	fi
	printf '%s\n' "$*" >"$SP_SKIP_FILE"
	exit 0
}

# sp_require_cmd CMD... : skip the current case unless all commands exist.
sp_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || sp_skip "missing command: $c"
	done
}

_sp_summary() {
	echo "1..$_sp_n"
	if ((_sp_skip)); then
		echo "$_sp_pass passed, $_sp_fail failed, $_sp_skip skipped"
	else
		echo "$_sp_pass passed, $_sp_fail failed"
	fi
}

# sp_done : clean up, print the plan and the summary line (always last), and
# exit 1 if any case failed.
sp_done() {
	_sp_finish_cleanup
	_sp_done=1
	_sp_summary
	((_sp_fail == 0)) || exit 1
	exit 0
}

# ---------------------------------------------------------------------------
# Assertions (exit the current case on failure)
# ---------------------------------------------------------------------------

# sp_fail MSG : fail the current case (or abort the script at top level).
sp_fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# sp_assert_eq EXPECTED ACTUAL [MSG]
sp_assert_eq() {
	[[ "$1" == "$2" ]] ||
		sp_fail "${3:-values differ}: expected [$1], got [$2]"
}

# sp_assert_contains HAYSTACK NEEDLE [MSG]
sp_assert_contains() {
	[[ "$1" == *"$2"* ]] ||
		sp_fail "${3:-missing substring}: [$2] not in [$1]"
}

# sp_assert_not_contains HAYSTACK NEEDLE [MSG]
sp_assert_not_contains() {
	[[ "$1" != *"$2"* ]] ||
		sp_fail "${3:-unexpected substring}: [$2] found in [$1]"
}

# sp_assert_match STRING ERE [MSG]
sp_assert_match() {
	[[ "$1" =~ $2 ]] || sp_fail "${3:-no match}: [$1] !~ /$2/"
}

# sp_assert_file FILE [MSG] : FILE exists and is non-empty.
sp_assert_file() {
	[[ -s "$1" ]] || sp_fail "${2:-missing or empty file}: $1"
}

# sp_assert_fails CMD... : CMD must exit non-zero.
sp_assert_fails() {
	if "$@"; then sp_fail "expected failure: $*"; fi
}

# sp_json FILE PYEXPR : evaluate a python expression on the parsed JSON `j`
# and print it (str as-is, everything else as JSON).  e.g.
#   sp_json state.json 'j["status"]'   sp_json c.json '"pid" in j'
sp_json() {
	"$SP_PYTHON" - "$1" "$2" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    j = json.load(f)
v = eval(sys.argv[2], {"j": j})
print(v if isinstance(v, str) else json.dumps(v))
EOF
}

# ---------------------------------------------------------------------------
# Generic helpers
# ---------------------------------------------------------------------------

# sp_tmpdir [NAME] : print a fresh directory under $SP_TMP (removed at exit).
sp_tmpdir() {
	mktemp -d "$SP_TMP/${1:-tmp}.XXXXXX"
}

# sp_id NAME : a container/object id unique to this run, e.g. sp1234x0a1f-NAME.
sp_id() { printf '%s-%s\n' "$SP_RUN_ID" "$1"; }

# sp_wait_for TIMEOUT_S CMD... : poll CMD every 0.1s until it succeeds.
sp_wait_for() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 10; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	sp_log "timed out after ${t}s waiting for: $*"
	return 1
}

# sp_timeout CMD... : run CMD bounded by SP_TIMEOUT (then SIGKILL 5s later).
sp_timeout() { timeout -k 5 "$SP_TIMEOUT" "$@"; }

# _sp_lock FILE CMD... : run CMD under an exclusive flock (cache builds).
_sp_lock() {
	local f=$1
	shift
	mkdir -p "$(dirname "$f")"
	(
		flock -w "$SP_TIMEOUT" 9 || { sp_log "lock timeout: $f"; exit 1; }
		"$@"
	) 9>"$f"
}

# ---------------------------------------------------------------------------
# shmtool + busybox rootfs
# ---------------------------------------------------------------------------

_sp_build_shmtool() {
	local src=$1 out=$2 tmp
	# reuse only an up-to-date STATIC binary (no PT_INTERP): a dynamic one
	# would not run inside the busybox rootfs
	if [[ -x "$out" && "$out" -nt "$src" ]] &&
		! readelf -l "$out" 2>/dev/null | grep -q INTERP; then
		return 0
	fi
	mkdir -p "$(dirname "$out")"
	tmp="$out.tmp.$$"
	gcc -static -O2 -Wall -Wextra -Werror -o "$tmp" "$src"
	mv -f "$tmp" "$out"              # atomic for concurrent readers
}

# sp_shmtool [BUILD_DIR] : build tests/helpers/shmtool.c (static) into
# BUILD_DIR (default $SP_BUILD_DIR) if missing/stale; print the binary path.
sp_shmtool() {
	local dir=${1:-$SP_BUILD_DIR} src="$SP_REPO/tests/helpers/shmtool.c"
	_sp_lock "$dir/.shmtool.lock" _sp_build_shmtool "$src" "$dir/shmtool" >&2
	printf '%s\n' "$dir/shmtool"
}

_sp_make_rootfs() {
	local dir=$1 shmtool=$2 a
	mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,dev/shm,dev/pts,proc,sys,tmp,etc,root,run,var/tmp,home}
	chmod 1777 "$dir/tmp" "$dir/var/tmp" "$dir/dev/shm"
	cp /usr/bin/busybox "$dir/bin/busybox"
	# --list-full gives the canonical bin/ sbin/ usr/bin/ paths of each applet;
	# skip "busybox" itself or the binary gets replaced by a self-link.
	while IFS= read -r a; do
		[[ $a == */busybox || $a == linuxrc ]] && continue
		ln -sf /bin/busybox "$dir/$a"
	done < <(/usr/bin/busybox --list-full)
	cp "$shmtool" "$dir/bin/shmtool"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
	printf '127.0.0.1 localhost\n' >"$dir/etc/hosts"
	: >"$dir/etc/resolv.conf"
	echo shmpipe-test >"$dir/etc/hostname"
}

_sp_cache_rootfs() {
	local cache=$1 shmtool=$2 tmp
	[[ -x "$cache/bin/shmtool" ]] && return 0
	tmp="$cache.tmp.$$"
	rm -rf "$tmp"
	_sp_make_rootfs "$tmp" "$shmtool"
	rm -rf "$cache"
	mv "$tmp" "$cache"
}

# sp_busybox_rootfs DIR : populate DIR with a busybox-static rootfs plus the
# static shmtool in /bin.  Built once into $SP_CACHE_DIR (keyed by the
# busybox + shmtool content) and copied per test (reflink where possible).
sp_busybox_rootfs() {
	local dir=$1 shmtool key cache
	shmtool=$(sp_shmtool "$SP_BUILD_DIR")
	key=$({ cat /usr/bin/busybox "$shmtool"; declare -f _sp_make_rootfs; } | sha256sum | cut -c1-16)
	cache="$SP_CACHE_DIR/busybox-rootfs-$key"
	_sp_lock "$SP_CACHE_DIR/.rootfs.lock" _sp_cache_rootfs "$cache" "$shmtool"
	mkdir -p "$dir"
	cp -a --reflink=auto "$cache/." "$dir/"
}

# sp_busybox_tar DIR|- : write a tarball of a fresh busybox rootfs (for
# `docker import`) to FILE, or to stdout with "-".
sp_busybox_tar() {
	local out=$1 d
	d=$(sp_tmpdir rootfs)
	sp_busybox_rootfs "$d"
	if [[ $out == - ]]; then
		tar -C "$d" --numeric-owner -cf - .
	else
		tar -C "$d" --numeric-owner -cf "$out" .
	fi
	rm -rf "$d"
}

# ---------------------------------------------------------------------------
# OCI bundles (runc / crun / ctr --config)
# ---------------------------------------------------------------------------

# sp_runc_bundle DIR [OPTIONS] [--] ARGS...
#   Make an OCI bundle in DIR: rootfs (busybox, unless -r) + config.json from
#   `runc spec`, edited so that process.args=ARGS, terminal=false,
#   root.readonly=false.  Options:
#     -a KEY=VALUE        add annotation
#     -e KEY=VALUE        add/replace process env
#     -H STAGE=PATH [ARG...]   add hook (one string; args split on blanks,
#                         args[0] defaults to PATH), e.g. -H "prestart=/h x y"
#     -r ROOTFS           use an existing rootfs (absolute path) instead
#     -s PATH=JSON        set any field, dotted path, e.g. -s process.cwd='"/tmp"'
#     --no-shm            drop the runtime's /dev/shm tmpfs mount
#     --no-dev-tmpfs      drop the /dev AND /dev/shm tmpfs mounts, so the
#                         container sees the image's own /dev (the runtime
#                         still binds the default device nodes into it)
#   Prints nothing; DIR/config.json is the result.
sp_runc_bundle() {
	local dir=$1 rootfs="" nodev=0 noshm=0 edits=()
	shift
	while (($#)); do
		case $1 in
		-a) edits+=("annotation" "$2"); shift 2 ;;
		-e) edits+=("env" "$2"); shift 2 ;;
		-H) edits+=("hook" "$2"); shift 2 ;;
		-s) edits+=("set" "$2"); shift 2 ;;
		-r) rootfs=$2; shift 2 ;;
		--no-dev-tmpfs) nodev=1; shift ;;
		--no-shm) noshm=1; shift ;;
		--) shift; break ;;
		-*) sp_fail "sp_runc_bundle: unknown option $1" ;;
		*) break ;;
		esac
	done
	(($#)) || set -- /bin/sh
	mkdir -p "$dir"
	if [[ -z $rootfs ]]; then
		sp_busybox_rootfs "$dir/rootfs"
		rootfs=rootfs
	fi
	rm -f "$dir/config.json"
	runc spec --bundle "$dir"
	"$SP_PYTHON" - "$dir/config.json" "$rootfs" "$nodev" "$noshm" \
		"${#edits[@]}" "${edits[@]}" "$@" <<'EOF'
import json, sys
path, rootfs, nodev, noshm, nedits = sys.argv[1:6]
nedits = int(nedits)
edits = sys.argv[6:6 + nedits]
args = sys.argv[6 + nedits:]
with open(path) as f:
    c = json.load(f)
c["root"] = {"path": rootfs, "readonly": False}
c["process"]["terminal"] = False
c["process"]["args"] = args
drop = set()
if nodev == "1":
    drop |= {"/dev", "/dev/shm"}
if noshm == "1":
    drop.add("/dev/shm")
c["mounts"] = [m for m in c["mounts"]
               if not (m["destination"] in drop and m.get("type") == "tmpfs")]
for kind, val in zip(edits[0::2], edits[1::2]):
    if kind == "annotation":
        k, _, v = val.partition("=")
        c.setdefault("annotations", {})[k] = v
    elif kind == "env":
        k = val.partition("=")[0]
        env = [e for e in c["process"].get("env", []) if e.partition("=")[0] != k]
        c["process"]["env"] = env + [val]
    elif kind == "hook":
        stage, _, cmd = val.partition("=")
        argv = cmd.split()
        c.setdefault("hooks", {}).setdefault(stage, []).append(
            {"path": argv[0], "args": argv})
    elif kind == "set":
        p, _, v = val.partition("=")
        keys = p.split(".")
        o = c
        for k in keys[:-1]:
            o = o.setdefault(k, {})
        o[keys[-1]] = json.loads(v)
with open(path, "w") as f:
    json.dump(c, f, indent="\t")
EOF
}

# sp_runc ARGS... : runc with a per-run state root ($SP_TMP/runc), bounded.
sp_runc() {
	sp_timeout runc --root "$SP_TMP/runc" "$@"
}

# sp_run_with RUNTIME [-d] ID BUNDLE : run the bundle with the runtime
# command RUNTIME (sp_runc, sp_crun, or a test's own wrapper).  Foreground:
# container stdout goes to our stdout (stderr to stderr) and the exit status
# is the container's.  -d: detached, stdio to BUNDLE/stdout.log and
# stderr.log, pid in BUNDLE/pid.  Either way `RUNTIME delete -f ID` is
# deferred.
sp_run_with() {
	local rt=$1 detach=0
	shift
	[[ ${1:-} == -d ]] && { detach=1; shift; }
	local id=$1 bundle=$2
	sp_defer _sp_quiet "$rt" delete -f "$id"
	if ((detach)); then
		"$rt" run -d --pid-file "$bundle/pid" --bundle "$bundle" "$id" \
			</dev/null >"$bundle/stdout.log" 2>"$bundle/stderr.log"
	else
		"$rt" run --bundle "$bundle" "$id" </dev/null
	fi
}

# sp_runc_run [-d] ID BUNDLE : sp_run_with runc.
sp_runc_run() { sp_run_with sp_runc "$@"; }

_sp_quiet() { "$@" >/dev/null 2>&1 || true; }

# True when cgroup v1 controllers AND a v2 "unified" mount coexist: crun
# refuses that hybrid layout ("cgroups in hybrid mode not supported").
_sp_cgroup_hybrid() {
	mountpoint -q /sys/fs/cgroup/unified 2>/dev/null
}

# sp_crun ARGS... : crun with a per-run state root.  On hybrid cgroup hosts
# run it in a private mount namespace with the v2 mount removed so crun sees
# plain v1.  Every crun call (run, delete, state...) must go through this.
sp_crun() {
	if _sp_cgroup_hybrid; then
		sp_timeout unshare -m sh -c '
			mount --make-rprivate / &&
			umount /sys/fs/cgroup/unified &&
			exec crun "$@"' sh --root "$SP_TMP/crun" "$@"
	else
		sp_timeout crun --root "$SP_TMP/crun" "$@"
	fi
}

# sp_crun_run [-d] ID BUNDLE : sp_run_with crun.
sp_crun_run() { sp_run_with sp_crun "$@"; }

# ---------------------------------------------------------------------------
# Private containerd + ctr
# ---------------------------------------------------------------------------

# _sp_stop_daemon PID DIR TICKS : TERM the daemon PID, KILL it after TICKS
# tenths of a second, then end whatever still runs from DIR and unmount
# what is left below it.
_sp_stop_daemon() {
	local pid=$1 dir=$2 ticks=$3 i
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for ((i = 0; i < ticks; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	sp_kill_matching "$dir"
	sp_umount_under "$dir"
}

# sp_containerd_start : start a private containerd (own root/state/sockets
# under $SP_TMP, CRI and unused snapshotters disabled) unless already running
# in this scope.  Sets SP_CTD_DIR, SP_CTD_SOCK, SP_CTD_NS, SP_CTD_PID.  Stop
# is deferred.  Do not call inside $(...) (the variables would be lost).
sp_containerd_start() {
	if [[ -n "${SP_CTD_PID:-}" ]] && kill -0 "$SP_CTD_PID" 2>/dev/null; then
		return 0
	fi
	SP_CTD_DIR=$(sp_tmpdir containerd)
	SP_CTD_SOCK="$SP_CTD_DIR/containerd.sock"
	SP_CTD_NS=$SP_RUN_ID
	cat >"$SP_CTD_DIR/config.toml" <<EOF
version = 2
root = "$SP_CTD_DIR/root"
state = "$SP_CTD_DIR/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
]
[grpc]
  address = "$SP_CTD_SOCK"
[ttrpc]
  address = "$SP_CTD_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
	# setsid: keep it out of our process group (no stray ^C), but we still
	# know its pid and stop it explicitly.
	setsid containerd --config "$SP_CTD_DIR/config.toml" \
		</dev/null >"$SP_CTD_DIR/containerd.log" 2>&1 &
	SP_CTD_PID=$!
	echo "$SP_CTD_PID" >"$SP_CTD_DIR/containerd.pid"
	export SP_CTD_DIR SP_CTD_SOCK SP_CTD_NS SP_CTD_PID
	sp_defer sp_containerd_stop "$SP_CTD_DIR"
	if ! sp_wait_for "$SP_TIMEOUT" ctr --address "$SP_CTD_SOCK" version; then
		tail -20 "$SP_CTD_DIR/containerd.log" >&2
		sp_fail "containerd did not come up"
	fi
}

# sp_containerd_stop [DIR] : kill all tasks in all namespaces of that private
# containerd, stop it, reap leaked shims and unmount its directories.
sp_containerd_stop() {
	local dir=${1:-${SP_CTD_DIR:-}} sock pid ns c i nss=""
	[[ -n $dir && -d $dir ]] || return 0
	sock="$dir/containerd.sock"
	pid=$(cat "$dir/containerd.pid" 2>/dev/null || true)
	if [[ -S $sock ]]; then
		nss=$(timeout 10 ctr --address "$sock" namespaces ls -q 2>/dev/null)
		for ns in $nss; do
			for c in $(timeout 10 ctr --address "$sock" -n "$ns" tasks ls -q 2>/dev/null); do
				timeout 10 ctr --address "$sock" -n "$ns" tasks kill -s KILL "$c" >/dev/null 2>&1
				timeout 10 ctr --address "$sock" -n "$ns" tasks delete -f "$c" >/dev/null 2>&1
			done
			for c in $(timeout 10 ctr --address "$sock" -n "$ns" containers ls -q 2>/dev/null); do
				timeout 10 ctr --address "$sock" -n "$ns" containers delete "$c" >/dev/null 2>&1
			done
		done
	fi
	_sp_stop_daemon "$pid" "$dir" 100
	# containerd puts a container's cgroup at /NAMESPACE/ID and leaves the
	# namespace's directory behind, in every hierarchy.
	for ns in $nss; do sp_cgroup_rmdirs "$ns"; done
	if [[ "${SP_CTD_DIR:-}" == "$dir" ]]; then
		unset SP_CTD_PID
	fi
}

# sp_cgroup_rmdirs NAME : remove the empty cgroup directories called NAME
# (at any depth up to 4, in every hierarchy).
sp_cgroup_rmdirs() {
	find /sys/fs/cgroup -maxdepth 4 -type d -name "$1" -exec rmdir {} + 2>/dev/null || true
}

# sp_ctr ARGS... : ctr against the private containerd, in namespace $SP_CTD_NS.
sp_ctr() {
	sp_timeout ctr --address "$SP_CTD_SOCK" --namespace "$SP_CTD_NS" "$@"
}

# sp_ctr_run ID [CTR-RUN-FLAGS...] [-- ROOTFS|IMAGE [CMD...]]
#   `ctr run FLAGS ROOTFS|IMAGE ID CMD...` against the private containerd,
#   with a private FIFO dir and runc root (ctr's defaults live in
#   /run/containerd and would be shared), and the container removal deferred.
#     sp_ctr_run "$id" --rm --rootfs -- "$dir/rootfs" /bin/sh -c '...'
#     sp_ctr_run "$id" --rm --config spec.json      (no "--": spec has it all)
#   Use absolute CMD paths: with --rootfs there is no image PATH in the spec.
sp_ctr_run() {
	local id=$1 flags=()
	shift
	while (($#)) && [[ $1 != -- ]]; do flags+=("$1"); shift; done
	[[ ${1:-} == -- ]] && shift
	(($#)) || set -- "$id"            # --config form: only the id
	[[ $1 == "$id" ]] || set -- "$1" "$id" "${@:2}"
	sp_defer _sp_ctr_rm "$id"
	mkdir -p "$SP_CTD_DIR/fifo"
	sp_ctr run --fifo-dir "$SP_CTD_DIR/fifo" --runc-root "$SP_CTD_DIR/runc" \
		"${flags[@]}" "$@" </dev/null
}

_sp_ctr_rm() {
	_sp_quiet sp_ctr tasks kill -s KILL "$1"
	_sp_quiet sp_ctr tasks delete -f "$1"
	_sp_quiet sp_ctr containers delete "$1"
}

# sp_ctr_run_bundle [-d] ID BUNDLE : run an OCI bundle made by sp_runc_bundle
# through containerd (`ctr run --config`), so hooks/annotations in the bundle
# reach the runtime exactly as written.  root.path is made absolute.
sp_ctr_run_bundle() {
	local detach=() id bundle
	[[ ${1:-} == -d ]] && { detach=(-d); shift; }
	id=$1 bundle=$(readlink -f "$2")
	"$SP_PYTHON" - "$bundle" <<'EOF'
import json, os, sys
b = sys.argv[1]
with open(os.path.join(b, "config.json")) as f:
    c = json.load(f)
c["root"]["path"] = os.path.join(b, c["root"]["path"])
with open(os.path.join(b, "ctr-spec.json"), "w") as f:
    json.dump(c, f, indent="\t")
EOF
	if ((${#detach[@]})); then
		sp_ctr_run "$id" -d --config "$bundle/ctr-spec.json"
	else
		sp_ctr_run "$id" --rm --config "$bundle/ctr-spec.json"
	fi
}

# ---------------------------------------------------------------------------
# Private dockerd
# ---------------------------------------------------------------------------

# sp_dockerd_start [EXTRA-DOCKERD-ARGS...] : start a private dockerd (own
# data-root, exec-root, pidfile, socket, config file; no iptables, no
# bridge) on top of the private containerd (sp_containerd_start, namespace
# $SP_CTD_NS-moby) so it never attaches to a system /run/containerd.  Sets
# SP_DOCKER_DIR, SP_DOCKER_HOST, SP_DOCKER_PID.  Stop is deferred.
# e.g. sp_dockerd_start --add-runtime mywrap=/path/to/wrapper
sp_dockerd_start() {
	if [[ -n "${SP_DOCKER_PID:-}" ]] && kill -0 "$SP_DOCKER_PID" 2>/dev/null; then
		return 0
	fi
	sp_containerd_start
	SP_DOCKER_DIR=$(sp_tmpdir dockerd)
	SP_DOCKER_HOST="unix://$SP_DOCKER_DIR/docker.sock"
	echo '{}' >"$SP_DOCKER_DIR/daemon.json"
	mkdir -p "$SP_DOCKER_DIR/client"
	_sp_dockerd_launch "$@"
}

# sp_dockerd_restart [EXTRA-DOCKERD-ARGS...] : start dockerd again on the
# dirs of the last sp_dockerd_start (data-root, exec-root, socket), after it
# was stopped or killed: it restores what it finds there.  EXTRA args are
# this start's own (e.g. --live-restore).  Sets SP_DOCKER_PID; stop deferred.
sp_dockerd_restart() {
	[[ -n "${SP_DOCKER_DIR:-}" && -d "$SP_DOCKER_DIR" ]] || sp_fail "sp_dockerd_restart: no dockerd dir"
	if [[ -n "${SP_DOCKER_PID:-}" ]] && kill -0 "$SP_DOCKER_PID" 2>/dev/null; then
		sp_fail "sp_dockerd_restart: dockerd $SP_DOCKER_PID still runs"
	fi
	_sp_dockerd_launch "$@"
}

_sp_dockerd_launch() {
	setsid dockerd \
		--config-file "$SP_DOCKER_DIR/daemon.json" \
		--data-root "$SP_DOCKER_DIR/data" \
		--exec-root "$SP_DOCKER_DIR/exec" \
		--pidfile "$SP_DOCKER_DIR/docker.pid" \
		-H "$SP_DOCKER_HOST" \
		--containerd "$SP_CTD_SOCK" \
		--containerd-namespace "$SP_CTD_NS-moby" \
		--containerd-plugins-namespace "$SP_CTD_NS-mobyplugins" \
		--iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
		--bridge=none --userland-proxy=false \
		--storage-driver "${SP_DOCKER_STORAGE_DRIVER:-vfs}" \
		"$@" </dev/null >>"$SP_DOCKER_DIR/dockerd.log" 2>&1 &
	SP_DOCKER_PID=$!
	export SP_DOCKER_DIR SP_DOCKER_HOST SP_DOCKER_PID
	sp_defer sp_dockerd_stop "$SP_DOCKER_DIR" "$SP_DOCKER_PID"
	if ! sp_wait_for "$SP_TIMEOUT" sp_docker info; then
		tail -20 "$SP_DOCKER_DIR/dockerd.log" >&2
		sp_fail "dockerd did not come up"
	fi
}

# sp_dockerd_stop [DIR PID] : remove all containers, stop dockerd, unmount.
sp_dockerd_stop() {
	local dir=${1:-${SP_DOCKER_DIR:-}} pid=${2:-${SP_DOCKER_PID:-}} i ids
	[[ -n $dir && -d $dir ]] || return 0
	if [[ -S $dir/docker.sock ]]; then
		ids=$(DOCKER_CONFIG="$dir/client" timeout 20 docker -H "unix://$dir/docker.sock" ps -aq 2>/dev/null || true)
		if [[ -n $ids ]]; then
			# shellcheck disable=SC2086 # word-splitting the id list is intended
			DOCKER_CONFIG="$dir/client" timeout 30 docker -H "unix://$dir/docker.sock" rm -f $ids >/dev/null 2>&1 || true
		fi
	fi
	_sp_stop_daemon "$pid" "$dir" 150
	if [[ "${SP_DOCKER_DIR:-}" == "$dir" ]]; then
		unset SP_DOCKER_PID
	fi
}

# sp_docker ARGS... : docker CLI against the private dockerd, bounded.
sp_docker() {
	DOCKER_CONFIG="$SP_DOCKER_DIR/client" sp_timeout docker -H "$SP_DOCKER_HOST" "$@"
}

# sp_docker_busybox_image [TAG] : import the busybox rootfs (with shmtool)
# as TAG (default shmpipe-busybox:test) unless present; print TAG.
sp_docker_busybox_image() {
	local tag=${1:-shmpipe-busybox:test}
	if ! sp_docker image inspect "$tag" >/dev/null 2>&1; then
		sp_busybox_tar - |
			sp_docker import --change 'CMD ["/bin/sh"]' \
				--change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' - "$tag" >&2
	fi
	printf '%s\n' "$tag"
}

# sp_docker_plugin_register NAME SOCKET : make legacy (v1) plugin NAME
# discoverable by every dockerd on the host via /etc/docker/plugins/NAME.spec
# -> unix://SOCKET (dockerd has no per-daemon plugin dir; a spec file lets the
# socket live in our tmpdir).  Use a per-run NAME, e.g. "$(sp_id shmpipe)".
# The spec file is removed by a deferred cleanup.
sp_docker_plugin_register() {
	local name=$1 sock=$2
	mkdir -p /etc/docker/plugins
	sp_defer rm -f "/etc/docker/plugins/$name.spec"
	printf 'unix://%s\n' "$sock" >"/etc/docker/plugins/$name.spec"
}

# sp_docker_fake_volume_plugin NAME : start tests/helpers/fake-volume-plugin
# (volumes = plain dirs) registered as NAME.  Sets SP_FAKEVOL_DIR with
# vols/ (volume dirs), rec/ (recorded request bodies) and plugin.sock.
sp_docker_fake_volume_plugin() {
	local name=$1 pid
	SP_FAKEVOL_DIR=$(sp_tmpdir fakevol)
	"$SP_PYTHON" "$SP_REPO/tests/helpers/fake-volume-plugin" \
		"$SP_FAKEVOL_DIR/plugin.sock" "$SP_FAKEVOL_DIR/vols" "$SP_FAKEVOL_DIR/rec" \
		</dev/null >"$SP_FAKEVOL_DIR/plugin.log" 2>&1 &
	pid=$!
	sp_defer kill "$pid"
	sp_wait_for "$SP_TIMEOUT" test -S "$SP_FAKEVOL_DIR/plugin.sock" ||
		sp_fail "fake volume plugin did not start"
	sp_docker_plugin_register "$name" "$SP_FAKEVOL_DIR/plugin.sock"
	export SP_FAKEVOL_DIR
}

# ---------------------------------------------------------------------------
# Private podman
# ---------------------------------------------------------------------------

# _sp_podman_init : per-run podman dirs + containers.conf.  The conf carries
# what `podman run` needs on this host: no CAP_SYS_RESOURCE for root, so
# default ulimits must not exceed the current hard limits; runc (crun
# refuses hybrid cgroups); cgroupfs; no network (no CNI/netavark setup).
_sp_podman_init() {
	SP_PODMAN_HOOKS_DIR=${SP_PODMAN_HOOKS_DIR:-$SP_TMP/podman/hooks.d}
	[[ -n "${SP_PODMAN_DIR:-}" && -d "$SP_PODMAN_DIR" ]] && return 0
	SP_PODMAN_DIR="$SP_TMP/podman"
	mkdir -p "$SP_PODMAN_DIR"/{root,runroot,tmp,net,hooks.d}
	cat >"$SP_PODMAN_DIR/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "none"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
	export SP_PODMAN_DIR SP_PODMAN_HOOKS_DIR
	sp_defer sp_podman_cleanup "$SP_PODMAN_DIR"
}

# sp_podman ARGS... : podman with private --root/--runroot/--tmpdir, vfs,
# per-run containers.conf and --hooks-dir $SP_PODMAN_HOOKS_DIR (an empty
# private dir unless set; may be a space-separated list).
sp_podman() {
	local h hooks=()
	_sp_podman_init
	for h in ${SP_PODMAN_HOOKS_DIR:-}; do hooks+=(--hooks-dir "$h"); done
	CONTAINERS_CONF="$SP_PODMAN_DIR/containers.conf" sp_timeout podman \
		--root "$SP_PODMAN_DIR/root" --runroot "$SP_PODMAN_DIR/runroot" \
		--tmpdir "$SP_PODMAN_DIR/tmp" --storage-driver vfs \
		--network-config-dir "$SP_PODMAN_DIR/net" \
		--cgroup-manager cgroupfs --events-backend file \
		"${hooks[@]}" "$@"
}

# sp_podman_run [PODMAN-RUN-FLAGS...] IMAGE|--rootfs DIR [CMD...] : podman run
# with the flags this host needs spelled out explicitly (belt and braces with
# containers.conf):  --runtime runc --ulimit nofile/nproc=1024 --network none.
sp_podman_run() {
	sp_podman run --runtime runc --ulimit nofile=1024:1024 \
		--ulimit nproc=1024:1024 --network none "$@" </dev/null
}

# sp_podman_hook NAME STAGES PATH [ARGS...] : write a hooks.d 1.0.0 file into
# $SP_PODMAN_HOOKS_DIR.  STAGES is comma-separated; the hook fires only for
# containers with annotation io.shmpipe.pipeline (override the "when" JSON
# with SP_PODMAN_HOOK_WHEN).  Only host-namespace stages work with host
# paths: prestart, createRuntime, poststart, poststop.
sp_podman_hook() {
	local name=$1 stages=$2
	shift 2
	_sp_podman_init
	"$SP_PYTHON" - "$SP_PODMAN_HOOKS_DIR/$name.json" "$stages" \
		"${SP_PODMAN_HOOK_WHEN:-}" "$@" <<'EOF'
import json, sys
out, stages, when = sys.argv[1:4]
argv = sys.argv[4:]
hook = {
    "version": "1.0.0",
    "hook": {"path": argv[0], "args": argv},
    "when": json.loads(when) if when else
            {"annotations": {r"^io\.shmpipe\.pipeline$": ".+"}},
    "stages": stages.split(","),
}
with open(out, "w") as f:
    json.dump(hook, f, indent=2)
EOF
}

# sp_podman_cleanup [DIR] : remove all containers of that private podman.
sp_podman_cleanup() {
	local dir=${1:-${SP_PODMAN_DIR:-}}
	[[ -n $dir && -d $dir ]] || return 0
	SP_PODMAN_DIR=$dir SP_PODMAN_HOOKS_DIR=$dir/hooks.d _sp_quiet sp_podman rm -af -t 0
	sp_kill_matching "$dir"
	sp_umount_under "$dir"
}

# ---------------------------------------------------------------------------
# Hook / runtime capture helpers
# ---------------------------------------------------------------------------

# sp_capture_hook : print the path of tests/helpers/oci-capture-hook, a
# host-side OCI hook.  Hook argv:  PATH LABEL OUTDIR
# It saves the state JSON received on stdin byte-for-byte to
# OUTDIR/LABEL-state.json, copies BUNDLE/config.json to LABEL-config.json
# and writes LABEL-meta.json (argv, env, pid liveness, ...).
sp_capture_hook() {
	printf '%s\n' "$SP_REPO/tests/helpers/oci-capture-hook"
}

# sp_runtime_wrapper OUT HOOKS_JSON [CAPTURE_DIR] : write an executable OCI
# runtime wrapper at OUT that, on `create`, merges the hooks object in file
# HOOKS_JSON into BUNDLE/config.json (and copies the engine's original
# config.json to CAPTURE_DIR/config.json when given), then execs runc.
# Lets engines without a hook mechanism (docker: --add-runtime) run hooks.
sp_runtime_wrapper() {
	local out=$1 hooks_file=$2 capture=${3:-}
	cat >"$out" <<EOF
#!/bin/sh
# generated by sp_runtime_wrapper: inject OCI hooks, then exec runc
bundle=""
prev=""
is_create=0
for a in "\$@"; do
	[ "\$prev" = "--bundle" ] || [ "\$prev" = "-b" ] && bundle=\$a
	case \$a in --bundle=*) bundle=\${a#--bundle=} ;; create) is_create=1 ;; esac
	prev=\$a
done
if [ "\$is_create" = 1 ] && [ -n "\$bundle" ]; then
	$SP_PYTHON - "\$bundle/config.json" "$hooks_file" "$capture" <<'PY' || exit 1
import json, shutil, sys, os
cfg, hooks, capture = sys.argv[1:4]
if capture:
    os.makedirs(capture, exist_ok=True)
    shutil.copyfile(cfg, os.path.join(capture, "config.json"))
with open(cfg) as f:
    c = json.load(f)
with open(hooks) as f:
    for stage, hs in json.load(f).items():
        c.setdefault("hooks", {}).setdefault(stage, []).extend(hs)
with open(cfg, "w") as f:
    json.dump(c, f)
PY
fi
exec runc "\$@"
EOF
	chmod 755 "$out"
}
