/* An IPC namespace (SysV shm, semaphores, POSIX message queues) of its own,
   pinned on an entry of a directory by a bind mount of its nsfs file, as
   `ip netns add` does for network namespaces.  It knows nothing of
   pipelines: resources.c says whose it is. */
#ifndef SHMPIPE_IPCNS_H
#define SHMPIPE_IPCNS_H

#include <stdbool.h>

#include "error.h"

/* A new IPC namespace, pinned on DIRFD/FILE (a pin already there is
   released first). */
int sp_ipcns_pin (int dirfd, const char *file, sp_error_t *err);
/* Unpins and removes DIRFD/FILE; nothing there is fine.  The namespace
   itself lives on while containers are in it. */
int sp_ipcns_release (int dirfd, const char *file, sp_error_t *err);
bool sp_ipcns_pinned (int dirfd, const char *file);
/* Whether DIRFD/FILE exists at all (a pin, or one that never completed). */
bool sp_ipcns_present (int dirfd, const char *file);

#endif
