#!/bin/sh
# install/commit.sh: prints the commit this source tree is, for --version
# (the Makefile bakes it in): $SHMPIPE_COMMIT if set; else `git describe` when
# this directory is the top of a git work tree (a tarball unpacked inside some
# other repository must not take that one's commit); else the hash that
# `git archive` wrote into the file COMMIT (export-subst, .gitattributes);
# else "unknown".
cd "$(dirname "$0")/.." || exit 1
if [ -n "${SHMPIPE_COMMIT:-}" ]; then
	echo "$SHMPIPE_COMMIT"
	exit 0
fi
top=$(git rev-parse --show-toplevel 2>/dev/null) && [ "$top" -ef . ] &&
	git describe --always --dirty --long --abbrev=12 --match 'v[0-9]*' 2>/dev/null && exit 0
c=$(cat COMMIT 2>/dev/null)
case $c in
'' | *Format:*) echo unknown ;;
*) echo "$c" ;;
esac
