#!/bin/sh
# install/build-deb.sh [--source DIR] [--out DIR]: builds the Debian package
# of a source tree (default: this one) with `dpkg-buildpackage -us -uc -b`
# in a copy of it under OUT (default build/deb), so that neither the tree
# nor its parent directory gets build products; prints the .deb's path.
# `make deb` runs it.  In the tree itself the same command works as well:
#     dpkg-buildpackage -us -uc -b     # the .deb lands in ..
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
src=$here
out=$here/build/deb
while [ $# -gt 0 ]; do
	case $1 in
	--source) src=$(cd "$2" && pwd); shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "usage: $0 [--source DIR] [--out DIR]" >&2; exit 2 ;;
	esac
done
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
if [ -e "$src/VERSION" ] && [ "$(cat "$src/VERSION")" != "$version" ]; then
	echo "build-deb.sh: debian/changelog says $version, VERSION says $(cat "$src/VERSION"): add a changelog entry" >&2
	exit 1
fi
# The copy has no .git: the commit is the tree's, found here.
SHMPIPE_COMMIT=${SHMPIPE_COMMIT:-$("$src/install/commit.sh" 2>/dev/null || "$here/install/commit.sh")}
export SHMPIPE_COMMIT
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$out/src-$version
rm -rf "$work"
mkdir -p "$work/shmpipe-$version"
if git -C "$src" rev-parse --show-toplevel >/dev/null 2>&1 && [ "$(git -C "$src" rev-parse --show-toplevel)" -ef "$src" ]; then
	# tracked and new files, not what .gitignore names (build/); a tracked
	# file deleted in the work tree stays out
	(cd "$src" && git ls-files -z -co --exclude-standard --deduplicate |
		tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -C "$work/shmpipe-$version" -xf -
else
	(cd "$src" && tar --exclude=./build --exclude=./.git -cf - .) | tar -C "$work/shmpipe-$version" -xf -
fi
(cd "$work/shmpipe-$version" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || {
	tail -n 40 "$work/build.log" >&2
	echo "build-deb.sh: dpkg-buildpackage failed (whole log: $work/build.log)" >&2
	exit 1
}
deb=$(ls "$work"/shmpipe_"$version"_*.deb)
mv -f "$deb" "$work"/*.buildinfo "$work"/*.changes "$out/"
rm -rf "$work/shmpipe-$version"
echo "$out/$(basename "$deb")"
