# shellcheck shell=bash
# tests/integration/lib/releases.sh - earlier releases built from the
# repository's history, for upgrade and rollback tests.  Source after
# lib/common.sh.
#
#   sp_release_build v0.2.0 1365ad0 : prints the build directory of that
#   release (shmpipectl, shmpipe-hook, ...), built once into
#   $SP_CACHE_DIR/releases/COMMIT and reused by later runs.
#
# The tag names the release; a fresh CI clone may have no tags, so the
# commit is tried by its hash too.  When neither is in the repository, the
# case is skipped, saying so.

SP_RELEASE_CACHE=${SP_RELEASE_CACHE:-${SP_CACHE_DIR:-/var/cache/shmpipe-test}/releases}

# sp_release_commit TAG HASH : the full commit of TAG, else of HASH; fails
# when the repository has neither.
sp_release_commit() {
	local tag=$1 hash=$2
	git -C "$SP_REPO" rev-parse -q --verify "refs/tags/$tag^{commit}" 2>/dev/null ||
		git -C "$SP_REPO" rev-parse -q --verify "$hash^{commit}" 2>/dev/null
}

# sp_release_build TAG HASH : prints the release's build dir (skips the case
# when it cannot be had).
sp_release_build() {
	local tag=$1 hash=$2 commit dir lock
	commit=$(sp_release_commit "$tag" "$hash") ||
		sp_skip "release $tag: neither tag $tag nor commit $hash is in this clone (git fetch --tags)"
	dir=$SP_RELEASE_CACHE/$commit
	mkdir -p "$SP_RELEASE_CACHE"
	lock=$SP_RELEASE_CACHE/.$commit.lock
	# One build at a time per release: test files run in parallel.
	(
		flock 9
		[[ -x $dir/build/shmpipe-hook && -x $dir/build/shmpipectl ]] && exit 0
		rm -rf "$dir.tmp"
		mkdir -p "$dir.tmp/src"
		git -C "$SP_REPO" archive "$commit" | tar -x -C "$dir.tmp/src"
		make -C "$dir.tmp/src" -j2 BUILD="$dir.tmp/build" \
			"$dir.tmp/build/shmpipectl" "$dir.tmp/build/shmpipe-hook" >"$dir.tmp/make.log" 2>&1 ||
			{ tail -20 "$dir.tmp/make.log" >&2; exit 1; }
		# The build dir is named in nothing it holds: it moves as a whole.
		rm -rf "$dir"
		mkdir -p "$dir"
		mv "$dir.tmp/build" "$dir/build"
		mv "$dir.tmp/make.log" "$dir/"
		rm -rf "$dir.tmp"
	) 9>"$lock" || sp_fail "release $tag ($commit): the build failed"
	printf '%s\n' "$dir/build"
}
