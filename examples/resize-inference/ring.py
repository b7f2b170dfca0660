"""ring.py - the frame ring of the resize-inference example, in Python.

The same layout and protocol as c/ring.h (specified in RING.md), so a C
producer and a Python consumer (or the reverse) interoperate.  Plain
multiprocessing.shared_memory with a fixed name: nothing here knows about
shmpipe; under shmpipe /dev/shm simply is the pipeline's tmpfs.

Memory ordering.  Python has no atomics.  The words the two sides hand to
each other (magic, state, write_index, read_index, each slot's seq) are
8-byte aligned uint64 fields, read and written through a memoryview cast to
"Q": CPython packs/unpacks such an item with one 8-byte memcpy, which the
compiler emits as a single aligned mov, so a store is never torn.  On x86-64
(TSO) stores become visible in program order and loads are not reordered
with other loads or with later stores, which is all the protocol needs:
  - the producer writes the frame and its descriptor, then the slot's seq
    (a "release" for free on x86-64); the consumer reads seq, then the frame
    (an "acquire" for free);
  - the consumer finishes reading the frame, then stores read_index; the
    producer reads read_index before it rewrites the slot.
On weakly ordered CPUs (arm64, POWER) this is NOT enough: use the C
implementation there (C11 acquire/release), or add fences.  ring.open_*
refuse to run on anything but x86-64 unless SHMPIPE_RING_UNSAFE=1.
"""

import os
import platform
import sys
import time
from multiprocessing import resource_tracker, shared_memory

import numpy as np

MAGIC = 0x31474E4952504D53  # b"SMPRING1" read as a little-endian uint64
VERSION = 1
HEADER_SIZE = 4096
DESC_OFFSET = 256
DESC_SIZE = 64
MAX_SLOTS = (HEADER_SIZE - DESC_OFFSET) // DESC_SIZE  # 60
MAX_DIMS = 4
SLOT_ALIGN = 4096

INIT, RUNNING, FINISHED, ABORTED = 0, 1, 2, 3

# uint64 indexes into the header (byte offset / 8)
Q_MAGIC = 0
Q_SLOT_SIZE = 3
Q_FRAME_BYTES = 4
Q_SHAPE = 5
Q_STATE = 10
Q_TOTAL = 11
Q_PID = 12
Q_WRITE = 16  # byte 128, own cache line
Q_READ = 24  # byte 192, own cache line
# uint32 indexes
I_VERSION = 2
I_HEADER_SIZE = 3
I_SLOT_COUNT = 4
I_NDIM = 5


def _q_seq(slot):
    return (DESC_OFFSET + slot * DESC_SIZE) // 8


def _q_frame(slot):
    return _q_seq(slot) + 1


def _q_publish(slot):
    return _q_seq(slot) + 2


def _i_crc(slot):
    return (DESC_OFFSET + slot * DESC_SIZE + 24) // 4


def slot_size(frame_bytes):
    return (frame_bytes + SLOT_ALIGN - 1) // SLOT_ALIGN * SLOT_ALIGN


def segment_size(slot_count, frame_bytes):
    return HEADER_SIZE + slot_count * slot_size(frame_bytes)


def pattern_base(frame_bytes):
    """Byte i of frame n is (i % 251 + n) & 0xff: this is the i % 251 part."""
    return (np.arange(frame_bytes, dtype=np.int64) % 251).astype(np.uint8)


def _check_platform():
    if platform.machine() not in ("x86_64", "AMD64") and os.environ.get("SHMPIPE_RING_UNSAFE") != "1":
        sys.exit("ring.py relies on x86-64 memory ordering (see its docstring); "
                 "use the C implementation on %s" % platform.machine())


def _untrack(shm):
    """Python < 3.13 registers every SharedMemory it opens with the resource
    tracker, which unlinks it when this process exits - even a segment that
    another process created and still uses.  The ring's lifetime is managed
    explicitly (the consumer unlinks it), so take it away from the tracker."""
    try:
        resource_tracker.unregister(shm._name, "shared_memory")  # pylint: disable=protected-access
    except Exception:  # pragma: no cover - tracker internals differ
        pass


