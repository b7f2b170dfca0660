/* ring.h - the frame ring that the resize-inference example shares through a
   POSIX shared-memory segment (/dev/shm/NAME, i.e. the pipeline's tmpfs when
   the container runs under shmpipe).  Single producer, single consumer.
   The layout and the protocol are specified in ../RING.md; ring.py is the
   Python implementation of the same thing, and the two interoperate.

   Header-only: C11 atomics (acquire/release) on the 8-byte, 8-byte-aligned
   words the two sides hand to each other; nothing else is shared.  */
#ifndef SHMPIPE_EXAMPLE_RING_H
#define SHMPIPE_EXAMPLE_RING_H

#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RING_MAGIC 0x31474e4952504d53ULL /* "SMPRING1" as little-endian bytes */
#define RING_VERSION 1u
#define RING_HEADER_SIZE 4096u
#define RING_DESC_OFFSET 256u
#define RING_DESC_SIZE 64u
#define RING_MAX_SLOTS ((RING_HEADER_SIZE - RING_DESC_OFFSET) / RING_DESC_SIZE) /* 60 */
#define RING_MAX_DIMS 4u
#define RING_SLOT_ALIGN 4096u

/* header.state */
enum ring_state
{
  RING_INIT = 0,     /* being set up: do not trust any field but magic */
  RING_RUNNING = 1,  /* the producer is publishing frames */
  RING_FINISHED = 2, /* the producer published header.total frames and stopped */
  RING_ABORTED = 3,  /* the producer gave up (timeout, signal) */
};

/* One 64-byte cache line per slot, so that the producer publishing slot i+1
   does not bounce the line the consumer polls for slot i. */
struct ring_desc
{
  _Atomic uint64_t seq; /* 0: never written; n+1: holds frame n (release by the producer) */
  uint64_t frame;       /* n, again (written before seq; a cross-check) */
  uint64_t publish_ns;  /* CLOCK_MONOTONIC when the producer published it */
  uint32_t crc32;       /* CRC-32 (zlib's) of the frame's frame_bytes bytes */
  uint32_t flags;       /* 0 */
  uint8_t pad_[32];
};

struct ring_header
{
  _Atomic uint64_t magic;        /* RING_MAGIC, stored last by the producer (release) */
  uint32_t version;              /* RING_VERSION */
  uint32_t header_size;          /* RING_HEADER_SIZE: slot 0 starts here */
  uint32_t slot_count;           /* 1 .. RING_MAX_SLOTS */
  uint32_t ndim;                 /* 1 .. RING_MAX_DIMS */
  uint64_t slot_size;            /* stride between slots: frame_bytes rounded up to 4096 */
  uint64_t frame_bytes;          /* product of shape[] times the item size */
  uint64_t shape[RING_MAX_DIMS]; /* unused dimensions are 0 */
  char dtype[8];                 /* numpy typestr, NUL-padded: "|u1" */
  _Atomic uint64_t state;        /* enum ring_state (release by the producer) */
  uint64_t total;                /* frames published, valid once state is FINISHED */
  uint64_t producer_pid;         /* informational (a pid in the producer's namespace) */
  uint8_t pad0_[128 - 104];
  _Atomic uint64_t write_index;      /* 128: frames published (release by the producer) */
  _Atomic uint32_t consumer_waiting; /* 136: 1 while the consumer sleeps on write_bell */
  _Atomic uint32_t write_bell;       /* 140: bumped by the producer to wake it (futex) */
  uint8_t pad1_[64 - 16];
  _Atomic uint64_t read_index;       /* 192: frames the consumer is done with (release) */
  _Atomic uint32_t producer_waiting; /* 200: 1 while the producer sleeps on read_bell */
  _Atomic uint32_t read_bell;        /* 204: bumped by the consumer to wake it (futex) */
  uint8_t pad2_[64 - 16];
  struct ring_desc desc[RING_MAX_SLOTS]; /* 256 */
};

_Static_assert(sizeof (struct ring_desc) == RING_DESC_SIZE, "descriptor size");
_Static_assert(offsetof (struct ring_header, state) == 80, "state offset");
_Static_assert(offsetof (struct ring_header, write_index) == 128, "write_index offset");
_Static_assert(offsetof (struct ring_header, read_index) == 192, "read_index offset");
_Static_assert(offsetof (struct ring_header, write_bell) == 140, "write_bell offset");
_Static_assert(offsetof (struct ring_header, read_bell) == 204, "read_bell offset");
_Static_assert(offsetof (struct ring_header, desc) == RING_DESC_OFFSET, "desc offset");
_Static_assert(sizeof (struct ring_header) == RING_HEADER_SIZE, "header size");

