#!/bin/bash
# security_hook.sh - what a container joined by the hook can and cannot do,
# and what the hook itself is while it runs under runc:
# - a container of pipeline A sees nothing of pipeline B nor of the host's
#   /dev/shm, SysV or mqueue objects, by any path it has;
# - neither an unprivileged user nor root with Docker's default capabilities
#   can remount its /dev/shm exec, suid or dev, unmount it, or use it to
#   exec a file or open a device node;
# - the hook's capabilities, no_new_privs, seccomp and fds, read from
#   /proc while it is blocked in a real join under runc;
# - system calls the hook needs denied with ENOSYS by an outer seccomp
#   filter (tests/helpers/seccomp-enosys): the join is refused with a clear
#   line, nothing is mounted, nothing is recorded, and no mount(2) by path
#   is ever tried.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup
SHMTOOL=$(sp_shmtool)

# sp_seccomp_enosys : the path of tests/helpers/seccomp-enosys.c as make built it.
sp_seccomp_enosys() {
	local out="$HK_BUILD/tests/seccomp-enosys"
	[[ -x $out ]] || sp_fail "no $out (run make)"
	printf '%s\n' "$out"
}

# ---------------------------------------------------------------------------
# Isolation

t_isolation() {
	local pa=iso-a pb=iso-b a b id_b out key host_shm host_mq secret_b secret_host
	a=$(sp_tmpdir bundle) b=$(sp_tmpdir bundle)
	secret_b="b-secret-$SP_RUN_ID" secret_host="host-secret-$SP_RUN_ID"
	host_shm="sp-host-$SP_RUN_ID" host_mq="sp-host-mq-$SP_RUN_ID"
	key=$((0x5350000 + $$ % 65536))
	hk_ctl create "$pa" --lifetime persistent >/dev/null
	hk_ctl create "$pb" --lifetime persistent >/dev/null
	sp_defer hk_quiet hk_ctl rm --force "$pa"
	sp_defer hk_quiet hk_ctl rm --force "$pb"

	# The host's own objects, under names the container is told.
	echo "$secret_host" >"/dev/shm/$host_shm"
	sp_defer rm -f "/dev/shm/$host_shm"
	"$SHMTOOL" sysv-write "$key" "$secret_host"
	sp_defer hk_quiet ipcrm -M "$key"
	"$SHMTOOL" mq-send "$host_mq" "$secret_host"
	sp_defer rm -f "/dev/mqueue/$host_mq"

	# B holds a segment; A knows its name and its content.
	hk_bundle "$b" createRuntime -a "io.shmpipe.pipeline=$pb" -- /bin/sh -c "shmtool write b-seg '$secret_b' && exec sleep 600"
	id_b=$(sp_id iso-b)
	hk_run -d runc "$id_b" "$b"
	sp_wait_for 30 test -s "$HK_ROOT/mnt/$pb/b-seg" || sp_fail "B wrote nothing"
	sp_assert_eq "$secret_b" "$(cat "$HK_ROOT/mnt/$pb/b-seg")"

	# shellcheck disable=SC2016 # expanded inside the container
	hk_bundle "$a" createRuntime -a "io.shmpipe.pipeline=$pa" \
		-e "SB=$secret_b" -e "HOSTSHM=$host_shm" -e "HOSTMQ=$host_mq" -e "KEY=$key" \
		-e "STORE=$HK_ROOT" -e "PB=$pb" -- /bin/sh -c '
		shmtool write a-own mine
		echo "LS $(ls -A /dev/shm | tr "\n" " ")"
		[ "$(shmtool map a-own)" = mine ] && echo "MAP own segment"
		shmtool read b-seg >/dev/null 2>&1 && echo "LEAK shm_open of B segment"
		shmtool map b-seg >/dev/null 2>&1 && echo "LEAK mmap of B segment"
		shmtool read "$HOSTSHM" >/dev/null 2>&1 && echo "LEAK shm_open of the host segment"
		shmtool map "$HOSTSHM" >/dev/null 2>&1 && echo "LEAK mmap of the host segment"
		shmtool sysv-read "$KEY" >/dev/null 2>&1 && echo "LEAK the host SysV segment"
		shmtool mq-recv "$HOSTMQ" >/dev/null 2>&1 && echo "LEAK the host message queue"
		for p in /proc/[0-9]*; do
			ls -A "$p/root/dev/shm" 2>/dev/null | grep -v "^a-own$" | sed "s|^|LEAK $p/root/dev/shm: |"
			cat "$p/root/dev/shm/b-seg" 2>/dev/null && echo "LEAK $p/root/dev/shm/b-seg"
		done
		cat /proc/1/root/../../dev/shm/b-seg 2>/dev/null && echo "LEAK via /proc/1/root/.."
		ls -d "$STORE" "$STORE/mnt/$PB" /dev/shm/../../"$STORE" 2>/dev/null | sed "s/^/LEAK store path: /"
		grep -rls "$SB" /dev/shm /tmp /run /etc /root /var /home /bin 2>/dev/null | sed "s/^/LEAK B content in: /"
		grep -e "shmpipe-$PB" -e "$STORE" /proc/self/mountinfo | sed "s/^/LEAK mountinfo: /"
		mount -t tmpfs x /tmp 2>/dev/null && echo "LEAK mounted a tmpfs"
		mount --bind / /tmp 2>/dev/null && echo "LEAK bind mount"
		echo "MI $(awk "\$5 == \"/dev/shm\"" /proc/self/mountinfo | tail -n1)"
		echo DONE'
	out=$(hk_run runc "$(sp_id iso-a)" "$a")
	echo "$out"
	sp_assert_not_contains "$out" LEAK
	sp_assert_contains "$out" DONE
	sp_assert_contains "$out" "MAP own segment" "the probe maps what it may"
	sp_assert_eq "LS a-own " "$(grep '^LS' <<<"$out")" "A's /dev/shm holds A's own segment only"
	hk_assert_shm_line "$(grep '^MI' <<<"$out" | cut -c4-)" "$pa"
	# the mount's root is the tmpfs root: no host path in it
	sp_assert_eq / "$(grep '^MI' <<<"$out" | awk '{print $5}')"
	# and the other way round: nothing of A in B's tmpfs or on the host
	[[ -e $HK_ROOT/mnt/$pa/a-own ]] || sp_fail "A's segment is not in A's tmpfs"
	[[ ! -e $HK_ROOT/mnt/$pb/a-own && ! -e /dev/shm/a-own ]] || sp_fail "A's segment leaked"
	sp_assert_eq "$secret_host" "$("$SHMTOOL" mq-recv "$host_mq")" "the host's queue was drained"
	sp_runc delete -f "$id_b"
}

