/* util.h - clocks, back-off and argument parsing shared by producer.c and
   consumer.c.  Not part of the ring protocol (that is ring.h). */
#ifndef SHMPIPE_EXAMPLE_UTIL_H
#define SHMPIPE_EXAMPLE_UTIL_H

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

/* Waiting for the other side: spin briefly, then yield, then sleep with a
   doubling period capped at 1 ms.  Reset when the awaited thing happened. */
struct backoff
{
  unsigned n;
  long sleep_ns;
};

static inline void
backoff_reset (struct backoff *b)
{
  b->n = 0;
  b->sleep_ns = 20000;
}

static inline void
backoff_wait (struct backoff *b)
{
  b->n++;
  if (b->n < 64)
    {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause ();
#endif
      return;
    }
  if (b->n < 256)
    {
      sched_yield ();
      return;
    }
  struct timespec ts = { 0, b->sleep_ns };
  nanosleep (&ts, NULL);
  if (b->sleep_ns < 1000000)
    b->sleep_ns *= 2;
}

static inline int
parse_u64 (const char *s, const char *what, uint64_t *out)
{
  char *end;
  errno = 0;
  unsigned long long v = strtoull (s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
    {
      fprintf (stderr, "bad %s: \"%s\"\n", what, s);
      return -1;
    }
  *out = v;
  return 0;
}

static inline int
parse_double (const char *s, const char *what, double *out)
{
  char *end;
  errno = 0;
  double v = strtod (s, &end);
  if (errno != 0 || end == s || *end != '\0' || v < 0)
    {
      fprintf (stderr, "bad %s: \"%s\"\n", what, s);
      return -1;
    }
  *out = v;
  return 0;
}

/* "1080x1920x3" -> shape[], ndim */
static inline int
parse_shape (const char *s, uint64_t *shape, uint32_t maxdims, uint32_t *ndim)
{
  char buf[128];
  char *save = NULL, *tok;
  uint32_t n = 0;

  if (strlen (s) >= sizeof (buf))
    return -1;
  strcpy (buf, s);
  for (tok = strtok_r (buf, "x", &save); tok != NULL; tok = strtok_r (NULL, "x", &save))
    {
      if (n == maxdims || parse_u64 (tok, "shape", &shape[n]) < 0 || shape[n] == 0)
        return -1;
      n++;
    }
  if (n == 0)
    return -1;
  for (uint32_t i = n; i < maxdims; i++)
    shape[i] = 0;
  *ndim = n;
  return 0;
}

static int
cmp_u64 (const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
  return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of V[N]; sorts V. */
static inline uint64_t
quantile_u64 (uint64_t *v, size_t n, double q)
{
  if (n == 0)
    return 0;
  qsort (v, n, sizeof (*v), cmp_u64);
  size_t i = (size_t) (q * (double) (n - 1) + 0.5);
  return v[i < n ? i : n - 1];
}

#endif
