#!/usr/bin/env bash
# concurrency_plugin.sh - 200 Docker VolumeDriver.Mount / Unmount calls sent
# to the plugin's socket at once (curl --unix-socket, what dockerd sends):
# every call answered, the member count exact at every moment a reader looks,
# Remove works after.  Then the plugin SIGKILLed in the middle of 200
# parallel calls and restarted: every volume kept, and the members are
# exactly what it acknowledged (plus at most the one request it was handling
# when it died); Docker's retries then bring the counts back to exact.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/plugin.sh"
. "$(dirname "$0")/lib/concurrency.sh"

N=${SP_CONC_N:-200}
sp_plugin_start

# Docker's mount IDs: 64 hex digits.
mount_id() { printf '%064x' "$1"; }

# call ENDPOINT VOLUME I DIR : one call as dockerd makes it.  No retry:
# curl, like dockerd, connects without blocking, and the plugin's backlog
# (SOMAXCONN) holds every connection it cannot serve yet, so a refused
# connection is a failure.  DIR/code.I is the HTTP status ("000": no
# answer), DIR/body.I the reply.
call() {
	local ep=$1 vol=$2 i=$3 d=$4
	curl -sS --max-time 60 --unix-socket "$SP_PLUGIN_SOCK" -X POST \
		--data-binary "{\"Name\":\"$vol\",\"ID\":\"$(mount_id "$i")\"}" \
		-o "$d/body.$i" -w '%{http_code}' "http://plugin/VolumeDriver.$ep" >"$d/code.$i" 2>"$d/err.$i" || true
}

# send_all ENDPOINT VOLUME FROM TO DIR : one call per ID, all at once.
# Waits for its own jobs only.
send_all() {
	local ep=$1 vol=$2 from=$3 to=$4 d=$5 i jobs=()
	for ((i = from; i <= to; i++)); do
		call "$ep" "$vol" "$i" "$d" &
		jobs+=($!)
	done
	wait "${jobs[@]}" || true
}

# acked DIR FROM TO WANT_BODY_ERE : the indices whose reply was 200 with a
# body matching WANT_BODY_ERE, one per line.
acked() {
	"$SP_PYTHON" - "$@" <<'EOF'
import os, re, sys
d, lo, hi, want = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), re.compile(sys.argv[4])
def read(name):
    try:
        with open(os.path.join(d, name)) as f:
            return f.read()
    except FileNotFoundError:
        return ""
for i in range(lo, hi + 1):
    if read("code.%d" % i) == "200" and want.search(read("body.%d" % i)):
        print(i)
EOF
}

# member_indices VOLUME : the indices of the volume's docker: members.
member_indices() {
	sp_json "$SP_STORE/state/$1.json" \
		'"\n".join(str(int(m["id"][len("docker:"):], 16)) for m in j["members"])' | sed '/^$/d' | sort -n
}

MOUNT_OK="^\\{\"Mountpoint\":\"$SP_STORE/mnt/[^\"]+\",\"Err\":\"\"\\}\$"
UNMOUNT_OK='^\{"Err":""\}$'
MOUNT_OK_LINE="^200 ${MOUNT_OK:1}"

t_mount_unmount_200() {
	local v=c200 d n
	d=$(sp_tmpdir req)
	sp_assert_eq '200 {"Err":""}' "$(sp_plugin_req /VolumeDriver.Create "{\"Name\":\"$v\",\"Opts\":{\"size\":\"1m\"}}")"
	sp_defer hk_quiet_remove "$v"

	sampler_start "$SP_STORE/state/$v.json" "$d/up.samples"
	SECONDS=0
	send_all Mount "$v" 1 "$N" "$d"
	echo "$N Mounts in ${SECONDS}s"
	sampler_stop "$d/up.samples"
	n=$(acked "$d" 1 "$N" "$MOUNT_OK" | wc -l)
	if ((n != N)); then
		head -3 "$d"/err.* "$d"/body.* >&2 || true
		sp_fail "$n of $N Mounts answered with the mountpoint"
	fi
	sp_assert_eq "$N" "$(sp_members "$v")" "members after $N Mounts"
	sp_assert_eq "$(seq 1 "$N")" "$(member_indices "$v")" "member ids"
	check_samples "$d/up.samples" up "$N"
	sp_assert_contains "$(sp_plugin_req /VolumeDriver.Remove "{\"Name\":\"$v\"}")" "in use by $N members"

	sampler_start "$SP_STORE/state/$v.json" "$d/down.samples"
	SECONDS=0
	send_all Unmount "$v" 1 "$N" "$d"
	echo "$N Unmounts in ${SECONDS}s"
	sampler_stop "$d/down.samples"
	n=$(acked "$d" 1 "$N" "$UNMOUNT_OK" | wc -l)
	sp_assert_eq "$N" "$n" "Unmounts answered"
	sp_assert_eq 0 "$(sp_members "$v")" "members after $N Unmounts"
	check_samples "$d/down.samples" down "$N"

	sp_assert_eq '200 {"Err":""}' "$(sp_plugin_req /VolumeDriver.Remove "{\"Name\":\"$v\"}")"
	[[ ! -e $SP_STORE/state/$v.json ]] || sp_fail "record left"
	! mountpoint -q "$SP_STORE/mnt/$v" 2>/dev/null || sp_fail "tmpfs left"
	[[ -z $(awk -v r="$SP_STORE/" 'index($5, r) == 1' /proc/self/mountinfo) ]] || sp_fail "mounts left under the store"
}