# ---------------------------------------------------------------------------
# Remounting /dev/shm from inside

# The same attempts for every identity; LEAK lines are failures.
# shellcheck disable=SC2016 # expanded inside the container
REMOUNT_PROBE='
echo "ID $(id -u) $(grep CapEff /proc/self/status | tr -d "\t")"
for o in remount,exec remount,suid remount,dev remount,bind,exec remount,bind,suid remount,bind,dev; do
	mount -o "$o" /dev/shm 2>/dev/null && echo "LEAK mount -o $o"
done
umount /dev/shm 2>/dev/null && echo "LEAK umount /dev/shm"
umount -l /dev/shm 2>/dev/null && echo "LEAK umount -l /dev/shm"
mount -t tmpfs -o exec tmpfs /dev/shm 2>/dev/null && echo "LEAK a new tmpfs on /dev/shm"
cp /bin/busybox /dev/shm/bb && chmod 4755 /dev/shm/bb 2>/dev/null
/dev/shm/bb true 2>/dev/null && echo "LEAK exec from /dev/shm"
if mknod /dev/shm/null c 1 3 2>/dev/null; then
	echo "MKNOD made"
	(: >/dev/shm/null) 2>/dev/null && echo "LEAK opened a device node in /dev/shm"
fi
echo "MI $(awk "\$5 == \"/dev/shm\"" /proc/self/mountinfo | tail -n1)"
echo DONE'

DOCKER_CAPS='["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_MKNOD","CAP_NET_RAW","CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_KILL","CAP_AUDIT_WRITE"]'

remount_case() {
	local tag=$1 p="rm-$1" b out
	shift
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -a "io.shmpipe.pipeline=$p" "$@" -- /bin/sh -c "$REMOUNT_PROBE"
	out=$(hk_run runc "$(sp_id "rm-$tag")" "$b")
	echo "$out" | tee "$SP_CASE_DIR/out"
	sp_assert_not_contains "$out" LEAK
	sp_assert_contains "$out" DONE
	hk_assert_shm_line "$(grep '^MI' <<<"$out" | cut -c4-)" "$p"
}

