#!/bin/sh
# install/install.sh BUILD DESTDIR PREFIX: installs shmpipe's binaries and
# engine integration files (called by `make install`, which installs
# shmpipectl itself).  One section per component; each only copies files.
#
# install/install.sh --containerd [install|uninstall] [OPTIONS]: puts the
# hook on this host and wires it into containerd's CRI (Kubernetes), the
# same installer the DaemonSet runs (install/kubernetes/shmpipe-node-install
# --help; docs/kubernetes.md).
set -eu

if [ "${1:-}" = --containerd ]; then
	shift
	case ${1:-} in
	install | uninstall) ;;
	*) set -- install "$@" ;;
	esac
	exec "$(dirname "$0")/kubernetes/shmpipe-node-install" "$@"
fi

if [ $# -ne 3 ]; then
	echo "usage: $0 BUILD DESTDIR PREFIX" >&2
	echo "       $0 --containerd [install|uninstall] [OPTIONS]" >&2
	exit 2
fi
build=$1
destdir=$2
prefix=$3
here=$(cd "$(dirname "$0")" && pwd)

case $prefix in
/*) ;;
*) echo "install.sh: PREFIX must be an absolute path" >&2; exit 2 ;;
esac

# Replaces the default hook path in a JSON file with the one under PREFIX.
rewrite_hook_path() {
	sed "s|/usr/local/libexec/shmpipe/shmpipe-hook|$prefix/libexec/shmpipe/shmpipe-hook|g" "$1"
}

# install_sed SED-EXPR SRC DEST: SRC edited by sed to DEST, mode 0644, by a
# rename (a reader never sees half a file).
install_sed() {
	local tmp
	tmp="$(dirname "$3")/.$(basename "$3").tmp"
	sed "$1" "$2" >"$tmp"
	chmod 0644 "$tmp"
	mv -f "$tmp" "$3"
}

# ---- OCI hook (hook/) ------------------------------------------------------
hook_dir=$destdir$prefix/libexec/shmpipe
install -d "$hook_dir"
install -m 0755 "$build/shmpipe-hook" "$hook_dir/shmpipe-hook"

# Podman, Buildah (and CRI-O, unless its own directory below replaces
# them): hooks.d (fixed path, not under PREFIX).  No --cri here.
hooks_d=$destdir/usr/share/containers/oci/hooks.d
install -d "$hooks_d"
for f in "$here"/hooks.d/*.json; do
	install_sed "s|/usr/local/libexec/shmpipe/shmpipe-hook|$prefix/libexec/shmpipe/shmpipe-hook|g" \
		"$f" "$hooks_d/$(basename "$f")"
done

# CRI-O: hooks of its own that run the hook with --cri (its pods' annotations
# are the CRI's), in a directory Podman does not read, and a crio.conf.d
# drop-in that reads it after the shared one (same file names: they replace
# the shared directory's for CRI-O).  Nothing reads them without CRI-O.
crio_hooks_d=$destdir$prefix/share/shmpipe/crio-hooks.d
install -d "$crio_hooks_d" "$destdir/etc/crio/crio.conf.d"
for f in "$here"/hooks.d/crio/*.json; do
	rewrite_hook_path "$f" >"$crio_hooks_d/.$(basename "$f").tmp"
	chmod 0644 "$crio_hooks_d/.$(basename "$f").tmp"
	mv -f "$crio_hooks_d/.$(basename "$f").tmp" "$crio_hooks_d/$(basename "$f")"
done
sed "s|/usr/local/share/shmpipe/|$prefix/share/shmpipe/|g" "$here/crio/99-shmpipe.conf" \
	>"$destdir/etc/crio/crio.conf.d/.99-shmpipe.conf.tmp"
chmod 0644 "$destdir/etc/crio/crio.conf.d/.99-shmpipe.conf.tmp"
mv -f "$destdir/etc/crio/crio.conf.d/.99-shmpipe.conf.tmp" "$destdir/etc/crio/crio.conf.d/99-shmpipe.conf"

# containerd (Kubernetes): base runtime spec + config snippet, to be wired
# into /etc/containerd/config.toml by the administrator.
share=$destdir$prefix/share/shmpipe
install -d "$share"
rewrite_hook_path "$here/containerd/base-runtime-spec.json" >"$share/base-runtime-spec.json"
sed "s|/usr/local/share/shmpipe/|$prefix/share/shmpipe/|g" "$here/containerd/config.toml.snippet" \
	>"$share/containerd-config.toml.snippet"
chmod 0644 "$share/base-runtime-spec.json" "$share/containerd-config.toml.snippet"

# ---- Docker volume plugin (plugin/) ----------------------------------------
# The binary next to the hook; systemd units (socket-activated, the socket in
# /run/docker/plugins where Docker finds it by itself) in the admin's
# /etc/systemd/system, or the distribution's PREFIX/lib/systemd/system for a
# /usr prefix, with ExecStart pointing under PREFIX.  The Docker spec file and
# the managed-plugin bundle go to PREFIX/share/shmpipe/docker (optional: see
# plugin/README.md).
plugin_dir=$destdir$prefix/libexec/shmpipe
install -d "$plugin_dir"
install -m 0755 "$build/shmpipe-plugin" "$plugin_dir/shmpipe-plugin"

case $prefix in
/usr) unit_dir=$destdir$prefix/lib/systemd/system ;;
*) unit_dir=$destdir/etc/systemd/system ;;
esac
install -d "$unit_dir"
install_sed "s|/usr/local/libexec/shmpipe/shmpipe-plugin|$prefix/libexec/shmpipe/shmpipe-plugin|g" \
	"$here/systemd/shmpipe-plugin.service" "$unit_dir/shmpipe-plugin.service"
install -m 0644 "$here/systemd/shmpipe-plugin.socket" "$unit_dir/shmpipe-plugin.socket"
# shmpipectl metrics for node_exporter's textfile collector (docs/metrics.md):
# installed, not enabled.
install_sed "s|/usr/local/bin/shmpipectl|$prefix/bin/shmpipectl|g" \
	"$here/systemd/shmpipe-metrics.service" "$unit_dir/shmpipe-metrics.service"
install -m 0644 "$here/systemd/shmpipe-metrics.timer" "$unit_dir/shmpipe-metrics.timer"
# The persistent pipelines made again at boot, before the engines start.
install_sed "s|/usr/local/bin/shmpipectl|$prefix/bin/shmpipectl|g" \
	"$here/systemd/shmpipe-restore.service" "$unit_dir/shmpipe-restore.service"

docker_share=$destdir$prefix/share/shmpipe/docker
install -d "$docker_share/managed-plugin"
install -m 0644 "$here/docker/shmpipe.spec" "$docker_share/shmpipe.spec"
install -m 0644 "$here/docker/managed-plugin/config.json" "$here/docker/managed-plugin/README.md" \
	"$docker_share/managed-plugin/"
install -m 0755 "$here/docker/managed-plugin/make-rootfs.sh" "$docker_share/managed-plugin/"

# ---- OCI runtime wrapper (runtime/) ------------------------------------------
# In PREFIX/bin, so that Docker's daemon.json "runtimes" and containerd's
# BinaryName can name it; it finds the hook in ../libexec/shmpipe.
install -d "$destdir$prefix/bin"
install -m 0755 "$build/shmpipe-runtime" "$destdir$prefix/bin/shmpipe-runtime"

# ---- Config and schemas --------------------------------------------------------
# The config is the admin's: installed only when there is none.
install -d "$destdir/etc/shmpipe" "$destdir$prefix/share/shmpipe/schemas"
if [ ! -e "$destdir/etc/shmpipe/config.json" ]; then
	sed -e "s|/usr/local/share/shmpipe/|$prefix/share/shmpipe/|g" \
		-e "s|/usr/local/libexec/shmpipe/shmpipe-hook|$prefix/libexec/shmpipe/shmpipe-hook|g" \
		"$here/config.json" >"$destdir/etc/shmpipe/config.json"
	chmod 0644 "$destdir/etc/shmpipe/config.json"
fi
install -m 0644 "$here"/../schemas/*.json "$destdir$prefix/share/shmpipe/schemas/"
