/* A pipeline's own IPC namespace (SysV shm, semaphores, POSIX message
   queues), pinned by a bind mount of its nsfs file. */
#include "ipcns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cleanup.h"

bool
sp_ipcns_pinned (int dirfd, const char *file)
{
  struct statfs sfs;
  cleanup_close int fd = openat (dirfd, file, O_PATH | O_CLOEXEC | O_NOFOLLOW);

  return fd >= 0 && fstatfs (fd, &sfs) == 0 && sfs.f_type == NSFS_MAGIC;
}

bool
sp_ipcns_present (int dirfd, const char *file)
{
  struct stat st;

  return fstatat (dirfd, file, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int
sp_ipcns_release (int dirfd, const char *file, sp_error_t *err)
{
  char path[64 + 256];
  struct stat st;

  if (fstatat (dirfd, file, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : sp_error_sys (err, errno, "stat IPC namespace");
  snprintf (path, sizeof (path), "/proc/self/fd/%d/%s", dirfd, file);
  /* EINVAL: not a mount point (a pin that never completed). */
  while (umount2 (path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
    ;
  if (errno != EINVAL && errno != ENOENT)
    return sp_error_sys (err, errno, "unmount IPC namespace %s", file);
  if (unlinkat (dirfd, file, 0) < 0 && errno != ENOENT)
    return sp_error_sys (err, errno, "remove IPC namespace %s", file);
  return 0;
}

/* Binds the IPC namespace of PID on DIRFD/FILE. */
static int
pin_of (int dirfd, const char *file, pid_t pid, sp_error_t *err)
{
  cleanup_close int nsfd = -1;
  cleanup_close int target = -1;
  char ns_path[64], target_path[64];

  snprintf (ns_path, sizeof (ns_path), "/proc/%d/ns/ipc", (int) pid);
  nsfd = open (ns_path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    return sp_error_sys (err, errno, "open %s", ns_path);
  target = openat (dirfd, file, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
  if (target < 0)
    return sp_error_sys (err, errno, "create IPC namespace file");
  snprintf (ns_path, sizeof (ns_path), "/proc/self/fd/%d", nsfd);
  snprintf (target_path, sizeof (target_path), "/proc/self/fd/%d", target);
  /* A bind ignores the type; "none" rather than NULL keeps memcheck quiet. */
  if (mount (ns_path, target_path, "none", MS_BIND, NULL) < 0)
    {
      sp_error_sys (err, errno, "pin IPC namespace");
      unlinkat (dirfd, file, 0);
      return -1;
    }
  return 0;
}

/* A short-lived child makes the namespace: this process keeps its own. */
int
sp_ipcns_pin (int dirfd, const char *file, sp_error_t *err)
{
  cleanup_close_pair int ready[2] = { -1, -1 };
  cleanup_close_pair int hold[2] = { -1, -1 };
  char c = 0;
  pid_t pid;
  int r = -1, status;

  if (sp_ipcns_release (dirfd, file, err) < 0)
    return -1;
  if (pipe2 (ready, O_CLOEXEC) < 0 || pipe2 (hold, O_CLOEXEC) < 0)
    return sp_error_sys (err, errno, "pipe");
  pid = fork ();
  if (pid == 0)
    {
      /* Only async-signal-safe calls: the caller may have threads. */
      close (ready[0]);
      close (hold[1]);
      c = unshare (CLONE_NEWIPC) == 0 ? 'y' : 'n';
      if (write (ready[1], &c, 1) != 1)
        _exit (1);
      /* Wait until the parent has pinned the namespace (or gave up). */
      while (read (hold[0], &c, 1) < 0 && errno == EINTR)
        ;
      _exit (0);
    }
  sp_close (&ready[1]);
  sp_close (&hold[0]);
  if (pid < 0)
    return sp_error_sys (err, errno, "fork");
  if (read (ready[0], &c, 1) != 1 || c != 'y')
    sp_error_make (err, EPERM, "cannot create an IPC namespace");
  else
    r = pin_of (dirfd, file, pid, err);
  /* Lets the child go. */
  sp_close (&hold[1]);
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  return r;
}
