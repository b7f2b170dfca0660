/* The store of pipelines on the host, shared by every binary: its entry
   points.  Each takes a pipeline's name as users give it (NAME or
   NS/NAME), makes the pipeline's reference from it once (struct sp_ref,
   records.h) and hands that down; the layout of the store is in records.h,
   the architecture in docs/architecture.md. */
#ifndef SHMPIPE_STORE_H
#define SHMPIPE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "records.h"
#include "state.h"
#include "tmpfs.h"

/* The store root in force: ROOT when given, else $SHMPIPE_ROOT, else the
   config's root, else SP_DEFAULT_ROOT. */
const char *sp_store_root_path (const struct sp_config *cfg, const char *root);

/* Opens the store at ROOT (NULL: $SHMPIPE_ROOT, else CFG->root), creating its
   directories when missing.  */
int sp_store_open (struct sp_store *s, const struct sp_config *cfg, const char *root,
                   sp_error_t *err);
void sp_store_close (struct sp_store *s);
void sp_store_closep (struct sp_store *s);
/* A store closed at the end of its scope (start it as SP_STORE_INIT). */
#define cleanup_store __attribute__ ((cleanup (sp_store_closep)))

/* Checks OPTS against the config's limits; the error names the config key
   and file to change. */
int sp_store_check_opts (const struct sp_store *s, const char *name,
                         const struct sp_pipeline_opts *o, sp_error_t *err);

enum sp_create_mode
{
  SP_CREATE_EXCL,  /* an existing NAME is an error: "already exists" */
  SP_CREATE_MATCH, /* an existing NAME with the same options is fine */
};

int sp_store_create (struct sp_store *s, const char *name, const struct sp_pipeline_opts *opts,
                     enum sp_create_mode mode, bool *created, sp_error_t *err);

/* Records member ID (PID 0 when unknown).  A missing pipeline is created with
   CREATE_OPTS when given, else it is an error.  Joining twice with one ID is a
   no-op.  *CREATED tells whether this call made the pipeline. */
int sp_store_join (struct sp_store *s, const char *name, const char *id, int64_t pid,
                   const struct sp_pipeline_opts *create_opts, bool *created, sp_error_t *err);

/* Who joins when it is a Kubernetes pod's container: recorded with the
   member, and the namespace whose access is checked.  Names come from the
   CRI's own annotations, never from the pod. */
struct sp_pod_ref
{
  const char *ns; /* the pod's namespace */
  const char *pod;
  const char *container;
};

/* sp_store_join for a pod's container.  NAME is the full name (NS/NAME).  A
   pipeline of another namespace than POD's is joined only when its
   allow-namespaces lists POD's namespace, and never created: the error says
   which rule refused (EACCES). */
int sp_store_join_pod (struct sp_store *s, const char *name, const char *id, int64_t pid,
                       const struct sp_pod_ref *pod, const struct sp_pipeline_opts *create_opts,
                       bool *created, sp_error_t *err);

/* Drops member ID (absent: no-op).  An ephemeral pipeline left with no member
   is removed; *REMOVED tells.  A missing pipeline is not an error. */
int sp_store_leave (struct sp_store *s, const char *name, const char *id, bool *removed,
                    sp_error_t *err);

/* Removes NAME: refused while it has members unless FORCE (then the tmpfs is
   detached, MNT_DETACH, and users keep their mappings until they let go). */
int sp_store_remove (struct sp_store *s, const char *name, bool force, sp_error_t *err);

/* Changes the rows GIVEN (only SP_OPT_F_CHANGEABLE ones: size, inodes) of
   live pipeline NAME to their values in REQUESTED: its tmpfs is
   reconfigured, which every member sees at once, then the record is
   rewritten.  Refused when what is in use would not fit, and when the
   new size breaks max_size or max_total_size. */
int sp_store_change (struct sp_store *s, const char *name, const struct sp_pipeline_opts *requested,
                     sp_opt_mask given, sp_error_t *err);

/* Reads NAME's record (no lock: state files are replaced atomically). */
int sp_store_get (struct sp_store *s, const char *name, struct sp_pipeline *p, sp_error_t *err);
bool sp_store_exists (struct sp_store *s, const char *name);

/* Sorted names of all pipelines; free with sp_store_free_names. */
int sp_store_list (struct sp_store *s, char ***names, size_t *n, sp_error_t *err);
void sp_store_free_names (char **names, size_t n);

/* What NAME's tmpfs holds (all zero when it is not mounted: gc repairs
   that). */
int sp_store_usage (struct sp_store *s, const char *name, struct sp_tmpfs_usage *u,
                    sp_error_t *err);
/* ROOT/mnt/FILE: where NAME's tmpfs is mounted on the host; -1 for an
   invalid NAME. */
int sp_store_mountpoint (const struct sp_store *s, const char *name, char *buf, size_t len);

/* ROOT/ipc/FILE: the pinned IPC namespace of a pipeline created with ipc. */
int sp_store_ipc_path (const struct sp_store *s, const char *name, char *buf, size_t len);

/* The object `shmpipectl inspect` prints for P (adds mountpoint, bytes used
   and the IPC namespace path). */
void sp_store_gen_info (struct sp_store *s, yajl_gen g, const struct sp_pipeline *p);

/* A detached clone of NAME's tmpfs (open_tree OPEN_TREE_CLONE), checked to be
   the pipeline's own tmpfs, ready for move_mount.  Returns the fd. */
int sp_store_clone_mount (struct sp_store *s, const char *name, sp_error_t *err);

/* ROOT/sockets/FILE: the socket directory of a pipeline created with sockets. */
int sp_store_sockets_path (const struct sp_store *s, const char *name, char *buf, size_t len);
/* A detached clone of NAME's socket directory, checked to be its own tmpfs,
   ready for move_mount.  Returns the fd. */
int sp_store_clone_sockets (struct sp_store *s, const char *name, sp_error_t *err);

/* WHAT is a change gc made to NAME, or (FAILED) why NAME was left as it was. */
typedef void (*sp_gc_report_fn) (void *ctx, const char *name, const char *what, bool failed);
/* Drops members whose process is gone, removes ephemeral pipelines left with
   none, unmounts tmpfs left without a record, remounts a persistent pipeline
   whose tmpfs vanished (and re-pins its IPC namespace if that went too).  A
   pipeline that cannot be repaired is reported and the others are still
   done; the call then fails.  Returns the number of changes. */
int sp_store_gc (struct sp_store *s, sp_gc_report_fn report, void *ctx, sp_error_t *err);

#endif
