/* publisher.c - publishes N samples of SIZE bytes on an iceoryx service,
   written into chunks loaned from RouDi's shared memory (zero copy).

     publisher [--service S] [--count N] [--size BYTES] [--timeout SEC] [--name APP]
               [--no-fill] [--interval-us US] [--burst N --turn-in FIFO]

   Waits (up to --timeout) for a subscriber, then publishes with
   ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER: a subscriber that asked to block
   the producer receives every sample.  --no-fill writes the header only (the
   hand-off alone, for make bench); --interval-us paces the samples (a
   latency run: no sample waits in a queue behind another); --burst with
   --turn-in waits for a byte on FIFO before every N samples (make bench
   takes turns between two pairs, see sample.h).  Exits 0 when all N were
   published.

   Shutdown: iox_runtime_shutdown() only unblocks a publish that waits for a
   slow subscriber, and in iceoryx 2.0 it does so from the runtime's
   keep-alive thread, on the same channel to RouDi as the TERMINATION the
   runtime sends when the process exits, without the lock that orders the
   two: called before a normal exit, the two requests can cross and the exit
   waits for an answer that never comes.  So it is called only from the
   signal handler, when a signal stops a publish that may be blocked. */
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <time.h>

#include <iceoryx_binding_c/publisher.h>
#include <iceoryx_binding_c/runtime.h>

#include "sample.h"

static volatile sig_atomic_t stop, runtime_up;

static void
on_signal (int sig)
{
  (void) sig;
  stop = 1;
  if (runtime_up)
    iox_runtime_shutdown ();
}

int
main (int argc, char **argv)
{
  const char *service = "shmpipe", *name = "shmpipe-publisher";
  uint64_t count = 100, size = 1 << 20, timeout = 30, interval_us = 0, burst = 0;
  const char *turn_in = NULL;
  int turn = -1;
  iox_pub_options_t opts;
  iox_pub_storage_t storage;
  iox_pub_t pub;
  uint64_t deadline, t0, n;
  int bad = 0;
  bool fill = true;

  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
      if (strcmp (a, "--no-fill") == 0)
        {
          fill = false;
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
      else if (strcmp (a, "--size") == 0)
        bad = parse_u64 (v, a, &size);
      else if (strcmp (a, "--timeout") == 0)
        bad = parse_u64 (v, a, &timeout);
      else if (strcmp (a, "--interval-us") == 0)
        bad = parse_u64 (v, a, &interval_us);
      else if (strcmp (a, "--burst") == 0)
        bad = parse_u64 (v, a, &burst);
      else if (strcmp (a, "--turn-in") == 0)
        turn_in = v;
      else
        bad = -1;
      if (bad)
        goto usage;
      i++;
    }
  if (size > UINT32_MAX - sizeof (struct sample_header))
    {
      fprintf (stderr, "publisher: --size too large\n");
      return 2;
    }
  if ((burst > 0) != (turn_in != NULL))
    {
      fprintf (stderr, "publisher: --burst and --turn-in go together\n");
      return 2;
    }
  if (turn_in != NULL && (turn = turn_open (turn_in)) < 0)
    return 1;
  signal (SIGINT, on_signal);
  signal (SIGTERM, on_signal);
  /* iceoryx logs to the same stdout from C++: whole lines only. */
  setvbuf (stdout, NULL, _IOLBF, 0);

  /* Connects to RouDi through its unix socket (/tmp/roudi in Debian's
     build) and maps its shared memory from /dev/shm. */
  iox_runtime_init (name);
  runtime_up = 1;
  iox_pub_options_init (&opts);
  opts.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
  pub = iox_pub_init (&storage, service, "sample", "data", &opts);

  deadline = now_ns () + timeout * 1000000000ull;
  while (!iox_pub_has_subscribers (pub))
    {
      if (stop || now_ns () > deadline)
        {
          fprintf (stderr, "publisher: no subscriber on %s after %llu s\n", service,
                   (unsigned long long) timeout);
          iox_pub_deinit (pub);
          return 1;
        }
      sleep_ms (10);
    }

  t0 = now_ns ();
  for (n = 0; n < count && !stop; n++)
    {
      void *chunk = NULL;
      enum iox_AllocationResult r;
      unsigned spins = 0;

      if (turn >= 0 && n % burst == 0 && turn_wait (turn, timeout) < 0)
        {
          fprintf (stderr, "publisher: no turn on %s after %llu s\n", turn_in,
                   (unsigned long long) timeout);
          break;
        }
      /* Every chunk may be held by the subscriber: wait for one to return
         (yield first: one comes back within microseconds). */
      while (
          (r = iox_pub_loan_chunk (pub, &chunk, (uint32_t) (sizeof (struct sample_header) + size)))
              == AllocationResult_RUNNING_OUT_OF_CHUNKS
          && !stop && now_ns () < deadline + timeout * 1000000000ull)
        if (++spins < 1000)
          sched_yield ();
        else
          sleep_ms (1);
      if (r != AllocationResult_SUCCESS)
        {
          fprintf (stderr,
                   "publisher: cannot loan a chunk of %llu bytes (result %d): is RouDi's "
                   "mempool big enough (roudi.toml)?\n",
                   (unsigned long long) (sizeof (struct sample_header) + size), (int) r);
          break;
        }
      struct sample_header *h = chunk;
      h->magic = SAMPLE_MAGIC;
      h->pad = 0;
      h->seq = n;
      h->size = size;
      if (fill)
        sample_fill ((uint8_t *) (h + 1), size, n);
      h->sent_ns = now_ns ();
      iox_pub_publish_chunk (pub, chunk);
      if (interval_us > 0)
        {
          struct timespec ts
              = { (time_t) (interval_us / 1000000), (long) (interval_us % 1000000) * 1000 };
          nanosleep (&ts, NULL);
        }
    }
  printf ("publisher: published %llu samples of %llu bytes on %s in %.3f s\n",
          (unsigned long long) n, (unsigned long long) size, service,
          (double) (now_ns () - t0) / 1e9);
  fflush (stdout);
  /* Stay until the subscriber is gone, so that nothing it still reads is
     taken away with our port. */
  deadline = now_ns () + timeout * 1000000000ull;
  while (n == count && iox_pub_has_subscribers (pub) && !stop && now_ns () < deadline)
    sleep_ms (10);
  iox_pub_deinit (pub);
  return n == count ? 0 : 1;

usage:
  fprintf (stderr, "usage: publisher [--service S] [--count N] [--size BYTES] [--timeout SEC] "
                   "[--name APP] [--no-fill] [--interval-us US] [--burst N --turn-in FIFO]\n");
  return 2;
}
