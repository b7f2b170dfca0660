#!/usr/bin/env python3
"""The "resize service": writes frames into the shared ring /dev/shm/NAME.

Each frame is produced directly in its ring slot (a numpy array over the
shared memory): nothing is copied on its way to the consumer.  Byte i of
frame n is (i % 251 + n) & 0xff, so the consumer can verify every frame.
Plain multiprocessing.shared_memory; nothing shmpipe-specific.
"""
import argparse
import signal
import sys
import time
import zlib

import numpy as np

import ring


def parse_shape(s):
    try:
        shape = tuple(int(x) for x in s.split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("want e.g. 1080x1920x3") from None
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError("want e.g. 1080x1920x3")
    return shape


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", default="frames", help="segment name in /dev/shm (default frames)")
    ap.add_argument("--frames", type=int, default=300, help="frames to publish (default 300)")
    ap.add_argument("--shape", type=parse_shape, default=(1080, 1920, 3), help="HxWxC (default 1080x1920x3)")
    ap.add_argument("--slots", type=int, default=4, help="ring slots (default 4)")
    ap.add_argument("--fps", type=float, default=0, help="pace frames (default 0: as fast as consumed)")
    ap.add_argument("--timeout", type=float, default=30, help="max wait for a free slot, s (default 30)")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()

    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))

    r = ring.Ring.create(a.name, a.shape, "|u1", a.slots)
    base = ring.pattern_base(r.frame_bytes).reshape(r.shape)
    crc_of = {}  # frame n's content depends on n % 256 only
    backoff = ring.Backoff()
    t0 = time.monotonic()
    waited = 0.0
    rc = 0
    n = 0
    while n < a.frames and not stop:
        w0 = time.monotonic()
        backoff.reset()
        while not r.can_write(n) and not stop:
            if time.monotonic() - w0 > a.timeout:
                print("producer: frame %d: the consumer took nothing for %.0f s" % (n, a.timeout),
                      file=sys.stderr)
                stop.append(1)
                rc = 1
                break
            backoff.wait()
        if stop:
            break
        waited += time.monotonic() - w0
        frame = r.slot(n)
        np.add(base, np.uint8(n & 0xFF), out=frame)  # "resize" straight into the slot
        crc = crc_of.get(n & 0xFF)
        if crc is None:
            crc = crc_of[n & 0xFF] = zlib.crc32(frame)
        del frame
        r.publish(n, crc)
        n += 1
        if a.fps > 0:
            due = t0 + n / a.fps
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
    if stop and rc == 0:
        print("producer: interrupted after %d frames" % n, file=sys.stderr)
        rc = 1
    r.finish(n, aborted=rc != 0)
    secs = time.monotonic() - t0
    if not a.quiet:
        print("producer: published %d frames of %s into /dev/shm/%s, %d slots"
              % (n, ring.describe(r), a.name, r.slot_count))
        print("producer: %.2f s, %.1f frames/s, waited for a free slot %.0f%% of the time"
              % (secs, n / secs if secs else 0, 100 * waited / secs if secs else 0))
        sys.stdout.flush()
    del base
    r.close()  # the consumer unlinks the segment once it has read everything
    return rc


if __name__ == "__main__":
    sys.exit(main())
