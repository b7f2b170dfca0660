/*
 * shmtool - tiny POSIX shared-memory probe for shmpipe integration tests.
 *
 * Built static so it runs inside a bare busybox rootfs:
 *   gcc -static -O2 -Wall -Wextra -Werror -o shmtool tests/helpers/shmtool.c
 *
 * Usage:
 *   shmtool write NAME TEXT    create/overwrite segment NAME with TEXT
 *   shmtool read NAME          print segment NAME to stdout
 *   shmtool map NAME           print segment NAME through mmap(MAP_SHARED)
 *   shmtool ls                 list /dev/shm entries (one per line, sorted)
 *   shmtool mountinfo          print the visible /proc/self/mountinfo line for
 *                              /dev/shm (exit 1 if /dev/shm is not a mount)
 *   shmtool wait NAME TIMEOUT  poll (100ms) until NAME exists; exit 1 on timeout
 *   shmtool sysv-write KEY TEXT  SysV segment KEY (shmget) holds TEXT
 *   shmtool sysv-read KEY      print SysV segment KEY (exit 1 if absent)
 *   shmtool mq-send NAME TEXT  send TEXT on POSIX message queue NAME
 *   shmtool mq-recv NAME       receive one message from NAME (exit 1 if the
 *                              queue is absent or empty)
 *
 * Exit status: 0 ok, 1 runtime failure, 2 usage error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* shm_open wants a leading '/'; accept NAME with or without it. */
static const char *
shm_name (const char *name, char *buf, size_t len)
{
  if (name[0] == '/')
    return name;
  snprintf (buf, len, "/%s", name);
  return buf;
}

static int
die (const char *what)
{
  fprintf (stderr, "shmtool: %s: %s\n", what, strerror (errno));
  return 1;
}

static int
write_all (int fd, const char *p, size_t n)
{
  while (n > 0)
    {
      ssize_t w = write (fd, p, n);
      if (w < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      p += w;
      n -= (size_t) w;
    }
  return 0;
}

static int
cmd_write (const char *name, const char *text)
{
  char buf[512];
  size_t n = strlen (text);
  int fd = shm_open (shm_name (name, buf, sizeof (buf)), O_CREAT | O_RDWR, 0644);

  if (fd < 0)
    return die (name);
  if (ftruncate (fd, (off_t) n) < 0 || write_all (fd, text, n) < 0)
    {
      int rc = die (name);
      close (fd);
      return rc;
    }
  if (close (fd) < 0)
    return die (name);
  return 0;
}

static int
cmd_read (const char *name)
{
  char buf[512], data[4096];
  ssize_t r;
  int fd = shm_open (shm_name (name, buf, sizeof (buf)), O_RDONLY, 0);

  if (fd < 0)
    return die (name);
  while ((r = read (fd, data, sizeof (data))) != 0)
    {
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          close (fd);
          return die (name);
        }
      if (write_all (STDOUT_FILENO, data, (size_t) r) < 0)
        {
          close (fd);
          return die ("stdout");
        }
    }
  close (fd);
  return 0;
}

static int
cmd_map (const char *name)
{
  char buf[512];
  struct stat st;
  void *p;
  int fd = shm_open (shm_name (name, buf, sizeof (buf)), O_RDONLY, 0);

  if (fd < 0)
    return die (name);
  if (fstat (fd, &st) < 0)
    {
      close (fd);
      return die (name);
    }
  if (st.st_size == 0)
    {
      close (fd);
      return 0;
    }
  p = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  close (fd);
  if (p == MAP_FAILED)
    return die (name);
  if (write_all (STDOUT_FILENO, p, (size_t) st.st_size) < 0)
    return die ("stdout");
  return munmap (p, (size_t) st.st_size) < 0 ? die (name) : 0;
}

static int
cmp_str (const struct dirent **a, const struct dirent **b)
{
  return strcmp ((*a)->d_name, (*b)->d_name);
}

static int
skip_dots (const struct dirent *d)
{
  return strcmp (d->d_name, ".") != 0 && strcmp (d->d_name, "..") != 0;
}

static int
cmd_ls (void)
{
  struct dirent **ents;
  int n = scandir ("/dev/shm", &ents, skip_dots, cmp_str);

  if (n < 0)
    return die ("/dev/shm");
  for (int i = 0; i < n; i++)
    {
      printf ("%s\n", ents[i]->d_name);
      free (ents[i]);
    }
  free (ents);
  return 0;
}

/* mountinfo field 5 is the mount point.  Print only the LAST line mounted at
 * /dev/shm: with stacked mounts that is the visible (topmost) one, which is
 * what a hook that over-mounts the runtime's tmpfs must be judged by. */
static int
cmd_mountinfo (void)
{
  char line[4096], last[4096] = "";
  FILE *f = fopen ("/proc/self/mountinfo", "r");

  if (!f)
    return die ("/proc/self/mountinfo");
  while (fgets (line, sizeof (line), f))
    {
      char mnt[4096];
      if (sscanf (line, "%*s %*s %*s %*s %4095s", mnt) == 1 && strcmp (mnt, "/dev/shm") == 0)
        memcpy (last, line, sizeof (last));
    }
  fclose (f);
  if (last[0] == '\0')
    {
      fprintf (stderr, "shmtool: /dev/shm: not a mount point\n");
      return 1;
    }
  fputs (last, stdout);
  return 0;
}

