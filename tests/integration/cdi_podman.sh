#!/bin/bash
# cdi_podman.sh - pipelines as CDI devices in Podman 4.3:
# `podman run --device shmpipe.io/pipeline=NAME`, with the spec that
# shmpipectl keeps in /etc/cdi (the config's "cdi": true).
#
# Podman 4.3.1 reads CDI specs only from /etc/cdi and /var/run/cdi (its
# containers.conf "cdi_spec_dirs" is not honoured: checked here), so this
# test writes /etc/cdi/shmpipe.json; it restores /etc/cdi exactly as it found
# it, and its last case checks that it did.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup

CDI_DIR=/etc/cdi
CDI_SPEC=$CDI_DIR/shmpipe.json
KIND=shmpipe.io/pipeline
SCHEMA_CHECK=("$SP_PYTHON" "$SP_REPO/tests/schema_check.py" "$SP_REPO/schemas/cdi.schema.json")
printf '{"cdi": true, "cdi_spec_dir": "%s", "cdi_hook": "%s"}\n' "$CDI_DIR" "$HK_HOOK" >"$HK_CONFIG"

# ---- /etc/cdi as found, and put back ------------------------------------
CDI_SAVED=$SP_TMP/etc-cdi-saved
# cdi_manifest : every entry of /etc/cdi with type, mode, owner, size, mtime
# and a content hash; "absent" when there is no /etc/cdi.
cdi_manifest() {
	if [[ ! -e $CDI_DIR ]]; then
		echo absent
		return
	fi
	(cd "$CDI_DIR" && find . -printf '%p %y %m %u:%g %s %T@\n' | sort &&
		find . -type f -print0 | sort -z | xargs -0r sha256sum)
}
cdi_restore() {
	rm -f "$CDI_SPEC" "$CDI_DIR"/.shmpipe.json.tmp.* "$CDI_DIR/shmpipe-broken.json"
	[[ -e $CDI_SAVED/shmpipe.json ]] && cp -a "$CDI_SAVED/shmpipe.json" "$CDI_SPEC"
	[[ -e $CDI_SAVED/dir-was-absent ]] && rmdir "$CDI_DIR" 2>/dev/null
	# put the directory's own mtime back (our writes changed it)
	[[ -e $CDI_SAVED/dir-stamp ]] && touch -r "$CDI_SAVED/dir-stamp" "$CDI_DIR"
	return 0
}
mkdir -p "$CDI_SAVED"
cdi_manifest >"$CDI_SAVED/manifest"
if [[ -d $CDI_DIR ]]; then
	touch -r "$CDI_DIR" "$CDI_SAVED/dir-stamp"
	[[ -e $CDI_SPEC ]] && cp -a "$CDI_SPEC" "$CDI_SAVED/shmpipe.json"
else
	touch "$CDI_SAVED/dir-was-absent"
fi
sp_defer cdi_restore

ROOTFS=$(sp_tmpdir rootfs)
sp_busybox_rootfs "$ROOTFS"

# cdi_devices : the device names in the spec, one per line.
cdi_devices() { sp_json "$CDI_SPEC" '"\n".join(d["name"] for d in j["devices"])'; }

# A persistent pipeline is a device as soon as it is created, and the spec
# is what the project's schema describes.
t_create() {
	hk_ctl create frames --size 4m >/dev/null
	hk_ctl create other --size 4m >/dev/null
	hk_ctl create scratch --size 4m --lifetime ephemeral >/dev/null
	# A namespaced pipeline (a pod's) and a name CDI does not take: left out,
	# and said so; they stay for the next cases, so Podman loads the spec
	# with them in the store.
	hk_ctl create team-a/frames --size 4m >/dev/null
	hk_ctl create edge- --size 4m >/dev/null
	sp_assert_eq "$(printf 'frames\nother')" "$(cdi_devices)" "devices (persistent pipelines only)"
	sp_assert_eq 644 "$(stat -c %a "$CDI_SPEC")" "spec mode"
	"${SCHEMA_CHECK[@]}" "$CDI_SPEC"
	sp_assert_contains "$(hk_ctl cdi 2>&1)" "pipeline team-a/frames has no device: a Kubernetes namespace's pipeline is for its pods"
	sp_assert_contains "$(hk_ctl cdi 2>&1)" "pipeline edge- has no device: a CDI device name ends with a letter or digit"
	hk_ctl rm scratch
}

