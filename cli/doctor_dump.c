/* doctor's view of containerd's effective config: `containerd --config FILE
   config dump` merges the imports (NVIDIA's drop-in, the node installer's
   runtimes) the way containerd itself does. */
#include "doctor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

/* A dump is a few KiB; containerd prints it at once. */
#define DUMP_MAX (4 * 1024 * 1024)
#define DUMP_TIMEOUT_MS 10000

extern char **environ;

static long
ms_left (const struct timespec *deadline)
{
  struct timespec now;

  clock_gettime (CLOCK_MONOTONIC, &now);
  return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Reads FD to its end into a NUL-terminated buffer, within DEADLINE and
   DUMP_MAX; -1 when either is passed or on a read error. */
static int
read_bounded (int fd, const struct timespec *deadline, char **out, size_t *len)
{
  cleanup_free char *buf = NULL;
  size_t n = 0, cap = 0;

  for (;;)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      long left = ms_left (deadline);
      ssize_t r;

      if (left <= 0)
        return -1;
      r = poll (&pfd, 1, (int) left);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return -1;
      if (cap - n < 4096)
        {
          char *p;
          cap = cap == 0 ? 16384 : cap * 2;
          if (cap > DUMP_MAX + 1)
            cap = DUMP_MAX + 1;
          if (cap - n < 2)
            return -1; /* over DUMP_MAX */
          p = realloc (buf, cap);
          if (p == NULL)
            return -1;
          buf = p;
        }
      r = read (fd, buf + n, cap - n - 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -1;
      if (r == 0)
        break;
      n += (size_t) r;
    }
  if (buf == NULL && (buf = malloc (1)) == NULL)
    return -1;
  buf[n] = '\0';
  *out = buf;
  buf = NULL;
  *len = n;
  return 0;
}

int
doctor_containerd_dump (const char *config, char **out, size_t *len)
{
  char *const argv[] = { (char *) "containerd", (char *) "--config", (char *) config,
                         (char *) "config",     (char *) "dump",     NULL };
  cleanup_close_pair int p[2] = { -1, -1 };
  cleanup_close int null = -1;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  struct timespec deadline;
  pid_t pid;
  int r, status = 0;
  bool reaped;

  if (pipe2 (p, O_CLOEXEC) < 0 || (null = open ("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
    return -1;
  if (posix_spawn_file_actions_init (&fa) != 0)
    return -1;
  /* stdin and stderr on /dev/null: the dump is stdout alone, and
     containerd's warnings (a version 1 config) are not doctor's lines. */
  if (posix_spawn_file_actions_adddup2 (&fa, null, 0) != 0
      || posix_spawn_file_actions_adddup2 (&fa, p[1], 1) != 0
      || posix_spawn_file_actions_adddup2 (&fa, null, 2) != 0)
    {
      posix_spawn_file_actions_destroy (&fa);
      return -1;
    }
  /* posix_spawnp searches PATH and fails (ENOENT) when there is no
     containerd: then the caller falls back to the file's own text. */
  /* A group of its own: a timeout kills whatever it started too. */
  if (posix_spawnattr_init (&attr) != 0)
    {
      posix_spawn_file_actions_destroy (&fa);
      return -1;
    }
  r = posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETPGROUP);
  if (r == 0)
    r = posix_spawnp (&pid, "containerd", &fa, &attr, argv, environ);
  posix_spawnattr_destroy (&attr);
  posix_spawn_file_actions_destroy (&fa);
  sp_close (&p[1]);
  if (r != 0)
    return -1;
  clock_gettime (CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += DUMP_TIMEOUT_MS / 1000;
  r = read_bounded (p[0], &deadline, out, len);
  if (r < 0)
    kill (-pid, SIGKILL); /* too slow or too much: our child's group, reaped below */
  while (!(reaped = waitpid (pid, &status, 0) == pid) && errno == EINTR)
    ;
  if (r == 0 && (!reaped || !WIFEXITED (status) || WEXITSTATUS (status) != 0))
    {
      free (*out);
      *out = NULL;
      r = -1;
    }
  return r;
}
