#!/usr/bin/env bash
# tests/images/debian-rootfs.sh NAME PACKAGES CHECK [CACHE_DIR] - print the
# path of a Debian 12 (bookworm) root filesystem with PACKAGES (comma
# separated) in which the shell command CHECK (run by chroot) succeeds.  The
# images of the tests are thin wrappers (python-numpy.sh, node-base.sh).
#
# Built once with `debootstrap --variant=minbase` from the Debian mirror this
# machine's apt uses (/etc/apt/sources.list{,.d}), about a minute, then
# cached as CACHE_DIR/NAME-KEY (default CACHE_DIR:
# $SP_CACHE_DIR or /var/cache/shmpipe-test), KEY being a hash of this recipe
# and the mirror.  Builds are serialized by a lock and published by rename,
# so concurrent callers wait for one build and never see a half-made tree.
# Treat the result as read-only (mount it read-only or overlay it).
#
# Env: SHMPIPE_DEBIAN_MIRROR overrides the mirror; SHMPIPE_IMAGE_TIMEOUT
# (default 900 s) bounds the build.  Needs root and debootstrap.
set -euo pipefail

name=$1 packages=$2 check=$3
cache=${4:-${SP_CACHE_DIR:-/var/cache/shmpipe-test}}
suite=bookworm

log() { printf '%s image: %s\n' "$name" "$*" >&2; }
die() { log "$*"; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root (debootstrap)"

# The Debian archive URL apt uses here: deb822 "URIs:" of a stanza whose
# suites include $suite itself (not -security), or a one-line "deb URL $suite".
mirror_from_apt() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -r $f ]] || continue
		awk -v s="$suite" '
			BEGIN { RS = ""; FS = "\n" }
			{
				uri = ""; ok = 0; deb = 0
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^#/) continue
					if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) deb = 1
					if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
					if ($i ~ /^Suites:/) { n = split($i, b, /[ \t]+/); for (j = 2; j <= n; j++) if (b[j] == s) ok = 1 }
					if ($i ~ /^Enabled:[ \t]*no/) ok = 0
				}
				if (deb && ok && uri != "") { print uri; exit }
			}' "$f"
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk -v s="$suite" '$1 == "deb" { u = ($2 ~ /^\[/) ? $3 : $2; d = ($2 ~ /^\[/) ? $4 : $3; if (d == s) print u }' ||
		true
}

mirror=${SHMPIPE_DEBIAN_MIRROR:-$(mirror_from_apt 2>/dev/null | head -n1 || true)}
mirror=${mirror:-http://deb.debian.org/debian}

key=$({ cat "$0"; echo "$mirror $packages $check"; } | sha256sum | cut -c1-16)
out="$cache/$name-$key"
if [[ -e $out/.shmpipe-image-ok ]]; then
	printf '%s\n' "$out"
	exit 0
fi

command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap; see install/deps.sh)"
mkdir -p "$cache"

build() {
	# under the lock: somebody may have finished it while we waited
	if [[ -e $out/.shmpipe-image-ok ]]; then
		return 0
	fi
	local tmp="$out.tmp.$$" stale
	# builds killed half-way (we hold the lock: nobody else is building)
	for stale in "$cache/$name"-*.tmp.*; do
		[[ -e $stale ]] || continue
		grep -F " $stale/" /proc/self/mountinfo | awk '{print $5}' | sort -r |
			xargs -r -n1 umount -l 2>/dev/null || true
		rm -rf --one-file-system "$stale"
	done
	log "building $out from $mirror (debootstrap $suite, about a minute)"
	if ! timeout -k 10 "${SHMPIPE_IMAGE_TIMEOUT:-900}" debootstrap --variant=minbase \
		--include="$packages" "$suite" "$tmp" "$mirror" >"$tmp.log" 2>&1; then
		tail -n 30 "$tmp.log" >&2
		# debootstrap may leave /proc etc. mounted in the target on failure
		grep -F " $tmp/" /proc/self/mountinfo | awk '{print $5}' | sort -r |
			xargs -r -n1 umount -l 2>/dev/null || true
		rm -rf --one-file-system "$tmp" "$tmp.log"
		die "debootstrap failed"
	fi
	# debootstrap's own mounts, if any, must not stay behind
	grep -F " $tmp/" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		xargs -r -n1 umount -l 2>/dev/null || true
	chroot "$tmp" /bin/sh -c "$check" || die "the image fails its check: $check"
	# smaller and reproducible-ish: no package caches, no lists
	rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/* "$tmp"/var/log/* \
		"$tmp"/usr/share/doc/* "$tmp"/usr/share/man/* "$tmp"/usr/share/locale/*
	mkdir -p "$tmp/dev/shm" "$tmp/app"
	chmod 1777 "$tmp/dev/shm"
	printf 'suite=%s\nmirror=%s\npackages=%s\nbuilt=%s\n' "$suite" "$mirror" "$packages" \
		"$(date -u +%FT%TZ)" >"$tmp/.shmpipe-image-ok"
	rm -rf --one-file-system "$out"
	mv "$tmp" "$out"
	rm -f "$tmp.log"
	log "built $out ($(du -sh "$out" | cut -f1))"
}

(
	flock -w "${SHMPIPE_IMAGE_TIMEOUT:-900}" 9 || die "timed out waiting for the build lock"
	build
) 9>"$cache/.$name.lock"
printf '%s\n' "$out"
