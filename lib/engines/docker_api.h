/* What a dockerd says over its API socket (libcurl, HTTP over a unix socket):
   the mount IDs its live containers hold, and the volumes it knows.

   Docker's API does not show a mount's ID (the ID a volume driver is given
   in Mount and Unmount): a container's inspect lists Type, Name, Source and
   Destination only.  dockerd keeps the ID in the container's config.v2.json
   under its DockerRootDir, which GET /info names; that file is the engine's
   own record, written by dockerd as root, so it is trusted as the engine's
   word, never a tenant's. */
#ifndef SHMPIPE_DOCKER_API_H
#define SHMPIPE_DOCKER_API_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* A sorted set of strings. */
struct sp_strset
{
  char **v;
  size_t n;
};
void sp_strset_free (struct sp_strset *set);
bool sp_strset_has (const struct sp_strset *set, const char *s);

/* Mount IDs (as given to volume drivers) that dockerd's running, paused or
   restarting containers hold.  Each container is inspected, which waits
   for a start or stop in progress to finish (dockerd holds the container's
   lock while it mounts), so a mount answered before this call is seen
   with its container's final state.  Fails with ECONNREFUSED when no
   dockerd answers at SOCKET. */
int sp_docker_live_mount_ids (const char *socket, struct sp_strset *ids, sp_error_t *err);

/* "NAME\tMOUNTPOINT" of every volume dockerd lists. */
int sp_docker_volumes (const char *socket, struct sp_strset *vols, sp_error_t *err);

#endif
