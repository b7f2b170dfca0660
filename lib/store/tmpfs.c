/* A tmpfs on a directory's entry, by fd: mount, unmount, state, usage,
   reconfigure, clone. */
#include "tmpfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cleanup.h"

int
sp_tmpfs_opts_add (void *ctx, const char *key, const char *value)
{
  struct sp_tmpfs_opts *o = ctx;

  if (o->n >= SP_TMPFS_OPTS_MAX || strlen (key) >= sizeof (o->v[0].key)
      || strlen (value) >= sizeof (o->v[0].value))
    return -1;
  strcpy (o->v[o->n].key, key);
  strcpy (o->v[o->n].value, value);
  o->n++;
  return 0;
}

/* The entry opened, and whether a filesystem other than DIRFD's is mounted
   on it: the state and the usage read the same facts. */
static int
open_mounted (int dirfd, const char *file, int *fd, struct statfs *sfs)
{
  struct stat parent, st;

  *fd = openat (dirfd, file, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (*fd < 0)
    return errno == ENOENT ? SP_TMPFS_ABSENT : -1;
  if (fstat (dirfd, &parent) < 0 || fstat (*fd, &st) < 0 || fstatfs (*fd, sfs) < 0)
    return -1;
  if (st.st_dev == parent.st_dev)
    return SP_TMPFS_ABSENT;
  return sfs->f_type == TMPFS_MAGIC ? SP_TMPFS_MOUNTED : SP_TMPFS_OTHER;
}

int
sp_tmpfs_state (int dirfd, const char *file)
{
  cleanup_close int fd = -1;
  struct statfs sfs;

  return open_mounted (dirfd, file, &fd, &sfs);
}

int
sp_tmpfs_usage (int dirfd, const char *file, struct sp_tmpfs_usage *u, sp_error_t *err)
{
  cleanup_close int fd = -1;
  struct statfs sfs;
  int r = open_mounted (dirfd, file, &fd, &sfs);

  memset (u, 0, sizeof (*u));
  if (r < 0)
    return sp_error_sys (err, errno, "statfs");
  if (r != SP_TMPFS_MOUNTED)
    return 0;
  u->size = (uint64_t) sfs.f_blocks * (uint64_t) sfs.f_bsize;
  u->used = (uint64_t) (sfs.f_blocks - sfs.f_bfree) * (uint64_t) sfs.f_bsize;
  u->inodes = (uint64_t) sfs.f_files;
  u->inodes_used = (uint64_t) (sfs.f_files - sfs.f_ffree);
  return 1;
}

/* "key=value,..." for mount(2)'s data. */
static int
join_data (const struct sp_tmpfs_opts *opts, char *buf, size_t len, sp_error_t *err)
{
  size_t off = 0;

  buf[0] = '\0';
  for (size_t i = 0; i < opts->n; i++)
    {
      int n = snprintf (buf + off, len - off, "%s%s=%s", off ? "," : "", opts->v[i].key,
                        opts->v[i].value);
      if (n < 0 || (size_t) n >= len - off)
        return sp_error_make (err, E2BIG, "tmpfs options too long");
      off += (size_t) n;
    }
  return 0;
}

static int
set_opts (int fsfd, const struct sp_tmpfs_opts *opts, sp_error_t *err)
{
  for (size_t i = 0; i < opts->n; i++)
    if (fsconfig (fsfd, FSCONFIG_SET_STRING, opts->v[i].key, opts->v[i].value, 0) < 0)
      return sp_error_sys (
          err, errno, "tmpfs option %s=%s%s", opts->v[i].key, opts->v[i].value,
          strcmp (opts->v[i].key, "huge") == 0 ? " (needs transparent hugepages for shmem)" : "");
  return 0;
}

/* The classic mount(2) onto the mountpoint's fd, for kernels (and valgrind)
   without fsopen. */
static int
mount_legacy (int target_fd, const char *source, const struct sp_tmpfs_opts *opts, sp_error_t *err)
{
  char data[512], target[64];

  if (join_data (opts, data, sizeof (data), err) < 0)
    return -1;
  snprintf (target, sizeof (target), "/proc/self/fd/%d", target_fd);
  if (mount (source, target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data) < 0)
    return sp_error_sys (err, errno, "mount tmpfs (%s)", data);
  return 0;
}

int
sp_tmpfs_mount (int dirfd, const char *file, const char *source, const struct sp_tmpfs_opts *opts,
                sp_error_t *err)
{
  cleanup_close int fsfd = -1;
  cleanup_close int mfd = -1;
  cleanup_close int target = -1;

  if (mkdirat (dirfd, file, 0755) < 0 && errno != EEXIST)
    return sp_error_sys (err, errno, "mkdir mountpoint");
  target = openat (dirfd, file, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (target < 0)
    return sp_error_sys (err, errno, "open mountpoint");

  fsfd = fsopen ("tmpfs", FSOPEN_CLOEXEC);
  if (fsfd < 0 && errno == ENOSYS)
    return mount_legacy (target, source, opts, err);
  if (fsfd < 0)
    return sp_error_sys (err, errno, "fsopen tmpfs");
  if (fsconfig (fsfd, FSCONFIG_SET_STRING, "source", source, 0) < 0)
    return sp_error_sys (err, errno, "tmpfs source");
  if (set_opts (fsfd, opts, err) < 0)
    return -1;
  if (fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return sp_error_sys (err, errno, "create tmpfs");
  mfd = fsmount (fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  if (mfd < 0)
    return sp_error_sys (err, errno, "fsmount");
  if (move_mount (mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return sp_error_sys (err, errno, "move_mount");
  return 0;
}

int
sp_tmpfs_unmount (int dirfd, const char *file, sp_error_t *err)
{
  char path[64 + 256];

  /* The entry through DIRFD's magic link: no path of the store is
     resolved again, and UMOUNT_NOFOLLOW holds for FILE itself. */
  snprintf (path, sizeof (path), "/proc/self/fd/%d/%s", dirfd, file);
  while (sp_tmpfs_state (dirfd, file) == SP_TMPFS_MOUNTED)
    if (umount2 (path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
      return sp_error_sys (err, errno, "unmount %s", file);
  if (unlinkat (dirfd, file, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return sp_error_sys (err, errno, "rmdir %s", file);
  return 0;
}

int
sp_tmpfs_clone (int dirfd, const char *file, sp_error_t *err)
{
  cleanup_close int fd = -1;
  struct statfs sfs;

  if (sp_tmpfs_state (dirfd, file) != SP_TMPFS_MOUNTED)
    return sp_error_make (err, ENOENT, "not mounted");
  fd = open_tree (dirfd, file, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
  if (fd < 0)
    return sp_error_sys (err, errno, "open_tree");
  if (fstatfs (fd, &sfs) < 0)
    return sp_error_sys (err, errno, "statfs");
  if (sfs.f_type != TMPFS_MAGIC)
    return sp_error_make (err, EINVAL, "mount is not a tmpfs");
  return sp_steal_fd (&fd);
}

int
sp_tmpfs_reconfigure (int dirfd, const char *file, const struct sp_tmpfs_opts *opts,
                      sp_error_t *err)
{
  cleanup_close int fd = -1;
  cleanup_close int fsfd = -1;
  char target[64], data[512];

  if (sp_tmpfs_state (dirfd, file) != SP_TMPFS_MOUNTED)
    return sp_error_make (err, ENOENT, "not mounted");
  fd = openat (dirfd, file, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return sp_error_sys (err, errno, "open mountpoint");
  /* The superblock itself, by fd: every member's clone sees the change. */
  fsfd = fspick (fd, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC | FSPICK_NO_AUTOMOUNT);
  if (fsfd < 0 && errno != ENOSYS)
    return sp_error_sys (err, errno, "fspick");
  if (fsfd >= 0)
    {
      if (set_opts (fsfd, opts, err) < 0)
        return -1;
      if (fsconfig (fsfd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) < 0)
        return sp_error_sys (err, errno, "reconfigure tmpfs");
      return 0;
    }
  /* Kernels without fspick: a remount of the fd's mount; the flags are given
     again because a remount sets the mount's flags too.  The kernel ignores
     source and type on a remount; valgrind wants them readable. */
  if (join_data (opts, data, sizeof (data), err) < 0)
    return -1;
  snprintf (target, sizeof (target), "/proc/self/fd/%d", fd);
  if (mount ("none", target, "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC, data) < 0)
    return sp_error_sys (err, errno, "remount tmpfs (%s)", data);
  return 0;
}
