#!/usr/bin/env bash
# The commands README.md and docs/*.md tell users to run, run: extracted from
# the Markdown (tests/helpers/doc-blocks.py), so a doc and its test cannot
# drift.  Every ```sh/```python block carries a marker on the line before it:
#
#   <!-- doc-test: run -->           run here, in the order of the file
#   <!-- doc-test: skip REASON -->   not runnable on this machine (systemd,
#                                    Kubernetes, the whole test suite)
#   <!-- doc-test: file PATH -->     (any block) its text is written to PATH
#
# An unmarked command block fails the first case.  `sh` blocks run with
# `bash -euo pipefail` from the repository's root; `python` blocks run with
# python3 in a runc container joined by the installed hook to a pipeline of
# the default size that already holds another 1 MiB segment.
#
# The environment is private and at the documented default paths: this script
# re-runs itself in its own mount and pid namespaces, with tmpfs on
# /usr/local (`make install` goes there), /run/shmpipe, /var/lib/shmpipe, /etc/shmpipe,
# /etc/docker, /run/docker (so the plugin's /run/docker/plugins/shmpipe.sock
# is this run's), /usr/share/containers/oci/hooks.d, /etc/systemd/system,
# /run/containerd; its own containerd, a dockerd reading
# /etc/docker/daemon.json, and podman storage, reached through DOCKER_HOST,
# CONTAINERD_ADDRESS, CONTAINERS_CONF and CONTAINERS_STORAGE_CONF.  Images
# named as in the docs (resize-service, inference-service, decoder, consumer)
# are busybox images without a /dev/shm of their own (as most images), whose
# command sleeps.  Between files everything is reset.
set -euo pipefail
if [[ -z ${SP_DOCS_ENV:-} ]]; then
	exec unshare --mount --pid --fork --mount-proc --propagation private \
		env SP_DOCS_ENV=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib/common.sh"

