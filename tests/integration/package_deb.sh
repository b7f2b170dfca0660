#!/usr/bin/env bash
# The Debian package (debian/): it builds, lintian passes, and in a Debian 12
# chroot where neither dockerd nor systemd runs it installs, upgrades from the
# previous release's package with a live pipeline, is removed and purged,
# and no step touches the pipeline.
#
# The chroot comes from tests/images/debootstrap-bookworm.sh (cached, shared)
# plus the package's run-time libraries and man-db, cached once as
# $SP_CACHE_DIR/deb-test-root-KEY.tar.  The previous release's package is
# built from its tag's tree (v0.2.0, or commit 1365ad0 where a clone has no
# tags) with this debian/ and its own changelog entry, cached by content.
# Time (2 cores, load 10): cold about 2.5 minutes (debootstrap, apt, two
# package builds), warm under 40 s (one package build, the chroots in a
# tmpfs).
set -euo pipefail
# Its own mount namespace: the chroot's /proc, /dev, /run and the pipeline
# it makes never show on the host, and go with the namespace.
if [[ -z ${SP_PKG_ENV:-} ]]; then
	exec unshare --mount --propagation private env SP_PKG_ENV=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib/common.sh"

PREV_TAG=v0.2.0
PREV_COMMIT=1365ad0
PREV_VERSION=0.2.0
ROOT_PKGS="libyajl2 libmicrohttpd12 libcap2 libseccomp2 man-db"
DEBS=$SP_TMP/debs
mkdir -p "$DEBS"
# The chroots in memory: made and dropped in a moment, not written to disk.
ROOTS=$SP_TMP/roots
mkdir -p "$ROOTS"
mount -t tmpfs -o size=2g,mode=0755 pkg-roots "$ROOTS"
export SP_TEST_TIMEOUT=${SP_TEST_TIMEOUT:-900}

# in_root ROOT CMD... : CMD in the chroot, with a plain environment.
in_root() {
	local root=$1
	shift
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}

# root_mounts ROOT : what dpkg and shmpipectl need: /proc, /dev, a fresh
# /run (so no /run/systemd/system: systemd is not running there).
root_mounts() {
	mount -t proc proc "$1/proc"
	mount --bind /dev "$1/dev"
	mount -t tmpfs -o mode=0755 run "$1/run"
}

# The chroot's tarball: debootstrap's plus ROOT_PKGS, made once.
root_tar() {
	local base key out
	base=$("$SP_REPO/tests/images/debootstrap-bookworm.sh" "$SP_CACHE_DIR") || return 1
	key=$({ echo "$ROOT_PKGS no-mandb"; stat -c '%s %Y' "$base"; } | sha256sum | cut -c1-16)
	out=$SP_CACHE_DIR/deb-test-root-$key.tar
	(
		flock -w 900 9 || { echo "timed out waiting for $SP_CACHE_DIR/.deb-test-root.lock" >&2; exit 1; }
		[[ -s $out ]] && exit 0
		local tmp
		tmp=$(mktemp -d "$SP_CACHE_DIR/deb-test-root.tmp.XXXXXX")
		tar -C "$tmp" -xf "$base"
		root_mounts "$tmp"
		cp /etc/resolv.conf "$tmp/etc/resolv.conf"
		# man reads pages without mandb's index: no index rebuilt on each dpkg
		echo 'man-db man-db/auto-update boolean false' | chroot "$tmp" debconf-set-selections
		# a tarball made without apt's lists (by another recipe) gets them first
		local update=:
		compgen -G "$tmp/var/lib/apt/lists/*_Packages" >/dev/null || update="apt-get update -q"
		# shellcheck disable=SC2086 # a list of packages
		if ! timeout 600 chroot "$tmp" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			DEBIAN_FRONTEND=noninteractive sh -c "$update && apt-get install -y -q \
			--no-install-recommends $ROOT_PKGS" >"$tmp.log" 2>&1; then
			tail -n 20 "$tmp.log" >&2
			sp_rm_tree "$tmp"
			exit 1
		fi
		sp_umount_under "$tmp"
		rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp.log"
		tar -C "$tmp" --numeric-owner -cf "$out.tmp" .
		mv "$out.tmp" "$out"
		rm -rf --one-file-system "$tmp"
	) 9>"$SP_CACHE_DIR/.deb-test-root.lock" || return 1
	echo "$out"
}

