#!/usr/bin/env bash
# tests/images/node-base.sh [CACHE_DIR] - print the path of a tarball of a
# Debian 12 root filesystem with the packages install/kubernetes/Dockerfile
# installs (the image's base when there is no registry: `docker import` it
# and build with --build-arg BASE=THAT-IMAGE).  The tree is built and cached
# by debian-rootfs.sh, the tarball next to it.
set -euo pipefail
here=$(dirname "$0")
packages=$(grep -v '^#' "$here/../../install/kubernetes/image-packages" | paste -sd, -)
dir=$("$here/debian-rootfs.sh" shmpipe-node-base "$packages" \
	"/usr/bin/python3 -c 'import tomlkit, grpc, google.protobuf'" "$@")
if [[ ! -s $dir.tar ]]; then
	tar -C "$dir" --numeric-owner -cf "$dir.tar.tmp.$$" .
	mv -f "$dir.tar.tmp.$$" "$dir.tar"
fi
printf '%s\n' "$dir.tar"
