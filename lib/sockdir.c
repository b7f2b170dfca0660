/* A pipeline's socket directory: a small tmpfs of its own on
   ROOT/sockets/NAME, mounted into members at the path of its "sockets"
   option.  Not a directory on the pipeline's tmpfs, so that its size cap and
   "used" keep meaning shared memory; not a plain directory of the host's
   /run, so that a member cannot fill the host's /run through it.  Always
   nosuid,nodev,noexec. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cleanup.h"
#include "store_impl.h"

/* Sockets and lock files take no room; the cap only bounds what a member
   may write there (a socket directory at /tmp also gets temp files). */
#define SOCKDIR_SIZE "16m" /* SP_SOCKDIR_BYTES */
#define SOCKDIR_INODES "4096"

uint64_t
sp_sockdir_footprint (const struct sp_pipeline_opts *o)
{
  return o->size + (o->sockets[0] != '\0' ? SP_SOCKDIR_BYTES : 0);
}

int
sp_store_sockets_path (const struct sp_store *s, const char *name, char *buf, size_t len)
{
  int n = snprintf (buf, len, "%s/sockets/%s", s->root, name);
  return (n < 0 || (size_t) n >= len) ? -1 : 0;
}

int
sp_sockdir_state (struct sp_store *s, const char *name)
{
  struct stat parent, st;
  struct statfs sfs;
  cleanup_close int fd
      = openat (s->sockets_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0)
    return errno == ENOENT ? SP_TMPFS_ABSENT : -1;
  if (fstat (s->sockets_fd, &parent) < 0 || fstat (fd, &st) < 0 || fstatfs (fd, &sfs) < 0)
    return -1;
  if (st.st_dev == parent.st_dev)
    return SP_TMPFS_ABSENT;
  return sfs.f_type == TMPFS_MAGIC ? SP_TMPFS_MOUNTED : SP_TMPFS_OTHER;
}

/* mount(2) onto the directory's fd, for kernels (and valgrind) without fsopen. */
static int
mount_legacy (const struct sp_pipeline *p, const char *source, int dirfd, sp_error_t *err)
{
  char data[128], target[64];

  snprintf (data, sizeof (data), "size=%s,nr_inodes=%s,mode=%o,uid=%u,gid=%u", SOCKDIR_SIZE,
            SOCKDIR_INODES, (unsigned) p->opts.mode, p->opts.uid, p->opts.gid);
  snprintf (target, sizeof (target), "/proc/self/fd/%d", dirfd);
  if (mount (source, target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data) < 0)
    return sp_error_sys (err, errno, "mount socket directory (%s)", data);
  return 0;
}

int
sp_sockdir_mount (struct sp_store *s, const struct sp_pipeline *p, sp_error_t *err)
{
  char source[sizeof (p->name) + 24], mode[16], uid[16], gid[16];
  const char *keys[] = { "source", "size", "nr_inodes", "mode", "uid", "gid" };
  const char *vals[] = { source, SOCKDIR_SIZE, SOCKDIR_INODES, mode, uid, gid };
  cleanup_close int fsfd = -1;
  cleanup_close int mfd = -1;
  cleanup_close int dirfd = -1;

  if (mkdirat (s->sockets_fd, p->name, 0755) < 0 && errno != EEXIST)
    return sp_error_sys (err, errno, "mkdir socket directory");
  dirfd = openat (s->sockets_fd, p->name, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dirfd < 0)
    return sp_error_sys (err, errno, "open socket directory");
  snprintf (source, sizeof (source), "shmpipe-sockets-%s", p->name);
  snprintf (mode, sizeof (mode), "%o", (unsigned) p->opts.mode);
  snprintf (uid, sizeof (uid), "%u", p->opts.uid);
  snprintf (gid, sizeof (gid), "%u", p->opts.gid);

  fsfd = fsopen ("tmpfs", FSOPEN_CLOEXEC);
  if (fsfd < 0 && errno == ENOSYS)
    return mount_legacy (p, source, dirfd, err);
  if (fsfd < 0)
    return sp_error_sys (err, errno, "fsopen tmpfs");
  for (size_t i = 0; i < sizeof (keys) / sizeof (keys[0]); i++)
    if (fsconfig (fsfd, FSCONFIG_SET_STRING, keys[i], vals[i], 0) < 0)
      return sp_error_sys (err, errno, "socket directory option %s=%s", keys[i], vals[i]);
  if (fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return sp_error_sys (err, errno, "create socket directory tmpfs");
  mfd = fsmount (fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  if (mfd < 0)
    return sp_error_sys (err, errno, "socket directory: fsmount");
  if (move_mount (mfd, "", dirfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return sp_error_sys (err, errno, "socket directory: move_mount");
  return 0;
}

int
sp_sockdir_unmount (struct sp_store *s, const char *name, sp_error_t *err)
{
  char path[PATH_MAX];

  if (sp_store_sockets_path (s, name, path, sizeof (path)) < 0)
    return sp_error_sys (err, ENAMETOOLONG, "socket directory");
  while (sp_sockdir_state (s, name) == SP_TMPFS_MOUNTED)
    if (umount2 (path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
      return sp_error_sys (err, errno, "unmount %s", path);
  if (unlinkat (s->sockets_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return sp_error_sys (err, errno, "rmdir %s", path);
  return 0;
}

int
sp_store_clone_sockets (struct sp_store *s, const char *name, sp_error_t *err)
{
  cleanup_close int fd = -1;
  struct statfs sfs;

  if (sp_name_check (name, err) < 0)
    return -1;
  if (sp_sockdir_state (s, name) != SP_TMPFS_MOUNTED)
    sp_error_make (err, ENOENT, "its socket directory is not mounted (shmpipectl gc repairs it)");
  else if ((fd = open_tree (s->sockets_fd, name,
                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW))
           < 0)
    sp_error_sys (err, errno, "socket directory: open_tree");
  else if (fstatfs (fd, &sfs) < 0)
    sp_error_sys (err, errno, "socket directory: statfs");
  else if (sfs.f_type != TMPFS_MAGIC)
    sp_error_make (err, EINVAL, "socket directory is not a tmpfs");
  else
    return sp_steal_fd (&fd);
  return sp_error_wrap_pipeline (err, name);
}
