#!/bin/sh
# examples/gstreamer/gst.sh - the two GStreamer sides, run inside the
# containers (POSIX sh; gst-launch-1.0 comes from the host's /usr).
#
#   gst.sh send SOCKET N    N 1080p RGB frames of videotestsrc into shmsink
#   gst.sh recv SOCKET N    N frames from shmsrc, a SHA-256 line per frame
#
# shmsink puts the frames in a segment on /dev/shm and hands their offsets
# over the unix socket SOCKET; shmsrc maps the segment and reads them there.
# Sender: identity drop-allocation=true makes shmsink copy each frame into
# its own segment (with videotestsrc allocating from shmsink's pool, frames
# stay held and the sender stalls after a few); wait-for-connection holds
# the first frame until a receiver is there.  Receiver: shmsrc passes no
# EOS across, so num-buffers=N ends it after N frames, by itself; a sender
# that goes away early ends it with "Control socket has closed" and a
# non-zero status.
set -eu
CAPS=video/x-raw,format=RGB,width=1920,height=1080,framerate=30/1
FRAME=6220800
mode=$1 sock=$2 n=$3
case $mode in
send)
	exec gst-launch-1.0 -q videotestsrc pattern=ball num-buffers="$n" ! "$CAPS" \
		! identity drop-allocation=true \
		! shmsink socket-path="$sock" shm-size=$((FRAME * 4 + 65536)) \
		wait-for-connection=true sync=false
	;;
recv)
	# What this container has on /dev/shm and on the socket's directory.
	dir=${sock%/*}
	sed -n "s#^[^ ]* [^ ]* [^ ]* [^ ]* \(/dev/shm\|$dir\) .* - \([^ ]*\) \([^ ]*\) .*#recv: \1 is \2 \3#p" /proc/self/mountinfo
	# shmsrc needs the sender's socket to exist already.
	i=0
	while [ ! -S "$sock" ]; do
		i=$((i + 1))
		[ $i -lt 600 ] || { echo "recv: no socket at $sock after 60 s" >&2; exit 1; }
		sleep 0.1
	done
	gst-launch-1.0 -q shmsrc socket-path="$sock" num-buffers="$n" ! "$CAPS" \
		! checksumsink hash=sha256 sync=false >/tmp/gst-recv.$$ || { rc=$?; cat /tmp/gst-recv.$$; exit $rc; }
	got=$(wc -l </tmp/gst-recv.$$)
	sed 's/^[^ ]* /frame-sha256 /' /tmp/gst-recv.$$
	rm -f /tmp/gst-recv.$$
	echo "recv: $got of $n frames of ${FRAME} bytes"
	[ "$got" -eq "$n" ]
	;;
expect)
	# The checksums the receiver must print, made here without shm.
	gst-launch-1.0 -q videotestsrc pattern=ball num-buffers="$n" ! "$CAPS" \
		! checksumsink hash=sha256 sync=false | sed 's/^[^ ]* /frame-sha256 /'
	;;
*)
	echo "usage: gst.sh send|recv|expect SOCKET N" >&2
	exit 2
	;;
esac
