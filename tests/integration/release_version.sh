#!/usr/bin/env bash
# Releases: every binary's --version names the release (the file VERSION)
# and the commit it was built from; the commit of a tree without .git.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

BUILD=${BUILD:-$SP_REPO/build}

t_version() {
	local release b line commit="" c
	release=$(cat "$SP_REPO/VERSION")
	sp_assert_match "$release" '^[0-9]+\.[0-9]+\.[0-9]+$' "VERSION is MAJOR.MINOR.PATCH"
	sp_assert_eq "$release" "$(dpkg-parsechangelog -l "$SP_REPO/debian/changelog" -S Version)" \
		"debian/changelog's newest entry is VERSION's release"
	for b in shmpipectl shmpipe-hook shmpipe-plugin shmpipe-runtime; do
		line=$("$BUILD/$b" --version)
		line=${line%%$'\n'*} # shmpipe-runtime: then the real runtime's lines
		sp_assert_match "$line" "^$b ${release//./\\.} \\(commit [^ ()]+\\)\$" "$b --version"
		c=${line##*(commit }
		c=${c%)}
		[[ -z $commit ]] || sp_assert_eq "$commit" "$c" "$b names the same commit as shmpipectl"
		commit=$c
	done
	# In a git checkout the commit is git describe's, never "unknown".
	if git -C "$SP_REPO" rev-parse --git-dir >/dev/null 2>&1; then
		sp_assert_match "$commit" '^(v[0-9.]+-[0-9]+-g)?[0-9a-f]{12}(-dirty)?$' "a commit from git describe"
	fi
}
sp_test "each binary's --version: NAME RELEASE (commit C), one release and one commit for all" t_version

# install/commit.sh outside a git work tree: a `git archive` tarball says
# its commit (COMMIT, export-subst); a copy with neither says "unknown"; a
# tarball unpacked inside another repository never takes that one's commit.
t_commit_fallback() {
	local d=$SP_CASE_DIR head
	git -C "$SP_REPO" rev-parse --git-dir >/dev/null 2>&1 || sp_skip "not a git checkout"
	head=$(git -C "$SP_REPO" rev-parse HEAD)
	mkdir "$d/archive"
	git -C "$SP_REPO" archive HEAD install/commit.sh COMMIT | tar -C "$d/archive" -xf -
	sp_assert_eq "$head" "$("$d/archive/install/commit.sh")" "a git archive tarball"
	mkdir -p "$d/plain/install"
	cp "$SP_REPO/install/commit.sh" "$d/plain/install/"
	printf '$Format:%%H$\n' >"$d/plain/COMMIT"
	sp_assert_eq unknown "$("$d/plain/install/commit.sh")" "no .git, an unsubstituted COMMIT"
	git -C "$d" init -q other
	git -C "$d/other" -c user.name=t -c user.email=t@t commit -q --allow-empty -m other
	cp -r "$d/plain" "$d/other/src"
	sp_assert_eq unknown "$("$d/other/src/install/commit.sh")" "inside another repository"
	sp_assert_eq abc123 "$(SHMPIPE_COMMIT=abc123 "$d/plain/install/commit.sh")" "SHMPIPE_COMMIT wins"
}
sp_test "the commit of a git archive tarball, of a plain copy, of a copy inside another repository" t_commit_fallback

sp_done
