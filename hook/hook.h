/* shmpipe-hook internals: process hardening and the mount into a container. */
#ifndef SHMPIPE_HOOK_H
#define SHMPIPE_HOOK_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "error.h"

/* Keeps only the capabilities the hook uses (CAP_SYS_ADMIN, CAP_SYS_CHROOT,
   CAP_SYS_PTRACE) in the permitted, effective and bounding sets, clears the
   inheritable and ambient sets, sets no_new_privs and loads a seccomp
   allowlist (unknown syscalls fail with ENOSYS).  */
int sp_hook_harden (sp_error_t *err);

/* Result of sp_hook_mount_shm beyond 0 / -1: the hook could not return to
   its own mount namespace, so the store (path-based unmounts) must not be
   touched any more.  */
#define SP_HOOK_STRANDED (-2)

/* Mounts CLONE_FD (a detached clone of a pipeline's tmpfs, consumed) on
   /dev/shm of the container whose init is PID and whose rootfs the runtime
   names ROOTFS (absolute, as seen from the hook's mount namespace).
   Sets *ALREADY when /dev/shm already was that tmpfs (nothing done).  */
int sp_hook_mount_shm (int clone_fd, pid_t pid, const char *rootfs, bool *already, sp_error_t *err);

/* The same for any directory TARGET of the container (absolute, normalized:
   a pipeline's socket directory), created when missing; a symlink on the
   way is refused.  */
int sp_hook_mount_at (int clone_fd, pid_t pid, const char *rootfs, const char *target,
                      bool *already, sp_error_t *err);

#endif
