#include "harden.h"

#include <errno.h>
#include <sched.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <seccomp.h>

#include "log.h"
#include "macro.h"
#include "privs.h"
#include "seccomp_rules.h"

static const cap_value_t keep_caps[] = { CAP_SYS_ADMIN, CAP_DAC_OVERRIDE, CAP_CHOWN, CAP_FOWNER };

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
  cleanup_seccomp scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
  static const unsigned long ns_flags[]
      = { CLONE_NEWNS,  CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET,
          CLONE_NEWIPC, CLONE_NEWUTS,  CLONE_NEWCGROUP, CLONE_NEWTIME };
  struct scmp_arg_cmp a;

  if (ctx == NULL)
    return sp_error_sys (err, ENOMEM, "seccomp");
  if (sp_seccomp_rules (ctx, SCMP_ACT_ERRNO (EPERM), denied, ARRAY_SIZE (denied), err) < 0)
    return -1;
  /* unshare only for a new IPC namespace: the store makes a pipeline's
     (ipc=true) in a short-lived child. */
  a = SCMP_A0 (SCMP_CMP_NE, CLONE_NEWIPC);
  if (sp_seccomp_rule (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (unshare), "unshare", 1, &a, err) < 0)
    return -1;
  /* Only unix sockets: the plugin listens on one and never dials out. */
  a = SCMP_A0 (SCMP_CMP_NE, AF_UNIX);
  if (sp_seccomp_rule (ctx, SCMP_ACT_ERRNO (EAFNOSUPPORT), SCMP_SYS (socket), "socket", 1, &a, err)
      < 0)
    return -1;
  /* Threads yes, namespaces no.  clone3 hides its flags from seccomp behind a
     pointer: ENOSYS makes glibc fall back to clone, whose flags are checked. */
  if (sp_seccomp_rule (ctx, SCMP_ACT_ERRNO (ENOSYS), SCMP_SYS (clone3), "clone3", 0, NULL, err) < 0)
    return -1;
  for (size_t i = 0; i < ARRAY_SIZE (ns_flags); i++)
    {
      a = SCMP_A0 (SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]);
      if (sp_seccomp_rule (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (clone), "clone", 1, &a, err) < 0)
        return -1;
    }
  return sp_seccomp_load (ctx, err);
}

int
sp_plugin_harden (bool seccomp, sp_error_t *err)
{
  if (sp_privs_keep_only (keep_caps, ARRAY_SIZE (keep_caps), err) < 0)
    return -1;
  if (seccomp && load_seccomp (err) < 0)
    return -1;
  return 0;
}