static inline uint64_t
ring_slot_size (uint64_t frame_bytes)
{
  return (frame_bytes + RING_SLOT_ALIGN - 1) / RING_SLOT_ALIGN * RING_SLOT_ALIGN;
}

static inline uint64_t
ring_segment_size (uint32_t slot_count, uint64_t frame_bytes)
{
  return RING_HEADER_SIZE + (uint64_t) slot_count * ring_slot_size (frame_bytes);
}

static inline uint8_t *
ring_slot (struct ring_header *h, uint64_t frame)
{
  return (uint8_t *) h + h->header_size + (frame % h->slot_count) * h->slot_size;
}

static inline struct ring_desc *
ring_desc (struct ring_header *h, uint64_t frame)
{
  return &h->desc[frame % h->slot_count];
}

/* ------------------------------------------------------------------------
   Sleeping instead of spinning (optional).  A side that has nothing to do
   spins a little, then sleeps on the other side's "bell" (a futex on the
   shared page: it works across processes and containers), after raising its
   "waiting" flag; the other side, after each publish/release, rings the bell
   only when the flag is up, so a busy ring makes no system calls.  Sleeps
   last at most RING_NAP_NS, so a peer that never rings (ring.py) is still
   noticed within that time: waking is a speed-up, never needed for
   correctness.
   ------------------------------------------------------------------------ */

#define RING_NAP_NS 1000000L

static inline void
ring_cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static inline void
ring_futex_wait (_Atomic uint32_t *word, uint32_t expected)
{
  struct timespec ts = { 0, RING_NAP_NS };
  syscall (SYS_futex, (uint32_t *) word, FUTEX_WAIT, expected, &ts, NULL, 0);
}

static inline void
ring_ring_bell (_Atomic uint32_t *waiting, _Atomic uint32_t *bell)
{
  /* Dekker with the sleeper: our store (seq or read_index) before the load
     of its flag; it stores the flag before it loads what we stored.  */
  atomic_thread_fence (memory_order_seq_cst);
  if (atomic_load_explicit (waiting, memory_order_relaxed))
    {
      atomic_fetch_add_explicit (bell, 1, memory_order_seq_cst);
      syscall (SYS_futex, (uint32_t *) bell, FUTEX_WAKE, 1, NULL, NULL, 0);
    }
}

/* The producer: may frame N be written?  (The consumer released frame
   N - slot_count, the previous occupant of N's slot.) */
static inline int
ring_can_write (struct ring_header *h, uint64_t n)
{
  return n - atomic_load_explicit (&h->read_index, memory_order_acquire) < h->slot_count;
}

/* The producer, after filling ring_slot (h, n): publish frame N. */
static inline void
ring_publish (struct ring_header *h, uint64_t n, uint32_t crc, uint64_t now_ns)
{
  struct ring_desc *d = ring_desc (h, n);
  d->frame = n;
  d->crc32 = crc;
  d->flags = 0;
  d->publish_ns = now_ns;
  atomic_store_explicit (&d->seq, n + 1, memory_order_release);
  atomic_store_explicit (&h->write_index, n + 1, memory_order_release);
  ring_ring_bell (&h->consumer_waiting, &h->write_bell);
}

