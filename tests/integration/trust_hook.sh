#!/usr/bin/env bash
# trust_hook.sh - the hook's own process, as CVE-2025-23266 (NVIDIA's hook:
# the image's LD_PRELOAD, its working directory in the rootfs) and
# CVE-2024-21626 (runc: a leaked host fd) would probe it.  Shows that:
#   - its working directory is never inside the container's rootfs, even
#     when started there, and every fd it holds while inside the
#     container's mount namespace is O_CLOEXEC; the container's process gets
#     no new fd (the hook stopped by strace at its setns into the container);
#   - LD_PRELOAD and LD_LIBRARY_PATH in the container's environment change
#     nothing, for the static hook and the dynamic test build; in the hook's
#     own environment they change nothing for the static hook (the one
#     installed: no dynamic loader reads them).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup
sp_require_cmd strace

close_inherited() {
	local fd
	for fd in /proc/"$BASHPID"/fd/*; do
		fd=${fd##*/}
		((fd > 2)) && eval "exec $fd>&-"
	done
	return 0
}

# stopped_hook LOG N [NS] : the pid of the hook once strace's LOG reports
# its N-th group stop (and it is in mount namespace NS, when given).  Its
# state alone cannot tell: a tracee shows "t" at every syscall stop too, and
# a SIGCONT sent in one of those is lost, leaving the hook stopped for good.
stopped_hook() {
	local log=$1 n=$2 ns=${3:-} i hpid
	for ((i = 0; i < 200; i++)); do
		hpid=$(awk '/--- stopped by SIGSTOP ---/ && ++k == '"$n"' {print $1}' "$log" 2>/dev/null)
		if [[ -n $hpid ]]; then
			[[ -z $ns || $(readlink "/proc/$hpid/ns/mnt") == "$ns" ]] ||
				sp_fail "stop $n is not in the container's mount namespace: $(cat "$log")"
			echo "$hpid"
			return 0
		fi
		sleep 0.05
	done
	sp_fail "the hook never stopped (stop $n): $(cat "$log")"
}

