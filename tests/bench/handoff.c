/* handoff.c - what it costs to hand a frame from one process (container) to
   another, by method, measured in one invocation.  Part of `make bench`
   (tests/bench/run.sh); see tests/bench/README.md.

     handoff recv --dir D [--disk-dir DD]           the consumer: serves runs
     handoff send --dir D [--disk-dir DD] [--sizes B,B] [--methods M,M]
                  [--modes handoff,e2e] [--reps R] [--target-ms T] [--verify]
                                                    the producer: drives runs,
                                                    prints RESULT lines
     handoff touch-write PATH BYTES                 create+fill a file (mmap)
     handoff touch-read PATH                        first touch of its pages

   D is the directory both sides share in memory: /dev/shm in containers
   joined to a shmpipe pipeline (the ring segment, the tmpfs files and the
   sockets live there).  DD is a shared directory on disk (method "disk").

   Methods (each frame is SIZE bytes; the producer has it in memory, the
   consumer needs it in its memory; producing and using the frame are work
   every method shares and are outside the numbers):
     ring    the shmpipe ring of examples/resize-inference (ring.h): the
             producer makes the frame in a slot, the consumer reads it there;
             the hand-off is a sequence number and a read index
     copy    the same ring, but the producer copies its frame into the slot
             and the consumer copies it out (shared memory used as a buffer)
     unix    a unix stream socket (write / read of the frame)
     tcp     TCP over loopback, TCP_NODELAY (the least REST or gRPC pay)
     tmpfs   a file in the shared tmpfs: create, write, rename; the consumer
             is told its name over a unix socket, opens, reads, unlinks
             (the usual workaround before shmpipe)
     disk    the same with a file on disk (page cache, no fsync)
   Every method keeps at most WINDOW (4) frames in flight: the ring has 4
   slots, files are acknowledged, sockets have their kernel buffers.

   Modes (--modes, interleaved within each repetition):
     handoff  only the hand-off is timed (the numbers above)
     e2e      the producer also writes every byte of each frame (where the
              method wants it: the ring slot, or its own buffer) and the
              consumer reads every byte (where it got it): what a frame costs
              end to end when the consumer uses all of it at once
     verify   (--verify; run once, not timed) byte i of frame n is
              (i % 251 + n) & 255, checked by the consumer: proves that each
              method delivers every frame intact

   Control: a unix socket D/handoff.ctl.  The producer sends
   "RUN METHOD SIZE FRAMES VERIFY", the consumer prepares and answers
   "READY PORT", the producer starts its clock and sends the frames, the
   consumer answers "DONE ERRORS" after the last one, the producer stops its
   clock.  "QUIT" ends the consumer.  */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../examples/resize-inference/c/ring.h"
#include "../../examples/resize-inference/c/util.h"

#define WINDOW 4
#define MAX_SIZE (256u << 20)

static const char *dir = "/dev/shm";
static const char *disk_dir = "/var/tmp";
static double spin_timeout_s = 60;

static void die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));
static void
die (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fputs ("handoff: ", stderr);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  exit (1);
}

static void
write_full (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t w = write (fd, p, len);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        die ("write: %s", strerror (errno));
      p += w;
      len -= (size_t) w;
    }
}

static int
read_full (int fd, void *buf, size_t len)
{
  char *p = buf;
  while (len > 0)
    {
      ssize_t r = read (fd, p, len);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        die ("read: %s", strerror (errno));
      if (r == 0)
        return -1;
      p += r;
      len -= (size_t) r;
    }
  return 0;
}