t_remount_unprivileged() {
	remount_case uid1000 -s 'process.user={"uid":1000,"gid":1000}' \
		-s 'process.capabilities={"bounding":[],"effective":[],"permitted":[],"inheritable":[],"ambient":[]}'
	sp_assert_contains "$(cat "$SP_CASE_DIR/out")" "ID 1000 CapEff:0000000000000000"
}

t_remount_root_default_caps() {
	local out
	remount_case rootcaps -s "process.capabilities={\"bounding\":$DOCKER_CAPS,\"effective\":$DOCKER_CAPS,\"permitted\":$DOCKER_CAPS,\"inheritable\":[],\"ambient\":[]}"
	out=$(cat "$SP_CASE_DIR/out")
	sp_assert_contains "$out" "ID 0 CapEff:00000000a80425fb" "root with Docker's default capabilities"
	# root may make the node (CAP_MKNOD, /dev/null is in the device
	# cgroup's allow list), never open it (nodev)
	sp_assert_contains "$out" "MKNOD made"
}

# ---------------------------------------------------------------------------
# Mount propagation

# A container whose /dev is a bind of a host directory with bidirectional
# propagation (rootfsPropagation rshared and an rshared bind: what
# containerd makes of a Kubernetes "mountPropagation: Bidirectional"
# volume): a mount made on its /dev/shm propagates to every peer of that
# mount, the host's among them.  The hook must refuse rather than put the
# pipeline on the host (on the host's own /dev/shm, were the directory the
# host's /dev).  It asks statmount(2); with that denied (a kernel before
# 6.8) it reads the container's mountinfo, and must refuse the same.
t_shared_parent() {
	local p=prop b hd before out rc wrap
	b=$(sp_tmpdir bundle) hd=$(sp_tmpdir hostdev)
	mkdir -p "$hd/shm"
	: >"$hd/null"
	mount --bind "$hd" "$hd"
	mount --make-shared "$hd"
	sp_defer sp_umount_under "$hd"
	before="$SP_CASE_DIR/mounts.before"
	hk_mounts_snapshot "$before"
	for wrap in "" "$(sp_seccomp_enosys) statmount"; do
		echo "--- hook under: ${wrap:-nothing}"
		HK_WRAP=$wrap hk_bundle "$b" createRuntime -a "io.shmpipe.pipeline=$p" --no-dev-tmpfs -s 'linux.rootfsPropagation="rshared"' \
			-s "mounts=[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},{\"destination\":\"/dev\",\"type\":\"bind\",\"source\":\"$hd\",\"options\":[\"rbind\",\"rshared\"]}]" \
			-- /bin/sh -c 'echo STARTED; grep " /dev/shm " /proc/self/mountinfo'
		rc=0
		out=$(hk_run runc "$(sp_id "prop${wrap:+-enosys}")" "$b" 2>&1) || rc=$?
		echo "$out"
		echo "host: $(grep -F "$hd" /proc/self/mountinfo)"
		grep -qF " $hd/shm " /proc/self/mountinfo && sp_fail "the pipeline propagated to the host at $hd/shm"
		((rc != 0)) || sp_fail "the container started"
		sp_assert_contains "$out" "shmpipe-hook: pipeline $p: container's /dev/shm is on a shared mount (peer group "
		hk_assert_no_new_mounts "$before"
		hk_exists "$p" && sp_fail "$p left"
	done
	# The same container with the default (slave) propagation: its /dev is
	# then a slave of the host's mount, and the pipeline stays inside.
	hk_bundle "$b" createRuntime -a "io.shmpipe.pipeline=$p" --no-dev-tmpfs \
		-s "mounts=[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},{\"destination\":\"/dev\",\"type\":\"bind\",\"source\":\"$hd\",\"options\":[\"rbind\",\"rslave\"]}]" \
		-- /bin/sh -c 'grep " /dev/shm " /proc/self/mountinfo'
	out=$(hk_run runc "$(sp_id prop2)" "$b")
	hk_assert_shm_line "$(tail -n1 <<<"$out")" "$p"
	grep -qF " $hd/shm " /proc/self/mountinfo && sp_fail "the pipeline propagated to the host at $hd/shm"
	hk_assert_no_new_mounts "$before"
}

