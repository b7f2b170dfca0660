#!/usr/bin/env bash
# The store's quota totals (ROOT/totals: how many records, the sum of their
# sizes) stay exact: after an operation killed at each of its fault points,
# after racing creates, removes, resizes and joins (some of them killed),
# and after another release (or a hand) changed the store without counting.
# "Exact" is checked three ways: the file against a count of the records
# made here, a quota decision at the limit, and gc finding nothing to fix.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

. "$(dirname "$0")/lib/store.sh"

# The records as this test counts them: "PIPELINES BYTES" (sizes rounded up
# to a 4 KiB page, as tmpfs counts them).
recount() {
	"$SP_PYTHON" - "$root/state" <<'PY'
import json, os, sys
n = b = 0
for f in os.listdir(sys.argv[1]):
    if f.endswith(".json") and not f.startswith("."):
        n += 1
        with open(os.path.join(sys.argv[1], f)) as fh:
            b += (json.load(fh)["size"] + 4095) // 4096 * 4096
print(n, b)
PY
}

# The file's numbers: "PIPELINES BYTES", or "pending" while a change a crash
# left behind is still to be settled by the next operation.
totals() {
	[[ -f $root/totals ]] || { echo missing; return; }
	grep -q '^pending ' "$root/totals" && { echo pending; return; }
	awk '$1 == "pipelines" { n = $2 } $1 == "bytes" { b = $2 } END { print n, b }' "$root/totals"
}

# The totals are exact now (WHEN says after what).
assert_exact() {
	local when=$1 out
	"$CTL" create probe --size 1m >/dev/null # settles anything pending
	sp_assert_eq "$(recount)" "$(totals)" "totals after $when and a create"
	"$CTL" rm probe
	sp_assert_eq "$(recount)" "$(totals)" "totals after $when, a create and a remove"
	out=$("$CTL" gc)
	sp_assert_not_contains "$out" "quota totals"
}

# crash OP POINT: OP (create, join, resize, rm, leave) killed at POINT, in a
# store that holds other pipelines.
crash() {
	local op=$1 point=$2 rc=0
	new_root
	printf '{"auto_lifetime": "ephemeral"}\n' >"$root/config.json"
	export SHMPIPE_CONFIG=$root/config.json
	"$CTL" create keep --size 2m >/dev/null
	case $op in
	resize | rm) "$CTL" create victim --size 1m >/dev/null ;;
	leave)
		"$CTL" create victim --lifetime ephemeral --size 1m >/dev/null
		"$CTL" join victim --id c1
		;;
	esac
	sp_assert_eq "$(recount)" "$(totals)" "totals before $op"
	case $op in
	create) SHMPIPE_FAULT=$point "$CTL" create victim --size 3m >/dev/null || rc=$? ;;
	join) SHMPIPE_FAULT=$point "$CTL" join victim --create --id c1 || rc=$? ;;
	resize) SHMPIPE_FAULT=$point "$CTL" resize victim --size 5m || rc=$? ;;
	rm) SHMPIPE_FAULT=$point "$CTL" rm victim || rc=$? ;;
	leave) SHMPIPE_FAULT=$point "$CTL" leave victim --id c1 || rc=$? ;;
	esac
	sp_assert_eq 137 "$rc" "$op killed at $point"
	assert_exact "$op killed at $point"
	"$CTL" rm --force victim 2>/dev/null || true
	assert_exact "removing what $op left"
}

