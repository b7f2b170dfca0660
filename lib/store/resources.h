/* What a pipeline holds besides its record, one row each: its tmpfs
   (mnt/), its pinned IPC namespace (ipc/, with --ipc) and its socket
   directory (sockets/, with --sockets).  Each row says when the pipeline
   wants it and how to make it, release it, tell its state and repair it;
   create, destroy, gc, the orphan sweep and lock cleanup walk the table, as
   every place an option is given walks the options table.  A new resource
   is one row here. */
#ifndef SHMPIPE_RESOURCES_H
#define SHMPIPE_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>

#include "records.h"

enum sp_res_state
{
  SP_RES_ABSENT = 0,
  SP_RES_PRESENT = 1,
  SP_RES_OTHER = 2, /* something else holds its place: gc leaves it to a human */
};

struct sp_resource
{
  const char *what;   /* "tmpfs", "IPC namespace", "socket directory" */
  const char *place;  /* where it lives, for messages: "mountpoint" */
  const char *subdir; /* its directory under the store root */
  size_t dir_fd;      /* offsetof (struct sp_store, the fd of SUBDIR) */
  bool (*wanted) (const struct sp_pipeline *p);
  int (*make) (int dirfd, const struct sp_ref *ref, const struct sp_pipeline *p, sp_error_t *err);
  int (*release) (int dirfd, const char *file, sp_error_t *err);
  /* SP_RES_*, or -1 (errno set) when it cannot be told. */
  int (*state) (int dirfd, const char *file);
  /* gc: remakes a wanted resource found absent. */
  int (*repair) (int dirfd, const struct sp_ref *ref, const struct sp_pipeline *p, sp_error_t *err);
  const char *repaired; /* gc's report of a repair */
  const char *orphaned; /* gc's report of one released for want of a record */
};

enum
{
  SP_RES_TMPFS,
  SP_RES_IPC,
  SP_RES_SOCKETS,
  SP_RES_COUNT
};
extern const struct sp_resource sp_resources[SP_RES_COUNT];

int sp_res_dirfd (const struct sp_store *s, const struct sp_resource *r);
/* ROOT/SUBDIR/FILE */
int sp_res_path (const struct sp_store *s, const struct sp_resource *r, const struct sp_ref *ref,
                 char *buf, size_t len);

/* Every resource P wants, in table order, after releasing what a create
   that died may have left; on failure none is left. */
int sp_res_make_all (struct sp_store *s, const struct sp_ref *ref, const struct sp_pipeline *p,
                     sp_error_t *err);
/* Every resource of REF, in table order (a pipeline's record goes first:
   what a crash in between leaves, gc's orphan sweep releases). */
int sp_res_release_all (struct sp_store *s, const struct sp_ref *ref, sp_error_t *err);
/* Whether any resource of REF is in place. */
bool sp_res_any (struct sp_store *s, const struct sp_ref *ref);

/* With REF's lock held: its record, then its resources, then its lock
   file, in the order a crash survives (a resource left without a record is
   what gc's orphan sweep releases, as for a create that died before writing
   its record). */
int sp_res_destroy (struct sp_store *s, const struct sp_ref *ref, sp_error_t *err);

/* With REF's lock held and no record found: its lock file goes when no
   resource needs it, so that refused and forged names leave nothing
   behind.  Waiters retry on a new file (sp_lock_take). */
void sp_res_drop_unused_lock (struct sp_store *s, const struct sp_ref *ref);

#endif