# A "container" chrooted into a directory that is not a mount point: the
# mount /dev/shm sits on lies above its root, out of its mountinfo.
# statmount(2) still tells its propagation (private here), so the hook
# joins, inside that namespace only.  Without statmount the propagation
# cannot be checked (were that mount shared with the host's /, the pipeline
# would land on the host): refused, fail closed.
t_root_not_a_mount() {
	local p=unlisted b in="$SP_CASE_DIR/state" pid out rc=0 before wrap
	b=$(sp_tmpdir bundle)
	wrap=$(sp_seccomp_enosys)
	hk_direct_bundle "$b" "$p"
	sp_busybox_rootfs "$b/rootfs"
	hk_chroot_process "$b/rootfs" unlisted
	pid=$HK_PID
	before="$SP_CASE_DIR/mounts.before"
	hk_mounts_snapshot "$before"
	hk_state_for unlisted "$pid" "$b" >"$in"
	out=$(timeout 10 "$wrap" statmount "$HK_HOOK" --root "$HK_ROOT" --config "$HK_CONFIG" createRuntime <"$in" 2>&1) || rc=$?
	echo "without statmount: $out"
	sp_assert_eq 1 "$rc" "exit status"
	sp_assert_match "$out" "^shmpipe-hook: pipeline $p: container's /dev/shm: its mount \([0-9]+\) is outside the container's root, where its propagation cannot be checked: refusing \(the rootfs must be a mount point\)\$"
	out=$(awk '$(NF-1) ~ /^shmpipe-/' "/proc/$pid/mountinfo")
	[[ -z $out ]] || sp_fail "mounted in its namespace: $out"
	hk_assert_no_new_mounts "$before"
	hk_exists "$p" && sp_fail "$p left"
	# With statmount: joined, the tmpfs on its /dev/shm and nowhere else.
	"$HK_HOOK" --root "$HK_ROOT" --config "$HK_CONFIG" createRuntime <"$in"
	out=$(awk '$5 == "/dev/shm" && $(NF-1) == "shmpipe-'"$p"'"' "/proc/$pid/mountinfo")
	[[ -n $out ]] || sp_fail "no pipeline on its /dev/shm: $(cat "/proc/$pid/mountinfo")"
	echo "with statmount, in its namespace: $out"
	"$HK_HOOK" --root "$HK_ROOT" --config "$HK_CONFIG" poststop <"$in"
	hk_exists "$p" && sp_fail "$p left after poststop"
	hk_assert_no_new_mounts "$before"
	return 0
}

# ---------------------------------------------------------------------------
# The hook's privileges in a real join under runc

