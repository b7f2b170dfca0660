/* consumer.c - the "inference service" of the resize-inference example, in C.
   Maps /dev/shm/NAME (ring.h, ../RING.md) made by the producer, takes every
   frame in order straight from its slot (no copy), checks it, releases the
   slot, and reports what it received.  Unlinks the segment at the end
   (unless --keep).  Waits for the producer with back-off; gives up after
   --timeout seconds without progress.

   Checks per frame: the slot's sequence number is exactly the one expected
   (nothing lost, nothing read twice), the CRC-32 of the bytes read equals
   the CRC the producer published, sampled bytes match the content of frame n,
   and the slot was not rewritten while it was being read. */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring.h"
#include "util.h"

static const char usage[]
    = "Usage: consumer [--name NAME] [--expect N] [--timeout SEC] [--keep] [--verbose]\n"
      "Reads every frame from the ring /dev/shm/NAME (default \"frames\") until the\n"
      "producer finishes.  Exit 0 when every frame checked out (and, with --expect,\n"
      "exactly N arrived).  --verbose prints a line per frame with its CRC-32.\n";

static volatile sig_atomic_t stop;

static void
on_signal (int sig)
{
  (void) sig;
  stop = 1;
}

static int
timed_out (uint64_t since, uint64_t timeout_ns)
{
  return now_ns () - since > timeout_ns;
}

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "name", required_argument, NULL, 'n' },
    { "expect", required_argument, NULL, 'e' },
    { "timeout", required_argument, NULL, 't' },
    { "keep", no_argument, NULL, 'k' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *name = "frames";
  uint64_t expect = 0;
  bool have_expect = false, keep = false, verbose = false;
  double timeout_s = 30;
  int c;

  while ((c = getopt_long (argc, argv, "hv", opts, NULL)) != -1)
    switch (c)
      {
      case 'n':
        name = optarg;
        break;
      case 'e':
        if (parse_u64 (optarg, "--expect", &expect) < 0)
          return 2;
        have_expect = true;
        break;
      case 't':
        if (parse_double (optarg, "--timeout", &timeout_s) < 0)
          return 2;
        break;
      case 'k':
        keep = true;
        break;
      case 'v':
        verbose = true;
        break;
      case 'h':
        fputs (usage, stdout);
        return 0;
      default:
        fputs (usage, stderr);
        return 2;
      }
  if (optind != argc || strchr (name, '/') != NULL)
    {
      fputs (usage, stderr);
      return 2;
    }
  signal (SIGTERM, on_signal);
  signal (SIGINT, on_signal);
  ring_crc32_init ();
  uint64_t timeout_ns = (uint64_t) (timeout_s * 1e9);

  /* Attach: wait for the segment, its size, and the magic (stored last). */
  struct ring_header *h = NULL;
  size_t seg_size = 0;
  uint64_t t_wait = now_ns ();
  struct backoff b;
  backoff_reset (&b);
  while (h == NULL)
    {
      if (stop || timed_out (t_wait, timeout_ns))
        {
          fprintf (stderr, "consumer: no ring at /dev/shm/%s after %.0f s\n", name, timeout_s);
          return 1;
        }
      int fd = shm_open (name, O_RDWR, 0);
      struct stat st;
      if (fd < 0 || fstat (fd, &st) < 0 || (size_t) st.st_size < RING_HEADER_SIZE)
        {
          if (fd >= 0)
            close (fd);
          b.n = 1000; /* nothing to spin for: sleep */
          backoff_wait (&b);
          continue;
        }
      void *mem = mmap (NULL, (size_t) st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      close (fd);
      if (mem == MAP_FAILED)
        {
          fprintf (stderr, "consumer: mmap /dev/shm/%s: %s\n", name, strerror (errno));
          return 1;
        }
      struct ring_header *cand = mem;
      uint64_t t_magic = now_ns ();
      while (atomic_load_explicit (&cand->magic, memory_order_acquire) != RING_MAGIC && !stop
             && now_ns () - t_magic < 2000000000ull)
        backoff_wait (&b);
      if (atomic_load_explicit (&cand->magic, memory_order_acquire) != RING_MAGIC)
        {
          munmap (mem, (size_t) st.st_size); /* half-made or foreign: look again */
          continue;
        }
      if (cand->version != RING_VERSION || cand->header_size != RING_HEADER_SIZE
          || cand->slot_count < 1 || cand->slot_count > RING_MAX_SLOTS
          || cand->slot_size < cand->frame_bytes
          || ring_segment_size (cand->slot_count, cand->frame_bytes) > (uint64_t) st.st_size
          || strcmp (cand->dtype, "|u1") != 0)
        {
          fprintf (stderr, "consumer: /dev/shm/%s: not a version-%u ring of uint8 frames\n", name,
                   RING_VERSION);
          return 1;
        }
      if (atomic_load_explicit (&cand->read_index, memory_order_acquire) != 0)
        {
          fprintf (stderr,
                   "consumer: /dev/shm/%s: frames were already taken from this ring (left by an "
                   "earlier run?)\n",
                   name);
          return 1;
        }
      h = cand;
      seg_size = (size_t) st.st_size;
    }

  uint64_t frame_bytes = h->frame_bytes, slots = h->slot_count;
  uint64_t cap = 1024, *lat = malloc (cap * sizeof (*lat));
  uint64_t n = 0, crc_ok = 0, content_ok = 0, lost = 0, torn = 0, t_first = 0, t_last = 0;
  int rc = 0;
  const char *why = NULL;

  for (;;)
    {
      /* Wait for frame n: its slot's seq becomes n+1. */
      uint64_t want = n + 1, old = n >= slots ? n + 1 - slots : 0, seq;
      uint64_t t0 = now_ns ();
      struct ring_spin w = { 0 };
      for (;;)
        {
          seq = ring_peek (h, n);
          if (seq == want)
            break;
          if (seq != old)
            break; /* overwritten or out of order: reported below */
          uint64_t state = atomic_load_explicit (&h->state, memory_order_acquire);
          if (state == RING_FINISHED || state == RING_ABORTED)
            {
              seq = ring_peek (h, n); /* published before the state: look again */
              if (seq == want || n < h->total)
                break; /* n < total with seq != want: a violation, reported below */
              why = state == RING_ABORTED ? "the producer aborted" : NULL;
              goto done;
            }
          if (stop)
            {
              why = "interrupted";
              goto done;
            }
          if (timed_out (t0, timeout_ns))
            {
              why = "timed out waiting for the producer";
              goto done;
            }
          if (!ring_pause (&w))
            ring_sleep_consumer (h, n);
        }
      uint64_t t_got = now_ns ();
      if (seq != want)
        {
          fprintf (stderr, "consumer: frame %llu: slot holds seq %llu, want %llu: frames lost\n",
                   (unsigned long long) n, (unsigned long long) seq, (unsigned long long) want);
          lost++;
          why = "protocol violation";
          goto done;
        }
      struct ring_desc *d = ring_desc (h, n);
      const uint8_t *frame = ring_slot (h, n);

      /* "Inference": read the frame where it lies. */
      uint32_t crc = ring_crc32 (frame, frame_bytes);
      bool content = d->frame == n;
      for (uint64_t k = 0; k < 64 && content; k++)
        {
          uint64_t i = k * (frame_bytes / 64) + (k * 7919) % (frame_bytes / 64 + 1);
          if (i >= frame_bytes)
            i = frame_bytes - 1;
          content = frame[i] == ring_pattern_byte (i, n);
        }
      content = content && frame[frame_bytes - 1] == ring_pattern_byte (frame_bytes - 1, n);
      uint64_t pub = d->publish_ns;
      uint32_t want_crc = d->crc32;
      /* Still ours?  (The producer may not touch it before ring_release.) */
      if (ring_peek (h, n) != want)
        torn++;
      ring_release (h, n);

      crc_ok += crc == want_crc;
      content_ok += content;
      if (n == cap)
        {
          uint64_t *more = lat != NULL ? realloc (lat, 2 * cap * sizeof (*lat)) : NULL;
          if (more == NULL)
            free (lat);
          lat = more;
          cap *= 2;
        }
      if (lat != NULL)
        lat[n] = t_got > pub ? t_got - pub : 0;
      if (n == 0)
        t_first = t_got;
      t_last = now_ns ();
      if (verbose)
        printf ("frame %llu crc32 %08x %s\n", (unsigned long long) n, crc,
                crc == want_crc && content ? "ok" : "BAD");
      n++;
    }
done:;
  uint64_t bad = (n - crc_ok) + (n - content_ok) + torn + lost;
  double secs = n > 1 ? (double) (t_last - t_first) / 1e9 : 0;
  printf ("consumer: received %llu frames of ", (unsigned long long) n);
  for (uint32_t i = 0; i < h->ndim; i++)
    printf ("%s%llu", i ? "x" : "", (unsigned long long) h->shape[i]);
  printf (" %s (%llu bytes) from /dev/shm/%s\n", h->dtype, (unsigned long long) frame_bytes, name);
  printf ("consumer: checksums OK %llu/%llu, content OK %llu/%llu, lost %llu, torn %llu\n",
          (unsigned long long) crc_ok, (unsigned long long) n, (unsigned long long) content_ok,
          (unsigned long long) n, (unsigned long long) lost, (unsigned long long) torn);
  if (lat != NULL && n > 0)
    {
      uint64_t p50 = quantile_u64 (lat, n, 0.5), p99 = quantile_u64 (lat, n, 0.99);
      printf (
          "consumer: %.1f frames/s, %.0f MB/s, publish-to-read latency p50 %.0f us, p99 %.0f us\n",
          secs > 0 ? (double) (n - 1) / secs : 0.0,
          secs > 0 ? (double) (n - 1) * (double) frame_bytes / secs / 1e6 : 0.0, (double) p50 / 1e3,
          (double) p99 / 1e3);
    }
  if (why != NULL)
    {
      fprintf (stderr, "consumer: stopped after %llu frames: %s\n", (unsigned long long) n, why);
      rc = 1;
    }
  if (bad != 0)
    rc = 1;
  if (have_expect && n != expect)
    {
      fprintf (stderr, "consumer: expected %llu frames, got %llu\n", (unsigned long long) expect,
               (unsigned long long) n);
      rc = 1;
    }
  printf ("consumer: %s\n", rc == 0 ? "OK" : "FAILED");
  fflush (stdout);
  munmap (h, seg_size);
  if (!keep)
    shm_unlink (name);
  free (lat);
  return rc;
}