# new_root : a fresh chroot of this case, mounted; prints its path.
new_root() {
	local root tar
	tar=$(root_tar) || sp_fail "no chroot tarball (see above)"
	root=$(mktemp -d "$ROOTS/root.XXXXXX")
	tar -C "$root" -xf "$tar"
	root_mounts "$root"
	sp_defer rm -rf --one-file-system "$root"
	sp_defer sp_umount_under "$root"
	cp "$DEBS"/*.deb "$root/tmp/"
	echo "$root"
}

# The previous release's package: its tree, this debian/, its changelog.
prev_deb() {
	local rev src key out
	if rev=$(git -C "$SP_REPO" rev-parse -q --verify "$PREV_TAG^{commit}" 2>/dev/null); then :
	elif rev=$(git -C "$SP_REPO" rev-parse -q --verify "$PREV_COMMIT^{commit}" 2>/dev/null); then :
	else
		sp_fail "neither tag $PREV_TAG nor commit $PREV_COMMIT is in this clone (git fetch --tags)"
	fi
	key=$({ echo "$rev"; tar -C "$SP_REPO" -cf - --sort=name --mtime=@0 --owner=0 --group=0 debian install/build-deb.sh; } |
		sha256sum | cut -c1-16)
	out=$SP_CACHE_DIR/shmpipe_${PREV_VERSION}-$key.deb
	if [[ ! -s $out ]]; then
		src=$SP_TMP/prev-src
		mkdir -p "$src"
		git -C "$SP_REPO" archive "$rev" | tar -C "$src" -xf -
		cp -r "$SP_REPO/debian" "$src/"
		# its changelog: this one without the entries after it
		awk -v v="$PREV_VERSION" '/^shmpipe \(/ { if (index($0, "(" v ")")) keep = 1 } keep' \
			"$SP_REPO/debian/changelog" >"$src/debian/changelog"
		[[ -s $src/debian/changelog ]] || sp_fail "debian/changelog has no $PREV_VERSION entry"
		SHMPIPE_COMMIT=$(git -C "$SP_REPO" rev-parse --short=12 "$rev") \
			"$SP_REPO/install/build-deb.sh" --source "$src" --out "$SP_TMP/prev-deb" >/dev/null
		cp "$SP_TMP/prev-deb/shmpipe_${PREV_VERSION}_"*.deb "$out.tmp.$$"
		mv "$out.tmp.$$" "$out"
	fi
	cp "$out" "$DEBS/shmpipe_${PREV_VERSION}.deb"
}

t_build() {
	local deb
	deb=$("$SP_REPO/install/build-deb.sh" --out "$SP_TMP/deb") || sp_fail "install/build-deb.sh failed"
	cp "$deb" "$DEBS/shmpipe_new.deb"
	sp_assert_eq "$(cat "$SP_REPO/VERSION")" "$(dpkg-deb -f "$deb" Version)" "the package's version is VERSION"
	prev_deb
	sp_assert_eq "$PREV_VERSION" "$(dpkg-deb -f "$DEBS/shmpipe_${PREV_VERSION}.deb" Version)"
	# FHS places
	local files f
	files=$(dpkg-deb -c "$deb" | awk '{print $6}')
	for f in ./usr/bin/shmpipectl ./usr/bin/shmpipe-runtime ./usr/libexec/shmpipe/shmpipe-hook \
		./usr/libexec/shmpipe/shmpipe-plugin ./usr/share/containers/oci/hooks.d/shmpipe.json \
		./lib/systemd/system/shmpipe-restore.service ./lib/systemd/system/shmpipe-plugin.socket \
		./lib/systemd/system/shmpipe-plugin.service ./lib/systemd/system/shmpipe-metrics.timer \
		./etc/shmpipe/config.json ./usr/share/man/man8/shmpipectl.8.gz ./usr/share/man/man5/shmpipe.json.5.gz; do
		grep -qxF "$f" <<<"$files" || sp_fail "the package lacks $f"
	done
	# the restore unit runs before every engine
	dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./lib/systemd/system/shmpipe-restore.service >"$SP_CASE_DIR/restore"
	grep -Eq '^Before=.*docker\.service.*containerd\.service.*crio\.service' "$SP_CASE_DIR/restore" ||
		sp_fail "shmpipe-restore.service is not ordered before docker, containerd and crio"
	grep -qx 'ExecStart=/usr/bin/shmpipectl restore' "$SP_CASE_DIR/restore" || sp_fail "the restore unit does not run shmpipectl restore"
	# systemd reads every unit without a complaint (but that the binaries
	# are not installed on this host)
	mkdir "$SP_CASE_DIR/pkg"
	dpkg-deb -x "$deb" "$SP_CASE_DIR/pkg"
	local out
	out=$(systemd-analyze verify --man=no "$SP_CASE_DIR"/pkg/lib/systemd/system/* 2>&1 |
		grep -v ': Command /usr/[a-z/-]* is not executable: No such file or directory$' || true)
	[[ -z $out ]] || sp_fail "systemd-analyze verify:"$'\n'"$out"
}
sp_test "the .deb builds (make deb), in FHS places, and so does $PREV_VERSION's from its tag with this debian/" t_build

t_lintian() {
	local out
	[[ -s $DEBS/shmpipe_new.deb ]] || sp_fail "no package (the build failed)"
	out=$(lintian --fail-on error,warning "$DEBS/shmpipe_new.deb" 2>&1) || sp_fail "lintian:"$'\n'"$out"
	echo "$out"
}
sp_test "lintian: no error and no warning (the one override says why)" t_lintian

# The maintainer scripts never name an engine nor the store; the one
# command they run is postinst's `shmpipectl restore` on an upgrade from
# before 0.3.0, which only writes definitions.
t_scripts() {
	local d=$SP_CASE_DIR/control s
	[[ -s $DEBS/shmpipe_new.deb ]] || sp_fail "no package (the build failed)"
	dpkg-deb -e "$DEBS/shmpipe_new.deb" "$d"
	for s in "$d"/preinst "$d"/postinst "$d"/prerm "$d"/postrm; do
		[[ -e $s ]] || continue
		if grep -v -e '^\s*shmpipectl restore >/dev/null ||$' -e "run 'shmpipectl restore'" "$s" |
			grep -nE 'docker|containerd|crio|/run/shmpipe|shmpipectl|umount'; then
			sp_fail "$(basename "$s") names an engine or the store"
		fi
	done
	grep -q 'shmpipe-restore.service' "$d/postinst" || sp_fail "postinst does not enable the restore unit"
	grep -qx '/etc/shmpipe/config.json' "$d/conffiles" || sp_fail "/etc/shmpipe/config.json is no conffile"
}
sp_test "maintainer scripts name no engine, no pipeline; the config is a conffile" t_scripts

# Files of the chroot but those dpkg and man keep for themselves.
root_files() {
	(cd "$1" && find . -xdev \( -path ./var/lib/dpkg -o -path ./var/log -o -path ./var/cache \
		-o -path ./proc -o -path ./dev -o -path ./run -o -path ./tmp \) -prune -o -print | sort)
}

t_fresh() {
	local root before out
	[[ -s $DEBS/shmpipe_new.deb ]] || sp_fail "no package (the build failed)"
	root=$(new_root)
	[[ ! -e $root/run/systemd/system ]] || sp_fail "systemd seems to run in the chroot"
	before=$(root_files "$root")
	in_root "$root" dpkg -i /tmp/shmpipe_new.deb || sp_fail "dpkg -i failed"
	out=$(in_root "$root" shmpipectl --version)
	sp_assert_match "$out" "^shmpipectl $(cat "$SP_REPO/VERSION") \\(commit [^ ]+\\)\$"
	in_root "$root" /usr/libexec/shmpipe/shmpipe-hook --version | grep -q '^shmpipe-hook '
	in_root "$root" /usr/libexec/shmpipe/shmpipe-plugin --version | grep -q '^shmpipe-plugin '
	out=$(in_root "$root" man -P cat shmpipectl 2>&1) || sp_fail "man shmpipectl: $out"
	sp_assert_contains "$out" "shmpipectl - create, list, inspect"
	in_root "$root" man -P cat 5 shmpipe.json | grep -q 'max_total_size' || sp_fail "man 5 shmpipe.json"
	# enabled for the next boot without a running systemd
	[[ -L $root/etc/systemd/system/multi-user.target.wants/shmpipe-restore.service ]] ||
		sp_fail "shmpipe-restore.service is not enabled"
	[[ -L $root/etc/systemd/system/sockets.target.wants/shmpipe-plugin.socket ]] ||
		sp_fail "shmpipe-plugin.socket is not enabled"
	[[ ! -e $root/etc/systemd/system/timers.target.wants/shmpipe-metrics.timer ]] ||
		sp_fail "the metrics timer was enabled"
	grep -q '"path": "/usr/libexec/shmpipe/shmpipe-hook"' "$root/usr/share/containers/oci/hooks.d/shmpipe.json" ||
		sp_fail "hooks.d does not name the installed hook"
	# the package's binaries work: a pipeline, which purge leaves alone
	in_root "$root" shmpipectl create p1 --size 4m
	echo data >"$root/run/shmpipe/mnt/p1/f"
	in_root "$root" dpkg --purge shmpipe || sp_fail "dpkg --purge failed"
	# p1's definition is the admin's, as p1 is: purge keeps both, and takes
	# nothing else of its own
	[[ -s $root/var/lib/shmpipe/pipelines/p1.json ]] || sp_fail "purge took p1's definition"
	out=$(diff <(echo "$before") <(root_files "$root" | grep -vxE '\./var/lib/shmpipe(/pipelines(/p1\.json)?)?')) ||
		sp_fail "purge left or took files:"$'\n'"$out"
	sp_assert_eq data "$(cat "$root/run/shmpipe/mnt/p1/f")" "the pipeline outlived the purge"
	mountpoint -q "$root/run/shmpipe/mnt/p1" || sp_fail "purge unmounted the pipeline"
}
sp_test "fresh install without dockerd or systemd: --version, man, units enabled; purge leaves exactly the files that were there and the admin's pipeline with its definition" t_fresh

t_upgrade() {
	local root pid out dev
	[[ -s $DEBS/shmpipe_${PREV_VERSION}.deb ]] || sp_fail "no $PREV_VERSION package (the build failed)"
	root=$(new_root)
	in_root "$root" dpkg -i "/tmp/shmpipe_${PREV_VERSION}.deb" || sp_fail "installing $PREV_VERSION failed"
	# the admin's edit of the conffile, and a file of their own
	sed -i 's/"default_size": "64m"/"default_size": "32m"/' "$root/etc/shmpipe/config.json"
	grep -q '"32m"' "$root/etc/shmpipe/config.json" || sp_fail "the config has no default_size to edit"
	echo '{}' >"$root/etc/shmpipe/site.json"
	# a live pipeline: content, and a member whose process runs in it
	in_root "$root" shmpipectl create keep --size 16m --mode 1770
	head -c 1M /dev/urandom >"$root/run/shmpipe/mnt/keep/frame"
	sha=$(sha256sum <"$root/run/shmpipe/mnt/keep/frame")
	chroot "$root" /bin/sh -c 'cd /run/shmpipe/mnt/keep && exec sleep 600' </dev/null >/dev/null 2>&1 &
	pid=$!
	sp_defer kill "$pid"
	in_root "$root" shmpipectl join keep --id c1 --pid "$pid"
	dev=$(stat -c %d "$root/run/shmpipe/mnt/keep")

	# the pipeline as it must stay: record, members, content, mount
	check_keep() {
		local when=$1 ls j
		j=$(in_root "$root" "$2" inspect keep) || sp_fail "$when: inspect keep failed"
		sp_assert_eq '[16777216,"1770",["c1"],['"$pid"']]' \
			"$(jq -c '[.size, .mode, [.members[].id], [.members[].pid]]' <<<"$j")" "$when: the record"
		sp_assert_eq "$sha" "$(sha256sum <"$root/run/shmpipe/mnt/keep/frame")" "$when: the content"
		sp_assert_eq "$dev" "$(stat -c %d "$root/run/shmpipe/mnt/keep")" "$when: the same tmpfs"
		ls=$(in_root "$root" "$2" ls 2>&1) || sp_fail "$when: ls failed: $ls"
		sp_assert_not_contains "$ls" "damaged"
		kill -0 "$pid" || sp_fail "$when: the member's process is gone"
	}
	check_keep "under $PREV_VERSION" shmpipectl

	in_root "$root" dpkg -i --force-confdef --force-confold /tmp/shmpipe_new.deb || sp_fail "the upgrade failed"
	sp_assert_eq "$(cat "$SP_REPO/VERSION")" "$(in_root "$root" dpkg-query -W -f '${Version}' shmpipe)"
	sp_assert_match "$(in_root "$root" shmpipectl --version)" "^shmpipectl $(cat "$SP_REPO/VERSION") "
	grep -q '"32m"' "$root/etc/shmpipe/config.json" || sp_fail "the upgrade lost the admin's edit of config.json"
	check_keep "after the upgrade" shmpipectl
	# 0.2.0 kept no definition: the upgrade wrote it, so a reboot keeps keep
	sp_assert_eq 16777216 "$(jq -r .size "$root/var/lib/shmpipe/pipelines/keep.json" 2>/dev/null)" \
		"keep's definition after the upgrade"
	[[ -L $root/etc/systemd/system/multi-user.target.wants/shmpipe-restore.service ]] ||
		sp_fail "the upgrade did not enable the restore unit"

	# the binaries go, the pipeline stays (checked with a copy of shmpipectl)
	cp "$root/usr/bin/shmpipectl" "$root/tmp/shmpipectl"
	in_root "$root" dpkg -r shmpipe || sp_fail "dpkg -r failed"
	[[ ! -e $root/usr/bin/shmpipectl ]] || sp_fail "remove left /usr/bin/shmpipectl"
	[[ -e $root/etc/shmpipe/config.json ]] || sp_fail "remove took the conffile"
	check_keep "after remove" /tmp/shmpipectl

	in_root "$root" dpkg --purge shmpipe || sp_fail "dpkg --purge failed"
	[[ ! -e $root/etc/shmpipe/config.json ]] || sp_fail "purge left the conffile"
	[[ -e $root/etc/shmpipe/site.json ]] || sp_fail "purge took the admin's own file"
	[[ ! -e $root/etc/systemd/system/multi-user.target.wants/shmpipe-restore.service ]] ||
		sp_fail "purge left the restore unit's enable link"
	check_keep "after purge" /tmp/shmpipectl
}
sp_test "upgrade from $PREV_VERSION's .deb, remove and purge: a live pipeline, its member and content kept; the admin's config kept" t_upgrade

sp_done