# hook_pid_of STAGE : the pid of our hook binary running STAGE on our store.
hook_pid_of() {
	local stage=$1 f
	for f in /proc/[0-9]*/cmdline; do
		if tr '\0' ' ' <"$f" 2>/dev/null | grep -qxF "shmpipe-hook --root $HK_ROOT --config $HK_CONFIG $stage "; then
			f=${f#/proc/}
			echo "${f%/cmdline}"
			return 0
		fi
	done
	return 1
}

t_hook_privileges_live() {
	local p=priv b id pid st fd flags target line rc=0 lockfd
	b=$(sp_tmpdir bundle) id=$(sp_id priv)
	hk_ctl create "$p" --lifetime persistent >/dev/null
	sp_defer hk_quiet hk_ctl rm --force "$p"
	sp_runc_bundle "$b" -a "io.shmpipe.pipeline=$p" \
		-s "hooks.createRuntime=[{\"path\":\"$HK_HOOK\",\"args\":[\"shmpipe-hook\",\"--root\",\"$HK_ROOT\",\"--config\",\"$HK_CONFIG\",\"createRuntime\"]}]" \
		-s "hooks.poststop=[{\"path\":\"$HK_HOOK\",\"args\":[\"shmpipe-hook\",\"--root\",\"$HK_ROOT\",\"--config\",\"$HK_CONFIG\",\"poststop\"]}]" \
		-- /bin/sh -c 'exec sleep 600'
	# Hold the pipeline's lock: the hook blocks in flock(2) inside its join,
	# hardened as it is for the whole run.
	exec {lockfd}>"$HK_ROOT/locks/$p.lock"
	flock "$lockfd"
	sp_defer sp_runc delete -f "$id"
	# (the runner must not inherit the lock's fd, or it would hold the lock)
	(
		exec {lockfd}>&-
		sp_runc run -d --pid-file "$b/pid" --bundle "$b" "$id" </dev/null >"$b/out" 2>&1 || echo $? >"$b/rc"
	) &
	local runner=$!
	sp_wait_for 30 hook_pid_of createRuntime || sp_fail "no hook process seen"
	pid=$(hook_pid_of createRuntime)
	# blocked in flock (73 on x86_64) on the store's lock
	sp_wait_for 10 sh -c "[ \"\$(cut -d' ' -f1 /proc/$pid/syscall)\" = 73 ]" ||
		sp_fail "the hook is not waiting in flock: $(cat "/proc/$pid/syscall")"
	st=$(cat "/proc/$pid/status")
	echo "hook $pid, parent $(cat "/proc/$(awk '/^PPid:/ {print $2}' <<<"$st")/comm"):"
	grep -E '^(Uid|Cap|NoNewPrivs|Seccomp)' <<<"$st"
	for line in $'CapInh:\t0000000000000000' $'CapPrm:\t00000000002c0000' $'CapEff:\t00000000002c0000' \
		$'CapBnd:\t00000000002c0000' $'CapAmb:\t0000000000000000' $'NoNewPrivs:\t1' $'Seccomp:\t2' \
		$'Seccomp_filters:\t1'; do
		grep -qxF "$line" <<<"$st" || sp_fail "hook status lacks [$line]"
	done
	sp_assert_eq runc "$(cat "/proc/$(awk '/^PPid:/ {print $2}' <<<"$st")/comm")" "the hook's parent"
	# Every fd it holds beyond stdio is close-on-exec.
	for fd in /proc/"$pid"/fd/*; do
		fd=${fd##*/}
		((fd > 2)) || continue
		flags=$(awk '/^flags:/ {print $2}' "/proc/$pid/fdinfo/$fd")
		target=$(readlink "/proc/$pid/fd/$fd")
		echo "fd $fd flags $flags $target"
		((8#$flags & 02000000)) || sp_fail "fd $fd ($target) of the hook is not O_CLOEXEC"
	done
	exec {lockfd}>&-
	wait "$runner"
	[[ ! -e $b/rc ]] || sp_fail "runc run failed after the lock was released: $(cat "$b/out")"
	sp_assert_eq "$id" "$(hk_members "$p")"
	line=$(awk '$5 == "/dev/shm"' "/proc/$(cat "$b/pid")/mountinfo" | tail -n1)
	hk_assert_shm_line "$line" "$p"
}

# ---------------------------------------------------------------------------
# ENOSYS from an outer seccomp filter

# enosys_case SYSCALLS PIPE_EXISTS WANT : the createRuntime hook runs under
# seccomp-enosys SYSCALLS and strace (what it calls is on record; an ASan
# build's leak checker does not run under ptrace, so it is turned off).
enosys_case() {
	local sys=$1 exists=$2 want=$3 p b id before out rc=0 wrap trace
	p="ns-${sys//,/-}" b=$(sp_tmpdir bundle) id=$(sp_id "ns-${sys//,/-}")
	wrap=$(sp_seccomp_enosys)
	trace="$SP_CASE_DIR/strace"
	if ((exists)); then
		hk_ctl create "$p" --lifetime persistent >/dev/null
		sp_defer hk_quiet hk_ctl rm --force "$p"
	fi
	sp_runc_bundle "$b" -a "io.shmpipe.pipeline=$p" \
		-H "createRuntime=/usr/bin/strace -f -qq -E ASAN_OPTIONS=detect_leaks=0 -o $trace -e trace=mount,open_tree,move_mount,fsopen,fsmount,mount_setattr,openat2,pidfd_open $wrap $sys $HK_HOOK --root $HK_ROOT --config $HK_CONFIG createRuntime" \
		-H "poststop=$(hk_cmd poststop)" -- /bin/sh -c 'echo STARTED'
	before="$SP_CASE_DIR/mounts.before"
	hk_mounts_snapshot "$before"
	out=$(hk_run runc "$id" "$b" 2>&1) || rc=$?
	((rc != 0)) || sp_fail "the container started: $out"
	sp_assert_not_contains "$out" STARTED
	out=$(grep -o 'shmpipe-hook: [^"]*' <<<"$out" | sed 's/\\n$//')
	echo "$out"
	sp_assert_eq 1 "$(wc -l <<<"$out")" "one line"
	sp_assert_match "$out" "^shmpipe-hook: pipeline $p: .*$want: Function not implemented \\(a system call the hook needs is missing or denied by a seccomp filter: it needs Linux 5.12 or later and never falls back to mounting by path\\)\$"
	echo "system calls (strace):"
	cat "$trace"
	# the denied call was really made, and failed with ENOSYS
	grep -qE "^[0-9]+ +${sys}\(.*= -1 ENOSYS" "$trace" || [[ $sys == fsopen ]] ||
		sp_fail "no denied $sys call on record"
	# no move_mount and no mount(2) ever succeeded: nothing was attached,
	# in the container or anywhere else
	if grep -E '^[0-9]+ +(move_mount|mount)\(' "$trace" | grep -v ' = -1 ' | grep -q .; then
		sp_fail "a mount went through: $(grep -E '^[0-9]+ +(move_mount|mount)\(' "$trace")"
	fi
	hk_assert_no_new_mounts "$before"
	if ((exists)); then
		sp_assert_eq "" "$(hk_members "$p")" "the join was undone"
		hk_mounted "$p" || sp_fail "$p lost its tmpfs"
	else
		hk_exists "$p" && sp_fail "$p was left: $(cat "$HK_ROOT/state/$p.json")"
		[[ ! -e $HK_ROOT/mnt/$p ]] || sp_fail "mountpoint of $p left"
	fi
	return 0
}

# The runtime has pivoted (as hook_attacks' t_pivoted: a process chrooted
# into a rootfs in a mount namespace of its own): the rootfs needs no
# openat2, the walk of dev and shm does.
t_enosys_pivoted() {
	local p=ns-pivoted b in="$SP_CASE_DIR/state" pid out rc=0 wrap
	b=$(sp_tmpdir bundle)
	wrap=$(sp_seccomp_enosys)
	hk_ctl create "$p" --lifetime persistent >/dev/null
	sp_defer hk_quiet hk_ctl rm --force "$p"
	hk_direct_bundle "$b" "$p"
	sp_busybox_rootfs "$b/rootfs"
	hk_chroot_process "$b/rootfs" pivoted
	pid=$HK_PID
	hk_state_for pivoted "$pid" "$b" >"$in"
	out=$(timeout 10 "$wrap" openat2 "$HK_HOOK" --root "$HK_ROOT" --config "$HK_CONFIG" createRuntime <"$in" 2>&1) || rc=$?
	echo "$out"
	sp_assert_eq 1 "$rc" "exit status"
	sp_assert_eq "shmpipe-hook: pipeline $p: container's /dev: openat2: Function not implemented (a system call the hook needs is missing or denied by a seccomp filter: it needs Linux 5.12 or later and never falls back to mounting by path)" "$out"
	out=$(awk '$(NF-1) ~ /^shmpipe-/' "/proc/$pid/mountinfo")
	[[ -z $out ]] || sp_fail "mounted in its namespace: $out"
	sp_assert_eq "" "$(hk_members "$p")" "the join was undone"
}

sp_test "pipeline A's container cannot open, list, map or find pipeline B's or the host's shm, SysV, mqueue" t_isolation
sp_test "uid 1000 without capabilities: no remount exec/suid/dev, no umount, no exec from /dev/shm" t_remount_unprivileged
sp_test "root with Docker's default capabilities: the same, and a device node it makes there cannot be opened" \
	t_remount_root_default_caps
sp_test "/dev a bidirectional (rshared) bind of a host directory: refused (statmount and mountinfo), nothing propagates to the host" t_shared_parent
sp_test "a root that is not a mount point (chroot-style): joined with statmount, refused without" t_root_not_a_mount
sp_test "the hook blocked in a real join under runc: CapEff/Prm/Bnd sys_admin,sys_chroot,sys_ptrace; NoNewPrivs; 1 seccomp filter; fds CLOEXEC" \
	t_hook_privileges_live
sp_test "openat2 ENOSYS: refused with a clear line, nothing mounted or recorded" \
	enosys_case openat2 1 "rootfs .* in the container's mount namespace: openat2"
sp_test "openat2 ENOSYS, runtime already pivoted (the dev/shm walk): refused, nothing in its namespace" \
	t_enosys_pivoted
sp_test "open_tree ENOSYS: refused, nothing mounted or recorded" enosys_case open_tree 1 "open_tree"
sp_test "move_mount ENOSYS: refused, nothing mounted or recorded" enosys_case move_mount 1 "mount on the container's /dev/shm: move_mount"
sp_test "mount_setattr ENOSYS: refused before anything is attached" \
	enosys_case mount_setattr 1 "set nosuid,nodev,noexec on the pipeline's mount: mount_setattr"
sp_test "pidfd_open ENOSYS: refused" enosys_case pidfd_open 1 "container process [0-9]+: pidfd_open"
sp_test "fsopen ENOSYS on auto-create: the mount(2) fallback is denied inside the hook; refused, nothing left" \
	enosys_case fsopen 0 "mount tmpfs \\(size=[0-9]+,mode=1777,uid=0,gid=0,nr_inodes=[0-9]+\\)"
sp_done
