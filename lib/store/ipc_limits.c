/* What a pipeline's IPC namespace may hold: its SysV limits (per IPC
   namespace sysctls) keep SysV shared memory and message queues within the
   pipeline's size, and what its SysV segments take counts in "used".
   Both run in a short-lived child inside the namespace: the sysctls and
   shmctl(SHM_INFO) answer for the caller's own IPC namespace. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "ipc_limits.h"

/* The kernel's own defaults, kept where they are below the caps. */
#define SHMMNI_DEFAULT 4096ULL
#define MSGMNB_DEFAULT 16384ULL
#define MSGMAX_DEFAULT 8192ULL
#define MSGMNI_DEFAULT 32000ULL

struct sysctl_value
{
  const char *path;
  char value[32];
};

void
sp_ipc_limits_for (uint64_t size, struct sp_ipc_limits *l)
{
  uint64_t page = (uint64_t) sysconf (_SC_PAGESIZE);
  uint64_t pages = size / page;

  memset (l, 0, sizeof (*l));
  /* Every segment and every queue together fit in SIZE: shmall counts
     pages of all segments, msgmni queues of at most msgmnb bytes each. */
  l->shmmax = size;
  l->shmall = pages > 0 ? pages : 1;
  l->shmmni = pages < SHMMNI_DEFAULT ? (pages > 0 ? pages : 1) : SHMMNI_DEFAULT;
  l->msgmnb = size < MSGMNB_DEFAULT ? size : MSGMNB_DEFAULT;
  l->msgmax = l->msgmnb < MSGMAX_DEFAULT ? l->msgmnb : MSGMAX_DEFAULT;
  l->msgmni = size / l->msgmnb;
  if (l->msgmni > MSGMNI_DEFAULT)
    l->msgmni = MSGMNI_DEFAULT;
  if (l->msgmni == 0)
    l->msgmni = 1;
}

int
sp_ipc_limits_text (const struct sp_ipc_limits *l, struct sp_ipc_limits_text *t)
{
  static const char *const paths[SP_IPC_LIMITS_N]
      = { "/proc/sys/kernel/shmmax", "/proc/sys/kernel/shmall", "/proc/sys/kernel/shmmni",
          "/proc/sys/kernel/msgmnb", "/proc/sys/kernel/msgmax", "/proc/sys/kernel/msgmni" };
  const unsigned long long v[SP_IPC_LIMITS_N]
      = { l->shmmax, l->shmall, l->shmmni, l->msgmnb, l->msgmax, l->msgmni };

  for (size_t i = 0; i < SP_IPC_LIMITS_N; i++)
    {
      t->path[i] = paths[i];
      snprintf (t->value[i], sizeof (t->value[i]), "%llu\n", v[i]);
    }
  return 0;
}

/* In the child: only async-signal-safe calls (the caller may have threads).
   0, or the errno of the first write that failed. */
int
sp_ipc_limits_write (const struct sp_ipc_limits_text *t)
{
  for (size_t i = 0; i < SP_IPC_LIMITS_N; i++)
    {
      int fd = open (t->path[i], O_WRONLY | O_CLOEXEC);
      size_t n = strlen (t->value[i]);
      int e;

      if (fd < 0)
        return errno;
      e = write (fd, t->value[i], n) == (ssize_t) n ? 0 : (errno ? errno : EIO);
      close (fd);
      if (e != 0)
        return e;
    }
  return 0;
}

/* Runs FN in a child that joined NAME's pinned namespace; FN's 8 bytes of
   answer come back through a pipe.  */
static int
in_namespace (int dirfd, const char *file, int (*fn) (void *ctx, uint64_t *out), void *ctx,
              uint64_t *out, sp_error_t *err)
{
  cleanup_close int nsfd = -1;
  cleanup_close_pair int pipefd[2] = { -1, -1 };
  struct
  {
    int32_t error;
    uint64_t value;
  } answer = { 0, 0 };
  pid_t pid;
  int status;
  ssize_t n;

  nsfd = openat (dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (nsfd < 0)
    return sp_error_sys (err, errno, "open its IPC namespace");
  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return sp_error_sys (err, errno, "pipe");
  pid = fork ();
  if (pid < 0)
    return sp_error_sys (err, errno, "fork");
  if (pid == 0)
    {
      answer.error = setns (nsfd, CLONE_NEWIPC) < 0 ? errno : fn (ctx, &answer.value);
      _exit (write (pipefd[1], &answer, sizeof (answer)) == (ssize_t) sizeof (answer) ? 0 : 1);
    }
  sp_close (&pipefd[1]);
  do
    n = read (pipefd[0], &answer, sizeof (answer));
  while (n < 0 && errno == EINTR);
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (n != (ssize_t) sizeof (answer))
    return sp_error_make (err, EIO, "its IPC namespace: no answer from the child");
  if (answer.error != 0)
    return sp_error_sys (err, answer.error, "in its IPC namespace");
  *out = answer.value;
  return 0;
}

static int
write_limits (void *ctx, uint64_t *out)
{
  *out = 0;
  return sp_ipc_limits_write (ctx);
}

int
sp_ipcns_set_limits (int dirfd, const char *file, uint64_t size, sp_error_t *err)
{
  struct sp_ipc_limits l;
  struct sp_ipc_limits_text t;
  uint64_t ignored;

  sp_ipc_limits_for (size, &l);
  sp_ipc_limits_text (&l, &t);
  if (in_namespace (dirfd, file, write_limits, &t, &ignored, err) < 0)
    return sp_error_prefix (err, "SysV limits");
  return 0;
}

static int
sysv_bytes (void *ctx, uint64_t *out)
{
  struct shm_info info;

  (void) ctx;
  /* SHM_INFO: shm_tot is the pages of every segment of this namespace. */
  if (shmctl (0, SHM_INFO, (struct shmid_ds *) (void *) &info) < 0)
    return errno;
  *out = (uint64_t) info.shm_tot * (uint64_t) sysconf (_SC_PAGESIZE);
  return 0;
}

int
sp_ipcns_sysv_used (int dirfd, const char *file, uint64_t *bytes, sp_error_t *err)
{
  *bytes = 0;
  return in_namespace (dirfd, file, sysv_bytes, NULL, bytes, err);
}
