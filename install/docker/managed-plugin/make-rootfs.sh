#!/bin/sh
# make-rootfs.sh BUILD DIR: lay out DIR as a Docker managed-plugin bundle
# (DIR/config.json + DIR/rootfs) holding BUILD/shmpipe-plugin and the shared
# libraries it links, so that `docker plugin create NAME DIR` takes it.
# Uses only the host's files (no image pull); see README.md beside this.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILD DIR" >&2
	exit 2
fi
build=$1
dir=$2
here=$(cd "$(dirname "$0")" && pwd)
bin=$build/shmpipe-plugin
[ -x "$bin" ] || { echo "make-rootfs.sh: no $bin (run make)" >&2; exit 1; }

rootfs=$dir/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs/usr/libexec/shmpipe" "$rootfs/run/docker/plugins" "$rootfs/run/shmpipe" \
	"$rootfs/etc/shmpipe" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/tmp"
install -m 0755 "$bin" "$rootfs/usr/libexec/shmpipe/shmpipe-plugin"
# The libraries (and the dynamic loader) as ldd resolves them on this host.
ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }' |
	while read -r lib; do
		cp --parents -L "$lib" "$rootfs/"
	done
install -m 0644 "$here/config.json" "$dir/config.json"
