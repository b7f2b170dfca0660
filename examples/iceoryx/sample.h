/* sample.h - the sample both sides agree on, and the options they share.

   A sample is a fixed header followed by PAYLOAD bytes; byte i of sample n
   is (i % 251 + n) & 255, so the subscriber can check every byte without
   being told what was sent, and the CRC-32 it prints can be recomputed by
   anyone.  */
#ifndef SHMPIPE_ICEORYX_SAMPLE_H
#define SHMPIPE_ICEORYX_SAMPLE_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SAMPLE_MAGIC 0x73686d70u /* "shmp" */

struct sample_header
{
  uint32_t magic;
  uint32_t pad;
  uint64_t seq;
  uint64_t size; /* payload bytes after this header */
  uint64_t sent_ns;
};

static inline uint8_t
sample_byte (uint64_t i, uint64_t seq)
{
  return (uint8_t) ((i % 251 + seq) & 255);
}

static inline void
sample_fill (uint8_t *p, uint64_t size, uint64_t seq)
{
  /* One period of the pattern, then copies of it: memcpy speed, not a loop
     over every byte with a modulo. */
  uint64_t head = size < 251 ? size : 251;
  for (uint64_t i = 0; i < head; i++)
    p[i] = sample_byte (i, seq);
  for (uint64_t done = head; done < size;)
    {
      uint64_t n = done < size - done ? done : size - done;
      memcpy (p + done, p, n);
      done += n;
    }
}

/* Index of the first wrong byte, or SIZE when all are right. */
static inline uint64_t
sample_check (const uint8_t *p, uint64_t size, uint64_t seq)
{
  uint8_t period[251];
  for (uint64_t i = 0; i < 251; i++)
    period[i] = sample_byte (i, seq);
  for (uint64_t off = 0; off < size; off += 251)
    {
      uint64_t n = size - off < 251 ? size - off : 251;
      if (memcmp (p + off, period, n) != 0)
        for (uint64_t i = 0; i < n; i++)
          if (p[off + i] != period[i])
            return off + i;
    }
  return size;
}

static inline uint32_t
crc32_update (uint32_t crc, const uint8_t *p, uint64_t n)
{
  static uint32_t table[256];
  if (table[1] == 0)
    for (uint32_t i = 0; i < 256; i++)
      {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
          c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
      }
  crc = ~crc;
  while (n--)
    crc = table[(crc ^ *p++) & 255] ^ (crc >> 8);
  return ~crc;
}

static inline uint64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static inline void
sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep (&ts, NULL);
}

static inline int
parse_u64 (const char *s, const char *what, uint64_t *out)
{
  char *end;
  errno = 0;
  unsigned long long v = strtoull (s, &end, 10);
  if (errno || end == s || *end || s[0] == '-')
    {
      fprintf (stderr, "bad %s: %s\n", what, s);
      return -1;
    }
  *out = v;
  return 0;
}

/* Turns (--burst with --turn-in / --turn-out, for make bench): two
   publisher/subscriber pairs take turns through FIFOs, a burst each, so
   both are measured in the same moments of a shared machine.  A FIFO is
   opened read-write: the open never waits for the other end. */
static inline int
turn_open (const char *path)
{
  int fd = open (path, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    fprintf (stderr, "cannot open the turn FIFO %s: %s\n", path, strerror (errno));
  return fd;
}

/* Waits up to TIMEOUT_S for a turn; -1 when none came. */
static inline int
turn_wait (int fd, uint64_t timeout_s)
{
  struct pollfd p = { .fd = fd, .events = POLLIN };
  char c;
  uint64_t deadline = now_ns () + timeout_s * 1000000000ull;
  for (;;)
    {
      uint64_t now = now_ns ();
      int r = now < deadline ? poll (&p, 1, (int) ((deadline - now) / 1000000 + 1)) : 0;
      if (r > 0 && read (fd, &c, 1) == 1)
        return 0;
      if (r == 0 || (r < 0 && errno != EINTR))
        return -1;
    }
}

static inline int
turn_pass (int fd)
{
  char c = 't';
  return write (fd, &c, 1) == 1 ? 0 : -1;
}

#endif