# Workers create, remove, resize, join-create and leave pipelines of a small
# name space at once, against tight quotas; a quarter of their operations
# are killed at a fault point.  Quotas hold throughout; the totals end exact.
t_race() {
	local w pids=() n b
	new_root
	printf '{"max_pipelines": 6, "max_total_size": "12m", "auto_lifetime": "ephemeral"}\n' >"$root/config.json"
	export SHMPIPE_CONFIG=$root/config.json
	for w in 1 2 3 4; do
		(
			points=(totals:pending create:mounted state:written totals:settled resize:remounted
				destroy:unrecorded join:created leave:destroying)
			RANDOM=$w
			for ((i = 0; i < 40; i++)); do
				name=r$((RANDOM % 8)) fault=
				((RANDOM % 4 == 0)) && fault=${points[RANDOM % ${#points[@]}]}
				case $((RANDOM % 5)) in
				0) SHMPIPE_FAULT=$fault "$CTL" create "$name" --size $((1 + RANDOM % 3))m ;;
				1) SHMPIPE_FAULT=$fault "$CTL" rm --force "$name" ;;
				2) SHMPIPE_FAULT=$fault "$CTL" resize "$name" --size $((1 + RANDOM % 4))m ;;
				3) SHMPIPE_FAULT=$fault "$CTL" join "$name" --create --id "w$w" ;;
				4) SHMPIPE_FAULT=$fault "$CTL" leave "$name" --id "w$w" ;;
				esac
			done
		) >/dev/null 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}" || true
	read -r n b <<<"$(recount)"
	((n <= 6)) || sp_fail "$n records, over max_pipelines 6"
	((b <= 12 * 1024 * 1024)) || sp_fail "$b bytes recorded, over max_total_size 12m"
	assert_exact "the race"
	# At the limit, exactly: fill the store to max_pipelines, one more is refused.
	"$CTL" gc >/dev/null
	for name in $(ls "$root/state"); do
		read -r n b <<<"$(recount)"
		((b + (6 - n) * 1024 * 1024 <= 12 * 1024 * 1024)) && break
		"$CTL" rm --force "${name%.json}"
	done
	read -r n b <<<"$(recount)"
	for ((i = n; i < 6; i++)); do
		"$CTL" create "fill$i" --size 1m >/dev/null || sp_fail "create $((i + 1)) of 6 refused: the totals count too much"
	done
	sp_assert_fails "$CTL" create fill6 --size 1m
}

# Another release (or a hand) created a pipeline without counting it: the
# totals are older than the store's last create, so they are recounted
# before the next check, and gc reports a file it had to fix.
t_changed_behind() {
	local out
	new_root
	printf '{"max_pipelines": 2}\n' >"$root/config.json"
	export SHMPIPE_CONFIG=$root/config.json
	"$CTL" create a --size 1m >/dev/null
	cp "$root/totals" "$SP_TMP/totals.old"
	sleep 0.02 # past the mount directory's timestamp granularity
	"$CTL" create b --size 1m >/dev/null
	cp "$SP_TMP/totals.old" "$root/totals" # as if b had been made uncounted
	out=$("$CTL" create c --size 1m 2>&1) && sp_fail "a third pipeline under max_pipelines 2"
	sp_assert_contains "$out" "the store holds 2 pipelines"
	sp_assert_eq "$(recount)" "$(totals)"
	# Wrong numbers gc must fix; a missing file is rebuilt by the next create.
	sed -i 's/^bytes .*/bytes 1/' "$root/totals"
	out=$("$CTL" gc)
	sp_assert_contains "$out" "rebuilt the quota totals: 2 pipelines, 2M"
	rm "$root/totals"
	"$CTL" rm b
	sp_assert_eq "$(recount)" "$(totals)"
	out=$("$CTL" gc)
	sp_assert_not_contains "$out" "quota totals"
}

# Each operation at each of its fault points, in the order it reaches them.
cases=(
	"create totals:pending create:mounted state:written totals:settled"
	"join join:locked join:created join:recorded"
	"resize totals:pending resize:remounted state:written totals:settled"
	"rm totals:pending destroy:unrecorded totals:settled"
	"leave leave:destroying destroy:unrecorded"
)
for c in "${cases[@]}"; do
	read -r op points <<<"$c"
	for point in $points; do
		sp_test "$op killed at $point: totals exact" crash "$op" "$point"
	done
done
sp_test "racing creates, removes, resizes, joins (some killed): quotas hold, totals exact" t_race
sp_test "a pipeline made uncounted (another release): recounted before the check; gc fixes wrong numbers" t_changed_behind
sp_done