# Each ID mounts and unmounts, all IDs at once: the calls of different IDs
# interleave every way; nothing is left.
t_mount_unmount_pairs() {
	local v=pairs d i jobs=() bad=0
	d=$(sp_tmpdir req)
	sp_assert_eq '200 {"Err":""}' "$(sp_plugin_req /VolumeDriver.Create "{\"Name\":\"$v\"}")"
	sp_defer hk_quiet_remove "$v"
	for ((i = 1; i <= N; i++)); do
		(
			mkdir -p "$d/m$i" "$d/u$i"
			call Mount "$v" "$i" "$d/m$i"
			call Unmount "$v" "$i" "$d/u$i"
			m="$(cat "$d/m$i/code.$i") $(cat "$d/m$i/body.$i")"
			u="$(cat "$d/u$i/code.$i") $(cat "$d/u$i/body.$i")"
			[[ $m =~ $MOUNT_OK_LINE && $u == '200 {"Err":""}' ]] || echo "$i: $m / $u" >"$d/bad.$i"
		) &
		jobs+=($!)
	done
	wait "${jobs[@]}"
	for f in "$d"/bad.*; do
		[[ -e $f ]] || continue
		bad=$((bad + 1))
		cat "$f"
	done
	sp_assert_eq 0 "$bad" "failed pairs"
	sp_assert_eq 0 "$(sp_members "$v")"
	sp_assert_eq '200 {"Err":""}' "$(sp_plugin_req /VolumeDriver.Remove "{\"Name\":\"$v\"}")"
}

hk_quiet_remove() {
	"$SP_CTL_BIN" --root "$SP_STORE" rm --force "$1" >/dev/null 2>&1 || true
}

# Volumes that must come through a crash untouched: their whole inspect
# object (options, created, members, bytes used).
make_bystanders() {
	sp_plugin_req /VolumeDriver.Create '{"Name":"keep-a","Opts":{"size":"2m"}}' >/dev/null
	sp_plugin_req /VolumeDriver.Create '{"Name":"keep-b","Opts":{"mode":"0770","uid":"1000","gid":"1000","inodes":"100"}}' >/dev/null
	sp_plugin_req /VolumeDriver.Create '{"Name":"keep-c","Opts":{"lifetime":"ephemeral","huge":"never"}}' >/dev/null
	sp_plugin_req /VolumeDriver.Mount "{\"Name\":\"keep-c\",\"ID\":\"$(mount_id 9999)\"}" >/dev/null
	echo data >"$SP_STORE/mnt/keep-a/file"
}

snapshot_bystanders() {
	local v
	for v in keep-a keep-b keep-c; do
		"$SP_CTL_BIN" --root "$SP_STORE" inspect "$v"
	done
}

# kill_after DIR COUNT : SIGKILL the plugin once COUNT calls were answered.
kill_after() {
	local d=$1 count=$2 pid i
	pid=$(sp_plugin_pid)
	for ((i = 0; i < 3000; i++)); do
		(($(cat "$d"/code.* 2>/dev/null | grep -o 200 | wc -l || true) >= count)) && break
		sleep 0.01
	done
	kill -KILL "$pid"
	sp_wait_for 10 sh -c "! kill -0 $pid"
}

