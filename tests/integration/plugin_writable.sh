#!/usr/bin/env bash
# A Docker volume's /dev/shm is writable from the first mount, without
# `:nocopy`: the README's Docker recipe as written, with a non-root user.
#
# Docker 20.10 copies an image's directory onto an empty volume at container
# create (populateVolumes -> CopyImagePathContent: Mount with a random ID,
# copy, chown/chmod of the volume's root to the directory's, Unmount).  For
# most images /dev/shm comes from Docker's init layer, 0755 root; the image
# here is built the same way (no /dev/shm of its own), so without the
# plugin's restore the root would be 0755 root and these cases fail.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/plugin.sh"

sp_plugin_start
sp_dockerd_start
D=$SP_DRIVER

# shmpipe-noshm:test - the busybox rootfs without /dev/shm, like most images.
IMG=shmpipe-noshm:test
img_dir=$(sp_tmpdir noshm)
sp_busybox_rootfs "$img_dir/rootfs"
rmdir "$img_dir/rootfs/dev/shm"
tar -C "$img_dir/rootfs" -c . | sp_docker import --change 'CMD ["/bin/sh"]' \
	--change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' - "$IMG" >/dev/null

# Status of `docker volume inspect NAME`: "MODE UID GID".
inspect_root() {
	sp_docker volume inspect "$1" >"$SP_CASE_DIR/$1.json"
	sp_json "$SP_CASE_DIR/$1.json" \
		'"%s %s %s" % (j[0]["Status"]["mode"], j[0]["Status"]["uid"], j[0]["Status"]["gid"])'
}

t_readme_recipe() {
	local a out
	# README's Quick start, Docker, as written (the driver is this run's).
	sp_docker volume create -d "$D" -o size=1g -o huge=within_size frames >/dev/null
	a=$(sp_docker run -d --volume-driver "$D" -v frames:/dev/shm -u 1000 "$IMG" sleep 300)
	sp_defer sp_docker rm -f "$a"
	sp_docker exec "$a" shmtool write seg "written by uid 1000"
	sp_assert_eq "written by uid 1000" "$(sp_docker exec "$a" shmtool read seg)"
	# A second non-root container of the recipe reads and writes it too.
	out=$(sp_docker run --rm --volume-driver "$D" -v frames:/dev/shm -u 1000 "$IMG" \
		sh -c 'shmtool read seg && echo && shmtool write seg2 ok && shmtool read seg2')
	sp_assert_eq $'written by uid 1000\nok' "$out"
	sp_assert_eq 1000 "$(stat -c %u "$SP_STORE/mnt/frames/seg")"
	# The copy did happen, and was undone: the plugin says so.
	sp_assert_contains "$(cat "$SP_PLUGIN_LOG")" "volume frames: root was 0755 0:0"
}
sp_test "README recipe without :nocopy: -u 1000 writes and reads a segment" t_readme_recipe

t_mode_equals_inspect() {
	local want got
	sp_docker volume create -d "$D" -o mode=1770 -o uid=1000 -o gid=1001 modes >/dev/null
	want=$(inspect_root modes)
	sp_assert_eq "1770 1000 1001" "$want" "inspect"
	got=$(sp_docker run --rm --volume-driver "$D" -v modes:/dev/shm "$IMG" stat -c '%a %u %g' /dev/shm)
	sp_assert_eq "$want" "$got" "/dev/shm inside the container"
	# And the defaults: a volume made by `docker run -v` itself.
	got=$(sp_docker run --rm --volume-driver "$D" -v implicit:/dev/shm "$IMG" stat -c '%a %u %g' /dev/shm)
	sp_assert_eq "$(inspect_root implicit)" "$got" "/dev/shm of an implicitly created volume"
	sp_assert_eq "1777 0 0" "$got"
}
sp_test "the mode, uid and gid inside the container equal docker volume inspect's" t_mode_equals_inspect

t_group() {
	local out rc=0
	sp_docker volume create -d "$D" -o mode=0770 -o gid=1000 grp >/dev/null
	sp_docker run --rm --volume-driver "$D" -v grp:/dev/shm -u 2000 --group-add 1000 "$IMG" \
		shmtool write member yes
	sp_assert_eq yes "$(cat "$SP_STORE/mnt/grp/member")"
	out=$(sp_docker run --rm --volume-driver "$D" -v grp:/dev/shm -u 2000 "$IMG" \
		shmtool write outsider no 2>&1) || rc=$?
	echo "$out"
	[[ $rc -ne 0 ]] || sp_fail "a container without group 1000 wrote to a 0770 root:1000 volume"
	sp_assert_contains "$out" "Permission denied"
	[[ ! -e $SP_STORE/mnt/grp/outsider ]] || sp_fail "the outsider's segment exists"
	sp_assert_eq "770 0 1000" "$(stat -c '%a %u %g' "$SP_STORE/mnt/grp")"
}
sp_test "-o mode=0770 -o gid=1000: --group-add 1000 writes, a container without it cannot" t_group

sp_done
