/* The hook runs as root on input that containers' owners control: before it
   reads any, it gives up every privilege it does not use.  */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>
#include <linux/nsfs.h>

#include "cleanup.h"
#include "fileutil.h"
#include "hook.h"

/* CAP_SYS_ADMIN: open_tree/move_mount/mount_setattr, fsopen (auto-create),
   umount2 (ephemeral removal), setns's check on the target namespace.
   CAP_SYS_CHROOT: setns into a mount namespace changes the root.
   CAP_SYS_PTRACE: /proc/PID/ns/mnt and /proc/PID/root of the runtime's init
   process, which is non-dumpable and holds capabilities we dropped.
   Not CAP_DAC_OVERRIDE: the store and the bundle are root's own.  */
static const cap_value_t keep_caps[] = { CAP_SYS_ADMIN, CAP_SYS_CHROOT, CAP_SYS_PTRACE };

static bool
is_kept (cap_value_t c)
{
  for (size_t i = 0; i < sizeof (keep_caps) / sizeof (keep_caps[0]); i++)
    if (keep_caps[i] == c)
      return true;
  return false;
}

static void
cleanup_cap (cap_t *c)
{
  if (*c != NULL)
    cap_free (*c);
}

static int
drop_caps (sp_error_t *err)
{
  __attribute__ ((cleanup (cleanup_cap))) cap_t cur = cap_get_proc ();
  __attribute__ ((cleanup (cleanup_cap))) cap_t want = cap_init ();
  cap_flag_value_t setpcap = CAP_CLEAR;
  cap_value_t kept[sizeof (keep_caps) / sizeof (keep_caps[0])];
  int n_kept = 0;

  if (cur == NULL || want == NULL)
    return sp_error_sys (err, errno, "capabilities");
  cap_get_flag (cur, CAP_SETPCAP, CAP_EFFECTIVE, &setpcap);

  /* The bounding set first: dropping from it needs CAP_SETPCAP, which goes
     next.  Without CAP_SETPCAP (an unprivileged caller) there is nothing to
     gain back anyway: no_new_privs below blocks file capabilities.  */
  if (setpcap == CAP_SET)
    for (cap_value_t c = 0, max = cap_max_bits (); c < max; c++)
      if (!is_kept (c) && cap_drop_bound (c) < 0)
        return sp_error_sys (err, errno, "drop capability %d from the bounding set", (int) c);

  /* Ambient capabilities would survive an exec; the hook never execs, but
     leave none around.  EINVAL: a kernel without ambient capabilities.  */
  if (cap_reset_ambient () < 0 && errno != EINVAL)
    return sp_error_sys (err, errno, "clear ambient capabilities");

  for (size_t i = 0; i < sizeof (keep_caps) / sizeof (keep_caps[0]); i++)
    {
      cap_flag_value_t v = CAP_CLEAR;
      if (cap_get_flag (cur, keep_caps[i], CAP_PERMITTED, &v) == 0 && v == CAP_SET)
        kept[n_kept++] = keep_caps[i];
    }
  /* Inheritable stays empty (cap_init clears all three sets). */
  if (n_kept > 0
      && (cap_set_flag (want, CAP_PERMITTED, n_kept, kept, CAP_SET) < 0
          || cap_set_flag (want, CAP_EFFECTIVE, n_kept, kept, CAP_SET) < 0))
    return sp_error_sys (err, errno, "capabilities");
  if (cap_set_proc (want) < 0)
    return sp_error_sys (err, errno, "set capabilities");
  return 0;
}

/* What glibc, yajl, syslog(3), the store and the mount code call; checked
   with strace -f on every path of the hook.  Names unknown on this
   architecture are skipped.  */
/* clang-format off */
static const char *const allowed_syscalls[] = {
  /* memory, signals, threads' bookkeeping glibc does at start and exit */
  "brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
  "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
  "futex", "set_robust_list", "rseq", "exit", "exit_group", "getrandom",
  /* identity and time */
  "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid",
  "clock_gettime", "gettimeofday", "time", "sysinfo", "uname", "prlimit64", "getrlimit",
  /* files */
  "read", "write", "readv", "writev", "pread64", "lseek", "close", "dup", "dup3",
  "open", "openat", "openat2", "fstat", "newfstatat", "stat", "lstat", "statx",
  "fstatfs", "statfs", "getdents64", "fcntl", "flock", "fsync", "fdatasync",
  "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2",
  "readlink", "readlinkat", "access", "faccessat", "faccessat2",
  /* syslog(3) on /dev/log */
  "connect", "sendto", "sendmsg",
  /* the mount: pin, enter, attach, check; tmpfs creation and removal */
  "open_tree", "move_mount", "mount_setattr", "fsopen", "fsconfig", "fsmount", "umount2",
  "pidfd_open", "pidfd_send_signal",
#if defined(__SANITIZE_ADDRESS__)
  /* ASan/LSan's runtime: leak checking at exit runs in a ptrace()ing clone. */
  "clone", "clone3", "ptrace", "wait4", "waitid", "getdents", "sched_yield", "sigaltstack",
  "prctl", "getpgid", "kill", "tgkill", "nanosleep", "clock_nanosleep", "pipe2", "dup2",
  "sched_getaffinity", "getcwd",
#endif
};
/* clang-format on */

