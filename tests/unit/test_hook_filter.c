/* The hook's hardening as a process sees it after sp_hook_harden: the
   seccomp filter built at build time (hook/gen/seccomp_filter.c) allows
   what the hook calls, narrows setns, socket, ioctl, unshare, clone and
   tgkill to their arguments, and fails everything else with ENOSYS; the
   one rule patched at load time, tgkill to itself, holds this process's
   pid.  Each case runs in a child: the filter cannot be taken back. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/nsfs.h>

#include "hook.h"

/* In the child, a failed check exits with its line number. */
#define CHECK(cond)                                                                                \
  do                                                                                               \
    {                                                                                              \
      if (!(cond))                                                                                 \
        {                                                                                          \
          fprintf (stderr, "%s:%d: %s (errno %d)\n", __FILE__, __LINE__, #cond, errno);            \
          _exit (__LINE__ % 250 + 1);                                                              \
        }                                                                                          \
    }                                                                                              \
  while (0)
#define DENIED(call) CHECK ((call) == -1 && errno == ENOSYS)

/* Runs CASE in a child that first hardens itself as the hook does. */
static void
in_hardened_child (void (*what) (void))
{
  int status;
  pid_t pid = fork ();

  assert_true (pid >= 0);
  if (pid == 0)
    {
      sp_error_t err = NULL;
      if (sp_hook_harden (&err) < 0)
        {
          fprintf (stderr, "harden: %s\n", err->msg);
          _exit (255);
        }
      what ();
      _exit (0);
    }
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 0);
}

static void
allowed (void)
{
  int fd;

  CHECK (getpid () > 0);
  fd = open ("/proc/self/status", O_RDONLY | O_CLOEXEC);
  CHECK (fd >= 0);
  CHECK (close (fd) == 0);
  /* Narrowed, with the argument allowed. */
  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  CHECK (fd >= 0);
  CHECK (close (fd) == 0);
  CHECK (setns (-1, CLONE_NEWNS) == -1 && errno == EBADF);
  CHECK (ioctl (-1, NS_GET_NSTYPE) == -1 && errno == EBADF);
  CHECK (ioctl (-1, TCGETS) == -1 && errno == EBADF);
}

static void
denied (void)
{
  DENIED (socket (AF_INET, SOCK_STREAM, 0));
  DENIED (setns (-1, CLONE_NEWNET));
  DENIED (setns (-1, 0));
  DENIED (ioctl (-1, TIOCSTI, "x"));
  DENIED (unshare (CLONE_NEWNET));
  DENIED (unshare (CLONE_NEWNS));
  DENIED (mount ("none", "/", NULL, MS_REMOUNT | MS_BIND, NULL));
  DENIED (chroot ("/"));
  DENIED (syscall (SYS_execve, "/bin/true", NULL, NULL));
  DENIED (syscall (SYS_bpf, 0, NULL, 0));
}

static void
signals_and_children (void)
{
#if defined(__SANITIZE_ADDRESS__)
  /* The sanitizer's runtime needs kill, tgkill, ptrace and clone: its
     list allows them, so there is nothing to check here. */
#else
  pid_t me = getpid (), parent = getppid ();
  pid_t child;
  int status;

  /* The pid written into the filter at load is this process's. */
  CHECK (syscall (SYS_tgkill, me, (pid_t) syscall (SYS_gettid), 0) == 0);
  DENIED (syscall (SYS_tgkill, parent, parent, 0));
  DENIED (kill (parent, 0));
  DENIED (ptrace (PTRACE_TRACEME, 0, NULL, NULL));
  /* fork() as glibc makes it; not a thread, not a new namespace. */
  child = fork ();
  CHECK (child >= 0);
  if (child == 0)
    _exit (7);
  CHECK (waitpid (child, &status, 0) == child && WIFEXITED (status) && WEXITSTATUS (status) == 7);
  DENIED (syscall (SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0));
  DENIED (syscall (SYS_clone, CLONE_VM | CLONE_THREAD | CLONE_SIGHAND, NULL, NULL, NULL, 0));
#endif
}

static void
test_allowed (void **unused)
{
  (void) unused;
  in_hardened_child (allowed);
}

static void
test_denied (void **unused)
{
  (void) unused;
  in_hardened_child (denied);
}

static void
test_signals_and_children (void **unused)
{
  (void) unused;
  in_hardened_child (signals_and_children);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_allowed),
    cmocka_unit_test (test_denied),
    cmocka_unit_test (test_signals_and_children),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
