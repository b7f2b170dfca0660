#!/usr/bin/env python3
"""The "inference service": takes every frame from the shared ring /dev/shm/NAME.

Each frame is used where it lies, as a numpy array over the shared memory
(np.ndarray(..., buffer=shm.buf)): no copy.  Per frame it checks that the
slot's sequence number is exactly the expected one (nothing lost, nothing
read twice), that the CRC-32 of the bytes equals the one the producer
published, that sampled bytes are those of frame n, and that the slot was
not rewritten while being read; then "infers" (channel means of a strided,
downscaled view - still no copy of the frame) and releases the slot.
Plain multiprocessing.shared_memory; nothing shmpipe-specific.
"""
import argparse
import signal
import sys
import time
import zlib

import numpy as np

import ring


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", default="frames", help="segment name in /dev/shm (default frames)")
    ap.add_argument("--expect", type=int, help="fail unless exactly this many frames arrive")
    ap.add_argument("--timeout", type=float, default=30, help="max wait for the producer, s (default 30)")
    ap.add_argument("--keep", action="store_true", help="do not unlink the segment at the end")
    ap.add_argument("--verbose", "-v", action="store_true", help="a line per frame with its CRC-32")
    a = ap.parse_args()

    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))

    try:
        r = ring.Ring.attach(a.name, a.timeout)
    except (TimeoutError, RuntimeError) as e:
        print("consumer: %s" % e, file=sys.stderr)
        return 1

    fb = r.frame_bytes
    # 64 sample positions + the last byte, to check that slot n holds frame n
    idx = np.unique(np.append(np.linspace(0, fb - 1, 64).astype(np.int64), fb - 1))
    idx_base = (idx % 251).astype(np.int64)
    n = crc_ok = content_ok = lost = torn = 0
    lat = []
    means = None
    t_first = t_last = None
    why = None
    backoff = ring.Backoff()
    while True:
        want = n + 1
        old = n + 1 - r.slot_count if n >= r.slot_count else 0
        t0 = time.monotonic()
        backoff.reset()
        status = None  # "got", "end" or "violation"
        while status is None:
            seq = r.seq(n)
            if seq == want:
                status = "got"
            elif seq != old:
                status = "violation"  # overwritten or out of order
            elif r.state in (ring.FINISHED, ring.ABORTED):
                aborted = r.state == ring.ABORTED
                seq = r.seq(n)  # published before the state: look again
                if seq == want:
                    status = "got"
                elif n < r.total:
                    status = "violation"
                else:
                    status, why = "end", ("the producer aborted" if aborted else None)
            elif stop:
                status, why = "end", "interrupted"
            elif time.monotonic() - t0 > a.timeout:
                status, why = "end", "timed out waiting for the producer"
            else:
                backoff.wait()
        if status == "violation":
            print("consumer: frame %d: slot holds seq %d, want %d: frames lost" % (n, seq, want),
                  file=sys.stderr)
            lost += 1
            why = "protocol violation"
        if status != "got":
            break
        t_got = time.monotonic_ns()
        frame = r.slot(n)  # an ndarray over the shared memory: no copy
        flat = r.flat[n % r.slot_count]
        crc = zlib.crc32(flat)
        d_frame, d_crc, d_pub = r.descriptor(n)
        content = d_frame == n and bool(np.all(flat[idx] == ((idx_base + n) & 0xFF)))
        small = frame[::8, ::8] if frame.ndim >= 2 else frame[::8]  # the model's input: a view
        means = small.reshape(-1, small.shape[-1]).mean(axis=0) if frame.ndim == 3 else small.mean()
        if r.seq(n) != want:  # still ours? the producer may not touch it before release
            torn += 1
        del frame, flat, small
        r.release(n)
        crc_ok += crc == d_crc
        content_ok += content
        lat.append(max(t_got - d_pub, 0))
        if t_first is None:
            t_first = t_got
        t_last = time.monotonic_ns()
        if a.verbose:
            print("frame %d crc32 %08x %s" % (n, crc, "ok" if crc == d_crc and content else "BAD"))
        n += 1

    bad = (n - crc_ok) + (n - content_ok) + torn + lost
    secs = (t_last - t_first) / 1e9 if n > 1 else 0
    print("consumer: received %d frames of %s from /dev/shm/%s" % (n, ring.describe(r), a.name))
    print("consumer: checksums OK %d/%d, content OK %d/%d, lost %d, torn %d"
          % (crc_ok, n, content_ok, n, lost, torn))
    if n:
        lat.sort()
        print("consumer: %.1f frames/s, %.0f MB/s, publish-to-read latency p50 %.0f us, p99 %.0f us"
              % ((n - 1) / secs if secs else 0, (n - 1) * fb / secs / 1e6 if secs else 0,
                 lat[len(lat) // 2] / 1e3, lat[min(len(lat) - 1, int(0.99 * (len(lat) - 1) + 0.5))] / 1e3))
        print("consumer: last frame's channel means (downscaled view): %s"
              % " ".join("%.1f" % m for m in np.atleast_1d(means)))
    rc = 0
    if why is not None:
        print("consumer: stopped after %d frames: %s" % (n, why), file=sys.stderr)
        rc = 1
    if bad:
        rc = 1
    if a.expect is not None and n != a.expect:
        print("consumer: expected %d frames, got %d" % (a.expect, n), file=sys.stderr)
        rc = 1
    print("consumer: %s" % ("OK" if rc == 0 else "FAILED"))
    sys.stdout.flush()
    r.close()
    if not a.keep:
        r.unlink()
    return rc


if __name__ == "__main__":
    sys.exit(main())
