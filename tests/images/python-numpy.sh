#!/usr/bin/env bash
# tests/images/python-numpy.sh [CACHE_DIR] - print the path of a Debian 12
# (bookworm) root filesystem with python3 and python3-numpy, for running the
# Python resize-inference example in runc/ctr/podman containers (and, as a
# tarball, in docker).  Built and cached by debian-rootfs.sh.
set -euo pipefail
exec "$(dirname "$0")/debian-rootfs.sh" python-numpy python3,python3-numpy \
	"/usr/bin/python3 -c 'import numpy, multiprocessing.shared_memory, zlib'" "$@"
