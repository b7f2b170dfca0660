#!/usr/bin/env bash
# tests/images/debootstrap-bookworm.sh [CACHE_DIR] - print the path of a
# tarball of a plain Debian 12 (bookworm) root filesystem, `debootstrap
# --variant=minbase`, for tests that need a whole Debian system (a package
# installed with dpkg, without dockerd or systemd running).  The same path,
# CACHE_DIR/debootstrap-bookworm.tar (default CACHE_DIR: $SP_CACHE_DIR or
# /var/cache/shmpipe-test), is shared by every test that needs it: built once
# (about a minute) under CACHE_DIR/.debootstrap-bookworm.lock and published
# by rename, so concurrent callers wait for one build and never read a
# half-written tarball.  Callers extract it into a dir of their own.
#
# Env: SHMPIPE_DEBIAN_MIRROR overrides the mirror (default: the one apt uses
# here); SHMPIPE_IMAGE_TIMEOUT (default 900 s) bounds the build.  Needs root.
set -euo pipefail

cache=${1:-${SP_CACHE_DIR:-/var/cache/shmpipe-test}}
out=$cache/debootstrap-bookworm.tar

log() { printf 'debootstrap-bookworm.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

if [[ -s $out ]]; then
	printf '%s\n' "$out"
	exit 0
fi
[[ $(id -u) == 0 ]] || die "needs root (debootstrap)"
command -v debootstrap >/dev/null || die "debootstrap is missing (install/deps.sh installs it)"

# The archive apt uses on this machine (deb822 or one-line sources).
mirror_from_apt() {
	awk 'BEGIN { RS = "" } /Types:[^\n]*deb/ && /Suites:[^\n]*bookworm( |\n|$)/ {
		if (match($0, /URIs:[ \t]*[^ \t\n]+/)) { u = substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", u); print u; exit }
	}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
	awk '$1 == "deb" && ($3 == "bookworm" || $4 == "bookworm") { print ($2 ~ /^\[/) ? $3 : $2 }' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true
}
mirror=${SHMPIPE_DEBIAN_MIRROR:-$(mirror_from_apt | head -n1)}
mirror=${mirror:-http://deb.debian.org/debian}

umount_under() {
	grep -F " $1/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}

build() {
	[[ -s $out ]] && return 0 # made while we waited for the lock
	local tmp="$cache/debootstrap-bookworm.tmp.$$"
	for stale in "$cache"/debootstrap-bookworm.tmp.*; do
		[[ -e $stale ]] || continue
		umount_under "$stale"
		rm -rf --one-file-system "$stale"
	done
	log "building $out from $mirror (debootstrap --variant=minbase bookworm, about a minute)"
	mkdir -p "$tmp"
	if ! timeout -k 10 "${SHMPIPE_IMAGE_TIMEOUT:-900}" debootstrap --variant=minbase \
		bookworm "$tmp/root" "$mirror" >"$tmp/log" 2>&1; then
		tail -n 30 "$tmp/log" >&2
		umount_under "$tmp"
		rm -rf --one-file-system "$tmp"
		die "debootstrap failed"
	fi
	umount_under "$tmp"
	rm -rf "$tmp"/root/var/cache/apt/archives/*.deb "$tmp"/root/var/log/*
	tar -C "$tmp/root" --numeric-owner -cf "$tmp/root.tar" .
	mv "$tmp/root.tar" "$out"
	rm -rf --one-file-system "$tmp"
	log "built $out ($(du -h "$out" | cut -f1))"
}

mkdir -p "$cache"
(
	flock -w "${SHMPIPE_IMAGE_TIMEOUT:-900}" 9 || die "timed out waiting for the build lock"
	build
) 9>"$cache/.debootstrap-bookworm.lock"
printf '%s\n' "$out"
