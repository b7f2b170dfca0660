#include "harden.h"

#include <errno.h>
#include <sched.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <seccomp.h>

#include "log.h"
#include "privs.h"

static const cap_value_t keep_caps[] = { CAP_SYS_ADMIN, CAP_DAC_OVERRIDE };

static void
cleanup_seccomp (scmp_filter_ctx *ctx)
{
  if (*ctx != NULL)
    seccomp_release (*ctx);
}

/* LeakSanitizer stops the world with ptrace at exit: a sanitizer build (a
   test build) keeps it. */
#if defined(__SANITIZE_ADDRESS__)
#define DENY_PTRACE
#else
#define DENY_PTRACE "ptrace",
#endif

/* A deny list, not an allow list: libmicrohttpd, glibc and the sanitizers
   use syscalls that vary between versions; these the plugin never makes, and
   they are what an attacker who got code running would reach for. */
// clang-format off
static const char *const denied[] = {
  "execve", "execveat", DENY_PTRACE "process_vm_readv", "process_vm_writev",
  "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
  "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
  "setns", "pivot_root", "chroot", "reboot", "swapon", "swapoff",
  "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "acct",
  "open_by_handle_at", "name_to_handle_at", "io_uring_setup", "io_uring_enter",
  "io_uring_register", "iopl", "ioperm", "syslog", "setuid", "setgid", "setreuid",
  "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "setgroups",
  "lookup_dcookie", "vhangup",
};
// clang-format on

static int
load_seccomp (sp_error_t *err)
{
  __attribute__ ((cleanup (cleanup_seccomp))) scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
  static const unsigned long ns_flags[]
      = { CLONE_NEWNS,  CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET,
          CLONE_NEWIPC, CLONE_NEWUTS,  CLONE_NEWCGROUP, CLONE_NEWTIME };
  int r;

  if (ctx == NULL)
    return sp_error_sys (err, ENOMEM, "seccomp");
  for (size_t i = 0; i < sizeof (denied) / sizeof (denied[0]); i++)
    {
      int nr = seccomp_syscall_resolve_name (denied[i]);
      if (nr == __NR_SCMP_ERROR)
        continue; /* not on this architecture */
      r = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), nr, 0);
      if (r < 0)
        return sp_error_sys (err, -r, "seccomp: rule for %s", denied[i]);
    }
  /* unshare only for a new IPC namespace: the store makes a pipeline's
     (ipc=true) in a short-lived child. */
  r = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (unshare), 1,
                        SCMP_A0 (SCMP_CMP_NE, CLONE_NEWIPC));
  if (r < 0)
    return sp_error_sys (err, -r, "seccomp: rule for unshare");
  /* Only unix sockets: the plugin listens on one and never dials out. */
  r = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EAFNOSUPPORT), SCMP_SYS (socket), 1,
                        SCMP_A0 (SCMP_CMP_NE, AF_UNIX));
  if (r < 0)
    return sp_error_sys (err, -r, "seccomp: rule for socket");
  /* Threads yes, namespaces no.  clone3 hides its flags from seccomp behind a
     pointer: ENOSYS makes glibc fall back to clone, whose flags are checked. */
  r = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOSYS), SCMP_SYS (clone3), 0);
  if (r < 0)
    return sp_error_sys (err, -r, "seccomp: rule for clone3");
  for (size_t i = 0; i < sizeof (ns_flags) / sizeof (ns_flags[0]); i++)
    {
      r = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (clone), 1,
                            SCMP_A0 (SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
      if (r < 0)
        return sp_error_sys (err, -r, "seccomp: rule for clone");
    }
  r = seccomp_load (ctx);
  if (r < 0)
    return sp_error_sys (err, -r, "seccomp: load the filter");
  return 0;
}

int
sp_plugin_harden (bool seccomp, sp_error_t *err)
{
  if (sp_privs_keep_only (keep_caps, sizeof (keep_caps) / sizeof (keep_caps[0]), err) < 0)
    return -1;
  if (seccomp && load_seccomp (err) < 0)
    return -1;
  return 0;
}
