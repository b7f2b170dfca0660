/* SysV limits and usage of a pipeline's own IPC namespace (ipc=true). */
#ifndef SHMPIPE_IPC_LIMITS_H
#define SHMPIPE_IPC_LIMITS_H

#include <stdint.h>

#include "error.h"

/* kernel.shmmax, shmall (pages), shmmni, msgmnb, msgmax, msgmni: SysV
   shared memory and message queues of the namespace stay within SIZE. */
struct sp_ipc_limits
{
  uint64_t shmmax, shmall, shmmni, msgmnb, msgmax, msgmni;
};
void sp_ipc_limits_for (uint64_t size, struct sp_ipc_limits *l);

/* The same as /proc/sys files and their text, formatted before a fork so
   that the child only opens and writes. */
#define SP_IPC_LIMITS_N 6
struct sp_ipc_limits_text
{
  const char *path[SP_IPC_LIMITS_N];
  char value[SP_IPC_LIMITS_N][32];
};
int sp_ipc_limits_text (const struct sp_ipc_limits *l, struct sp_ipc_limits_text *t);
/* Writes them for the caller's own IPC namespace; async-signal-safe.
   0, or the errno of the first write that failed. */
int sp_ipc_limits_write (const struct sp_ipc_limits_text *t);

/* Sets the limits for SIZE of the namespace pinned on DIRFD/FILE (resize,
   gc). */
int sp_ipcns_set_limits (int dirfd, const char *file, uint64_t size, sp_error_t *err);

/* Bytes of every SysV segment in the namespace pinned on DIRFD/FILE. */
int sp_ipcns_sysv_used (int dirfd, const char *file, uint64_t *bytes, sp_error_t *err);

#endif
