/* subscriber.c - receives N samples from an iceoryx service and checks every
   byte of each (see sample.h): in order, nothing lost, nothing torn.

     subscriber [--service S] [--count N] [--timeout SEC] [--name APP] [--verbose]
                [--no-check] [--latencies] [--burst N --turn-out FIFO]

   Asks the publisher to block when its queue is full
   (QueueFullPolicy_BLOCK_PRODUCER), so nothing is dropped.  --verbose prints
   a line per sample with its CRC-32; --no-check reads only the header (the
   hand-off alone, for make bench).  Waits in a WaitSet (a futex), not by
   polling.  Exits 0 only when N samples arrived and every one checked out;
   gives up after --timeout seconds without a sample.  The last line but one,
   "subscriber: timing samples=N ns=T", is T ns from the first sample to the
   last; --latencies adds "subscriber: latencies_ns L1 L2 ...", each sample's
   time from its publish to its take.  --burst with --turn-out writes a byte
   to FIFO after every N samples and adds "subscriber: bursts_ns B1 ...",
   each burst's time from its first sample to its last (make bench takes
   turns between two pairs, see sample.h).  No iox_runtime_shutdown() (see
   publisher.c): nothing here blocks in a publish. */
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#include <iceoryx_binding_c/runtime.h>
#include <iceoryx_binding_c/subscriber.h>
#include <iceoryx_binding_c/wait_set.h>

