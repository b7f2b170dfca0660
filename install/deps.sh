#!/usr/bin/env bash
# Installs every Debian 12 package that building and testing shmpipe needs.
# Safe to run twice.  Run as root.
set -euo pipefail
packages=(
	# build
	build-essential pkg-config libyajl-dev libcap-dev libseccomp-dev libmicrohttpd-dev
	libcurl4-openssl-dev
	# unit tests, sanitizers, fuzzing, memory checks
	libcmocka-dev clang libclang-rt-14-dev valgrind
	# integration tests: the real engines and what their images are made of
	runc crun containerd docker.io podman busybox-static debootstrap
	util-linux iproute2 curl procps psmisc
	# schema validation, examples and benchmarks
	python3 python3-jsonschema python3-numpy docker-compose
	# docs: the ctr recipe in docs/hook.md edits containerd's spec with jq
	jq
	# man pages (scdoc sources), the Debian package and its checks (lintian,
	# systemd-analyze verify of its units)
	scdoc man-db dpkg-dev debhelper lintian systemd
	# metrics: the Prometheus text format parsed as node_exporter would
	python3-prometheus-client
	# the Kubernetes tests' CRI client (gRPC, the CRI v1 subset compiled at test
	# time) and the node installer (containerd's TOML config, edited in place)
	python3-grpcio python3-protobuf protobuf-compiler python3-tomlkit
	# the node image's test (capsh: the capabilities a container may have
	# here) and the manifest's (kubectl kustomize's YAML, read back)
	libcap2-bin python3-yaml
	# middleware examples and tests (issue 14): iceoryx and GStreamer shm
	iceoryx libiceoryx-binding-c-dev gstreamer1.0-tools gstreamer1.0-plugins-bad
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#packages[@]} packages present"
	exit 0
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q "${missing[@]}"
# kubernetes_manifest.sh needs kubectl with kustomize v5 (kubectl >= 1.27,
# from Kubernetes' own apt repository): Debian 12's kubernetes-client (1.20)
# is too old for kustomize components.
command -v kubectl >/dev/null || echo "deps: no kubectl (>= 1.27): kubernetes_manifest.sh will fail" >&2
# The docker.io and containerd packages start system daemons; tests run their
# own private ones, so the system ones are left as the admin had them.
