/* Docker members (docker:MOUNT-ID, recorded by the plugin's Mount) checked
   against what dockerd says, for the Unmounts that never come: dockerd
   killed while a container ran, the plugin killed between recording a
   Mount and answering it. */
#ifndef SHMPIPE_DOCKER_MEMBERS_H
#define SHMPIPE_DOCKER_MEMBERS_H

#include <stdbool.h>

#include "store.h"

/* The socket the config names (docker_socket), NULL when disabled. */
const char *sp_docker_socket (const struct sp_config *cfg);

/* Drops each docker: member of a pipeline that dockerd at SOCKET lists as
   a volume (on this store's mountpoint) when none of dockerd's running,
   paused or restarting containers holds its mount ID; an ephemeral
   pipeline left with no member is removed.  dockerd is asked with no lock
   held (dockerd calls the plugin, which takes them, while it starts a
   container), and only members recorded before it was asked are dropped.
   *SKIPPED (with no error) when no dockerd answers at SOCKET.  Returns the
   number of changes. */
int sp_store_reconcile_docker (struct sp_store *s, const char *socket, sp_gc_report_fn fn,
                               void *ctx, bool *skipped, sp_error_t *err);

#endif