static int
read_line (int fd, char *buf, size_t cap)
{
  size_t n = 0;
  while (n + 1 < cap)
    {
      char c;
      ssize_t r = read (fd, &c, 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return -1;
      if (c == '\n')
        break;
      buf[n++] = c;
    }
  buf[n] = '\0';
  return 0;
}

static void send_line (int fd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void
send_line (int fd, const char *fmt, ...)
{
  char buf[256];
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (buf, sizeof (buf) - 1, fmt, ap);
  va_end (ap);
  buf[n++] = '\n';
  write_full (fd, buf, (size_t) n);
}

static void
unix_addr (struct sockaddr_un *a, const char *path)
{
  memset (a, 0, sizeof (*a));
  a->sun_family = AF_UNIX;
  if (strlen (path) >= sizeof (a->sun_path))
    die ("socket path too long: %s", path);
  strcpy (a->sun_path, path);
}

static int
unix_listen (const char *path)
{
  struct sockaddr_un a;
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  unix_addr (&a, path);
  unlink (path);
  if (fd < 0 || bind (fd, (struct sockaddr *) &a, sizeof (a)) < 0 || listen (fd, 4) < 0)
    die ("listen %s: %s", path, strerror (errno));
  return fd;
}

static int
unix_connect (const char *path, double wait_s)
{
  struct sockaddr_un a;
  uint64_t t0 = now_ns ();
  unix_addr (&a, path);
  for (;;)
    {
      int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0)
        die ("socket: %s", strerror (errno));
      if (connect (fd, (struct sockaddr *) &a, sizeof (a)) == 0)
        return fd;
      close (fd);
      if ((double) (now_ns () - t0) / 1e9 > wait_s)
        die ("connect %s: %s", path, strerror (errno));
      usleep (20000);
    }
}

static int
accept_one (int lfd)
{
  int fd;
  do
    fd = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    die ("accept: %s", strerror (errno));
  return fd;
}

static void
nodelay (int fd)
{
  int one = 1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
}

/* Waiting on the ring: ring.h's spin-then-futex (the same code the example
   uses), plus a give-up time so that a dead peer cannot hang the bench. */
struct waiter
{
  struct ring_spin spin;
  uint64_t t0;
};

static inline int
waiter_spin (struct waiter *w)
{
  if (ring_pause (&w->spin))
    return 1;
  uint64_t now = now_ns ();
  if (w->t0 == 0)
    w->t0 = now;
  else if ((double) (now - w->t0) / 1e9 > spin_timeout_s)
    die ("the other side stopped answering");
  return 0;
}

/* ---------------------------------------------------------------------- */

enum method
{
  M_RING,
  M_COPY,
  M_UNIX,
  M_TCP,
  M_TMPFS,
  M_DISK,
  M_COUNT
};
static const char *const method_names[M_COUNT] = { "ring", "copy", "unix", "tcp", "tmpfs", "disk" };

static int
method_parse (const char *s)
{
  for (int m = 0; m < M_COUNT; m++)
    if (strcmp (s, method_names[m]) == 0)
      return m;
  return -1;
}

#define F_VERIFY 1 /* per-byte pattern written and checked (slow; correctness) */
#define F_E2E 2    /* the producer writes every byte, the consumer reads every byte */

/* End-to-end mode: what producing a frame and using it costs at least. */
static void
produce (uint8_t *p, uint64_t size, uint64_t n)
{
  memset (p, (int) (n & 0xff), size);
}

static uint64_t consume_sink;

static void
consume (const uint8_t *p, uint64_t size)
{
  uint64_t s = 0, w;
  uint64_t i = 0;
  for (; i + 8 <= size; i += 8)
    {
      memcpy (&w, p + i, 8);
      s += w;
    }
  for (; i < size; i++)
    s += p[i];
  consume_sink += s;
}

static void
fill (uint8_t *p, uint64_t size, uint64_t n)
{
  for (uint64_t i = 0; i < size; i++)
    p[i] = ring_pattern_byte (i, n);
}

static uint64_t
check (const uint8_t *p, uint64_t size, uint64_t n)
{
  uint64_t bad = 0;
  for (uint64_t i = 0; i < size; i++)
    bad += p[i] != ring_pattern_byte (i, n);
  return bad != 0;
}

/* The producer, before handing frame N over: make it (or not). */
static void
make (uint8_t *p, uint64_t size, uint64_t n, int flags)
{
  if (flags & F_VERIFY)
    fill (p, size, n);
  else if (flags & F_E2E)
    produce (p, size, n);
}

/* The consumer, frame N received at P: use it (or not); 1 if it is wrong. */
static uint64_t
use (const uint8_t *p, uint64_t size, uint64_t n, int flags)
{
  if (flags & F_VERIFY)
    return check (p, size, n);
  if (flags & F_E2E)
    consume (p, size);
  return 0;
}

static void
path_in (char *buf, size_t cap, const char *d, const char *name)
{
  if ((size_t) snprintf (buf, cap, "%s/%s", d, name) >= cap)
    die ("path too long");
}

/* ---------------------------- consumer --------------------------------- */

static struct ring_header *
ring_make (const char *path, uint64_t size, size_t *len)
{
  *len = ring_segment_size (WINDOW, size);
  int fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ftruncate (fd, (off_t) *len) < 0)
    die ("%s: %s", path, strerror (errno));
  void *m = mmap (NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  close (fd);
  if (m == MAP_FAILED)
    die ("mmap %s: %s", path, strerror (errno));
  memset (m, 0, *len); /* every page allocated now, not during the run */
  struct ring_header *h = m;
  h->version = RING_VERSION;
  h->header_size = RING_HEADER_SIZE;
  h->slot_count = WINDOW;
  h->ndim = 1;
  h->slot_size = ring_slot_size (size);
  h->frame_bytes = size;
  h->shape[0] = size;
  memcpy (h->dtype, "|u1", 3);
  atomic_store_explicit (&h->state, RING_RUNNING, memory_order_relaxed);
  atomic_store_explicit (&h->magic, RING_MAGIC, memory_order_release);
  return h;
}

static struct ring_header *
ring_map (const char *path, uint64_t size, size_t *len)
{
  *len = ring_segment_size (WINDOW, size);
  int fd = open (path, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    die ("%s: %s", path, strerror (errno));
  void *m = mmap (NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  close (fd);
  if (m == MAP_FAILED)
    die ("mmap %s: %s", path, strerror (errno));
  struct ring_header *h = m;
  if (atomic_load_explicit (&h->magic, memory_order_acquire) != RING_MAGIC
      || h->frame_bytes != size)
    die ("%s: not the ring the consumer made", path);
  return h;
}

static int
cmd_recv (void)
{
  char ctl_path[512], data_path[512], ring_path[512], line[256];
  path_in (ctl_path, sizeof (ctl_path), dir, "handoff.ctl");
  path_in (data_path, sizeof (data_path), dir, "handoff.data");
  path_in (ring_path, sizeof (ring_path), dir, "handoff.ring");
  int lctl = unix_listen (ctl_path);
  printf ("handoff recv: listening on %s\n", ctl_path);
  fflush (stdout);
  int ctl = accept_one (lctl);
  uint8_t *buf = NULL;
  uint64_t buf_size = 0;

  while (read_line (ctl, line, sizeof (line)) == 0)
    {
      char mname[16];
      unsigned long long size, frames;
      int flags;
      if (strcmp (line, "QUIT") == 0)
        break;
      if (sscanf (line, "RUN %15s %llu %llu %d", mname, &size, &frames, &flags) != 4)
        die ("bad control line: %s", line);
      int m = method_parse (mname);
      if (m < 0 || size == 0 || size > MAX_SIZE)
        die ("bad run: %s", line);
      if (size > buf_size)
        {
          free (buf);
          buf = aligned_alloc (4096, (size + 4095) / 4096 * 4096);
          if (buf == NULL)
            die ("out of memory");
          memset (buf, 0, size);
          buf_size = size;
        }
      uint64_t errors = 0;
      int lfd = -1, dfd = -1, port = 0;
      struct ring_header *h = NULL;
      size_t rlen = 0;

      switch (m)
        {
        case M_RING:
        case M_COPY:
          h = ring_make (ring_path, size, &rlen);
          break;
        case M_TCP:
          {
            struct sockaddr_in a
                = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
            socklen_t al = sizeof (a);
            lfd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (lfd < 0 || bind (lfd, (struct sockaddr *) &a, sizeof (a)) < 0 || listen (lfd, 1) < 0
                || getsockname (lfd, (struct sockaddr *) &a, &al) < 0)
              die ("tcp listen: %s", strerror (errno));
            port = ntohs (a.sin_port);
            break;
          }
        default: /* unix, tmpfs, disk: a unix socket carries data or names */
          lfd = unix_listen (data_path);
          break;
        }
      send_line (ctl, "READY %d", port);
      if (lfd >= 0)
        {
          dfd = accept_one (lfd);
          close (lfd);
          if (m == M_TCP)
            nodelay (dfd);
          else
            unlink (data_path);
        }

      const char *fdir = m == M_DISK ? disk_dir : dir;
      for (uint64_t n = 0; n < frames; n++)
        switch (m)
          {
          case M_RING:
          case M_COPY:
            {
              struct waiter w = { { 0 }, 0 };
              while (ring_peek (h, n) != n + 1)
                if (!waiter_spin (&w))
                  ring_sleep_consumer (h, n);
              uint8_t *slot = ring_slot (h, n);
              if (m == M_COPY)
                memcpy (buf, slot, size);
              errors += use (m == M_COPY ? buf : slot, size, n, flags);
              ring_release (h, n);
              break;
            }
          case M_UNIX:
          case M_TCP:
            if (read_full (dfd, buf, size) < 0)
              die ("%s: the producer went away", method_names[m]);
            errors += use (buf, size, n, flags);
            break;
          default:
            {
              uint64_t name_n;
              char path[600], ack = 'a';
              if (read_full (dfd, &name_n, sizeof (name_n)) < 0)
                die ("%s: the producer went away", method_names[m]);
              snprintf (path, sizeof (path), "%s/handoff.frame.%llu", fdir,
                        (unsigned long long) name_n);
              int fd = open (path, O_RDONLY | O_CLOEXEC);
              if (fd < 0)
                die ("%s: %s", path, strerror (errno));
              if (read_full (fd, buf, size) < 0)
                die ("%s: short file", path);
              close (fd);
              unlink (path);
              errors += name_n != n;
              errors += use (buf, size, n, flags);
              write_full (dfd, &ack, 1);
              break;
            }
          }
      send_line (ctl, "DONE %llu", (unsigned long long) errors);
      if (dfd >= 0)
        close (dfd);
      if (h != NULL)
        {
          munmap (h, rlen);
          unlink (ring_path);
        }
    }
  close (ctl);
  close (lctl);
  unlink (ctl_path);
  free (buf);
  return 0;
}

/* ---------------------------- producer --------------------------------- */

static int ctl_fd = -1;

/* One run: FRAMES frames of SIZE by method M.  Returns the elapsed ns from
   the first frame sent to the consumer's DONE.  */
static uint64_t
run_one (int m, uint64_t size, uint64_t frames, int flags, uint8_t *buf, uint64_t *errors)
{
  char line[256], data_path[512], ring_path[512];
  int port = 0, dfd = -1;
  struct ring_header *h = NULL;
  size_t rlen = 0;

  path_in (data_path, sizeof (data_path), dir, "handoff.data");
  path_in (ring_path, sizeof (ring_path), dir, "handoff.ring");
  send_line (ctl_fd, "RUN %s %llu %llu %d", method_names[m], (unsigned long long) size,
             (unsigned long long) frames, flags);
  if (read_line (ctl_fd, line, sizeof (line)) < 0 || sscanf (line, "READY %d", &port) != 1)
    die ("the consumer did not get ready");
  switch (m)
    {
    case M_RING:
    case M_COPY:
      h = ring_map (ring_path, size, &rlen);
      break;
    case M_TCP:
      {
        struct sockaddr_in a = { .sin_family = AF_INET,
                                 .sin_port = htons ((uint16_t) port),
                                 .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
        dfd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (dfd < 0 || connect (dfd, (struct sockaddr *) &a, sizeof (a)) < 0)
          die ("tcp connect 127.0.0.1:%d: %s", port, strerror (errno));
        nodelay (dfd);
        break;
      }
    default:
      dfd = unix_connect (data_path, 10);
      break;
    }

  const char *fdir = m == M_DISK ? disk_dir : dir;
  uint64_t inflight = 0;
  uint64_t t0 = now_ns ();
  for (uint64_t n = 0; n < frames; n++)
    switch (m)
      {
      case M_RING:
      case M_COPY:
        {
          struct waiter w = { { 0 }, 0 };
          while (!ring_can_write (h, n))
            if (!waiter_spin (&w))
              ring_sleep_producer (h, n);
          uint8_t *slot = ring_slot (h, n);
          make (m == M_COPY ? buf : slot, size, n, flags);
          if (m == M_COPY)
            memcpy (slot, buf, size);
          ring_publish (h, n, 0, 0);
          break;
        }
      case M_UNIX:
      case M_TCP:
        make (buf, size, n, flags);
        write_full (dfd, buf, size);
        break;
      default:
        {
          char tmp[600], path[600], ack;
          if (inflight == WINDOW)
            {
              if (read_full (dfd, &ack, 1) < 0)
                die ("%s: the consumer went away", method_names[m]);
              inflight--;
            }
          make (buf, size, n, flags);
          snprintf (tmp, sizeof (tmp), "%s/handoff.part.%llu", fdir, (unsigned long long) n);
          snprintf (path, sizeof (path), "%s/handoff.frame.%llu", fdir, (unsigned long long) n);
          int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
          if (fd < 0)
            die ("%s: %s", tmp, strerror (errno));
          write_full (fd, buf, size);
          if (close (fd) < 0 || rename (tmp, path) < 0)
            die ("%s: %s", path, strerror (errno));
          write_full (dfd, &n, sizeof (n));
          inflight++;
          break;
        }
      }
  unsigned long long e = 0;
  if (read_line (ctl_fd, line, sizeof (line)) < 0 || sscanf (line, "DONE %llu", &e) != 1)
    die ("the consumer did not finish");
  uint64_t t1 = now_ns ();
  *errors = e;
  if (dfd >= 0)
    close (dfd);
  if (h != NULL)
    munmap (h, rlen);
  return t1 - t0;
}

static int
split_list (char *s, char **out, int max)
{
  int n = 0;
  for (char *save = NULL, *t = strtok_r (s, ",", &save); t != NULL && n < max;
       t = strtok_r (NULL, ",", &save))
    out[n++] = t;
  return n;
}

static const char *const mode_names[] = { "handoff", "verify", "e2e" };

static int
cmd_send (const char *sizes_s, const char *methods_s, const char *modes_s, int reps,
          double target_ms)
{
  char ctl_path[512], sbuf[256], mbuf[256], obuf[64];
  char *sv[16], *mv[16], *ov[3];
  uint64_t sizes[16];
  int methods[16], modes[3];

  snprintf (sbuf, sizeof (sbuf), "%s", sizes_s);
  snprintf (mbuf, sizeof (mbuf), "%s", methods_s);
  snprintf (obuf, sizeof (obuf), "%s", modes_s);
  int ns = split_list (sbuf, sv, 16), nm = split_list (mbuf, mv, 16), no = split_list (obuf, ov, 3);
  for (int i = 0; i < ns; i++)
    if (parse_u64 (sv[i], "size", &sizes[i]) < 0 || sizes[i] == 0 || sizes[i] > MAX_SIZE)
      return 2;
  for (int i = 0; i < nm; i++)
    if ((methods[i] = method_parse (mv[i])) < 0)
      {
        fprintf (stderr, "handoff: unknown method %s\n", mv[i]);
        return 2;
      }
  for (int i = 0; i < no; i++)
    {
      modes[i] = -1;
      for (int k = 0; k < 3; k++)
        if (strcmp (ov[i], mode_names[k]) == 0)
          modes[i] = k; /* == its flags: 0, F_VERIFY, F_E2E */
      if (modes[i] < 0)
        {
          fprintf (stderr, "handoff: unknown mode %s (handoff, e2e, verify)\n", ov[i]);
          return 2;
        }
    }
  if (ns == 0 || nm == 0 || no == 0 || reps < 1)
    return 2;
  uint64_t maxsize = 0;
  for (int i = 0; i < ns; i++)
    maxsize = sizes[i] > maxsize ? sizes[i] : maxsize;
  uint8_t *buf = aligned_alloc (4096, (maxsize + 4095) / 4096 * 4096);
  if (buf == NULL)
    die ("out of memory");
  memset (buf, 0x5a, maxsize);

  path_in (ctl_path, sizeof (ctl_path), dir, "handoff.ctl");
  ctl_fd = unix_connect (ctl_path, 60);

  /* Calibrate (and warm up): frames per run so that a run lasts about
     TARGET_MS; verify runs are short and fixed. */
  uint64_t frames[3][16][16];
  uint64_t total_errors = 0, e = 0;
  for (int oi = 0; oi < no; oi++)
    for (int si = 0; si < ns; si++)
      for (int mi = 0; mi < nm; mi++)
        {
          if (modes[oi] == F_VERIFY)
            {
              uint64_t vf = 3 * WINDOW + 1;
              uint64_t el = run_one (methods[mi], sizes[si], vf, F_VERIFY, buf, &e);
              total_errors += e;
              printf (
                  "RESULT mode=verify method=%s size=%llu rep=0 frames=%llu ns=%llu errors=%llu\n",
                  method_names[methods[mi]], (unsigned long long) sizes[si],
                  (unsigned long long) vf, (unsigned long long) el, (unsigned long long) e);
              fflush (stdout);
              frames[oi][si][mi] = 0; /* not repeated */
              continue;
            }
          uint64_t probe = 16, el;
          for (;;)
            {
              el = run_one (methods[mi], sizes[si], probe, modes[oi], buf, &e);
              total_errors += e;
              if (el > 20000000ull || probe >= (1u << 22))
                break;
              probe *= 4;
            }
          double per = (double) el / (double) probe;
          uint64_t f = (uint64_t) (target_ms * 1e6 / per);
          frames[oi][si][mi] = f < 8 ? 8 : f > (1u << 23) ? (1u << 23) : f;
        }
  /* Interleaved: every mode, size and method once per repetition, so that
     a slow patch of the machine hits all of them alike. */
  for (int r = 1; r <= reps; r++)
    for (int oi = 0; oi < no; oi++)
      for (int si = 0; si < ns; si++)
        for (int mi = 0; mi < nm; mi++)
          {
            if (frames[oi][si][mi] == 0)
              continue;
            uint64_t el = run_one (methods[mi], sizes[si], frames[oi][si][mi], modes[oi], buf, &e);
            total_errors += e;
            printf ("RESULT mode=%s method=%s size=%llu rep=%d frames=%llu ns=%llu errors=%llu\n",
                    mode_names[modes[oi]], method_names[methods[mi]],
                    (unsigned long long) sizes[si], r, (unsigned long long) frames[oi][si][mi],
                    (unsigned long long) el, (unsigned long long) e);
            fflush (stdout);
          }
  send_line (ctl_fd, "QUIT");
  close (ctl_fd);
  free (buf);
  if (total_errors)
    {
      fprintf (stderr, "handoff: %llu frames arrived wrong\n", (unsigned long long) total_errors);
      return 1;
    }
  return 0;
}

/* ---------------------------- first touch ------------------------------ */

static int
cmd_touch_write (const char *path, uint64_t bytes)
{
  unlink (path);
  int fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 || ftruncate (fd, (off_t) bytes) < 0)
    die ("%s: %s", path, strerror (errno));
  uint8_t *p = mmap (NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close (fd);
  if (p == MAP_FAILED)
    die ("mmap %s: %s", path, strerror (errno));
  uint64_t t0 = now_ns ();
  for (uint64_t i = 0; i < bytes; i += 4096)
    memset (p + i, (int) (i >> 12), bytes - i < 4096 ? bytes - i : 4096);
  uint64_t t1 = now_ns ();
  munmap (p, bytes);
  printf ("write_us=%.0f\n", (double) (t1 - t0) / 1e3);
  return 0;
}

static long
smaps_kb (const char *key)
{
  char line[256];
  long v = -1;
  FILE *f = fopen ("/proc/self/smaps_rollup", "r");
  if (f == NULL)
    return -1;
  size_t kl = strlen (key);
  while (fgets (line, sizeof (line), f) != NULL)
    if (strncmp (line, key, kl) == 0 && line[kl] == ':')
      v = strtol (line + kl + 1, NULL, 10);
  fclose (f);
  return v;
}

static int
cmd_touch_read (const char *path)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    die ("%s: %s", path, strerror (errno));
  size_t len = (size_t) st.st_size;
  const volatile uint8_t *p = mmap (NULL, len, PROT_READ, MAP_SHARED, fd, 0);
  close (fd);
  if (p == MAP_FAILED)
    die ("mmap %s: %s", path, strerror (errno));
  /* Start from cold caches whatever the size: what the writer left in the
     last-level cache would otherwise favour small segments.  */
  size_t evict = 128u << 20;
  uint8_t *junk = mmap (NULL, evict, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (junk != MAP_FAILED)
    {
      for (int pass = 0; pass < 2; pass++)
        memset (junk, pass, evict);
      munmap (junk, evict);
    }
  struct rusage r0, r1;
  getrusage (RUSAGE_SELF, &r0);
  uint64_t t0 = now_ns ();
  unsigned sum = 0;
  for (size_t i = 0; i < len; i += 4096)
    sum += p[i];
  uint64_t t1 = now_ns ();
  getrusage (RUSAGE_SELF, &r1);
  long pmd = smaps_kb ("FilePmdMapped");
  long spmd = smaps_kb ("ShmemPmdMapped");
  printf ("read_us=%.0f faults=%ld pmd_kb=%ld sum=%u\n", (double) (t1 - t0) / 1e3,
          r1.ru_minflt - r0.ru_minflt, (pmd > 0 ? pmd : 0) + (spmd > 0 ? spmd : 0), sum);
  munmap ((void *) p, len);
  return 0;
}

/* ---------------------------------------------------------------------- */

static const char usage[]
    = "Usage: handoff recv [--dir D] [--disk-dir DD]\n"
      "       handoff send [--dir D] [--disk-dir DD] [--sizes B,B] [--methods M,M]\n"
      "                    [--modes handoff,e2e] [--reps R] [--target-ms T] [--verify]\n"
      "       handoff touch-write PATH BYTES | touch-read PATH\n"
      "Methods: ring copy unix tcp tmpfs disk.  See the comment in handoff.c.\n";

int
main (int argc, char **argv)
{
  const char *sizes = "6220800,153600", *methods = "ring,copy,unix,tcp,tmpfs,disk";
  const char *modes = "handoff,e2e";
  int reps = 5;
  double target_ms = 150;

  signal (SIGPIPE, SIG_IGN);
  ring_crc32_init ();
  if (argc < 2)
    {
      fputs (usage, stderr);
      return 2;
    }
  const char *cmd = argv[1];
  if (strcmp (cmd, "touch-write") == 0 && argc == 4)
    {
      uint64_t b;
      return parse_u64 (argv[3], "BYTES", &b) < 0 ? 2 : cmd_touch_write (argv[2], b);
    }
  if (strcmp (cmd, "touch-read") == 0 && argc == 3)
    return cmd_touch_read (argv[2]);
  for (int i = 2; i < argc; i++)
    {
      const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
      if (strcmp (a, "--verify") == 0)
        modes = "verify";
      else if (v == NULL)
        {
          fputs (usage, stderr);
          return 2;
        }
      else if (strcmp (a, "--dir") == 0)
        dir = v, i++;
      else if (strcmp (a, "--disk-dir") == 0)
        disk_dir = v, i++;
      else if (strcmp (a, "--sizes") == 0)
        sizes = v, i++;
      else if (strcmp (a, "--methods") == 0)
        methods = v, i++;
      else if (strcmp (a, "--modes") == 0)
        modes = v, i++;
      else if (strcmp (a, "--reps") == 0)
        reps = atoi (v), i++;
      else if (strcmp (a, "--target-ms") == 0)
        target_ms = atof (v), i++;
      else if (strcmp (a, "--timeout") == 0)
        spin_timeout_s = atof (v), i++;
      else
        {
          fputs (usage, stderr);
          return 2;
        }
    }
  if (strcmp (cmd, "recv") == 0)
    return cmd_recv ();
  if (strcmp (cmd, "send") == 0)
    return cmd_send (sizes, methods, modes, reps, target_ms);
  fputs (usage, stderr);
  return 2;
}
