/* A tmpfs on an entry of a directory: mounted by fd, always
   nosuid,nodev,noexec, with the mount options of a list.  It knows nothing
   of pipelines: a pipeline's memory and its socket directory are two
   callers (resources.c) with two option lists. */
#ifndef SHMPIPE_TMPFS_H
#define SHMPIPE_TMPFS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum sp_tmpfs_state
{
  SP_TMPFS_ABSENT = 0, /* nothing mounted on DIRFD/FILE (or no such entry) */
  SP_TMPFS_MOUNTED = 1,
  SP_TMPFS_OTHER = 2, /* another filesystem is mounted there */
};

/* KEY=VALUE mount options, in order. */
#define SP_TMPFS_OPTS_MAX 16
struct sp_tmpfs_opts
{
  size_t n;
  struct
  {
    char key[24];
    char value[64];
  } v[SP_TMPFS_OPTS_MAX];
};

/* Appends KEY=VALUE to the list CTX (a struct sp_tmpfs_opts); -1 when it
   does not fit.  Has the shape of sp_mount_opt_fn. */
int sp_tmpfs_opts_add (void *ctx, const char *key, const char *value);

/* -1 (errno set) when it cannot be told: a symlink or a file in its place. */
int sp_tmpfs_state (int dirfd, const char *file);

/* Mounts a tmpfs named SOURCE with OPTS on DIRFD/FILE (making the
   directory). */
int sp_tmpfs_mount (int dirfd, const char *file, const char *source,
                    const struct sp_tmpfs_opts *opts, sp_error_t *err);

/* Unmounts (detached: live users keep their mappings) and removes
   DIRFD/FILE; nothing there is fine. */
int sp_tmpfs_unmount (int dirfd, const char *file, sp_error_t *err);

/* Sets OPTS on the live tmpfs of DIRFD/FILE (fspick +
   FSCONFIG_CMD_RECONFIGURE, else a remount of its fd): every clone sees the
   change at once. */
int sp_tmpfs_reconfigure (int dirfd, const char *file, const struct sp_tmpfs_opts *opts,
                          sp_error_t *err);

/* A detached clone of the tmpfs on DIRFD/FILE (open_tree
   OPEN_TREE_CLONE), checked to be a tmpfs, ready for move_mount.  Returns
   the fd; ENOENT when nothing is mounted there. */
int sp_tmpfs_clone (int dirfd, const char *file, sp_error_t *err);

/* What the tmpfs on DIRFD/FILE holds: all zero when none is mounted there
   (a directory of the store's own filesystem is not counted, even when that
   is a tmpfs too). */
struct sp_tmpfs_usage
{
  uint64_t size; /* bytes it may hold */
  uint64_t used; /* bytes in use */
  uint64_t inodes;
  uint64_t inodes_used;
};
/* 1: mounted, U filled; 0: not mounted, U zero; -1: cannot be told. */
int sp_tmpfs_usage (int dirfd, const char *file, struct sp_tmpfs_usage *u, sp_error_t *err);

#endif
