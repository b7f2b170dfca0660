#!/usr/bin/env bash
# install/docker/managed-plugin: the plugin as a Docker managed plugin
# (`docker plugin create` from config.json and the make-rootfs.sh bundle),
# against a private dockerd: enabled, containers share a volume through it,
# the store is reachable from the host through the propagated mount.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

BUILD=${BUILD:-$SP_REPO/build}
CTL=$BUILD/shmpipectl
sp_dockerd_start
IMG=$(sp_docker_busybox_image)
P=shmpipe-$SP_RUN_ID:test

t_create_enable() {
	local dir
	dir=$(sp_tmpdir bundle)
	"$SP_REPO/install/docker/managed-plugin/make-rootfs.sh" "$BUILD" "$dir"
	sp_docker plugin create "$P" "$dir" >/dev/null
	sp_docker plugin enable "$P"
	sp_assert_eq true "$(sp_docker plugin inspect -f '{{.Enabled}}' "$P")"
	sp_assert_eq "[CAP_SYS_ADMIN CAP_DAC_OVERRIDE CAP_CHOWN CAP_FOWNER]" \
		"$(sp_docker plugin inspect -f '{{.Config.Linux.Capabilities}}' "$P")"
}
sp_test "docker plugin create + enable from config.json and make-rootfs.sh" t_create_enable

t_share() {
	local a id root line
	sp_docker volume create -d "$P" -o size=2m mv1 >/dev/null
	a=$(sp_docker run -d --volume-driver "$P" -v mv1:/dev/shm "$IMG" sleep 300)
	sp_defer sp_docker rm -f "$a"
	sp_docker exec "$a" shmtool write seg "through the managed plugin"
	sp_assert_eq "through the managed plugin" \
		"$(sp_docker run --rm --volume-driver "$P" -v mv1:/dev/shm "$IMG" shmtool read seg)"
	line=$(sp_docker run --rm --volume-driver "$P" -v mv1:/dev/shm "$IMG" shmtool mountinfo)
	sp_assert_match "$line" 'nosuid,nodev,noexec'
	sp_assert_match "$line" 'size=2048k'
	# The store is the propagated mount, seen from the host.
	id=$(sp_docker plugin inspect -f '{{.Id}}' "$P")
	root=$SP_DOCKER_DIR/data/plugins/$id/propagated-mount
	sp_assert_eq "through the managed plugin" "$(cat "$root/mnt/mv1/seg")"
	if [[ -x $CTL ]]; then
		sp_assert_match "$("$CTL" --root "$root" ls)" 'mv1 +2M'
	fi
	sp_assert_eq 1 "$(sp_json "$root/state/mv1.json" 'len(j["members"])')"
	# Its definition is on the propagated mount too, where host tools look.
	[[ -e $root/definitions/mv1.json ]] || sp_fail "no definition of mv1 under $root"
	sp_docker rm -f "$a" >/dev/null
	sp_assert_eq 0 "$(sp_json "$root/state/mv1.json" 'len(j["members"])')"
	sp_docker volume rm mv1 >/dev/null
	[[ ! -e $root/state/mv1.json ]]
	[[ ! -e $root/definitions/mv1.json ]]
}
sp_test "containers share a volume of the managed plugin" t_share

t_disable() {
	sp_docker plugin disable "$P" >/dev/null
	sp_docker plugin rm "$P" >/dev/null
}
sp_test "docker plugin disable + rm" t_disable

sp_done
