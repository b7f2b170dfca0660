#!/bin/bash
# quota_hook.sh - quotas (max_pipelines, max_total_size) and what a
# container may ask for (container_*), through shmpipectl and through the
# hook in real runc containers: the create past a quota is refused with one
# line naming the key and the config file; the container does not start;
# nothing is left mounted or recorded.  The default config refuses a
# container's io.shmpipe.lifetime=persistent.  (The plugin: quota_plugin.sh.)
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup

# A config of its own per case: HK_CONFIG is read by hk_ctl and hk_bundle.
use_config() {
	HK_CONFIG="$SP_CASE_DIR/config.json"
	echo "$1" >"$HK_CONFIG"
}

# refused_container TAG EXPECTED [hk_bundle options] : a runc container
# with the hook fails to start, with EXPECTED in its error; no new mount.
refused_container() {
	local tag=$1 expected=$2 b out before
	shift 2
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime "$@" -- /bin/sh -c 'echo STARTED'
	before="$SP_CASE_DIR/mounts.before"
	hk_mounts_snapshot "$before"
	if out=$(hk_run runc "$(sp_id "$tag")" "$b" 2>&1); then
		sp_fail "the container started: $out"
	fi
	sp_assert_not_contains "$out" STARTED
	sp_assert_contains "$out" "$expected"
	hk_assert_no_new_mounts "$before"
}

# Every store starts empty per case.
fresh_store() {
	HK_ROOT=$(sp_tmpdir store)
	sp_defer sp_umount_under "$HK_ROOT"
}

t_cli_max_pipelines() {
	local out
	fresh_store
	use_config '{"max_pipelines": 2}'
	hk_ctl create a --size 1m >/dev/null
	hk_ctl create b --size 1m >/dev/null
	if out=$(hk_ctl create c --size 1m 2>&1); then sp_fail "a third pipeline was created"; fi
	sp_assert_eq "shmpipectl: pipeline c: the store holds 2 pipelines, the most allowed (max_pipelines in $HK_CONFIG)" "$out"
	hk_exists c && sp_fail "c has a record"
	hk_mounted c && sp_fail "c is mounted"
	# A place freed is a place again.
	hk_ctl rm a
	hk_ctl create c --size 1m >/dev/null
}
sp_test "CLI: the pipeline past max_pipelines is refused with one line; a freed place can be taken" t_cli_max_pipelines

t_cli_max_total_size() {
	local out
	fresh_store
	use_config '{"max_total_size": "10m"}'
	hk_ctl create a --size 4m >/dev/null
	hk_ctl create b --size 4m >/dev/null
	if out=$(hk_ctl create c --size 4m 2>&1); then sp_fail "12 MiB in all was accepted"; fi
	sp_assert_eq "shmpipectl: pipeline c: size 4M would bring the pipelines' total to 12M, over 10M (max_total_size in $HK_CONFIG)" "$out"
	hk_exists c && sp_fail "c has a record"
	hk_mounted c && sp_fail "c is mounted"
	hk_ctl create c --size 2m >/dev/null
	# Growing one counts too; shrinking never does.
	if out=$(hk_ctl resize a --size 5m 2>&1); then sp_fail "a resize past the total was accepted"; fi
	sp_assert_contains "$out" "(max_total_size in $HK_CONFIG)"
	hk_ctl resize a --size 1m
	hk_ctl resize b --size 7m
}
sp_test "CLI: a size past max_total_size is refused by create and by resize" t_cli_max_total_size

# 8 creates of different names at once with one place left: exactly one wins.
t_cli_race() {
	local i pids=() n
	fresh_store
	use_config '{"max_pipelines": 3}'
	hk_ctl create a --size 1m >/dev/null
	hk_ctl create b --size 1m >/dev/null
	for i in 1 2 3 4 5 6 7 8; do
		hk_ctl create "r$i" --size 1m >/dev/null 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || true; done
	n=$(ls "$HK_ROOT/state" | wc -l)
	sp_assert_eq 3 "$n" "records after the race"
	sp_assert_eq 3 "$(awk -v r="$HK_ROOT/mnt/" 'index($5, r) == 1' /proc/self/mountinfo | wc -l)" "tmpfs after the race"
}
sp_test "CLI: 8 creates racing for the last place under max_pipelines: exactly one wins" t_cli_race

t_hook_max_pipelines() {
	local b out
	fresh_store
	use_config '{"max_pipelines": 1}'
	hk_ctl create first --size 1m >/dev/null
	refused_container hq1 "shmpipe-hook: pipeline second: the store holds 1 pipeline, the most allowed (max_pipelines in $HK_CONFIG)" \
		-a io.shmpipe.pipeline=second
	hk_exists second && sp_fail "second has a record"
	hk_mounted second && sp_fail "second is mounted"
	# The pipeline that exists is joined as before.
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -a io.shmpipe.pipeline=first -- /bin/sh -c 'shmtool mountinfo'
	out=$(hk_run runc "$(sp_id hq1ok)" "$b")
	hk_assert_shm_line "$out" first
}
sp_test "hook: a container auto-creating the pipeline past max_pipelines fails to start with the message" t_hook_max_pipelines

t_hook_max_total_size() {
	fresh_store
	use_config '{"max_total_size": "10m"}'
	hk_ctl create big --size 8m >/dev/null
	refused_container hq2 "shmpipe-hook: pipeline more: size 4M would bring the pipelines' total to 12M, over 10M (max_total_size in $HK_CONFIG)" \
		-a io.shmpipe.pipeline=more -a io.shmpipe.size=4m
	hk_exists more && sp_fail "more has a record"
	return 0
}
sp_test "hook: a container asking for a size past max_total_size fails to start with the message" t_hook_max_total_size

