#!/usr/bin/env bash
# middleware_iceoryx.sh - iceoryx 2.0 (Debian's iceoryx and its C binding)
# in runc containers of shmpipe pipelines with a socket directory at /tmp,
# no host directory bound, no --ipc host.  Shows that:
#   - examples/iceoryx/runc.sh passes 100 samples of 1 MiB from a publisher
#     to a subscriber through RouDi, three containers, every byte of every
#     payload checked by the subscriber and each sample's CRC-32 checked here
#     against one computed independently; two pipelines do it at the same
#     time, each with its own RouDi; both ephemeral pipelines are gone after;
#   - a container of no pipeline finds no RouDi at /tmp/roudi (its app waits
#     for RouDi in vain), and a container of the second pipeline reaches the
#     second RouDi only: the first RouDi never hears of either, and keeps
#     serving its own pipeline.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
. "$SP_REPO/examples/lib/usr-rootfs.sh"
hk_setup

EX=$SP_REPO/examples/iceoryx
BIN=$SP_TMP/iceoryx-bin
COUNT=${SP_ICEORYX_COUNT:-100}
BYTES=1048576
command -v iox-roudi >/dev/null || sp_fail "iceoryx is not installed (install/deps.sh)"
make -s -C "$EX" OUT="$BIN" >&2
ROOTFS=$SP_TMP/usr-rootfs
usr_rootfs "$ROOTFS"
mkdir -p "$SP_TMP/app"
cp "$BIN/publisher" "$BIN/subscriber" "$EX/roudi.toml" "$SP_TMP/app/"

# expected_crcs N BYTES : "sample n size BYTES crc32 X ok" for n < N, from the
# pattern of sample.h (byte i of sample n = (i % 251 + n) & 255), computed
# here without the apps.
expected_crcs() {
	"$SP_PYTHON" - "$1" "$2" <<'PY'
import sys, zlib, numpy
n, size = int(sys.argv[1]), int(sys.argv[2])
base = numpy.arange(size, dtype=numpy.uint64) % 251
for k in range(n):
    crc = zlib.crc32(((base + k) & 255).astype(numpy.uint8).tobytes())
    print("subscriber: sample %d size %d crc32 %08x ok" % (k, size, crc))
PY
}

# check_pipeline OUT : the subscriber's lines are the expected ones, and it
# says all arrived intact.
check_pipeline() {
	local out=$1 got
	sp_assert_contains "$out" "[sub] subscriber: received $COUNT of $COUNT samples, $COUNT intact"
	sp_assert_contains "$out" "[sub] subscriber: OK"
	sp_assert_contains "$out" "[pub] publisher: published $COUNT samples of $BYTES bytes"
	got=$(sed -n 's/^\[sub\] \(subscriber: sample .*\)$/\1/p' <<<"$out")
	[[ $got == "$(expected_crcs "$COUNT" "$BYTES")" ]] || {
		diff <(expected_crcs "$COUNT" "$BYTES") <(echo "$got") | head -n 20 >&2 || true
		sp_fail "per-sample CRCs differ from the expected ones"
	}
}

