#!/bin/bash
# security_race.sh - a symlink swapped in while the hook joins: a process on
# the host side of a shared bundle rootfs exchanges ROOTFS/dev/shm (a real
# directory) with a symlink to /etc (renameat2 RENAME_EXCHANGE, in a tight
# loop) while 50 containers start; the same for a pipeline's socket
# directory at /run/app, while 30 start.  Every start either gets the
# pipeline on that real directory inside the container, or is refused by
# the hook; the host's and the container's /etc are never mounted on, and
# the host gets no mount.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup

N=${SP_RACE_N:-50}
N_SOCKETS=${SP_RACE_SOCKETS_N:-30}
SP_TIMEOUT=$((SP_TIMEOUT > 150 ? SP_TIMEOUT : 150))

# flipper STOPFILE COUNTFILE REL ROOTFS... : exchange REL and REL.swap
# (dev/shm, run/app) of each ROOTFS in turn, as fast as it can, until STOPFILE exists; write
# "exchanges failures" at the end and leave the real directories in place.
flipper() {
	"$SP_PYTHON" - "$@" <<'EOF'
import ctypes, os, sys
stop, count, rel = sys.argv[1:4]
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
pairs = [(os.path.join(r, rel).encode(), os.path.join(r, rel + ".swap").encode())
         for r in sys.argv[4:]]
flips = fails = 0
while not os.path.exists(stop):
    for _ in range(20):
        for a, b in pairs:
            if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0:
                flips += 1
            else:
                fails += 1
for a, b in pairs:
    if os.path.islink(a):
        libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
with open(count, "w") as f:
    f.write("%d %d\n" % (flips, fails))
EOF
}

# What a container reports about itself: every shmpipe mount it has
# (mount point and source), what /REL is, and whether its /etc is intact.
# shellcheck disable=SC2016 # expanded inside the container
probe() {
	printf '%s' '
awk "\$(NF-1) ~ /^shmpipe-/ {print \"MOUNT\", \$5, \$(NF-1)}" /proc/self/mountinfo
if [ -L /'"$1"' ]; then echo "SHM symlink"; else echo "SHM dir"; fi
cat /'"$1"'/marker 2>/dev/null | sed "s/^/MARKER /"
cat /'"$1"'.swap/marker 2>/dev/null | sed "s/^/MARKER /"
[ -f /etc/passwd ] && echo "ETC intact"
grep -q " /etc " /proc/self/mountinfo && echo "ETC mounted"
echo END'
}

# What a mount on the host's /etc would change: the device and inode the
# path leads to, and the mounts at or under it.  (Not its listing or times:
# tests running alongside write /etc/docker.)
etc_fingerprint() {
	stat -c '%d %i' /etc
	awk '$5 == "/etc" || index($5, "/etc/") == 1 {print $5, $(NF-1)}' /proc/self/mountinfo
}

