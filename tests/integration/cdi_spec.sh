#!/bin/bash
# cdi_spec.sh - the CDI spec shmpipectl writes, without an engine: the same
# bytes every time, only persistent pipelines, schema-valid, never torn for
# a reader while create and rm run at once, bad input refused with nothing
# written.  (cdi_podman.sh runs the spec in Podman.)
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup

SPEC_DIR=$SP_TMP/cdi
SCHEMA_CHECK=("$SP_PYTHON" "$SP_REPO/tests/schema_check.py" "$SP_REPO/schemas/cdi.schema.json")
# cdi_config [true|false] : this file's config, with the spec in SPEC_DIR.
cdi_config() {
	printf '{"cdi": %s, "cdi_spec_dir": "%s", "cdi_hook": "%s"}\n' "$1" "$SPEC_DIR" "$HK_HOOK" >"$HK_CONFIG"
}
cdi_config false

devices() { sp_json "$1" '" ".join(d["name"] for d in j["devices"])'; }

# Twice the same bytes, in any directory and on stdout; only persistent
# pipelines, sorted; an unchanged spec is not rewritten.
t_same_bytes() {
	local d2=$SP_CASE_DIR/again ino
	hk_ctl create zeta --size 1m >/dev/null
	hk_ctl create alpha --size 1m >/dev/null
	hk_ctl create eph --size 1m --lifetime ephemeral >/dev/null
	sp_defer hk_ctl rm eph
	hk_ctl cdi
	sp_assert_eq "alpha zeta" "$(devices "$SPEC_DIR/shmpipe.json")" "devices"
	cp "$SPEC_DIR/shmpipe.json" "$SP_CASE_DIR/first.json"
	rm "$SPEC_DIR/shmpipe.json"
	hk_ctl cdi
	cmp "$SP_CASE_DIR/first.json" "$SPEC_DIR/shmpipe.json"
	hk_ctl cdi --dir "$d2"
	cmp "$SP_CASE_DIR/first.json" "$d2/shmpipe.json"
	hk_ctl cdi --stdout | cmp "$SP_CASE_DIR/first.json" -
	ino=$(stat -c %i "$SPEC_DIR/shmpipe.json")
	hk_ctl cdi
	sp_assert_eq "$ino" "$(stat -c %i "$SPEC_DIR/shmpipe.json")" "an unchanged spec is left in place"
	sp_assert_eq "shmpipe.json" "$(ls -A "$SPEC_DIR")" "files in the spec dir"
	# the hook's arguments carry the store, the config and the pipeline
	sp_assert_eq "shmpipe-hook --root $HK_ROOT --config $HK_CONFIG --pipeline alpha createRuntime" \
		"$(sp_json "$SPEC_DIR/shmpipe.json" '" ".join(j["devices"][0]["containerEdits"]["hooks"][0]["args"])')"
	sp_assert_eq "$HK_HOOK" "$(sp_json "$SPEC_DIR/shmpipe.json" 'j["devices"][0]["containerEdits"]["hooks"][1]["path"]')"
}

t_schema() {
	"${SCHEMA_CHECK[@]}" "$SPEC_DIR/shmpipe.json"
	hk_ctl rm alpha
	hk_ctl rm zeta
	hk_ctl cdi
	sp_assert_eq "" "$(devices "$SPEC_DIR/shmpipe.json")" "no devices"
	"${SCHEMA_CHECK[@]}" "$SPEC_DIR/shmpipe.json"
}

# Bad input: one line, exit status, nothing written.
t_bad_input() {
	local out empty=$SP_CASE_DIR/empty
	out=$(hk_ctl cdi --dir relative/dir 2>&1) && sp_fail "relative --dir accepted"
	sp_assert_eq "shmpipectl cdi: --dir must be an absolute path; try 'shmpipectl cdi --help'" "$out"
	out=$(hk_ctl cdi --stdout --dir /tmp 2>&1) && sp_fail "--stdout with --dir accepted"
	out=$(hk_ctl cdi extra 2>&1) && sp_fail "an extra argument accepted"
	sp_assert_contains "$out" 'unexpected argument "extra"'
	mkdir "$empty"
	printf '{"cdi_spec_dir": "%s", "cdi_hook": "%s"}\n' "$empty" "$SP_CASE_DIR/no-such-hook" >"$SP_CASE_DIR/c.json"
	if out=$("$HK_CTL" --root "$HK_ROOT" --config "$SP_CASE_DIR/c.json" cdi 2>&1); then
		sp_fail "a spec naming a missing hook was written"
	fi
	sp_assert_eq "shmpipectl: CDI spec: cdi_hook $SP_CASE_DIR/no-such-hook: No such file or directory" "$out"
	sp_assert_eq "" "$(ls -A "$empty")" "nothing written"
	printf '{"cdi_spec_dir": "etc/cdi"}\n' >"$SP_CASE_DIR/bad.json"
	out=$("$HK_CTL" --root "$HK_ROOT" --config "$SP_CASE_DIR/bad.json" cdi 2>&1) && sp_fail "relative cdi_spec_dir accepted"
	sp_assert_contains "$out" '"cdi_spec_dir" must be an absolute path'
	out=$(echo '{}' | "$HK_HOOK" --pipeline ../etc createRuntime 2>&1) && sp_fail "the hook took --pipeline ../etc"
	sp_assert_eq 'shmpipe-hook: --pipeline: invalid pipeline name "../etc" (want 1-64 of [A-Za-z0-9_.-], starting with a letter or digit)' "$out"
	return 0
}