static int
cmd_wait (const char *name, const char *timeout_s)
{
  char buf[512];
  char *end;
  double t = strtod (timeout_s, &end);
  struct timespec tick = { 0, 100 * 1000 * 1000 };
  long tries;

  if (*end != '\0' || t < 0)
    {
      fprintf (stderr, "shmtool: bad timeout '%s'\n", timeout_s);
      return 2;
    }
  tries = (long) (t * 10) + 1;
  for (long i = 0; i < tries; i++)
    {
      int fd = shm_open (shm_name (name, buf, sizeof (buf)), O_RDONLY, 0);
      if (fd >= 0)
        {
          close (fd);
          return 0;
        }
      if (errno != ENOENT)
        return die (name);
      nanosleep (&tick, NULL);
    }
  fprintf (stderr, "shmtool: %s: timed out after %ss\n", name, timeout_s);
  return 1;
}

/* SysV and mqueue objects live in the IPC namespace, not in /dev/shm. */
static int
cmd_sysv_write (const char *key, const char *text)
{
  int id = shmget ((key_t) strtol (key, NULL, 0), 4096, IPC_CREAT | 0666);
  char *p;

  if (id < 0)
    return die (key);
  p = shmat (id, NULL, 0);
  if (p == (void *) -1)
    return die (key);
  snprintf (p, 4096, "%s", text);
  return shmdt (p) < 0 ? die (key) : 0;
}

/* A segment of BYTES, left in place (SysV segments outlive their maker). */
static int
cmd_sysv_alloc (const char *key, const char *bytes)
{
  int id = shmget ((key_t) strtol (key, NULL, 0), (size_t) strtoull (bytes, NULL, 0),
                   IPC_CREAT | 0666);

  return id < 0 ? die (key) : 0;
}

static int
cmd_sysv_read (const char *key)
{
  int id = shmget ((key_t) strtol (key, NULL, 0), 0, 0);
  char *p;

  if (id < 0)
    return die (key);
  p = shmat (id, NULL, SHM_RDONLY);
  if (p == (void *) -1)
    return die (key);
  printf ("%.4096s\n", p);
  return shmdt (p) < 0 ? die (key) : 0;
}

static int
cmd_mq_send (const char *name, const char *text)
{
  char buf[256];
  struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 256 };
  mqd_t q = mq_open (shm_name (name, buf, sizeof (buf)), O_CREAT | O_WRONLY, 0666, &attr);

  if (q == (mqd_t) -1)
    return die (name);
  if (mq_send (q, text, strlen (text), 0) < 0)
    return die (name);
  return mq_close (q) < 0 ? die (name) : 0;
}

static int
cmd_mq_recv (const char *name)
{
  char buf[256], msg[8192];
  mqd_t q = mq_open (shm_name (name, buf, sizeof (buf)), O_RDONLY | O_NONBLOCK);
  ssize_t n;

  if (q == (mqd_t) -1)
    return die (name);
  n = mq_receive (q, msg, sizeof (msg), NULL);
  if (n < 0)
    return die (name);
  printf ("%.*s\n", (int) n, msg);
  return mq_close (q) < 0 ? die (name) : 0;
}

static int
usage (void)
{
  fputs ("usage: shmtool write NAME TEXT | read NAME | map NAME | ls | mountinfo | sysv-alloc KEY "
         "BYTES | "
         "wait NAME TIMEOUT_S | sysv-write KEY TEXT | sysv-read KEY | "
         "mq-send NAME TEXT | mq-recv NAME\n",
         stderr);
  return 2;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    return usage ();
  if (strcmp (argv[1], "write") == 0 && argc == 4)
    return cmd_write (argv[2], argv[3]);
  if (strcmp (argv[1], "read") == 0 && argc == 3)
    return cmd_read (argv[2]);
  if (strcmp (argv[1], "map") == 0 && argc == 3)
    return cmd_map (argv[2]);
  if (strcmp (argv[1], "ls") == 0 && argc == 2)
    return cmd_ls ();
  if (strcmp (argv[1], "mountinfo") == 0 && argc == 2)
    return cmd_mountinfo ();
  if (strcmp (argv[1], "wait") == 0 && argc == 4)
    return cmd_wait (argv[2], argv[3]);
  if (strcmp (argv[1], "sysv-write") == 0 && argc == 4)
    return cmd_sysv_write (argv[2], argv[3]);
  if (strcmp (argv[1], "sysv-alloc") == 0 && argc == 4)
    return cmd_sysv_alloc (argv[2], argv[3]);
  if (strcmp (argv[1], "sysv-read") == 0 && argc == 3)
    return cmd_sysv_read (argv[2]);
  if (strcmp (argv[1], "mq-send") == 0 && argc == 4)
    return cmd_mq_send (argv[2], argv[3]);
  if (strcmp (argv[1], "mq-recv") == 0 && argc == 3)
    return cmd_mq_recv (argv[2]);
  return usage ();
}