t_two_pipelines() {
	local w1 w2 rc1=0 rc2=0 p1 p2
	w1=$(sp_tmpdir work) w2=$(sp_tmpdir work)
	p1=$(sp_id iox1) p2=$(sp_id iox2)
	# the two pipelines at the same time, each RouDi in its own
	"$EX/runc.sh" --hook "$HK_HOOK" --hook-opt --root --hook-opt "$HK_ROOT" --bin "$BIN" \
		--pipeline "$p1" --count "$COUNT" --bytes $BYTES --verbose --work "$w1" \
		>"$SP_CASE_DIR/p1.out" 2>&1 &
	local pid1=$!
	"$EX/runc.sh" --hook "$HK_HOOK" --hook-opt --root --hook-opt "$HK_ROOT" --bin "$BIN" \
		--pipeline "$p2" --count "$COUNT" --bytes $BYTES --verbose --work "$w2" \
		>"$SP_CASE_DIR/p2.out" 2>&1 || rc2=$?
	wait "$pid1" || rc1=$?
	tail -n 5 "$SP_CASE_DIR/p1.out" "$SP_CASE_DIR/p2.out"
	sp_assert_eq "0 0" "$rc1 $rc2" "runc.sh exit statuses"
	check_pipeline "$(cat "$SP_CASE_DIR/p1.out")"
	check_pipeline "$(cat "$SP_CASE_DIR/p2.out")"
	for p in "$p1" "$p2"; do
		! hk_exists "$p" || sp_fail "ephemeral pipeline $p left"
		[[ ! -e $HK_ROOT/sockets/$p ]] || sp_fail "socket directory of $p left"
		! grep -q "shmpipe-sockets-$p \|shmpipe-$p " /proc/self/mountinfo || sp_fail "$p still mounted"
	done
}

# iox_bundle DIR PIPELINE|- CMD : a bundle on the /usr image with the apps at
# /app and the hook; PIPELINE "-" is a container of no pipeline.
iox_bundle() {
	local dir=$1 pipe=$2 cmd=$3
	local -a ann=()
	[[ $pipe == - ]] || ann=(-a "io.shmpipe.pipeline=$pipe")
	hk_bundle "$dir" createRuntime -r "$ROOTFS" "${ann[@]}" -e PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		-- /bin/sh -c "$cmd"
	"$SP_PYTHON" - "$dir/config.json" "$SP_TMP/app" "$USR_ROOTFS_MOUNT" <<'PY'
import json, sys
path, app, usr = sys.argv[1:4]
with open(path) as f:
    c = json.load(f)
c["mounts"].append(json.loads(usr))
c["mounts"].append({"destination": "/app", "type": "bind", "source": app,
                    "options": ["rbind", "ro", "nosuid", "nodev"]})
with open(path, "w") as f:
    json.dump(c, f, indent="\t")
PY
}

# roudi PIPELINE : start a RouDi container (debug log: it names every
# application that registers) and wait for its socket in the store.
roudi() {
	local p=$1 b
	b=$(sp_tmpdir roudi)
	iox_bundle "$b" "$p" "exec iox-roudi -c /app/roudi.toml -l debug"
	hk_run -d runc "$(sp_id "roudi-$p")" "$b"
	echo "$b" >"$SP_CASE_DIR/roudi-$p"
	sp_wait_for 30 test -S "$HK_ROOT/sockets/$p/roudi" || {
		cat "$b/stderr.log" "$b/stdout.log" >&2
		sp_fail "RouDi of $p did not come up"
	}
}
roudi_log() { cat "$(cat "$SP_CASE_DIR/roudi-$1")/stdout.log" "$(cat "$SP_CASE_DIR/roudi-$1")/stderr.log"; }

# run_in PIPELINE|- NAME CMD : a foreground container; prints its output.
run_in() {
	local b
	b=$(sp_tmpdir bundle)
	iox_bundle "$b" "$1" "$3"
	hk_run runc "$(sp_id "$2")" "$b" 2>&1
}

