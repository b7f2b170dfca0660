#!/usr/bin/env bash
# quota_plugin.sh - quotas through the Docker volume plugin and a real
# (private) dockerd: `docker volume create` and the implicit create of
# `docker run -v NAME:/dev/shm` past max_pipelines or max_total_size are
# refused with the config's key and file in Docker's error; nothing is left.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/plugin.sh"

CFG=$SP_TMP/quota-config.json
echo '{"max_pipelines": 2, "max_total_size": "10m"}' >"$CFG"
sp_plugin_start --config "$CFG"
sp_dockerd_start
IMG=$(sp_docker_busybox_image)
D=$SP_DRIVER

no_trace() {
	[[ ! -e $SP_STORE/state/$1.json ]] || sp_fail "$1 has a record"
	! grep -q " $SP_STORE/mnt/$1 " /proc/self/mountinfo || sp_fail "$1 is mounted"
}

t_total_size() {
	local out
	sp_docker volume create -d "$D" -o size=8m q1 >/dev/null
	if out=$(sp_docker volume create -d "$D" -o size=4m q2 2>&1); then sp_fail "12 MiB in all was accepted"; fi
	sp_assert_contains "$out" "pipeline q2: size 4M would bring the pipelines' total to 12M, over 10M (max_total_size in $CFG)"
	no_trace q2
	! sp_docker volume ls -q | grep -qx q2 || sp_fail "docker lists q2"
}
sp_test "plugin: docker volume create past max_total_size is refused with the key and the file" t_total_size

t_max_pipelines() {
	local out
	sp_docker volume create -d "$D" -o size=1m q3 >/dev/null
	if out=$(sp_docker volume create -d "$D" -o size=1m q4 2>&1); then sp_fail "a third volume was created"; fi
	sp_assert_contains "$out" "pipeline q4: the store holds 2 pipelines, the most allowed (max_pipelines in $CFG)"
	no_trace q4
	# The implicit create of docker run: the container does not start.
	if out=$(sp_drun --rm -v q5:/dev/shm "$IMG" echo STARTED 2>&1); then sp_fail "the container started: $out"; fi
	sp_assert_not_contains "$out" STARTED
	sp_assert_contains "$out" "(max_pipelines in $CFG)"
	no_trace q5
	# The volumes that exist still work.
	sp_assert_eq hi "$(sp_drun --rm -v q3:/dev/shm "$IMG" sh -c 'shmtool write x hi && shmtool read x')"
	# A place freed is a place again.
	sp_docker volume rm q1 >/dev/null
	sp_docker volume create -d "$D" -o size=1m q4 >/dev/null
}
sp_test "plugin: the volume past max_pipelines is refused, by volume create and by docker run -v" t_max_pipelines

sp_done
