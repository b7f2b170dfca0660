/* Build tool: writes the hook's seccomp filter as a C header, built here by
   libseccomp from the rules below, so that the hook, which runs twice per
   container start, only hands the kernel a ready program (hook/harden.c).

     seccomp_filter OUT.h

   The one rule that depends on the running hook, tgkill only to itself, is
   built against a placeholder pid; the header says which instruction holds
   it, for the hook to put its own pid there.  Built with the hook's flags:
   a sanitizer build gets the sanitizer's list.  */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "macro.h"
#include "seccomp_rules.h"

/* No pid: pid_max is at most 2^22. */
#define PID_PLACEHOLDER 0x5eedf00dU

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
add_rules (scmp_filter_ctx ctx, sp_error_t *err)
{
  if (sp_seccomp_rules (ctx, SCMP_ACT_ALLOW, allowed_syscalls, ARRAY_SIZE (allowed_syscalls), err)
      < 0)
    return -1;
  /* Newer than Debian 12's libseccomp, which does not know its name:
     statmount(2), the mount's propagation in one call (mount.c). */
  if (sp_seccomp_rule (ctx, SCMP_ACT_ALLOW, 457, "statmount", 0, NULL, err) < 0)
    return -1;

  /* Narrowed ones: setns only into mount namespaces; sockets only AF_UNIX
     (syslog); ioctl only NS_GET_NSTYPE and the isatty() stdio does; abort()
     may signal only this process; clone only as fork() and unshare only of
     an IPC namespace (the child that makes a pipeline's, with ipc).  */
  const struct
  {
    int nr;
    const char *name;
    struct scmp_arg_cmp arg;
  } narrowed[] = {
#define NARROWED(call, arg) { SCMP_SYS (call), #call, arg }
    NARROWED (setns, SCMP_A1 (SCMP_CMP_EQ, CLONE_NEWNS)),
    NARROWED (socket, SCMP_A0 (SCMP_CMP_EQ, AF_UNIX)),
    NARROWED (ioctl, SCMP_A1 (SCMP_CMP_EQ, NS_GET_NSTYPE)),
    NARROWED (ioctl, SCMP_A1 (SCMP_CMP_EQ, TCGETS)),
    NARROWED (unshare, SCMP_A0 (SCMP_CMP_EQ, CLONE_NEWIPC)),
#if !defined(__SANITIZE_ADDRESS__)
    /* glibc's fork(): no thread, no namespace, no shared memory. */
    NARROWED (clone, SCMP_A0 (SCMP_CMP_EQ, CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD)),
    NARROWED (tgkill, SCMP_A0 (SCMP_CMP_EQ, PID_PLACEHOLDER)),
#endif
#undef NARROWED
  };

  for (size_t i = 0; i < ARRAY_SIZE (narrowed); i++)
    if (sp_seccomp_rule (ctx, SCMP_ACT_ALLOW, narrowed[i].nr, narrowed[i].name, 1, &narrowed[i].arg,
                         err)
        < 0)
      return -1;
#if !defined(__SANITIZE_ADDRESS__)
  if (sp_seccomp_rules (ctx, SCMP_ACT_ALLOW, ipc_pin_syscalls, ARRAY_SIZE (ipc_pin_syscalls), err)
      < 0)
    return -1;
#endif
  return 0;
}

/* The program libseccomp makes of CTX, into *PROG (malloc'd), *N long. */
static int
export_program (scmp_filter_ctx ctx, struct sock_filter **prog, size_t *n, sp_error_t *err)
{
  cleanup_close int fd = memfd_create ("filter", MFD_CLOEXEC);
  struct stat st;
  int r;

  if (fd < 0)
    return sp_error_sys (err, errno, "memfd_create");
  r = seccomp_export_bpf (ctx, fd);
  if (r < 0)
    return sp_error_sys (err, -r, "seccomp: export the filter");
  if (fstat (fd, &st) < 0)
    return sp_error_sys (err, errno, "fstat");
  if (st.st_size <= 0 || st.st_size % sizeof (**prog) != 0 || st.st_size > 65536)
    return sp_error_make (err, EINVAL, "seccomp: odd program size %lld", (long long) st.st_size);
  *prog = malloc (st.st_size);
  if (*prog == NULL)
    return sp_error_sys (err, ENOMEM, "malloc");
  if (pread (fd, *prog, st.st_size, 0) != st.st_size)
    return sp_error_sys (err, errno, "read the filter back");
  *n = st.st_size / sizeof (**prog);
  return 0;
}

/* The one instruction comparing with the placeholder, or -1 when there is
   none (a sanitizer build); two would be a filter we do not understand. */
static int
find_pid (const struct sock_filter *prog, size_t n, long *at, sp_error_t *err)
{
  *at = -1;
  for (size_t i = 0; i < n; i++)
    if (prog[i].k == PID_PLACEHOLDER)
      {
        if (*at >= 0 || prog[i].code != (BPF_JMP | BPF_JEQ | BPF_K))
          return sp_error_make (err, EINVAL, "the pid placeholder is not one comparison");
        *at = (long) i;
      }
  return 0;
}

static int
write_header (const char *path, const struct sock_filter *prog, size_t n, long pid_at,
              sp_error_t *err)
{
  char tmp[4096];
  FILE *f;

  snprintf (tmp, sizeof (tmp), "%s.tmp", path);
  f = fopen (tmp, "w");
  if (f == NULL)
    return sp_error_sys (err, errno, "%s", tmp);
  fprintf (f,
           "/* Generated by hook/gen/seccomp_filter.c: the hook's seccomp filter. */\n"
           "#define SP_HOOK_FILTER_PID_PLACEHOLDER 0x%xU\n"
           "#define SP_HOOK_FILTER_PID_AT %ld\n"
           "static const struct sock_filter sp_hook_filter[] = {\n",
           PID_PLACEHOLDER, pid_at);
  for (size_t i = 0; i < n; i++)
    fprintf (f, "  { 0x%04x, %u, %u, 0x%08x },\n", prog[i].code, prog[i].jt, prog[i].jf, prog[i].k);
  fprintf (f, "};\n");
  if (fclose (f) != 0)
    return sp_error_sys (err, errno, "%s", tmp);
  if (rename (tmp, path) < 0)
    return sp_error_sys (err, errno, "%s", path);
  return 0;
}

int
main (int argc, char **argv)
{
  cleanup_seccomp scmp_filter_ctx ctx = NULL;
  cleanup_error sp_error_t err = NULL;
  cleanup_free struct sock_filter *prog = NULL;
  size_t n = 0;
  long pid_at = -1;

  if (argc != 2)
    {
      fprintf (stderr, "usage: %s OUT.h\n", argv[0]);
      return 2;
    }
  /* ENOSYS, not EPERM or a kill: glibc falls back from syscalls it probes
     (clone3, faccessat2, ...) and anything else fails with a clear error. */
  ctx = seccomp_init (SCMP_ACT_ERRNO (ENOSYS));
  if (ctx == NULL)
    sp_error_make (&err, ENOMEM, "seccomp: init failed");
  if (err != NULL || add_rules (ctx, &err) < 0 || export_program (ctx, &prog, &n, &err) < 0
      || find_pid (prog, n, &pid_at, &err) < 0 || write_header (argv[1], prog, n, pid_at, &err) < 0)
    {
      fprintf (stderr, "seccomp_filter: %s\n", err->msg);
      return 1;
    }
  return 0;
}