# The default config (no file at all, and an empty one): a container's
# io.shmpipe.lifetime=persistent is refused; without it, its pipeline is
# ephemeral and goes with it.
t_hook_persistent_default() {
	local b out
	fresh_store
	use_config '{}'
	refused_container hq3 "shmpipe-hook: pipeline keep: annotation io.shmpipe.lifetime=persistent is not allowed for containers (container_persistent in $HK_CONFIG)" \
		-a io.shmpipe.pipeline=keep -a io.shmpipe.lifetime=persistent -a io.shmpipe.size=200m
	hk_exists keep && sp_fail "keep was created"
	hk_mounted keep && sp_fail "keep is mounted"
	# No config file at all: the built-in defaults say the same (unless this
	# host has a /etc/shmpipe/config.json, which the hook would then read).
	if [[ ! -e /etc/shmpipe/config.json ]]; then
		b=$(sp_tmpdir bundle)
		sp_runc_bundle "$b" -a io.shmpipe.pipeline=keep -a io.shmpipe.lifetime=persistent \
			-H "createRuntime=/usr/bin/env -u SHMPIPE_CONFIG $HK_HOOK --root $HK_ROOT createRuntime" -- /bin/sh -c 'echo STARTED'
		if out=$(hk_run runc "$(sp_id hq3b)" "$b" 2>&1); then sp_fail "started: $out"; fi
		sp_assert_contains "$out" "annotation io.shmpipe.lifetime=persistent is not allowed for containers (container_persistent in the built-in defaults; no config file was read)"
	fi
	# Without the annotation: ephemeral, and gone when the container is.
	use_config '{}'
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -a io.shmpipe.pipeline=keep -a io.shmpipe.size=16m -- \
		/bin/sh -c 'dd if=/dev/zero of=/dev/shm/x bs=1M count=8 2>/dev/null && echo WROTE'
	sp_assert_eq WROTE "$(hk_run runc "$(sp_id hq3c)" "$b")"
	hk_exists keep && sp_fail "keep outlived its container"
	hk_mounted keep && sp_fail "keep's tmpfs outlived its container"
	return 0
}
sp_test "default config: a container's lifetime=persistent is refused; without it the pipeline goes with the container" t_hook_persistent_default

t_hook_container_caps() {
	local b out
	fresh_store
	use_config '{"default_size": "16m", "container_max_size": "32m", "container_options": ["size"], "container_persistent": true}'
	refused_container hq4 "shmpipe-hook: pipeline cap: size 64M exceeds the configured maximum for pipelines containers create, 32M (container_max_size in $HK_CONFIG)" \
		-a io.shmpipe.pipeline=cap -a io.shmpipe.size=64m
	refused_container hq5 "shmpipe-hook: pipeline cap: annotation io.shmpipe.mode is not allowed for containers (container_options in $HK_CONFIG)" \
		-a io.shmpipe.pipeline=cap -a io.shmpipe.mode=0777
	hk_exists cap && sp_fail "cap was created"
	# Within the caps: fine.
	b=$(sp_tmpdir bundle)
	hk_bundle "$b" createRuntime -a io.shmpipe.pipeline=cap -a io.shmpipe.size=32m -- /bin/sh -c 'stat -f -c "%b %S" /dev/shm'
	out=$(hk_run runc "$(sp_id hq4ok)" "$b")
	sp_assert_eq $((32 << 20)) "$(awk '{print $1 * $2}' <<<"$out")"
}
sp_test "hook: container_max_size and container_options refuse what a container may not ask for" t_hook_container_caps

# The runtime wrapper creates pipelines too (docker run --runtime shmpipe):
# the same refusals, before runc runs, with config.json untouched.
t_runtime_wrapper() {
	local b out before
	fresh_store
	use_config '{"max_pipelines": 1}'
	hk_ctl create first --size 1m >/dev/null
	wrapped() {
		sp_timeout "$HK_BUILD/shmpipe-runtime" --shmpipe-root "$HK_ROOT" --shmpipe-config "$HK_CONFIG" \
			--shmpipe-hook "$HK_HOOK" --shmpipe-runtime runc --root "$SP_TMP/runc" run --bundle "$1" "$2" </dev/null
	}
	b=$(sp_tmpdir bundle)
	sp_runc_bundle "$b" -a io.shmpipe.pipeline=second -- /bin/sh -c 'echo STARTED'
	before=$(sha256sum <"$b/config.json")
	sp_defer hk_quiet sp_runc delete -f "$(sp_id rw1)"
	if out=$(wrapped "$b" "$(sp_id rw1)" 2>&1); then sp_fail "the container started: $out"; fi
	sp_assert_contains "$out" "pipeline second: the store holds 1 pipeline, the most allowed (max_pipelines in $HK_CONFIG)"
	sp_assert_eq "$before" "$(sha256sum <"$b/config.json")" "config.json changed"
	hk_exists second && sp_fail "second was created"
	use_config '{}'
	b=$(sp_tmpdir bundle)
	sp_runc_bundle "$b" -a io.shmpipe.pipeline=keep -a io.shmpipe.lifetime=persistent -- /bin/sh -c 'echo STARTED'
	sp_defer hk_quiet sp_runc delete -f "$(sp_id rw2)"
	if out=$(wrapped "$b" "$(sp_id rw2)" 2>&1); then sp_fail "the container started: $out"; fi
	sp_assert_contains "$out" "pipeline keep: annotation io.shmpipe.lifetime=persistent is not allowed for containers (container_persistent in $HK_CONFIG)"
	hk_exists keep && sp_fail "keep was created"
	return 0
}
sp_test "runtime wrapper: max_pipelines and a container's lifetime=persistent refused before runc runs" t_runtime_wrapper

sp_done
