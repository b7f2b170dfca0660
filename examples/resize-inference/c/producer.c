/* producer.c - the "resize service" of the resize-inference example, in C.
   Creates the ring segment /dev/shm/NAME (ring.h, ../RING.md) and writes
   FRAMES frames into it, in place: each frame is produced directly in its
   slot, nothing is copied on the way to the consumer.  Waits (with back-off)
   while the ring is full; gives up after --timeout seconds without progress.

   Nothing here knows about shmpipe: it is plain POSIX shared memory. */
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
    = "Usage: producer [--name NAME] [--frames N] [--shape HxWxC] [--slots S]\n"
      "                [--fps F] [--timeout SEC] [--quiet]\n"
      "Creates /dev/shm/NAME (default \"frames\") as a ring of S (default 4) slots\n"
      "and publishes N (default 300) uint8 frames of shape HxWxC (default\n"
      "1080x1920x3), byte i of frame n being (i %% 251 + n) & 255.\n"
      "--fps paces the frames (default 0: as fast as the consumer takes them);\n"
      "--timeout (default 30) bounds every wait for the consumer.\n";

static volatile sig_atomic_t stop;

static void
on_signal (int sig)
{
  (void) sig;
  stop = 1;
}

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "name", required_argument, NULL, 'n' },
    { "frames", required_argument, NULL, 'f' },
    { "shape", required_argument, NULL, 's' },
    { "slots", required_argument, NULL, 'S' },
    { "fps", required_argument, NULL, 'r' },
    { "timeout", required_argument, NULL, 't' },
    { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *name = "frames";
  uint64_t frames = 300, slots = 4, shape[RING_MAX_DIMS] = { 1080, 1920, 3, 0 };
  uint32_t ndim = 3;
  double fps = 0, timeout_s = 30;
  bool quiet = false;
  int c;

  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    switch (c)
      {
      case 'n':
        name = optarg;
        break;
      case 'f':
        if (parse_u64 (optarg, "--frames", &frames) < 0)
          return 2;
        break;
      case 's':
        if (parse_shape (optarg, shape, RING_MAX_DIMS, &ndim) < 0)
          {
            fprintf (stderr, "producer: bad --shape \"%s\" (want e.g. 1080x1920x3)\n", optarg);
            return 2;
          }
        break;
      case 'S':
        if (parse_u64 (optarg, "--slots", &slots) < 0)
          return 2;
        break;
      case 'r':
        if (parse_double (optarg, "--fps", &fps) < 0)
          return 2;
        break;
      case 't':
        if (parse_double (optarg, "--timeout", &timeout_s) < 0)
          return 2;
        break;
      case 'q':
        quiet = true;
        break;
      case 'h':
        fputs (usage, stdout);
        return 0;
      default:
        fputs (usage, stderr);
        return 2;
      }
  if (optind != argc || slots < 1 || slots > RING_MAX_SLOTS || strchr (name, '/') != NULL)
    {
      fprintf (stderr, "producer: bad arguments (slots 1..%u, NAME without '/')\n", RING_MAX_SLOTS);
      return 2;
    }

  uint64_t frame_bytes = 1;
  for (uint32_t i = 0; i < ndim; i++)
    frame_bytes *= shape[i];
  uint64_t seg_size = ring_segment_size ((uint32_t) slots, frame_bytes);

  signal (SIGTERM, on_signal);
  signal (SIGINT, on_signal);
  ring_crc32_init ();

  /* A segment left by an earlier run would confuse a consumer: start afresh. */
  shm_unlink (name);
  int fd = shm_open (name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0)
    {
      fprintf (stderr, "producer: /dev/shm/%s: %s\n", name, strerror (errno));
      return 1;
    }
  if (ftruncate (fd, (off_t) seg_size) < 0)
    {
      fprintf (stderr, "producer: /dev/shm/%s: cannot size it to %llu bytes: %s\n", name,
               (unsigned long long) seg_size, strerror (errno));
      shm_unlink (name);
      return 1;
    }
  void *mem = mmap (NULL, seg_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close (fd);
  if (mem == MAP_FAILED)
    {
      fprintf (stderr, "producer: mmap: %s\n", strerror (errno));
      shm_unlink (name);
      return 1;
    }
  struct ring_header *h = mem;
  /* tmpfs reads as zeros: every seq is 0, both indexes 0, state INIT. */
  h->version = RING_VERSION;
  h->header_size = RING_HEADER_SIZE;
  h->slot_count = (uint32_t) slots;
  h->ndim = ndim;
  h->slot_size = ring_slot_size (frame_bytes);
  h->frame_bytes = frame_bytes;
  memcpy (h->shape, shape, sizeof (h->shape));
  memset (h->dtype, 0, sizeof (h->dtype));
  memcpy (h->dtype, "|u1", 3);
  h->producer_pid = (uint64_t) getpid ();
  atomic_store_explicit (&h->state, RING_RUNNING, memory_order_relaxed);
  atomic_store_explicit (&h->magic, RING_MAGIC, memory_order_release); /* ready */

  uint8_t *base = malloc (frame_bytes);
  uint32_t crc_of[256];
  bool crc_known[256] = { false };
  if (base == NULL)
    {
      fprintf (stderr, "producer: out of memory\n");
      return 1;
    }
  ring_pattern_base (base, frame_bytes);

  uint64_t t0 = now_ns (), waited = 0, timeout_ns = (uint64_t) (timeout_s * 1e9);
  uint64_t period = fps > 0 ? (uint64_t) (1e9 / fps) : 0;
  int rc = 0;
  uint64_t n;
  for (n = 0; n < frames && !stop; n++)
    {
      struct ring_spin w = { 0 };
      uint64_t w0 = now_ns ();
      while (!ring_can_write (h, n) && !stop)
        {
          if (now_ns () - w0 > timeout_ns)
            {
              fprintf (stderr, "producer: frame %llu: the consumer took nothing for %.0f s\n",
                       (unsigned long long) n, timeout_s);
              stop = 1;
              rc = 1;
              break;
            }
          if (!ring_pause (&w))
            ring_sleep_producer (h, n);
        }
      if (stop)
        break;
      waited += now_ns () - w0;

      /* "Resize" straight into the slot: the frame is born in shared memory. */
      uint8_t *slot = ring_slot (h, n), add = (uint8_t) n;
      for (uint64_t i = 0; i < frame_bytes; i++)
        slot[i] = (uint8_t) (base[i] + add);
      /* Frame n's content depends on n % 256 only: compute each CRC once. */
      if (!crc_known[add])
        {
          crc_of[add] = ring_crc32 (slot, frame_bytes);
          crc_known[add] = true;
        }
      ring_publish (h, n, crc_of[add], now_ns ());

      if (period)
        {
          uint64_t due = t0 + (n + 1) * period, now = now_ns ();
          if (due > now)
            {
              struct timespec ts
                  = { (time_t) ((due - now) / 1000000000u), (long) ((due - now) % 1000000000u) };
              nanosleep (&ts, NULL);
            }
        }
    }
  ring_finish (h, n, rc != 0 || stop);
  if (stop && rc == 0)
    {
      fprintf (stderr, "producer: interrupted after %llu frames\n", (unsigned long long) n);
      rc = 1;
    }

  double secs = (double) (now_ns () - t0) / 1e9;
  if (!quiet)
    {
      printf ("producer: published %llu frames of ", (unsigned long long) n);
      for (uint32_t i = 0; i < ndim; i++)
        printf ("%s%llu", i ? "x" : "", (unsigned long long) shape[i]);
      printf (" %s (%llu bytes) into /dev/shm/%s, %llu slots\n", h->dtype,
              (unsigned long long) frame_bytes, name, (unsigned long long) slots);
      printf ("producer: %.2f s, %.1f frames/s, waited for a free slot %.0f%% of the time\n", secs,
              secs > 0 ? (double) n / secs : 0.0,
              secs > 0 ? 100.0 * (double) waited / 1e9 / secs : 0.0);
      fflush (stdout);
    }
  /* The consumer unlinks the segment when it has read everything. */
  munmap (mem, seg_size);
  free (base);
  return rc;
}
