/* What the store's own files share (store.c, tmpfs.c, ipcns.c, gc.c); no
   binary includes this.  Every function here expects NAME to be valid and,
   where it changes NAME, NAME's lock to be held.  Messages do not name the
   pipeline: the store's entry points add that once. */
#ifndef SHMPIPE_STORE_IMPL_H
#define SHMPIPE_STORE_IMPL_H

#include "store.h"

#define SP_STATE_SUFFIX ".json"
#define SP_LOCK_SUFFIX ".lock"

/* NAME as a file name in the store's directories: the '/' of a qualified
   name (NS/NAME) becomes '+', which no plain name holds, so plain names,
   and every record written before namespaces, keep their files.  BUF has
   SP_QNAME_MAX + 1 bytes. */
#define SP_FNAME_SEP '+'
const char *sp_store_fname (const char *name, char *buf);
#define SP_FNAME(name) sp_store_fname ((name), (char[SP_QNAME_MAX + 1]){ 0 })

/* NAME's lock (an flock()ed fd); see store.c for the unlink protocol. */
int sp_store_lock (struct sp_store *s, const char *name, sp_error_t *err);
void sp_store_unlink_lock (struct sp_store *s, const char *name);
/* Unlinks NAME's lock (held) when no record, tmpfs or IPC pin needs it. */
void sp_store_drop_unused_lock (struct sp_store *s, const char *name);

/* 1: loaded, 0: no record, -1: error (a damaged record is an error, not
   "absent"). */
int sp_store_load (struct sp_store *s, const char *name, struct sp_pipeline *p, sp_error_t *err);
/* NAME's lock into *LOCK, then its record: sp_store_load's result. */
int sp_store_lock_load (struct sp_store *s, const char *name, int *lock, struct sp_pipeline *p,
                        sp_error_t *err);
int sp_store_save (struct sp_store *s, const struct sp_pipeline *p, sp_error_t *err);
/* Record, tmpfs, IPC pin and lock of NAME, in the order a crash survives. */
int sp_store_destroy_locked (struct sp_store *s, const char *name, sp_error_t *err);

/* Sorted names of the entries of DIRFD that are valid pipeline names once
   SUFFIX is cut ("" for the mountpoint and IPC directories). */
int sp_store_list_dir (int dirfd, const char *suffix, char ***names, size_t *n, sp_error_t *err);

/* tmpfs.c */
enum sp_tmpfs_state
{
  SP_TMPFS_ABSENT = 0, /* nothing mounted on mnt/NAME (or no mnt/NAME) */
  SP_TMPFS_MOUNTED = 1,
  SP_TMPFS_OTHER = 2, /* another filesystem is mounted there */
};
/* -1 (errno set) when it cannot be told: a symlink or a file in its place. */
int sp_tmpfs_state (struct sp_store *s, const char *name);
/* Mounts P's tmpfs on mnt/NAME (making the directory). */
int sp_tmpfs_mount (struct sp_store *s, const struct sp_pipeline *p, sp_error_t *err);
/* Changes the rows GIVEN of NAME's live tmpfs to their values in O
   (fspick + FSCONFIG_CMD_RECONFIGURE, else a remount of its fd). */
int sp_tmpfs_reconfigure (struct sp_store *s, const char *name, const struct sp_pipeline_opts *o,
                          sp_opt_mask given, sp_error_t *err);
/* Bytes and inodes in use on NAME's tmpfs. */
int sp_tmpfs_usage (struct sp_store *s, const char *name, uint64_t *bytes, uint64_t *inodes,
                    sp_error_t *err);
/* Unmounts (detached: live users keep their mappings), removes mnt/NAME. */
int sp_tmpfs_unmount (struct sp_store *s, const char *name, sp_error_t *err);

/* quota.c: the lock every create, resize and remove holds (taken after
   NAME's own, by sp_totals_begin), and the check of a pipeline at SIZE
   against max_pipelines (when NEW_PIPELINE) and max_total_size, given the
   totals T of the other pipelines. */
struct sp_totals;
int sp_quota_lock (struct sp_store *s, sp_error_t *err);
int sp_quota_check (struct sp_store *s, const struct sp_totals *t, bool new_pipeline, uint64_t size,
                    sp_error_t *err);
/* sockdir.c: the same states as a tmpfs (SP_TMPFS_*) */
int sp_sockdir_state (struct sp_store *s, const char *name);
int sp_sockdir_mount (struct sp_store *s, const struct sp_pipeline *p, sp_error_t *err);
int sp_sockdir_unmount (struct sp_store *s, const char *name, sp_error_t *err);

/* ipcns.c */
int sp_ipcns_pin (struct sp_store *s, const char *name, sp_error_t *err);
int sp_ipcns_release (struct sp_store *s, const char *name, sp_error_t *err);
bool sp_ipcns_pinned (struct sp_store *s, const char *name);

#endif
