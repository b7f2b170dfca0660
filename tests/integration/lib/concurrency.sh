# shellcheck shell=bash
# tests/integration/lib/concurrency.sh - watching a pipeline's record while
# many writers change it (concurrency_*.sh).  Source after lib/common.sh.
#
#   sampler_start "$root/state/NAME.json" "$dir/up.samples"
#   ... start many members ...
#   sampler_stop "$dir/up.samples"
#   check_samples "$dir/up.samples" up 64

# sampler_start STATE OUT : a reader that parses STATE every few ms while
# the containers come and go and writes one line per look: the member
# count, "absent", or "torn ..." (a reader must never see a torn record).
sampler_start() {
	local state=$1 out=$2
	rm -f "$out.stop"
	"$SP_PYTHON" - "$state" "$out" <<'EOF' &
import json, os, sys, time
state, out = sys.argv[1:3]
with open(out, "w") as f:
    while not os.path.exists(out + ".stop"):
        try:
            with open(state) as s:
                data = s.read()
        except FileNotFoundError:
            f.write("absent\n")
        else:
            try:
                f.write("%d\n" % len(json.loads(data)["members"]))
            except (ValueError, KeyError) as e:
                f.write("torn %r\n" % data[:120])
        time.sleep(0.005)
EOF
	SAMPLER_PID=$!
}

sampler_stop() {
	touch "$1.stop"
	wait "$SAMPLER_PID"
}

# check_samples FILE up|down MAX : the counts a reader saw moved one way
# only, stayed within 0..MAX, and (up) the pipeline never vanished once it
# existed / (down) never came back once it was gone.
check_samples() {
	"$SP_PYTHON" - "$@" <<'EOF'
import sys
path, way, top = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = [l.strip() for l in open(path) if l.strip()]
torn = [l for l in seen if l.startswith("torn")]
if torn:
    sys.exit("a reader saw a torn record: %s" % torn[0])
vals = [None if l == "absent" else int(l) for l in seen]
if way == "down":
    vals.reverse()
# now the pipeline must be absent first, then counts that only grow
first = next((i for i, v in enumerate(vals) if v is not None), len(vals))
if any(v is None for v in vals[first:]):
    sys.exit("the pipeline vanished while members were %s" % ("joining" if way == "up" else "leaving"))
nums = vals[first:]
bad = [(a, b) for a, b in zip(nums, nums[1:]) if b < a]
if bad:
    sys.exit("member count went %s: %s -> %s" % ("down" if way == "up" else "up", bad[0][0], bad[0][1]))
if nums and (min(nums) < 0 or max(nums) > top):
    sys.exit("member count out of 0..%d: %s" % (top, (min(nums), max(nums))))
print("%d looks, %d distinct counts, range %s" % (len(seen), len(set(nums)), (min(nums), max(nums)) if nums else None))
EOF
}

