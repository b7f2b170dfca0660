/* The hook runs as root on input that containers' owners control: before it
   reads any, it gives up every privilege it does not use.  */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "hook.h"
#include "hook_seccomp_filter.h" /* generated: $(BUILD)/gen */
#include "macro.h"
#include "privs.h"

/* CAP_SYS_ADMIN: open_tree/move_mount/mount_setattr, fsopen (auto-create),
   umount2 (ephemeral removal), setns's check on the target namespace.
   CAP_SYS_CHROOT: setns into a mount namespace changes the root.
   CAP_SYS_PTRACE: /proc/PID/ns/mnt and /proc/PID/root of the runtime's init
   process, which is non-dumpable and holds capabilities we dropped.
   Not CAP_DAC_OVERRIDE: the store and the bundle are root's own.  */
static const cap_value_t keep_caps[] = { CAP_SYS_ADMIN, CAP_SYS_CHROOT, CAP_SYS_PTRACE };

/* The filter is built at build time from the rules in
   hook/gen/seccomp_filter.c (an allowlist; anything else fails with
   ENOSYS): compiling it with libseccomp at every start cost more than the
   rest of the hardening.  */
static int
load_seccomp (sp_error_t *err)
{
  struct sock_filter prog[ARRAY_SIZE (sp_hook_filter)];
  struct sock_fprog fprog = { .len = ARRAY_SIZE (prog), .filter = prog };

  memcpy (prog, sp_hook_filter, sizeof (prog));
#if SP_HOOK_FILTER_PID_AT >= 0
  /* tgkill only to this process: abort()'s own signal. */
  _Static_assert(SP_HOOK_FILTER_PID_AT < ARRAY_SIZE (sp_hook_filter), "pid slot");
  if (prog[SP_HOOK_FILTER_PID_AT].code != (BPF_JMP | BPF_JEQ | BPF_K)
      || prog[SP_HOOK_FILTER_PID_AT].k != SP_HOOK_FILTER_PID_PLACEHOLDER)
    return sp_error_make (err, EINVAL, "seccomp: the built filter has no pid slot");
  prog[SP_HOOK_FILTER_PID_AT].k = (uint32_t) getpid ();
#endif
  /* prctl, as libseccomp falls back, where seccomp(2) is missing (valgrind
     3.19 does not know it): the same filter, without flags. */
  if (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0
      && (errno != ENOSYS || prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) < 0))
    return sp_error_sys (err, errno, "seccomp: load the filter");
  return 0;
}

int
sp_hook_harden (sp_error_t *err)
{
  if (sp_privs_keep_only (keep_caps, ARRAY_SIZE (keep_caps), err) < 0)
    return -1;
  return load_seccomp (err);
}