BUILD=${BUILD:-$SP_REPO/build}
BLOCKS="$SP_REPO/tests/helpers/doc-blocks.py"
DOCS=("$SP_REPO/README.md" "$SP_REPO"/docs/*.md)
HOOK=/usr/local/libexec/shmpipe/shmpipe-hook
PLUGIN=/usr/local/libexec/shmpipe/shmpipe-plugin
IMAGES=(resize-service inference-service decoder consumer)
# python blocks need python3 (+numpy) in a container: the examples' image.
SP_TIMEOUT=${SP_TIMEOUT:-300}

for d in /usr/local /run/shmpipe /var/lib/shmpipe /etc/shmpipe /etc/docker /run/docker \
	/usr/share/containers/oci/hooks.d /etc/systemd/system /run/containerd; do
	mkdir -p "$d"
	mount -t tmpfs -o mode=0755 shmpipe-docs "$d"
done
export PATH=/usr/local/sbin:/usr/local/bin:$PATH
# What `make && make install` leaves, as the docs assume.
make -C "$SP_REPO" BUILD="$BUILD" install >"$SP_TMP/install.log" 2>&1 ||
	{ tail -20 "$SP_TMP/install.log" >&2; sp_fail "make install"; }

sp_containerd_start
export CONTAINERD_ADDRESS=$SP_CTD_SOCK CONTAINERD_NAMESPACE=default

# dockerd at the defaults the docs assume (config /etc/docker/daemon.json,
# plugins in /run/docker/plugins), data and containers in this run's dirs.
DOCKERD_DIR=$(sp_tmpdir dockerd)
echo '{}' >/etc/docker/daemon.json
setsid dockerd --data-root "$DOCKERD_DIR/data" --exec-root /run/docker/exec \
	--pidfile /run/docker/docker.pid -H unix:///run/docker/docker.sock \
	--containerd "$SP_CTD_SOCK" --containerd-namespace moby \
	--containerd-plugins-namespace mobyplugins \
	--iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
	--bridge=none --userland-proxy=false --storage-driver vfs \
	</dev/null >"$DOCKERD_DIR/dockerd.log" 2>&1 &
DOCKERD_PID=$!
export DOCKER_HOST=unix:///run/docker/docker.sock DOCKER_CONFIG=$DOCKERD_DIR/client
# podman reads DOCKER_CONFIG's config.json too (for registry auth).
mkdir -p "$DOCKER_CONFIG" && echo '{}' >"$DOCKER_CONFIG/config.json"
docenv_docker_stop() {
	local ids
	ids=$(timeout 20 docker ps -aq 2>/dev/null || true)
	# shellcheck disable=SC2086 # a list of ids
	[[ -z $ids ]] || timeout 60 docker rm -f $ids >/dev/null 2>&1 || true
	kill "$DOCKERD_PID" 2>/dev/null || true
	timeout 30 tail --pid="$DOCKERD_PID" -f /dev/null || kill -KILL "$DOCKERD_PID" 2>/dev/null || true
	sp_umount_under "$DOCKERD_DIR"
}
sp_defer docenv_docker_stop
sp_wait_for 60 docker info >/dev/null 2>&1 ||
	{ tail -20 "$DOCKERD_DIR/dockerd.log" >&2; sp_fail "dockerd did not come up"; }

# podman: storage and run dirs of this run; hooks.d at its default path.
PODMAN_DIR=$(sp_tmpdir podman)
mkdir -p "$PODMAN_DIR"/{root,runroot,tmp,net}
cat >"$PODMAN_DIR/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "none"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$PODMAN_DIR/tmp"
[network]
network_config_dir = "$PODMAN_DIR/net"
EOF
cat >"$PODMAN_DIR/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$PODMAN_DIR/root"
runroot = "$PODMAN_DIR/runroot"
EOF
export CONTAINERS_CONF=$PODMAN_DIR/containers.conf CONTAINERS_STORAGE_CONF=$PODMAN_DIR/storage.conf
docenv_podman_stop() {
	timeout 60 podman rm -af -t 0 >/dev/null 2>&1 || true
	sp_umount_under "$PODMAN_DIR"
}
sp_defer docenv_podman_stop

# The docs' images: busybox without /dev/shm, sleeping.
img_dir=$(sp_tmpdir image)
sp_busybox_rootfs "$img_dir/rootfs"
rmdir "$img_dir/rootfs/dev/shm"
tar -C "$img_dir/rootfs" -cf "$img_dir/image.tar" .
for name in "${IMAGES[@]}"; do
	docker import --change 'CMD ["sleep", "3600"]' \
		--change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' "$img_dir/image.tar" "$name" >/dev/null
	podman import -q --change 'CMD ["sleep","3600"]' \
		--change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' "$img_dir/image.tar" "$name" >/dev/null
done

PYIMG=
python_image() {
	[[ -n $PYIMG ]] || PYIMG=$("$SP_REPO/tests/images/python-numpy.sh" "$SP_CACHE_DIR")
	printf '%s\n' "$PYIMG"
}

# Pids of this namespace's processes running the installed plugin (every
# process here is this run's: the pid namespace is private).
plugin_pids() {
	local p
	for p in /proc/[0-9]*; do
		[[ $(readlink "$p/exe" 2>/dev/null) == "$PLUGIN" ]] && echo "${p#/proc/}"
	done
	return 0
}

# Back to a clean machine between files: no container, volume, pipeline,
# plugin, daemon.json runtime.
docenv_reset() {
	local ids pid name
	ids=$(docker ps -aq)
	# shellcheck disable=SC2086 # a list of ids
	[[ -z $ids ]] || docker rm -f $ids >/dev/null
	ids=$(docker volume ls -q)
	# shellcheck disable=SC2086
	[[ -z $ids ]] || docker volume rm -f $ids >/dev/null 2>&1 || true
	podman rm -af -t 0 >/dev/null 2>&1 || true
	for pid in $(plugin_pids); do kill "$pid" 2>/dev/null || true; done
	for pid in $(plugin_pids); do timeout 10 tail --pid="$pid" -f /dev/null || true; done
	rm -f /run/docker/plugins/shmpipe.sock
	for name in $(shmpipectl ls --json | jq -r '.[].name'); do
		shmpipectl rm --force "$name" >/dev/null
	done
	if [[ $(cat /etc/docker/daemon.json) != '{}' ]]; then
		echo '{}' >/etc/docker/daemon.json
		kill -HUP "$DOCKERD_PID"
	fi
}
sp_defer docenv_reset

# run_python BLOCK : the block in a runc container of pipeline doc-python
# (default size, with another 1 MiB segment in it already), joined by the
# installed hook.
run_python() {
	local code bundle id rootfs
	code=$(cat "$1")
	rootfs=$(python_image)
	shmpipectl create doc-python >/dev/null
	sp_assert_eq 67108864 "$(shmpipectl inspect doc-python | jq .size)" "doc-python has the default size"
	head -c 1M /dev/urandom >/run/shmpipe/mnt/doc-python/other-segment
	bundle=$(sp_tmpdir python)
	id=$(sp_id "python-$RANDOM")
	sp_runc_bundle "$bundle" -r "$rootfs" -s root.readonly=true -a io.shmpipe.pipeline=doc-python \
		-H "createRuntime=$HOOK createRuntime" -H "poststop=$HOOK poststop" \
		-- /usr/bin/python3 -c "$code"
	local rc=0
	sp_runc_run "$id" "$bundle" || rc=$?
	shmpipectl rm --force doc-python >/dev/null
	return "$rc"
}

# run_doc FILE : every block of FILE in order; fails naming FILE:LINE.
run_doc() {
	local file=$1 out n kind line arg rc ran=0 skipped=0
	out=$(sp_tmpdir blocks)
	python3 "$BLOCKS" extract "$file" "$out" || sp_fail "$file: cannot extract its blocks"
	while IFS=$'\t' read -r n kind line arg; do
		rc=0
		case $kind in
		skip)
			sp_log "$file:$line: skipped: $arg"
			skipped=$((skipped + 1))
			continue
			;;
		file)
			mkdir -p "$(dirname "$arg")"
			cp "$out/$n" "$arg"
			continue
			;;
		sh) (cd "$SP_REPO" && sp_timeout bash -euo pipefail "$out/$n") </dev/null >"$out/$n.log" 2>&1 || rc=$? ;;
		python) run_python "$out/$n" </dev/null >"$out/$n.log" 2>&1 || rc=$? ;;
		esac
		if [[ $rc -ne 0 ]]; then
			sed 's/^/    /' "$out/$n" >&2
			tail -n 25 "$out/$n.log" >&2
			sp_fail "$file:$line: this $kind block failed (exit $rc)"
		fi
		sp_log "$file:$line: ran"
		ran=$((ran + 1))
	done <"$out/manifest"
	sp_log "$file: $ran blocks ran, $skipped skipped"
	echo "$ran" >"$SP_CASE_DIR/ran"
}

t_markers() {
	local out
	out=$(python3 "$BLOCKS" check "${DOCS[@]}") || sp_fail "unmarked or badly marked blocks:"$'\n'"$out"
	# A doc with a block left unmarked is refused (the check can fail).
	cp "$SP_REPO/docs/runtime.md" "$SP_CASE_DIR/unmarked.md"
	printf '\n```sh\nshmpipectl ls\n```\n' >>"$SP_CASE_DIR/unmarked.md"
	out=$(python3 "$BLOCKS" check "$SP_CASE_DIR/unmarked.md") && sp_fail "an unmarked block passed the check"
	sp_assert_contains "$out" "unmarked.md:$(($(wc -l <"$SP_CASE_DIR/unmarked.md") - 2)): \`\`\`sh block has no doc-test marker"
}
sp_test "every sh/python block of README.md and docs/*.md is marked run or skip (with a reason)" t_markers

t_doc() {
	docenv_reset
	run_doc "$1"
	[[ $(cat "$SP_CASE_DIR/ran") -gt 0 ]] || sp_fail "$1: no block ran"
}
for f in "${DOCS[@]}"; do
	# shellcheck disable=SC2016 # the marker, literally
	if grep -q '<!-- doc-test: run -->' "$f"; then
		sp_test "${f#"$SP_REPO"/}: every runnable block runs" t_doc "$f"
	fi
done

# The test fails when a block breaks: broken copies of two docs.
t_broken() {
	local copy out rc=0
	docenv_reset
	# A command that fails: the ipc recipe with a bad size.
	copy="$SP_CASE_DIR/runtime.md"
	sed 's/^shmpipectl create frames --ipc /shmpipectl create frames --ipc --size 1gb /' \
		"$SP_REPO/docs/runtime.md" >"$copy"
	grep -q -- '--size 1gb' "$copy" || sp_fail "the recipe to break is not in docs/runtime.md"
	out=$( (run_doc "$copy") 2>&1) && sp_fail "a broken copy of docs/runtime.md ran"
	echo "$out"
	sp_assert_match "$out" "FAIL: $copy:[0-9]+: this sh block failed \\(exit 2\\)"
	sp_assert_contains "$out" 'invalid size "1gb": unknown suffix "gb"; accepted:'
	# The README's Python example as it was (a segment of the whole default
	# size), writing its frames: SIGBUS once the other segment is there.
	docenv_reset
	copy="$SP_CASE_DIR/README.md"
	sed 's/size=48 << 20/size=64 << 20/' "$SP_REPO/README.md" >"$copy"
	grep -q 'size=64 << 20' "$copy" || sp_fail "the Python example to break is not in README.md"
	out=$( (run_doc "$copy") 2>&1) || rc=$?
	echo "$out"
	[[ $rc -ne 0 ]] || sp_fail "the README's Python example with a 64 MiB segment ran"
	sp_assert_match "$out" "FAIL: $copy:[0-9]+: this python block failed \\(exit 135\\)"
}
sp_test "a deliberately broken block fails the run, naming FILE:LINE (a bad size; the old 64 MiB Python example)" t_broken

sp_done