/* The producer, done: TOTAL frames published (or ABORTED). */
static inline void
ring_finish (struct ring_header *h, uint64_t total, int aborted)
{
  h->total = total;
  atomic_store_explicit (&h->state, aborted ? RING_ABORTED : RING_FINISHED, memory_order_release);
  atomic_fetch_add_explicit (&h->write_bell, 1, memory_order_seq_cst);
  syscall (SYS_futex, (uint32_t *) &h->write_bell, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* The producer, frame N's slot still busy: sleep until the consumer
   releases something (or RING_NAP_NS). */
static inline void
ring_sleep_producer (struct ring_header *h, uint64_t n)
{
  uint32_t bell = atomic_load_explicit (&h->read_bell, memory_order_acquire);
  atomic_store_explicit (&h->producer_waiting, 1, memory_order_seq_cst);
  if (!ring_can_write (h, n))
    ring_futex_wait (&h->read_bell, bell);
  atomic_store_explicit (&h->producer_waiting, 0, memory_order_relaxed);
}

/* The consumer: the sequence number of frame N's slot (N+1 when N is there;
   N+1-slot_count when it still holds the previous occupant; anything else
   is a protocol violation). */
static inline uint64_t
ring_peek (struct ring_header *h, uint64_t n)
{
  return atomic_load_explicit (&ring_desc (h, n)->seq, memory_order_acquire);
}

/* The consumer, frame N not there yet: sleep until the producer publishes
   or finishes (or RING_NAP_NS). */
static inline void
ring_sleep_consumer (struct ring_header *h, uint64_t n)
{
  uint32_t bell = atomic_load_explicit (&h->write_bell, memory_order_acquire);
  atomic_store_explicit (&h->consumer_waiting, 1, memory_order_seq_cst);
  if (ring_peek (h, n) != n + 1
      && atomic_load_explicit (&h->state, memory_order_acquire) == RING_RUNNING)
    ring_futex_wait (&h->write_bell, bell);
  atomic_store_explicit (&h->consumer_waiting, 0, memory_order_relaxed);
}

/* The consumer, done reading frame N: give its slot back. */
static inline void
ring_release (struct ring_header *h, uint64_t n)
{
  atomic_store_explicit (&h->read_index, n + 1, memory_order_release);
  ring_ring_bell (&h->producer_waiting, &h->read_bell);
}

/* A waiter's loop: spin for up to RING_SPIN_NS (cheap when the other side
   runs on another CPU and is about to deliver), then yield the CPU a few
   times (the other side may be waiting for this very CPU), then sleep.
     struct ring_spin w = { 0 };
     while (!ready)
       if (!ring_pause (&w))
         ring_sleep_consumer (h, n);  */
struct ring_spin
{
  unsigned n;
  unsigned yields;
  uint64_t t0;
};

#define RING_SPIN_NS 5000u
#define RING_YIELDS 4u

static inline uint64_t
ring_now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

/* 1: keep polling; 0: time to sleep (ring_sleep_*), and every call after. */
static inline int
ring_pause (struct ring_spin *w)
{
  if (w->t0 == 0)
    w->t0 = ring_now_ns ();
  if (w->yields == 0 && ((++w->n & 15) != 0 || ring_now_ns () - w->t0 < RING_SPIN_NS))
    {
      ring_cpu_relax ();
      return 1;
    }
  if (w->yields < RING_YIELDS)
    {
      w->yields++;
      sched_yield ();
      return 1;
    }
  return 0;
}

/* ------------------------------------------------------------------------
   The deterministic frame content both sides agree on, so that the consumer
   can tell frame n from any other: byte i of frame n is (i % 251 + n) & 0xff.
   ------------------------------------------------------------------------ */

/* BASE: frame_bytes bytes of i % 251 (computed once). */
static inline void
ring_pattern_base (uint8_t *base, uint64_t len)
{
  uint8_t v = 0;
  for (uint64_t i = 0; i < len; i++)
    {
      base[i] = v;
      v = v == 250 ? 0 : v + 1;
    }
}

static inline uint8_t
ring_pattern_byte (uint64_t i, uint64_t n)
{
  return (uint8_t) (i % 251 + n);
}

/* ------------------------------------------------------------------------
   CRC-32 (IEEE 802.3, reflected, the value of zlib.crc32), slicing-by-8.
   ------------------------------------------------------------------------ */

static uint32_t ring_crc_table[8][256];

static inline void
ring_crc32_init (void)
{
  for (uint32_t i = 0; i < 256; i++)
    {
      uint32_t c = i;
      for (int k = 0; k < 8; k++)
        c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      ring_crc_table[0][i] = c;
    }
  for (uint32_t i = 0; i < 256; i++)
    for (int t = 1; t < 8; t++)
      ring_crc_table[t][i]
          = (ring_crc_table[t - 1][i] >> 8) ^ ring_crc_table[0][ring_crc_table[t - 1][i] & 0xff];
}

/* ring_crc32_init () first. */
static inline uint32_t
ring_crc32 (const void *buf, size_t len)
{
  const uint8_t *p = buf;
  uint32_t c = 0xffffffffu;

  while (len >= 8)
    {
      uint32_t lo, hi;
      memcpy (&lo, p, 4);
      memcpy (&hi, p + 4, 4);
      lo ^= c;
      c = ring_crc_table[7][lo & 0xff] ^ ring_crc_table[6][(lo >> 8) & 0xff]
          ^ ring_crc_table[5][(lo >> 16) & 0xff] ^ ring_crc_table[4][lo >> 24]
          ^ ring_crc_table[3][hi & 0xff] ^ ring_crc_table[2][(hi >> 8) & 0xff]
          ^ ring_crc_table[1][(hi >> 16) & 0xff] ^ ring_crc_table[0][hi >> 24];
      p += 8;
      len -= 8;
    }
  while (len--)
    c = ring_crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

#endif
