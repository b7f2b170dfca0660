/* The root of a volume's tmpfs as its record says: mode, uid and gid. */
#ifndef SHMPIPE_PLUGIN_VOLROOT_H
#define SHMPIPE_PLUGIN_VOLROOT_H

#include "store.h"

/* Gives the root directory of NAME's tmpfs the mode, uid and gid of NAME's
   record again, when something changed them.

   Why: at `docker create`/`run` of a container that mounts a volume without
   `:nocopy`, Docker 20.10 (daemon/create_unix.go populateVolumes ->
   container/container_unix.go CopyImagePathContent) calls Mount with a random
   ID, and if the volume is empty copies the image's directory into it with
   continuity's fs.CopyDir, which also chowns and chmods the volume's root to
   the image directory's (usually 0755 root: `/dev/shm` unwritable for
   non-root users), then calls Unmount.  The container's own Mount comes
   after that.  Restoring on every Unmount undoes the copy's chown/chmod as
   soon as Docker is done with it, and restoring on every Mount covers a copy
   whose Unmount never reached us; so a container always starts on the root
   that `inspect` shows.  The copy finds an empty directory (a new volume, or
   one whose segments were all removed), so nothing but the root's metadata
   is ever changed by it.  Returns 0 when nothing changed or it was put back
   (logged). */
int sp_volroot_restore (struct sp_store *s, const char *name, sp_error_t *err);

#endif