# _swap_race REL N : N containers start while REL (dev/shm, or run/app: a
# pipeline's socket directory) is exchanged with a symlink to /etc.
_swap_race() {
	local rel=$1 N=$2 t d r p=race i before etc_before started=0 refused=0 marker=0 out flips fails ids=() bundles=() roots=()
	local src="shmpipe-$p" data="$HK_ROOT/mnt/$p" mounts=1 opts=()
	t=$(sp_tmpdir bundle) d=$(sp_tmpdir logs)
	if [[ $rel != dev/shm ]]; then
		p=race-sockets src="shmpipe-sockets-$p" data="$HK_ROOT/sockets/$p" mounts=2 opts=(--sockets "/$rel")
	fi
	hk_ctl create "$p" --lifetime persistent --size 1m "${opts[@]}" >/dev/null
	sp_defer hk_quiet hk_ctl rm --force "$p"
	echo "pipeline-$SP_RUN_ID" >"$data/marker"
	# One bundle per container, each with its own copy of the image (runc
	# writes device nodes into an image's own /dev: sharing one is a race of
	# runc's, not ours).
	hk_bundle "$t" createRuntime --no-dev-tmpfs -a "io.shmpipe.pipeline=$p" -- /bin/sh -c "$(probe "$rel")"
	mkdir -p "$t/rootfs/$rel"
	ln -s /etc "$t/rootfs/$rel.swap"
	for ((i = 1; i <= N; i++)); do
		ids+=("$(sp_id "race$i")")
		bundles+=("$d/b$i")
		roots+=("$d/b$i/rootfs")
		mkdir "$d/b$i"
		cp "$t/config.json" "$d/b$i/"
		cp -a --reflink=auto "$t/rootfs" "$d/b$i/rootfs"
	done
	sp_defer _race_cleanup "${ids[@]}"
	before="$SP_CASE_DIR/mounts.before"
	hk_mounts_snapshot "$before"
	etc_before=$(etc_fingerprint)

	flipper "$d/stop" "$d/count" "$rel" "${roots[@]}" &
	local fpid=$!
	sleep 0.2
	SECONDS=0
	local jobs=()
	for ((i = 1; i <= N; i++)); do
		(
			rc=0
			sp_runc run --bundle "${bundles[i - 1]}" "${ids[i - 1]}" </dev/null >"$d/out.$i" 2>"$d/err.$i" || rc=$?
			echo "$rc" >"$d/rc.$i"
		) &
		jobs+=($!)
	done
	wait "${jobs[@]}"
	touch "$d/stop"
	wait "$fpid"
	read -r flips fails <"$d/count"
	echo "$N starts in ${SECONDS}s with $flips exchanges ($fails failed)"

	for ((i = 1; i <= N; i++)); do
		out=$(cat "$d/out.$i")
		if [[ $(cat "$d/rc.$i") == 0 ]]; then
			started=$((started + 1))
			# the pipeline is mounted once, on the real directory: /dev/shm,
			# or dev/shm.swap when the exchange moved that directory after
			# the hook had checked it (the container's own business)
			sp_assert_eq "$mounts" "$(grep -c '^MOUNT ' <<<"$out")" "container $i: pipeline mounts: $out"
			sp_assert_match "$(grep "^MOUNT .* $src\$" <<<"$out")" "^MOUNT /$rel(\\.swap)? $src\$" "container $i: $out"
			# (its marker file is read through paths the exchange keeps
			# moving, so its absence proves nothing; the source does)
			grep -q "^MARKER pipeline-$SP_RUN_ID" <<<"$out" && marker=$((marker + 1))
			sp_assert_contains "$out" "ETC intact" "container $i: /etc"
			sp_assert_not_contains "$out" "ETC mounted" "container $i: /etc"
			sp_assert_contains "$out" END
		else
			refused=$((refused + 1))
			sp_assert_eq "" "$out" "container $i ran although refused"
			sp_assert_match "$(cat "$d/err.$i")" \
				"shmpipe-hook: pipeline $p: container's /$rel( is a symbolic link: refusing to mount through it| keeps changing: giving up| is not the pipeline's tmpfs after the mount|: openat2 after the mount: Too many levels of symbolic links)" \
				"container $i: not a clean refusal"
		fi
	done
	echo "started on the real directory: $started ($marker read the pipeline's marker), refused: $refused"
	echo "where the pipeline landed:"
	cat "$d"/out.* | grep '^MOUNT ' | sort | uniq -c
	echo "why the others were refused:"
	cat "$d"/err.* | grep -o "shmpipe-hook: .*" | sed 's/\\n.*//' | sort | uniq -c
	((flips > 1000)) || sp_fail "the race did not run: $flips exchanges"
	((started > 0 && refused > 0)) || sp_fail "one outcome never happened (started $started, refused $refused): no race"

	# Nothing landed on the host: no new mount, /etc as it was, no pipeline
	# file in the image's /etc; no member left of the refused ones.
	hk_assert_no_new_mounts "$before"
	sp_assert_eq "$etc_before" "$(etc_fingerprint)" "the host's /etc changed"
	[[ ! -e /etc/marker ]] || sp_fail "the pipeline's content appeared in the host's /etc"
	for r in "${roots[@]}"; do
		[[ ! -e $r/etc/marker ]] || sp_fail "the pipeline's content appeared in $r/etc"
		[[ -d $r/$rel && ! -L $r/$rel ]] || sp_fail "$r/$rel not restored"
	done
	sp_assert_eq "" "$(hk_members "$p")" "members left"
	sp_assert_eq 1 "$(grep -c " $data " /proc/self/mountinfo)" "the pipeline's own tmpfs"
}

t_swap_race() { _swap_race dev/shm "$N"; }
t_swap_race_sockets() { _swap_race run/app "$N_SOCKETS"; }

_race_cleanup() {
	local id
	for id in "$@"; do hk_quiet sp_runc delete -f "$id" & done
	wait
}

sp_test "dev/shm exchanged with a symlink to /etc while $N containers start: real directory or refusal, never /etc" t_swap_race
sp_test "a socket directory's path exchanged with a symlink to /etc while $N_SOCKETS containers start: real directory or refusal, never /etc" t_swap_race_sockets
sp_done
