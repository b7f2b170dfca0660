/* The store's low unit: its directories, the reference to a pipeline, and
   the records, locks and listings kept under them.  It calls nothing of the
   store above it (resources, quota, lifecycle, gc).

   ROOT/state/FILE.json  a pipeline's record (written by temp file + rename)
   ROOT/locks/FILE.lock  flock()ed around every change of the pipeline
   ROOT/mnt/FILE         its tmpfs                       (resources.c)
   ROOT/ipc/FILE         its pinned IPC namespace (--ipc)
   ROOT/sockets/FILE     its socket directory (--sockets PATH)

   FILE is the pipeline's name with the '/' of NS/NAME turned into '+'
   (struct sp_ref): every entry of these directories is one pipeline's, and
   no name reaches into another pipeline's entry. */
#ifndef SHMPIPE_RECORDS_H
#define SHMPIPE_RECORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"
#include "names.h"
#include "state.h"

struct sp_store
{
  char *root;
  int root_fd;
  int state_fd;
  int locks_fd;
  int mnt_fd;
  int ipc_fd;
  int sockets_fd;
  const struct sp_config *cfg;
};

/* A store that owns nothing yet: what sp_store_close may always be given. */
#define SP_STORE_INIT                                                                              \
  {                                                                                                \
    .root_fd = -1, .state_fd = -1, .locks_fd = -1, .mnt_fd = -1, .ipc_fd = -1, .sockets_fd = -1    \
  }

/* One pipeline, as every path of the store refers to it: made once from a
   name at the entry point.  NAME is what users see and records hold
   ("team-a/frames"); FILE its entry in each store directory
   ("team-a+frames"): '+' is in no valid name, so plain names, and every
   record written before namespaces, keep their files. */
#define SP_FNAME_SEP '+'
struct sp_ref
{
  char name[SP_QNAME_MAX + 1];
  char file[SP_QNAME_MAX + 1];
};

/* REF for NAME, a plain NAME or NS/NAME; an invalid name is an error that
   quotes it. */
int sp_ref_make (struct sp_ref *ref, const char *name, sp_error_t *err);
/* REF for a store directory's entry FILE (SUFFIX cut); false when FILE is
   no pipeline's. */
bool sp_ref_from_file (struct sp_ref *ref, const char *file, size_t len);

/* REF's lock (an flock()ed fd).  A remover unlinks the lock file while
   holding it, so a waiter that got a lock on an unlinked file retries on
   the new one. */
int sp_lock_take (struct sp_store *s, const struct sp_ref *ref, sp_error_t *err);
void sp_lock_unlink (struct sp_store *s, const struct sp_ref *ref);
/* Whether REF's lock file is there. */
bool sp_lock_exists (struct sp_store *s, const struct sp_ref *ref);

/* 1: loaded, 0: no record, -1: error (a damaged record is an error, not
   "absent"). */
int sp_record_load (struct sp_store *s, const struct sp_ref *ref, struct sp_pipeline *p,
                    sp_error_t *err);
/* REF's lock into *LOCK (-1 on failure), then its record:
   sp_record_load's result. */
int sp_record_lock_load (struct sp_store *s, const struct sp_ref *ref, int *lock,
                         struct sp_pipeline *p, sp_error_t *err);
/* P's record, atomically (P->name is REF's). */
int sp_record_save (struct sp_store *s, const struct sp_ref *ref, const struct sp_pipeline *p,
                    sp_error_t *err);
int sp_record_remove (struct sp_store *s, const struct sp_ref *ref, sp_error_t *err);
bool sp_record_exists (struct sp_store *s, const struct sp_ref *ref);

/* The pipelines that have an entry in DIRFD (SUFFIX cut: ".json",
   ".lock", "" for the resource directories), sorted by name. */
int sp_list_dir (int dirfd, const char *suffix, struct sp_ref **refs, size_t *n, sp_error_t *err);

#define SP_STATE_SUFFIX ".json"
#define SP_LOCK_SUFFIX ".lock"

#endif
