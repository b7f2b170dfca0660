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
#include "macro.h"
#include "privs.h"

/* CAP_SYS_ADMIN: open_tree/move_mount/mount_setattr, fsopen (auto-create),
   umount2 (ephemeral removal), setns's check on the target namespace.
   CAP_SYS_CHROOT: setns into a mount namespace changes the root.
   CAP_SYS_PTRACE: /proc/PID/ns/mnt and /proc/PID/root of the runtime's init
   process, which is non-dumpable and holds capabilities we dropped.
   Not CAP_DAC_OVERRIDE: the store and the bundle are root's own.  */
static const cap_value_t keep_caps[] = { CAP_SYS_ADMIN, CAP_SYS_CHROOT, CAP_SYS_PTRACE };

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

#if !defined(__SANITIZE_ADDRESS__)
/* A pipeline made with ipc: a child (fork) unshares a new IPC namespace for
   the store to pin (lib/store/ipcns.c).  ASan's list has these already. */
static const char *const ipc_pin_syscalls[] = { "pipe2", "wait4" };
#endif

static int
load_seccomp (sp_error_t *err)
{
  cleanup_seccomp scmp_filter_ctx ctx = NULL;
  struct scmp_arg_cmp a;

  /* ENOSYS, not EPERM or a kill: glibc falls back from syscalls it probes
     (clone3, faccessat2, ...) and anything else fails with a clear error. */
  ctx = seccomp_init (SCMP_ACT_ERRNO (ENOSYS));
  if (ctx == NULL)
    return sp_error_make (err, ENOMEM, "seccomp: init failed");

  if (sp_privs_seccomp_rules (ctx, SCMP_ACT_ALLOW, allowed_syscalls, ARRAY_SIZE (allowed_syscalls),
                              err)
      < 0)
    return -1;
  /* Newer than Debian 12's libseccomp, which does not know its name:
     statmount(2), the mount's propagation in one call (mount.c). */
  if (sp_privs_seccomp_rule (ctx, SCMP_ACT_ALLOW, 457, "statmount", 0, NULL, err) < 0)
    return -1;

  /* Narrowed ones: setns only into mount namespaces; sockets only AF_UNIX
     (syslog); ioctl only NS_GET_NSTYPE and the isatty() stdio does; abort()
     may signal only this process; clone only as fork() and unshare only of
     an IPC namespace (the child that makes a pipeline's, with ipc).  */
  a = SCMP_A1 (SCMP_CMP_EQ, CLONE_NEWNS);
  if (sp_privs_seccomp_rule (ctx, SCMP_ACT_ALLOW, SCMP_SYS (setns), "setns", 1, &a, err) < 0)
    return -1;
  a = SCMP_A0 (SCMP_CMP_EQ, AF_UNIX);
  if (sp_privs_seccomp_rule (ctx, SCMP_ACT_ALLOW, SCMP_SYS (socket), "socket", 1, &a, err) < 0)
    return -1;
  a = SCMP_A1 (SCMP_CMP_EQ, NS_GET_NSTYPE);
  if (sp_privs_seccomp_rule (ctx, SCMP_ACT_ALLOW, SCMP_SYS (ioctl), "ioctl", 1, &a, err) < 0)
    return -1;
  a = SCMP_A1 (SCMP_CMP_EQ, TCGETS);
  if (sp_privs_seccomp_rule (ctx, SCMP_ACT_ALLOW, SCMP_SYS (ioctl), "ioctl", 1, &a, err) < 0)
    return -1;
  a = SCMP_A0 (SCMP_CMP_EQ, CLONE_NEWIPC);
  if (sp_privs_seccomp_rule (ctx, SCMP_ACT_ALLOW, SCMP_SYS (unshare), "unshare", 1, &a, err) < 0)
    return -1;
#if !defined(__SANITIZE_ADDRESS__)
  if (sp_privs_seccomp_rules (ctx, SCMP_ACT_ALLOW, ipc_pin_syscalls, ARRAY_SIZE (ipc_pin_syscalls),
                              err)
      < 0)
    return -1;
  /* glibc's fork(): no thread, no namespace, no shared memory. */
  a = SCMP_A0 (SCMP_CMP_EQ, CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD);
  if (sp_privs_seccomp_rule (ctx, SCMP_ACT_ALLOW, SCMP_SYS (clone), "clone", 1, &a, err) < 0)
    return -1;
  a = SCMP_A0 (SCMP_CMP_EQ, (scmp_datum_t) getpid ());
  if (sp_privs_seccomp_rule (ctx, SCMP_ACT_ALLOW, SCMP_SYS (tgkill), "tgkill", 1, &a, err) < 0)
    return -1;
#endif

  return sp_privs_seccomp_load (ctx, err);
}

int
sp_hook_harden (sp_error_t *err)
{
  if (sp_privs_keep_only (keep_caps, ARRAY_SIZE (keep_caps), err) < 0)
    return -1;
  return load_seccomp (err);
}