# podman_id NAME : the full id of a podman container.
podman_id() { sp_podman inspect -f '{{.Id}}' "$1"; }
# reader_done NAME : the reader printed its data and its /dev/shm line.
reader_done() { [[ $(sp_podman logs "$1" 2>/dev/null | grep -c .) -ge 2 ]]; }
no_members() { [[ -z $(hk_members "$1") ]]; }

# Two containers given the frames device share a segment; both are members
# while they run, none after; the pipeline stays (persistent).
t_share() {
	local data="cdi-$SP_RUN_ID" w r wid rid out
	w=$(sp_id cdi-writer)
	r=$(sp_id cdi-reader)
	sp_podman_run -d --name "$w" --device "$KIND=frames" --rootfs "$ROOTFS" \
		/bin/sh -c "shmtool write frames '$data' && exec sleep 300" >/dev/null
	sp_podman_run -d --name "$r" --device "$KIND=frames" --rootfs "$ROOTFS" \
		/bin/sh -c 'shmtool wait frames 10 && shmtool read frames && echo && shmtool mountinfo && exec sleep 300' >/dev/null
	wid=$(podman_id "$w")
	rid=$(podman_id "$r")
	sp_wait_for 30 reader_done "$r" || sp_fail "the reader printed: $(sp_podman logs "$r" 2>&1)"
	out=$(sp_podman logs "$r")
	sp_assert_eq "$data" "$(sed -n 1p <<<"$out")" "the reader reads the writer's segment"
	hk_assert_shm_line "$(sed -n 2p <<<"$out")" frames
	sp_assert_eq "$(printf '%s\n' "$wid" "$rid" | sort)" "$(hk_members frames | sort)" "members while both run"
	sp_podman rm -f -t 0 "$w" "$r" >/dev/null
	sp_wait_for 20 no_members frames || sp_fail "members after both are gone: $(hk_members frames)"
	hk_exists frames || sp_fail "persistent pipeline frames went with its containers"
	hk_mounted frames || sp_fail "frames' tmpfs went with its containers"
}

# A container given the other pipeline's device sees neither frames'
# segment nor the host's /dev/shm, and /dev/shm is other's tmpfs.
t_other() {
	local marker="shmpipe-cdi-host-$SP_RUN_ID" out
	echo host >"/dev/shm/$marker"
	sp_defer rm -f "/dev/shm/$marker"
	# a segment in frames, written on the host through its tmpfs
	echo "frames-secret" >"$HK_ROOT/mnt/frames/frames-secret"
	out=$(sp_podman_run --rm --name "$(sp_id cdi-other)" --device "$KIND=other" --rootfs "$ROOTFS" \
		/bin/sh -c 'shmtool mountinfo; ls -A /dev/shm; echo end')
	hk_assert_shm_line "$(sed -n 1p <<<"$out")" other
	sp_assert_eq end "$(sed -n 2p <<<"$out")" "/dev/shm of the other pipeline is empty"
	sp_assert_not_contains "$out" frames-secret
	sp_assert_not_contains "$out" "$marker"
	sp_assert_eq "" "$(hk_members other)" "members of other after its container"
}

# The device names frames; an annotation or an environment entry naming
# another pipeline makes the hook refuse the container, which joins nothing.
t_disagree() {
	local out
	if out=$(sp_podman_run --rm --name "$(sp_id cdi-ann)" --device "$KIND=frames" \
		--annotation io.shmpipe.pipeline=other --rootfs "$ROOTFS" /bin/true 2>&1); then
		sp_fail "a container with annotation other and device frames ran: $out"
	fi
	sp_assert_contains "$out" "annotation names pipeline other, the hook's --pipeline frames: refusing"
	if out=$(sp_podman_run --rm --name "$(sp_id cdi-env)" --device "$KIND=frames" \
		--env SHMPIPE_PIPELINE=other --rootfs "$ROOTFS" /bin/true 2>&1); then
		sp_fail "a container with SHMPIPE_PIPELINE=other and device frames ran: $out"
	fi
	sp_assert_contains "$out" "environment names pipeline other, the hook's --pipeline frames: refusing"
	sp_assert_eq "" "$(hk_members other)" "members of other"
	sp_assert_not_contains "$(hk_members frames)" "$SP_RUN_ID-cdi-" "members of frames"
	# agreeing is fine
	out=$(sp_podman_run --rm --name "$(sp_id cdi-agree)" --device "$KIND=frames" \
		--annotation io.shmpipe.pipeline=frames --rootfs "$ROOTFS" /bin/sh -c 'shmtool mountinfo')
	hk_assert_shm_line "$out" frames
}

