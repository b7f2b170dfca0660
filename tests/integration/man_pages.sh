#!/usr/bin/env bash
# The man pages (man/*.scd, scdoc) cover every command and flag that the
# binaries' --help names, and render without a warning.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

BUILD=${BUILD:-$SP_REPO/build}
CHECK=$SP_REPO/tests/helpers/man-check.py
SCHEMA=$SP_REPO/schemas/config.schema.json
PAGES=(shmpipectl.8 shmpipe-hook.8 shmpipe-plugin.8 shmpipe-runtime.8 shmpipe.json.5)

t_cover() {
	local out
	out=$("$SP_PYTHON" "$CHECK" "$BUILD" "$SP_REPO/man" "$SCHEMA" 2>&1) ||
		sp_fail "what --help names and the man pages do not:"$'\n'"$out"
}
sp_test "every command and flag of each binary's --help, and every config key, is in its man page" t_cover

# The check fails, naming what is missing: pages with an entry, a flag and
# a key taken out.
t_check_fails() {
	local man=$SP_CASE_DIR/man out
	cp -r "$SP_REPO/man" "$man"
	sed -i '/^\*leave\* /,/^$/d' "$man/shmpipectl.8.scd"
	sed -i 's/\[\*--inodes\* _N_\]//' "$man/shmpipectl.8.scd"
	sed -i 's/--print-security/--print-sec/g' "$man/shmpipe-hook.8.scd"
	sed -i 's/^\*sockets=\*_PATH_$/*sock=*_PATH_/' "$man/shmpipe-plugin.8.scd"
	sed -i 's/^\*docker\\_socket\*/*docker\\_sock*/' "$man/shmpipe.json.5.scd"
	rm "$man/shmpipe-runtime.8.scd"
	out=$("$SP_PYTHON" "$CHECK" "$BUILD" "$man" "$SCHEMA" 2>&1) && sp_fail "pages with items taken out passed:"$'\n'"$out"
	echo "$out"
	sp_assert_contains "$out" "shmpipectl.8: command leave (shmpipectl --help) has no entry *leave* under COMMANDS"
	sp_assert_contains "$out" "shmpipectl.8: flag --inodes of resize (shmpipectl resize --help) is not in the entry of resize"
	sp_assert_contains "$out" "shmpipe-hook.8: flag --print-security (shmpipe-hook --help) is not in the page"
	sp_assert_contains "$out" "shmpipe-plugin.8: volume option sockets= (shmpipe-plugin --help) is not in the page"
	sp_assert_contains "$out" "shmpipe.json.5: config key docker_socket ($SCHEMA) has no entry *docker_socket* under KEYS"
	sp_assert_contains "$out" "$man/shmpipe-runtime.8.scd: no such page"
	sp_assert_eq 6 "$(wc -l <<<"$out")" "one line per missing item, nothing else"
}
sp_test "the check fails with one line naming each missing command, flag, option, key and page" t_check_fails

# Built by make, they render: man(1) prints no warning for any of them.
t_render() {
	local p out
	for p in "${PAGES[@]}"; do
		[[ -s $BUILD/man/$p ]] || sp_fail "$BUILD/man/$p was not built (make man)"
		out=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$BUILD/man/$p" 2>&1 >/dev/null)
		[[ -z $out ]] || sp_fail "man warns about $p: $out"
		MANWIDTH=80 man -E UTF-8 -l "$BUILD/man/$p" 2>/dev/null | grep -q "^NAME" || sp_fail "$p has no NAME section"
	done
}
sp_test "the built pages render without a warning" t_render

sp_done
