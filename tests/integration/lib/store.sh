# shellcheck shell=bash
# tests/integration/lib/store.sh - the opening the store suites share: the
# binaries, shmpipectl under valgrind when asked, a store root per case.
# Source after lib/common.sh.

BUILD=${BUILD:-$SP_REPO/build}
CTL="$BUILD/shmpipectl"
SHMTOOL="$BUILD/shmtool"
[[ -x $SHMTOOL ]] || SHMTOOL=$(sp_shmtool)

# SHMPIPE_VALGRIND=1 (make valgrind): every shmpipectl call under memcheck;
# any error or leak fails the call with status 99.
ctl() {
	if [[ ${SHMPIPE_VALGRIND:-0} == 1 ]]; then
		valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
			--errors-for-leak-kinds=definite,indirect "$CTL" "$@"
	else
		"$CTL" "$@"
	fi
}

# A store root per case (in $root and SHMPIPE_ROOT), its mounts detached at
# the end; no config unless the case writes one.  Not in $(...): the export
# must reach the case.
new_root() {
	root=$(mktemp -d "$SP_TMP/root.XXXXXX")
	sp_defer sp_umount_under "$root"
	export SHMPIPE_ROOT=$root
	unset SHMPIPE_CONFIG
}