# shmpipectl rm takes the device out of the spec; Podman then refuses it
# with its own error.
t_rm() {
	local out
	hk_ctl rm frames
	sp_assert_eq other "$(cdi_devices)" "devices after rm frames"
	"${SCHEMA_CHECK[@]}" "$CDI_SPEC"
	if out=$(sp_podman_run --rm --name "$(sp_id cdi-gone)" --device "$KIND=frames" \
		--rootfs "$ROOTFS" /bin/true 2>&1); then
		sp_fail "podman ran a container with the removed device: $out"
	fi
	sp_assert_contains "$out" "Error: setting up CDI devices: unresolvable CDI devices $KIND=frames"
	hk_exists frames && sp_fail "a container of the removed device re-created frames"
	return 0
}

# A spec Podman rejects (a hook stage CDI does not know) is rejected by the
# schema test first; Podman's own reason is in its debug log.
t_broken() {
	local fixture="$SP_REPO/tests/fixtures/cdi/invalid-hook-name.json" out
	if out=$("${SCHEMA_CHECK[@]}" "$fixture"); then
		sp_fail "the schema accepted $fixture: $out"
	fi
	sp_assert_contains "$out" "hookName: 'preStart' is not one of ['createRuntime', 'poststop']"
	# the same spec under another kind, so that it cannot clash with ours
	sed 's|"shmpipe.io/pipeline"|"shmpipe.io/broken"|' "$fixture" >"$CDI_DIR/shmpipe-broken.json"
	sp_defer rm -f "$CDI_DIR/shmpipe-broken.json"
	if out=$(sp_podman_run --rm --log-level=debug --name "$(sp_id cdi-broken)" \
		--device shmpipe.io/broken=frames --rootfs "$ROOTFS" /bin/true 2>&1); then
		sp_fail "podman ran a container with the broken spec"
	fi
	sp_assert_contains "$out" 'invalid hook name \"preStart\"' "podman's reason"
	sp_assert_contains "$out" "Error: setting up CDI devices: unresolvable CDI devices shmpipe.io/broken=frames"
	rm -f "$CDI_DIR/shmpipe-broken.json"
	# our own spec still works next to it
	out=$(sp_podman_run --rm --name "$(sp_id cdi-ok)" --device "$KIND=other" --rootfs "$ROOTFS" \
		/bin/sh -c 'shmtool mountinfo')
	hk_assert_shm_line "$out" other
}

t_restored() {
	hk_ctl rm other
	hk_ctl rm team-a/frames
	hk_ctl rm edge-
	cdi_restore
	sp_assert_eq "$(cat "$CDI_SAVED/manifest")" "$(cdi_manifest)" "/etc/cdi as found"
}

sp_test "cdi: create adds persistent pipelines to $CDI_SPEC, which validates; team-a/frames and edge- are left out, and said so" t_create
sp_test "cdi: podman --device $KIND=frames: two containers share a segment, members while they run, none after" t_share
sp_test "cdi: a container given another pipeline's device sees neither frames nor the host's /dev/shm" t_other
sp_test "cdi: an annotation or env naming another pipeline than the device's is refused" t_disagree
sp_test "cdi: after shmpipectl rm frames the device is gone and podman refuses it" t_rm
sp_test "cdi: a broken spec is rejected by the schema test and by podman" t_broken
sp_test "cdi: /etc/cdi is left as this test found it" t_restored
sp_done