static int
add_rule (scmp_filter_ctx ctx, int nr, unsigned n_args, const struct scmp_arg_cmp *args,
          const char *name, sp_error_t *err)
{
  int r = seccomp_rule_add_array (ctx, SCMP_ACT_ALLOW, nr, n_args, args);
  if (r < 0)
    return sp_error_sys (err, -r, "seccomp: rule for %s", name);
  return 0;
}

static void
cleanup_seccomp (scmp_filter_ctx *ctx)
{
  if (*ctx != NULL)
    seccomp_release (*ctx);
}

static int
load_seccomp (sp_error_t *err)
{
  __attribute__ ((cleanup (cleanup_seccomp))) scmp_filter_ctx ctx = NULL;
  struct scmp_arg_cmp a;
  int r;

  /* ENOSYS, not EPERM or a kill: glibc falls back from syscalls it probes
     (clone3, faccessat2, ...) and anything else fails with a clear error. */
  ctx = seccomp_init (SCMP_ACT_ERRNO (ENOSYS));
  if (ctx == NULL)
    return sp_error_make (err, ENOMEM, "seccomp: init failed");

  for (size_t i = 0; i < sizeof (allowed_syscalls) / sizeof (allowed_syscalls[0]); i++)
    {
      int nr = seccomp_syscall_resolve_name (allowed_syscalls[i]);
      if (nr == __NR_SCMP_ERROR)
        continue;
      if (add_rule (ctx, nr, 0, NULL, allowed_syscalls[i], err) < 0)
        return -1;
    }

  /* Narrowed ones: setns only into mount namespaces; sockets only AF_UNIX
     (syslog); ioctl only NS_GET_NSTYPE and the isatty() stdio does; abort()
     may signal only this process.  */
  a = SCMP_A1 (SCMP_CMP_EQ, CLONE_NEWNS);
  if (add_rule (ctx, SCMP_SYS (setns), 1, &a, "setns", err) < 0)
    return -1;
  a = SCMP_A0 (SCMP_CMP_EQ, AF_UNIX);
  if (add_rule (ctx, SCMP_SYS (socket), 1, &a, "socket", err) < 0)
    return -1;
  a = SCMP_A1 (SCMP_CMP_EQ, NS_GET_NSTYPE);
  if (add_rule (ctx, SCMP_SYS (ioctl), 1, &a, "ioctl", err) < 0)
    return -1;
  a = SCMP_A1 (SCMP_CMP_EQ, TCGETS);
  if (add_rule (ctx, SCMP_SYS (ioctl), 1, &a, "ioctl", err) < 0)
    return -1;
#if !defined(__SANITIZE_ADDRESS__)
  a = SCMP_A0 (SCMP_CMP_EQ, (scmp_datum_t) getpid ());
  if (add_rule (ctx, SCMP_SYS (tgkill), 1, &a, "tgkill", err) < 0)
    return -1;
#endif

  r = seccomp_load (ctx);
  if (r < 0)
    return sp_error_sys (err, -r, "seccomp: load filter");
  return 0;
}

int
sp_hook_harden (sp_error_t *err)
{
  if (drop_caps (err) < 0)
    return -1;
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return sp_error_sys (err, errno, "set no_new_privs");
  return load_seccomp (err);
}

int
sp_hook_print_security (FILE *out, sp_error_t *err)
{
  static const char *const keys[]
      = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:" };
  cleanup_free char *buf = NULL;
  char *line, *save = NULL;

  if (sp_read_file_at (AT_FDCWD, "/proc/self/status", 0, 64 * 1024, &buf, NULL, err) < 0)
    return -1;
  for (line = strtok_r (buf, "\n", &save); line != NULL; line = strtok_r (NULL, "\n", &save))
    for (size_t i = 0; i < sizeof (keys) / sizeof (keys[0]); i++)
      if (strncmp (line, keys[i], strlen (keys[i])) == 0)
        fprintf (out, "%s\n", line);
  return 0;
}