# Four writers create and remove persistent pipelines at once (each
# refreshing the spec, "cdi": true) while a reader parses the spec
# non-stop: every read is a whole spec, and the last one written lists
# exactly the pipelines left.
t_no_torn_reads() {
	local samples=$SP_CASE_DIR/samples i pids=()
	cdi_config true
	sp_defer cdi_config false
	hk_ctl create keep --size 1m >/dev/null
	sp_defer hk_ctl rm keep
	rm -f "$samples.stop"
	"$SP_PYTHON" - "$SPEC_DIR/shmpipe.json" "$samples" <<'EOF' &
import json, os, sys
spec, out = sys.argv[1:3]
with open(out, "w") as f:
    while not os.path.exists(out + ".stop"):
        try:
            with open(spec) as s:
                data = s.read()
        except FileNotFoundError:
            f.write("absent\n")
            continue
        try:
            f.write("%d\n" % len(json.loads(data)["devices"]))
        except (ValueError, KeyError):
            f.write("torn %r\n" % data[-80:])
EOF
	local reader=$!
	for i in 1 2 3 4; do
		(
			for j in $(seq 15); do
				hk_ctl create "w$i-$j" --size 1m >/dev/null
				hk_ctl rm "w$i-$j"
			done
		) &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || sp_fail "a writer failed"; done
	touch "$samples.stop"
	wait "$reader"
	grep -q torn "$samples" && sp_fail "a reader saw a torn spec: $(grep -m1 torn "$samples")"
	grep -q absent "$samples" && sp_fail "a reader found no spec at some point"
	sp_log "$(wc -l <"$samples") reads, device counts seen: $(sort -n "$samples" | uniq -c | tr -s ' \n' ' ')"
	[[ $(sort -un "$samples" | tail -1) -ge 2 ]] || sp_fail "the reader never saw a writer's device"
	[[ $(wc -l <"$samples") -ge 100 ]] || sp_fail "too few reads to tell"
	sp_assert_eq keep "$(devices "$SPEC_DIR/shmpipe.json")" "devices once the writers are done"
	hk_ctl cdi --stdout | cmp "$SPEC_DIR/shmpipe.json" -
	sp_assert_eq "shmpipe.json" "$(ls -A "$SPEC_DIR")" "no temp file left"
}

# gc brings the spec back in line with the records: here a pipeline created
# while "cdi" was off.
t_gc() {
	cdi_config false
	hk_ctl create late --size 1m >/dev/null
	sp_defer hk_ctl rm late
	sp_assert_not_contains "$(devices "$SPEC_DIR/shmpipe.json")" late "before gc"
	cdi_config true
	sp_defer cdi_config false
	hk_ctl gc
	sp_assert_contains "$(devices "$SPEC_DIR/shmpipe.json")" late "after gc"
}

# A refresh that fails does not undo the change it follows: create and rm
# succeed with one warning line; the spec stays as it was.
t_refresh_fails() {
	local out before
	before=$(cat "$SPEC_DIR/shmpipe.json")
	printf '{"cdi": true, "cdi_spec_dir": "%s", "cdi_hook": "%s"}\n' "$SPEC_DIR" "$SP_CASE_DIR/gone" >"$HK_CONFIG"
	sp_defer cdi_config false
	out=$(hk_ctl create warned --size 1m 2>&1 >/dev/null)
	sp_assert_eq "shmpipectl: warning: CDI spec: cdi_hook $SP_CASE_DIR/gone: No such file or directory (the pipelines are as they are; run 'shmpipectl cdi' once that is fixed)" "$out"
	hk_exists warned || sp_fail "create was undone"
	sp_assert_eq "$before" "$(cat "$SPEC_DIR/shmpipe.json")" "spec after a failed refresh"
	out=$(hk_ctl rm warned 2>&1)
	sp_assert_contains "$out" "warning: CDI spec: cdi_hook"
	hk_exists warned && sp_fail "rm was undone"
	return 0
}

sp_test "cdi: shmpipectl cdi twice gives identical bytes (persistent pipelines only, sorted)" t_same_bytes
sp_test "cdi: the written spec validates against schemas/cdi.schema.json (also with no devices)" t_schema
sp_test "cdi: bad input is refused in one line, nothing written" t_bad_input
sp_test "cdi: a reader never sees a torn spec while create and rm run at once" t_no_torn_reads
sp_test "cdi: gc refreshes the spec" t_gc
sp_test "cdi: a failed refresh warns and leaves create and rm done" t_refresh_fails
sp_done