def _shm(name, create=False, size=0):
    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name, create=create, size=size, track=False)
    shm = shared_memory.SharedMemory(name, create=create, size=size)
    _untrack(shm)
    return shm


class Backoff:
    """Spin briefly, then sleep with a doubling period capped at 1 ms."""

    def __init__(self):
        self.n = 0
        self.delay = 20e-6

    def reset(self):
        self.n = 0
        self.delay = 20e-6

    def wait(self):
        self.n += 1
        if self.n < 16:
            return
        if self.n < 64:
            time.sleep(0)
            return
        time.sleep(self.delay)
        self.delay = min(self.delay * 2, 1e-3)


class Ring:
    """A mapped ring.  Use Ring.create (producer) or Ring.attach (consumer)."""

    def __init__(self, shm):
        self.shm = shm
        self.name = shm.name.lstrip("/")
        self._hdr = shm.buf[:HEADER_SIZE]
        self.q = self._hdr.cast("Q")
        self.i = self._hdr.cast("I")
        self.slot_count = 0
        self.slot_size = 0
        self.frame_bytes = 0
        self.shape = ()
        self.dtype = np.dtype(np.uint8)
        self.frames = []  # one ndarray per slot, over the shared memory
        self.flat = []  # the same slots as flat uint8 arrays

    # -- set-up ---------------------------------------------------------------

    @classmethod
    def create(cls, name, shape, dtype="|u1", slots=4):
        _check_platform()
        dt = np.dtype(dtype)
        frame_bytes = int(np.prod(shape)) * dt.itemsize
        if not 1 <= slots <= MAX_SLOTS or not 1 <= len(shape) <= MAX_DIMS:
            raise ValueError("1..%d slots, 1..%d dimensions" % (MAX_SLOTS, MAX_DIMS))
        try:  # a segment left by an earlier run would confuse a consumer
            os.unlink("/dev/shm/" + name)
        except FileNotFoundError:
            pass
        shm = _shm(name, create=True, size=segment_size(slots, frame_bytes))
        r = cls(shm)
        # tmpfs reads as zeros: every seq, both indexes and state (INIT) are 0
        r.i[I_VERSION] = VERSION
        r.i[I_HEADER_SIZE] = HEADER_SIZE
        r.i[I_SLOT_COUNT] = slots
        r.i[I_NDIM] = len(shape)
        r.q[Q_SLOT_SIZE] = slot_size(frame_bytes)
        r.q[Q_FRAME_BYTES] = frame_bytes
        for k in range(MAX_DIMS):
            r.q[Q_SHAPE + k] = shape[k] if k < len(shape) else 0
        r._hdr[72:80] = dt.str.encode().ljust(8, b"\0")
        r.q[Q_PID] = os.getpid()
        r.q[Q_STATE] = RUNNING
        r._map_slots()
        r.q[Q_MAGIC] = MAGIC  # last: the consumer trusts nothing before it
        return r

    @classmethod
    def attach(cls, name, timeout=30.0):
        """Wait (up to TIMEOUT s) for the producer's ring, map it."""
        _check_platform()
        deadline = time.monotonic() + timeout
        while True:
            try:
                shm = _shm(name)
            except (FileNotFoundError, ValueError):  # not there / not sized yet
                shm = None
            if shm is not None and shm.size >= HEADER_SIZE:
                r = cls(shm)
                settle = time.monotonic() + 2
                while r.q[Q_MAGIC] != MAGIC and time.monotonic() < settle:
                    time.sleep(1e-3)
                if r.q[Q_MAGIC] == MAGIC:
                    r._load_header()
                    if r.q[Q_READ] != 0:
                        r.close()
                        raise RuntimeError("/dev/shm/%s: frames were already taken from this ring "
                                           "(left by an earlier run?)" % name)
                    return r
                r.close()
            elif shm is not None:
                shm.close()
            if time.monotonic() > deadline:
                raise TimeoutError("no ring at /dev/shm/%s after %.0f s" % (name, timeout))
            time.sleep(5e-3)

    def _load_header(self):
        if self.i[I_VERSION] != VERSION or self.i[I_HEADER_SIZE] != HEADER_SIZE:
            raise RuntimeError("/dev/shm/%s: not a version-%d ring" % (self.name, VERSION))
        self.slot_count = self.i[I_SLOT_COUNT]
        ndim = self.i[I_NDIM]
        if not 1 <= self.slot_count <= MAX_SLOTS or not 1 <= ndim <= MAX_DIMS:
            raise RuntimeError("/dev/shm/%s: bad slot count or ndim" % self.name)
        self.shape = tuple(self.q[Q_SHAPE + k] for k in range(ndim))
        self.dtype = np.dtype(bytes(self._hdr[72:80]).rstrip(b"\0").decode())
        if self.q[Q_FRAME_BYTES] != int(np.prod(self.shape)) * self.dtype.itemsize:
            raise RuntimeError("/dev/shm/%s: frame_bytes does not match shape and dtype" % self.name)
        if self.q[Q_SLOT_SIZE] < self.q[Q_FRAME_BYTES] or \
                segment_size(self.slot_count, self.q[Q_FRAME_BYTES]) > self.shm.size:
            raise RuntimeError("/dev/shm/%s: smaller than its header says" % self.name)
        self._map_slots()

    def _map_slots(self):
        self.slot_count = self.i[I_SLOT_COUNT]
        self.slot_size = self.q[Q_SLOT_SIZE]
        self.frame_bytes = self.q[Q_FRAME_BYTES]
        ndim = self.i[I_NDIM]
        self.shape = tuple(self.q[Q_SHAPE + k] for k in range(ndim))
        self.dtype = np.dtype(bytes(self._hdr[72:80]).rstrip(b"\0").decode())
        self.frames, self.flat = [], []
        for s in range(self.slot_count):
            off = HEADER_SIZE + s * self.slot_size
            # views, not copies: the arrays ARE the shared memory
            self.frames.append(np.ndarray(self.shape, self.dtype, buffer=self.shm.buf, offset=off))
            self.flat.append(np.ndarray((self.frame_bytes,), np.uint8, buffer=self.shm.buf, offset=off))

    def close(self):
        """Drop every view of the mapping (numpy arrays included), unmap."""
        self.frames, self.flat = [], []
        for v in (self.q, self.i, self._hdr):
            v.release()
        self.shm.close()

    def unlink(self):
        try:
            os.unlink("/dev/shm/" + self.name)
        except FileNotFoundError:
            pass

    # -- the protocol ---------------------------------------------------------

    @property
    def state(self):
        return self.q[Q_STATE]

    @property
    def total(self):
        return self.q[Q_TOTAL]

    def can_write(self, n):
        """Producer: has the consumer released frame n - slot_count?"""
        return n - self.q[Q_READ] < self.slot_count

    def slot(self, n):
        """The ndarray (in shared memory) that holds frame n."""
        return self.frames[n % self.slot_count]

    def publish(self, n, crc):
        s = n % self.slot_count
        self.q[_q_frame(s)] = n
        self.i[_i_crc(s)] = crc
        self.q[_q_publish(s)] = time.monotonic_ns()
        self.q[_q_seq(s)] = n + 1  # the release: after the frame and descriptor
        self.q[Q_WRITE] = n + 1

    def finish(self, total, aborted=False):
        self.q[Q_TOTAL] = total
        self.q[Q_STATE] = ABORTED if aborted else FINISHED  # after the last seq

    def seq(self, n):
        """Consumer: the seq of frame n's slot (n+1 once frame n is there)."""
        return self.q[_q_seq(n % self.slot_count)]

    def descriptor(self, n):
        s = n % self.slot_count
        return self.q[_q_frame(s)], self.i[_i_crc(s)], self.q[_q_publish(s)]

    def release(self, n):
        """Consumer: done with frame n (after the last read of its slot)."""
        self.q[Q_READ] = n + 1


def describe(r):
    return "%s %s (%d bytes)" % ("x".join(map(str, r.shape)), r.dtype.str, r.frame_bytes)

