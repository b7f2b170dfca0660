# shellcheck shell=bash
# examples/lib/usr-rootfs.sh - the images of the middleware examples: a root
# filesystem of a few directories and the symlinks of a merged-/usr Debian
# (bin, sbin, lib, lib64 -> usr/...), on which the host's /usr is bound
# read-only.  Whatever Debian package the host has installed (iceoryx,
# GStreamer, the C binding's libraries) is then in the container, with no
# image registry and nothing copied.  Source it; it needs nothing but bash.

# usr_rootfs DIR : make the skeleton in DIR (idempotent).
usr_rootfs() {
	local d=$1 l
	mkdir -p "$d"/{usr,tmp,dev,proc,sys,etc,app,run,root,var/tmp}
	chmod 1777 "$d/tmp" "$d/var/tmp"
	for l in bin sbin lib lib64; do
		[[ -e $d/$l || -L $d/$l ]] || ln -s "usr/$l" "$d/$l"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$d/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$d/etc/group"
}

# The OCI mount of the host's /usr, as JSON (runc/crun config.json).
USR_ROOTFS_MOUNT='{"destination": "/usr", "type": "bind", "source": "/usr", "options": ["rbind", "ro", "nosuid", "nodev"]}'