# crash_during ENDPOINT : N calls of ENDPOINT at once on volume kv (which
# has all N IDs mounted already for Unmount), the plugin killed after a
# quarter were answered, then restarted.
t_kill_during() {
	local ep=$1 v="kv-$1" d want before after ack acked_n members extra missing i sender
	d=$(sp_tmpdir req)
	make_bystanders
	sp_defer hk_quiet_remove keep-a
	sp_defer hk_quiet_remove keep-b
	sp_defer hk_quiet_remove keep-c
	sp_defer hk_quiet_remove "$v"
	sp_assert_eq '200 {"Err":""}' "$(sp_plugin_req /VolumeDriver.Create "{\"Name\":\"$v\"}")"
	if [[ $ep == Unmount ]]; then
		send_all Mount "$v" 1 "$N" "$d"
		sp_assert_eq "$N" "$(sp_members "$v")"
		rm -f "$d"/code.* "$d"/body.*
		want=$UNMOUNT_OK
	else
		want=$MOUNT_OK
	fi
	before=$(snapshot_bystanders)

	send_all "$ep" "$v" 1 "$N" "$d" &
	sender=$!
	kill_after "$d" $((N / 4))
	wait "$sender"
	ack=$(acked "$d" 1 "$N" "$want")
	acked_n=$(grep -c . <<<"$ack" || true)
	echo "$ep: $acked_n of $N acknowledged before the SIGKILL"
	((acked_n >= N / 4 && acked_n < N)) || sp_fail "the kill did not land in the middle ($acked_n of $N answered)"

	sp_plugin_start
	# every volume, as it was
	after=$(snapshot_bystanders)
	sp_assert_eq "$before" "$after" "the other volumes changed"
	sp_assert_eq "$(printf 'keep-a\nkeep-b\nkeep-c\n%s' "$v")" \
		"$(sp_json <(sp_plugin_req /VolumeDriver.List '{}' | cut -d' ' -f2-) '"\n".join(sorted(x["Name"] for x in j["Volumes"]))')"
	# the members: what was acknowledged, and at most the one in flight
	members=$(member_indices "$v")
	if [[ $ep == Mount ]]; then
		missing=$(comm -23 <(sort <<<"$ack") <(sort <<<"$members") | sed '/^$/d')
		extra=$(comm -13 <(sort <<<"$ack") <(sort <<<"$members") | sed '/^$/d')
	else
		# acknowledged Unmounts must be gone; the rest may remain
		missing=$(comm -12 <(sort <<<"$ack") <(sort <<<"$members") | sed '/^$/d')
		extra=$(comm -23 <(seq 1 "$N" | sort) <(sort <<<"$ack") | comm -23 - <(sort <<<"$members") | sed '/^$/d')
	fi
	echo "after the restart: $(grep -c . <<<"$members" || true) members; lost acknowledged: [${missing//$'\n'/ }]; done but unacknowledged: [${extra//$'\n'/ }]"
	[[ -z $missing ]] || sp_fail "acknowledged ${ep}s lost: $missing"
	(($(grep -c . <<<"$extra" || true) <= 1)) || sp_fail "more than the one in-flight $ep took effect unacknowledged: $extra"

	# Docker retries what got no answer: the counts are exact again.
	for ((i = 1; i <= N; i++)); do
		grep -qx "$i" <<<"$ack" || echo "$i"
	done >"$d/retry"
	rm -f "$d"/code.* "$d"/body.*
	local jobs=()
	while read -r i; do
		call "$ep" "$v" "$i" "$d" &
		jobs+=($!)
	done <"$d/retry"
	wait "${jobs[@]}"
	while read -r i; do
		[[ $(cat "$d/code.$i") == 200 ]] && grep -qE "$want" "$d/body.$i" ||
			sp_fail "retry of $ep $i: $(cat "$d/code.$i" "$d/body.$i" "$d/err.$i" 2>&1)"
	done <"$d/retry"
	if [[ $ep == Mount ]]; then
		sp_assert_eq "$(seq 1 "$N")" "$(member_indices "$v")" "members after the retries"
		send_all Unmount "$v" 1 "$N" "$d"
	fi
	sp_assert_eq 0 "$(sp_members "$v")" "members at the end"
	sp_assert_eq '200 {"Err":""}' "$(sp_plugin_req /VolumeDriver.Remove "{\"Name\":\"$v\"}")"
	sp_assert_eq "$before" "$(snapshot_bystanders)" "the other volumes changed"
	sp_plugin_req /VolumeDriver.Unmount "{\"Name\":\"keep-c\",\"ID\":\"$(mount_id 9999)\"}" >/dev/null
	for v in keep-a keep-b; do
		sp_assert_eq '200 {"Err":""}' "$(sp_plugin_req /VolumeDriver.Remove "{\"Name\":\"$v\"}")"
	done
	[[ -z $(ls "$SP_STORE/state") ]] || sp_fail "records left: $(ls "$SP_STORE/state")"
}

sp_test "$N Mounts at once: all answered, exact members throughout; $N Unmounts at once: 0; Remove works" t_mount_unmount_200
sp_test "$N IDs each Mount then Unmount, all at once: nothing left, Remove works" t_mount_unmount_pairs
sp_test "plugin SIGKILLed during $N parallel Mounts, restarted: volumes kept, members = acknowledged (+ at most 1)" \
	t_kill_during Mount
sp_test "plugin SIGKILLed during $N parallel Unmounts, restarted: volumes kept, acknowledged Unmounts stay done" \
	t_kill_during Unmount
sp_done