# The hook stopped twice by strace (SIGSTOP): at its pidfd_open, in its own
# mount namespace, and at its setns into the container's, every fd of the
# join open.
t_cwd_and_fds() {
	local b in="$SP_CASE_DIR/state" spid hpid cwd fd flags leaked="" before after
	b=$(sp_tmpdir bundle)
	hk_direct_bundle "$b" hf
	sp_busybox_rootfs "$b/rootfs"
	hk_chroot_process "$b/rootfs" pivoted
	hk_state_for "$(sp_id hf)" "$HK_PID" "$b" >"$in"
	before=$(ls "/proc/$HK_PID/fd" | sort | xargs)
	# started with its working directory in the rootfs, as a runtime whose
	# bundle is the rootfs would; what the test's shell has open is closed
	# first: only the hook's own fds count
	# (LeakSanitizer cannot run under ptrace: off for a sanitizer build);
	# the hook's first syscall is held 0.2 s in a syscall stop, where its
	# state is "t" as at a SIGSTOP: stopped_hook must not take one for the other
	(cd "$b/rootfs" && close_inherited && ASAN_OPTIONS=detect_leaks=0 exec strace -f -qq -e trace=pidfd_open,setns,readlink \
		-e inject=readlink:delay_enter=200000:when=1 -e inject=pidfd_open:signal=SIGSTOP:when=1 -e inject=setns:signal=SIGSTOP:when=1 \
		-o "$SP_CASE_DIR/strace" "$HK_HOOK" --root "$HK_ROOT" --config "$HK_CONFIG" createRuntime \
		<"$in" >"$SP_CASE_DIR/out" 2>&1) &
	spid=$!
	hpid=$(stopped_hook "$SP_CASE_DIR/strace" 1)
	cwd=$(readlink "/proc/$hpid/cwd")
	kill -CONT "$hpid"
	hpid=$(stopped_hook "$SP_CASE_DIR/strace" 2 "$(readlink "/proc/$HK_PID/ns/mnt")")
	for fd in /proc/"$hpid"/fd/*; do
		fd=${fd##*/}
		((fd > 2)) || continue
		flags=$(awk '$1 == "flags:" {print $2}' "/proc/$hpid/fdinfo/$fd")
		(((8#$flags & 8#2000000) != 0)) || leaked+=" $fd:$(readlink "/proc/$hpid/fd/$fd")"
	done
	# the fds checked are the join's own: the rootfs, the namespaces, the clone
	[[ $(ls "/proc/$hpid/fd" | wc -l) -gt 6 ]] || sp_fail "stopped before the join opened anything"
	kill -CONT "$hpid"
	wait "$spid" || sp_fail "the hook failed: $(cat "$SP_CASE_DIR/out")"
	sp_assert_eq "$(sp_id hf)" "$(hk_members hf)" "joined"
	[[ $cwd != "$b"/rootfs && $cwd != "$b"/rootfs/* ]] || sp_fail "the hook's working directory is in the rootfs: $cwd"
	sp_assert_eq "" "$leaked" "fds without O_CLOEXEC"
	after=$(ls "/proc/$HK_PID/fd" | sort | xargs)
	sp_assert_eq "$before" "$after" "the container process's fds"
	hk_ctl rm --force hf >/dev/null
}

# evil.so: its constructor leaves a mark.  LDDIR/libc.so.6: the same, for
# LD_LIBRARY_PATH (a dynamic hook would load it in place of libc's).
build_evil() {
	EVIL_DIR=$(sp_tmpdir evil)
	MARK="$EVIL_DIR/mark"
	printf '#include <stdio.h>\n__attribute__((constructor)) static void own(void) { FILE *f = fopen("%s", "a"); if (f) { fputs("loaded\\n", f); fclose(f); } }\n' "$MARK" >"$EVIL_DIR/evil.c"
	gcc -shared -fPIC -o "$EVIL_DIR/evil.so" "$EVIL_DIR/evil.c"
	mkdir "$EVIL_DIR/lib"
	cp "$EVIL_DIR/evil.so" "$EVIL_DIR/lib/libyajl.so.2"
	cp "$EVIL_DIR/evil.so" "$EVIL_DIR/lib/libseccomp.so.2"
}

# preload_case TAG HOOK WHERE : a runc container of pipeline ld-TAG whose
# own environment (WHERE=container) or hook entries' (WHERE=hook) set
# LD_PRELOAD and LD_LIBRARY_PATH; it joins, and nothing loaded evil.so.
preload_case() {
	local tag=$1 hook=$2 where=$3 b out
	local HK_HOOK=$hook
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -a "io.shmpipe.pipeline=ld-$tag" \
		-e "LD_PRELOAD=$EVIL_DIR/evil.so" -e "LD_LIBRARY_PATH=$EVIL_DIR/lib" -- /bin/sh -c 'shmtool mountinfo'
	if [[ $where == hook ]]; then
		"$SP_PYTHON" - "$b/config.json" "$EVIL_DIR" <<'PY'
import json, sys
path, d = sys.argv[1:3]
c = json.load(open(path))
c["process"]["env"] = [e for e in c["process"]["env"] if not e.startswith("LD_")]
for stage in c["hooks"].values():
    for h in stage:
        h["env"] = ["LD_PRELOAD=%s/evil.so" % d, "LD_LIBRARY_PATH=%s/lib" % d]
json.dump(c, open(path, "w"))
PY
	fi
	out=$(hk_run runc "$(sp_id "ld-$tag")" "$b")
	hk_assert_shm_line "$out" "ld-$tag"
	[[ ! -e $MARK ]] || sp_fail "$where's LD_PRELOAD/LD_LIBRARY_PATH loaded into $hook: $(cat "$MARK")"
}

t_ld_preload() {
	build_evil
	# the test's evil.so works: a dynamic program loads it
	LD_PRELOAD="$EVIL_DIR/evil.so" /bin/true
	[[ -e $MARK ]] || sp_fail "evil.so left no mark: the test proves nothing"
	rm -f "$MARK"
	preload_case static "$HK_HOOK" container
	preload_case dynamic "$HK_BUILD/tests/shmpipe-hook-dynamic" container
	# (a sanitizer build's hook is dynamic: its loader obeys its own env)
	if readelf -l "$HK_HOOK" | grep -q INTERP; then
		sp_log "the hook is linked dynamically (a sanitizer build): its own env is not checked"
	else
		preload_case static-env "$HK_HOOK" hook
	fi
}

sp_test "the hook's working directory is never in the rootfs; its fds are O_CLOEXEC; the container gets none" t_cwd_and_fds
sp_test "LD_PRELOAD/LD_LIBRARY_PATH of the container (static and dynamic hook) or of the hook (static) change nothing" t_ld_preload
sp_done