#include "sample.h"

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
  const char *service = "shmpipe", *name = "shmpipe-subscriber";
  uint64_t count = 100, timeout = 30, got = 0, good = 0, bytes = 0, lat_sum = 0;
  bool verbose = false, check = true, latencies = false;
  uint64_t *lat = NULL;
  iox_ws_storage_t ws_storage;
  iox_ws_t ws;
  iox_sub_options_t opts;
  iox_sub_storage_t storage;
  iox_sub_t sub;
  uint64_t last, t0 = 0, burst = 0, burst_t0 = 0, *bursts = NULL;
  const char *turn_out = NULL;
  int turn = -1;
  int bad = 0;

  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
      if (strcmp (a, "--latencies") == 0)
        {
          latencies = true;
          continue;
        }
      if (strcmp (a, "--verbose") == 0 || strcmp (a, "--no-check") == 0)
        {
          verbose = verbose || a[2] == 'v';
          check = check && a[2] != 'n';
          continue;
        }
      if (v == NULL)
        goto usage;
      if (strcmp (a, "--service") == 0)
        service = v;
      else if (strcmp (a, "--name") == 0)
        name = v;
      else if (strcmp (a, "--count") == 0)
        bad = parse_u64 (v, a, &count);
      else if (strcmp (a, "--timeout") == 0)
        bad = parse_u64 (v, a, &timeout);
      else if (strcmp (a, "--burst") == 0)
        bad = parse_u64 (v, a, &burst);
      else if (strcmp (a, "--turn-out") == 0)
        turn_out = v;
      else
        bad = -1;
      if (bad)
        goto usage;
      i++;
    }
  signal (SIGINT, on_signal);
  signal (SIGTERM, on_signal);
  /* iceoryx logs to the same stdout from C++: whole lines only. */
  setvbuf (stdout, NULL, _IOLBF, 0);
  if ((burst > 0) != (turn_out != NULL) || (burst > 0 && count % burst != 0))
    {
      fprintf (stderr, "subscriber: --burst and --turn-out go together, and --count is a multiple "
                       "of --burst\n");
      return 2;
    }
  if ((latencies && (lat = calloc (count, sizeof (*lat))) == NULL)
      || (burst > 0 && (bursts = calloc (count / burst, sizeof (*bursts))) == NULL))
    {
      fprintf (stderr, "subscriber: out of memory\n");
      return 1;
    }
  if (turn_out != NULL && (turn = turn_open (turn_out)) < 0)
    return 1;

  iox_runtime_init (name);
  iox_sub_options_init (&opts);
  opts.queueCapacity = 4;
  opts.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
  sub = iox_sub_init (&storage, service, "sample", "data", &opts);
  ws = iox_ws_init (&ws_storage);
  if (iox_ws_attach_subscriber_state (ws, sub, SubscriberState_HAS_DATA, 0, NULL)
      != WaitSetResult_SUCCESS)
    {
      fprintf (stderr, "subscriber: cannot attach to a WaitSet\n");
      return 1;
    }
  printf ("subscriber: waiting for %llu samples on %s\n", (unsigned long long) count, service);
  fflush (stdout);

  last = now_ns ();
  while (got < count && !stop)
    {
      const void *chunk = NULL;
      enum iox_ChunkReceiveResult r = iox_sub_take_chunk (sub, &chunk);

      if (r == ChunkReceiveResult_NO_CHUNK_AVAILABLE)
        {
          iox_notification_info_t info[1];
          uint64_t missed = 0;
          struct timespec ts = { 0, 100000000L };

          if (now_ns () - last > timeout * 1000000000ull)
            {
              fprintf (stderr, "subscriber: no sample for %llu s, giving up\n",
                       (unsigned long long) timeout);
              break;
            }
          iox_ws_timed_wait (ws, ts, info, 1, &missed);
          continue;
        }
      if (r != ChunkReceiveResult_SUCCESS)
        {
          fprintf (stderr, "subscriber: take_chunk failed (result %d)\n", (int) r);
          break;
        }
      uint64_t now = now_ns ();
      const struct sample_header *h = chunk;
      const uint8_t *payload = (const uint8_t *) (h + 1);
      bool ok = h->magic == SAMPLE_MAGIC && h->seq == got;
      uint64_t at = !ok ? 0 : check ? sample_check (payload, h->size, h->seq) : h->size;

      if (got == 0)
        t0 = now;
      ok = ok && at == h->size;
      if (verbose || !ok)
        printf ("subscriber: sample %llu size %llu crc32 %08x %s\n", (unsigned long long) h->seq,
                (unsigned long long) h->size, crc32_update (0, payload, h->size),
                !check ? "unchecked"
                : ok   ? "ok"
                       : "BAD");
      if (!ok && h->magic == SAMPLE_MAGIC && h->seq != got)
        printf ("subscriber: expected sample %llu, got %llu\n", (unsigned long long) got,
                (unsigned long long) h->seq);
      else if (!ok)
        printf ("subscriber: sample %llu: byte %llu is wrong\n", (unsigned long long) got,
                (unsigned long long) at);
      good += ok;
      bytes += h->size;
      lat_sum += now - h->sent_ns;
      if (lat != NULL)
        lat[got] = now - h->sent_ns;
      got++;
      last = now;
      iox_sub_release_chunk (sub, chunk);
      if (burst > 0 && got % burst == 1 % burst)
        burst_t0 = now;
      if (burst > 0 && got % burst == 0)
        {
          bursts[got / burst - 1] = now - burst_t0;
          if (turn_pass (turn) < 0)
            {
              fprintf (stderr, "subscriber: cannot pass the turn on %s: %s\n", turn_out,
                       strerror (errno));
              break;
            }
        }
    }
  printf ("subscriber: received %llu of %llu samples, %llu intact, %llu bytes",
          (unsigned long long) got, (unsigned long long) count, (unsigned long long) good,
          (unsigned long long) bytes);
  if (got > 1)
    printf (", %.1f samples/s, mean latency %llu us",
            (double) (got - 1) * 1e9 / (double) (last - t0),
            (unsigned long long) (lat_sum / got / 1000));
  printf ("\nsubscriber: timing samples=%llu ns=%llu\n", (unsigned long long) got,
          (unsigned long long) (got > 1 ? last - t0 : 0));
  if (bursts != NULL)
    {
      printf ("subscriber: bursts_ns");
      for (uint64_t i = 0; i < got / burst; i++)
        printf (" %llu", (unsigned long long) bursts[i]);
      printf ("\n");
      free (bursts);
    }
  if (lat != NULL)
    {
      printf ("subscriber: latencies_ns");
      for (uint64_t i = 0; i < got; i++)
        printf (" %llu", (unsigned long long) lat[i]);
      printf ("\n");
      free (lat);
    }
  printf ("subscriber: %s\n", got == count && good == count ? "OK" : "FAILED");
  iox_ws_detach_subscriber_state (ws, sub, SubscriberState_HAS_DATA);
  iox_ws_deinit (ws);
  iox_sub_deinit (sub);
  return got == count && good == count ? 0 : 1;

usage:
  fprintf (stderr, "usage: subscriber [--service S] [--count N] [--timeout SEC] [--name APP] "
                   "[--verbose] [--no-check] [--latencies] [--burst N --turn-out FIFO]\n");
  return 2;
}
