#!/bin/bash
# hook_member_names.sh - `shmpipectl ls` shows a member by the name its
# engine gave: the annotations Kubernetes' CRI puts on an app container
# (containerd: io.kubernetes.cri.sandbox-namespace, sandbox-name,
# container-name; see /work/shared/notes/containerd-cri.md), here written
# into runc bundles by hand; a container without them shows by its id.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hook.sh"
hk_setup

t_names() {
	local b1 b2 out who
	b1=$(sp_tmpdir bundle) b2=$(sp_tmpdir bundle)
	hk_bundle "$b1" createRuntime -a io.shmpipe.pipeline=named \
		-a io.kubernetes.cri.container-type=container \
		-a io.kubernetes.cri.sandbox-namespace=ml \
		-a io.kubernetes.cri.sandbox-name=infer-7d9f \
		-a io.kubernetes.cri.container-name=resize -- sleep 300
	hk_bundle "$b2" createRuntime -a io.shmpipe.pipeline=named -- sleep 300
	hk_run -d runc "$(sp_id named-a)" "$b1"
	hk_run -d runc "$(sp_id named-b)" "$b2"
	out=$(hk_ctl ls)
	sp_log "$out"
	who=$(awk '$1 == "named" {print $NF}' <<<"$out")
	sp_assert_eq "ml/infer-7d9f/resize,$(sp_id named-b | cut -c1-19)" "$who"
	hk_ctl inspect named >"$SP_CASE_DIR/named.json"
	sp_assert_eq '["ml/infer-7d9f/resize", null]' "$(sp_json "$SP_CASE_DIR/named.json" '[m.get("name") for m in j["members"]]')"
}
sp_test "ls: a CRI container by NAMESPACE/POD/CONTAINER, another by its id" t_names
sp_done