t_isolation() {
	local one=iso1 two=iso2 out rc=0 ino1 ino2
	hk_ctl create $one --size 192m --sockets /tmp >/dev/null
	sp_defer hk_ctl rm --force $one
	hk_ctl create $two --size 192m --sockets /tmp >/dev/null
	sp_defer hk_ctl rm --force $two
	roudi $one
	roudi $two

	# no pipeline: nothing at /tmp/roudi, and an app finds no RouDi (it
	# would wait 60 s; it is cut short after 5)
	out=$(run_in - none 'test -S /tmp/roudi && echo "roudi socket visible" ||
		echo "no roudi socket"; timeout -s KILL 5 /app/publisher --name intruder-none --timeout 1; echo "status $?"')
	sp_assert_contains "$out" "no roudi socket"
	sp_assert_contains "$out" "RouDi not found"
	sp_assert_contains "$out" "status 137"
	# the second pipeline: its RouDi's socket, which is not the first one's
	ino1=$(stat -c %i "$HK_ROOT/sockets/$one/roudi")
	ino2=$(stat -c %i "$HK_ROOT/sockets/$two/roudi")
	out=$(run_in $two two 'stat -c "inode %i" /tmp/roudi; /app/publisher --name intruder-two --timeout 1; echo "status $?"')
	sp_assert_contains "$out" "inode $ino2"
	sp_assert_not_contains "$out" "inode $ino1 "
	sp_assert_contains "$out" "no subscriber on shmpipe after 1 s"
	sp_wait_for 10 grep -q "Registered new application intruder-two" \
		<(roudi_log $two) || sp_fail "the second RouDi did not see its own member"
	# the first RouDi heard of neither ...
	sp_assert_not_contains "$(roudi_log $one)" "intruder"
	# ... and still serves its pipeline
	run_in $one sub1 "/app/subscriber --count $COUNT --timeout 60" >"$SP_CASE_DIR/sub" &
	local sub=$!
	out=$(run_in $one pub1 "/app/publisher --count $COUNT --size $BYTES --timeout 60") || rc=$?
	wait "$sub" || rc=$((rc ? rc : $?))
	cat "$SP_CASE_DIR/sub"
	sp_assert_eq 0 "$rc" "publisher/subscriber in $one"
	sp_assert_contains "$(cat "$SP_CASE_DIR/sub")" "received $COUNT of $COUNT samples, $COUNT intact"
	sp_assert_contains "$(roudi_log $one)" "Registered new application shmpipe-subscriber"
	sp_assert_not_contains "$(roudi_log $one)" "intruder"
}

t_docker() {
	local out via=$1 wrapper
	sp_require_cmd dockerd
	if [[ $via == plugin ]]; then
		SP_STORE=$HK_ROOT
		. "$(dirname "$0")/lib/plugin.sh"
		sp_plugin_start
		sp_defer sp_plugin_stop
		sp_dockerd_start
	else
		wrapper="$SP_TMP/shmpipe-runtime-test"
		printf '#!/bin/sh\nexec %q --shmpipe-root %q --shmpipe-hook %q "$@"\n' \
			"$HK_BUILD/shmpipe-runtime" "$HK_ROOT" "$HK_HOOK" >"$wrapper"
		chmod +x "$wrapper"
		sp_dockerd_start --add-runtime "shmpipe=$wrapper"
	fi
	export DOCKER_HOST=$SP_DOCKER_HOST DOCKER_CONFIG=$SP_DOCKER_DIR/client
	out=$(sp_timeout "$EX/docker.sh" --via "$via" --bin "$BIN" --pipeline "iox$via" --count "$COUNT" \
		--bytes $BYTES --image "shmpipe-usr:$SP_RUN_ID" --driver "${SP_DRIVER:-shmpipe}" \
		--ctl "$HK_CTL" --ctl-opt --root --ctl-opt "$HK_ROOT")
	echo "$out"
	sp_assert_contains "$out" "[sub] subscriber: received $COUNT of $COUNT samples, $COUNT intact"
	sp_assert_contains "$out" "publisher: published $COUNT samples of $BYTES bytes"
	! hk_exists "iox$via" || sp_fail "pipeline left"
	[[ ! -e $HK_ROOT/sockets/iox$via ]] || sp_fail "socket directory left"
}

sp_test "iceoryx: RouDi, subscriber, publisher in three containers of a pipeline with sockets=/tmp, $COUNT samples of 1 MiB checked; a second pipeline at the same time" t_two_pipelines
sp_test "iceoryx: a container of no pipeline and one of another pipeline cannot reach a pipeline's RouDi" t_isolation
sp_test "iceoryx on Docker with the volume plugin (volumes NAME and NAME.sockets)" t_docker plugin
sp_test "iceoryx on Docker with shmpipe-runtime" t_docker runtime
sp_done
