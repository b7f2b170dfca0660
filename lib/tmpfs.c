/* A pipeline's tmpfs: mounted by fd under ROOT/mnt/NAME, always
   nosuid,nodev,noexec, with the mount options of its table rows. */
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
#include "ipc_limits.h"

int
sp_store_mountpoint (const struct sp_store *s, const char *name, char *buf, size_t len)
{
  int n = snprintf (buf, len, "%s/mnt/%s", s->root, SP_FNAME (name));
  return (n < 0 || (size_t) n >= len) ? -1 : 0;
}

int
sp_tmpfs_state (struct sp_store *s, const char *name)
{
  struct stat parent, st;
  struct statfs sfs;
  cleanup_close int fd
      = openat (s->mnt_fd, SP_FNAME (name), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0)
    return errno == ENOENT ? SP_TMPFS_ABSENT : -1;
  if (fstat (s->mnt_fd, &parent) < 0 || fstat (fd, &st) < 0 || fstatfs (fd, &sfs) < 0)
    return -1;
  if (st.st_dev == parent.st_dev)
    return SP_TMPFS_ABSENT;
  return sfs.f_type == TMPFS_MAGIC ? SP_TMPFS_MOUNTED : SP_TMPFS_OTHER;
}

/* "key=value,..." for mount(2)'s data. */
struct mount_data
{
  char buf[256];
  size_t off;
};

static int
append_data (void *ctx, const char *key, const char *value)
{
  struct mount_data *d = ctx;
  int n = snprintf (d->buf + d->off, sizeof (d->buf) - d->off, "%s%s=%s", d->off ? "," : "", key,
                    value);

  if (n < 0 || (size_t) n >= sizeof (d->buf) - d->off)
    return -1;
  d->off += (size_t) n;
  return 0;
}

/* The classic mount(2) onto the mountpoint's fd, for kernels (and valgrind)
   without fsopen. */
static int
mount_legacy (const struct sp_pipeline *p, int dirfd, sp_error_t *err)
{
  struct mount_data data = { .off = 0 };
  char source[SP_QNAME_MAX + 16], target[64];

  if (sp_opts_mount_each (&p->opts, append_data, &data) != 0)
    return sp_error_make (err, E2BIG, "tmpfs options too long");
  snprintf (source, sizeof (source), "shmpipe-%s", p->name);
  snprintf (target, sizeof (target), "/proc/self/fd/%d", dirfd);
  if (mount (source, target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data.buf) < 0)
    return sp_error_sys (err, errno, "mount tmpfs (%s)", data.buf);
  return 0;
}

struct fsconfig_ctx
{
  int fsfd;
  sp_error_t *err;
};

static int
set_fsconfig (void *ctx, const char *key, const char *value)
{
  struct fsconfig_ctx *c = ctx;

  if (fsconfig (c->fsfd, FSCONFIG_SET_STRING, key, value, 0) == 0)
    return 0;
  return sp_error_sys (c->err, errno, "tmpfs option %s=%s%s", key, value,
                       strcmp (key, "huge") == 0 ? " (needs transparent hugepages for shmem)" : "");
}

int
sp_tmpfs_mount (struct sp_store *s, const struct sp_pipeline *p, sp_error_t *err)
{
  char source[SP_QNAME_MAX + 16];
  cleanup_close int fsfd = -1;
  cleanup_close int mfd = -1;
  cleanup_close int dirfd = -1;
  struct fsconfig_ctx ctx;

  if (mkdirat (s->mnt_fd, SP_FNAME (p->name), 0755) < 0 && errno != EEXIST)
    return sp_error_sys (err, errno, "mkdir mountpoint");
  dirfd = openat (s->mnt_fd, SP_FNAME (p->name), O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dirfd < 0)
    return sp_error_sys (err, errno, "open mountpoint");

  fsfd = fsopen ("tmpfs", FSOPEN_CLOEXEC);
  if (fsfd < 0 && errno == ENOSYS)
    return mount_legacy (p, dirfd, err);
  if (fsfd < 0)
    return sp_error_sys (err, errno, "fsopen tmpfs");
  snprintf (source, sizeof (source), "shmpipe-%s", p->name);
  ctx.fsfd = fsfd;
  ctx.err = err;
  if (set_fsconfig (&ctx, "source", source) < 0
      || sp_opts_mount_each (&p->opts, set_fsconfig, &ctx) < 0)
    return -1;
  if (fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return sp_error_sys (err, errno, "create tmpfs");
  mfd = fsmount (fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  if (mfd < 0)
    return sp_error_sys (err, errno, "fsmount");
  if (move_mount (mfd, "", dirfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return sp_error_sys (err, errno, "move_mount");
  return 0;
}

int
sp_tmpfs_unmount (struct sp_store *s, const char *name, sp_error_t *err)
{
  char path[PATH_MAX];

  if (sp_store_mountpoint (s, name, path, sizeof (path)) < 0)
    return sp_error_sys (err, ENAMETOOLONG, "mountpoint");
  while (sp_tmpfs_state (s, name) == SP_TMPFS_MOUNTED)
    if (umount2 (path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
      return sp_error_sys (err, errno, "unmount %s", path);
  if (unlinkat (s->mnt_fd, SP_FNAME (name), AT_REMOVEDIR) < 0 && errno != ENOENT)
    return sp_error_sys (err, errno, "rmdir %s", path);
  return 0;
}

int
sp_store_used (struct sp_store *s, const char *name, uint64_t *used, sp_error_t *err)
{
  struct statfs sfs;
  cleanup_close int fd
      = openat (s->mnt_fd, SP_FNAME (name), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

  *used = 0;
  if (fd < 0 || fstatfs (fd, &sfs) < 0)
    {
      sp_error_sys (err, errno, "statfs");
      return sp_error_wrap_pipeline (err, name);
    }
  if (sfs.f_type != TMPFS_MAGIC)
    return 0;
  *used = (uint64_t) (sfs.f_blocks - sfs.f_bfree) * (uint64_t) sfs.f_bsize;
  /* An ipc pipeline's SysV segments are its memory too (0 where they
     cannot be read: a caller whose seccomp filter denies setns). */
  if (sp_ipcns_pinned (s, name))
    {
      uint64_t sysv = 0;
      sp_error_t ignored = NULL;
      if (sp_ipcns_sysv_used (s, name, &sysv, &ignored) == 0)
        *used += sysv;
      sp_error_release (&ignored);
    }
  return 0;
}

int
sp_store_clone_mount (struct sp_store *s, const char *name, sp_error_t *err)
{
  cleanup_close int fd = -1;
  struct statfs sfs;

  if (sp_qname_check (name, err) < 0)
    return -1;
  if (sp_tmpfs_state (s, name) != SP_TMPFS_MOUNTED)
    sp_error_make (err, ENOENT, "its tmpfs is not mounted");
  else if ((fd = open_tree (s->mnt_fd, SP_FNAME (name),
                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW))
           < 0)
    sp_error_sys (err, errno, "open_tree");
  else if (fstatfs (fd, &sfs) < 0)
    sp_error_sys (err, errno, "statfs");
  else if (sfs.f_type != TMPFS_MAGIC)
    sp_error_make (err, EINVAL, "mount is not a tmpfs");
  else
    return sp_steal_fd (&fd);
  return sp_error_wrap_pipeline (err, name);
}

struct reconfigure_ctx
{
  int fsfd;
  sp_opt_mask given;
  struct mount_data data;
  sp_error_t *err;
};

/* Each changed row's tmpfs option: into the fs context, or (without fspick)
   into the remount's data. */
static int
reconfigure_each (struct reconfigure_ctx *c, const struct sp_pipeline_opts *o)
{
  for (size_t i = 0; i < sp_opt_count; i++)
    {
      const struct sp_opt_def *d = &sp_opt_defs[i];
      char v[64];

      if (!(c->given & sp_opt_bit (d)) || d->mount_key == NULL)
        continue;
      sp_opt_format (d, o, v, sizeof (v));
      if (c->fsfd >= 0)
        {
          if (fsconfig (c->fsfd, FSCONFIG_SET_STRING, d->mount_key, v, 0) < 0)
            return sp_error_sys (c->err, errno, "tmpfs option %s=%s", d->mount_key, v);
        }
      else if (append_data (&c->data, d->mount_key, v) < 0)
        return sp_error_make (c->err, E2BIG, "tmpfs options too long");
    }
  return 0;
}

int
sp_tmpfs_reconfigure (struct sp_store *s, const char *name, const struct sp_pipeline_opts *o,
                      sp_opt_mask given, sp_error_t *err)
{
  struct reconfigure_ctx c = { .fsfd = -1, .given = given, .data = { .off = 0 }, .err = err };
  cleanup_close int fd = -1;
  cleanup_close int fsfd = -1;
  char target[64];

  if (sp_tmpfs_state (s, name) != SP_TMPFS_MOUNTED)
    return sp_error_make (err, ENOENT, "its tmpfs is not mounted (run `shmpipectl gc` to repair)");
  fd = openat (s->mnt_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return sp_error_sys (err, errno, "open mountpoint");
  /* The superblock itself, by fd: every member's clone sees the change. */
  fsfd = fspick (fd, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC | FSPICK_NO_AUTOMOUNT);
  if (fsfd < 0 && errno != ENOSYS)
    return sp_error_sys (err, errno, "fspick");
  c.fsfd = fsfd;
  if (reconfigure_each (&c, o) < 0)
    return -1;
  if (fsfd >= 0)
    {
      if (fsconfig (fsfd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) < 0)
        return sp_error_sys (err, errno, "reconfigure tmpfs");
      return 0;
    }
  /* Kernels without fspick: a remount of the fd's mount; the flags are given
     again because a remount sets the mount's flags too. */
  snprintf (target, sizeof (target), "/proc/self/fd/%d", fd);
  /* The kernel ignores source and type on a remount; valgrind wants them
     readable. */
  if (mount ("none", target, "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC, c.data.buf)
      < 0)
    return sp_error_sys (err, errno, "remount tmpfs (%s)", c.data.buf);
  return 0;
}

int
sp_tmpfs_usage (struct sp_store *s, const char *name, uint64_t *bytes, uint64_t *inodes,
                sp_error_t *err)
{
  struct statfs sfs;
  cleanup_close int fd = openat (s->mnt_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0 || fstatfs (fd, &sfs) < 0)
    return sp_error_sys (err, errno, "statfs");
  if (sfs.f_type != TMPFS_MAGIC)
    return sp_error_make (err, EINVAL, "mount is not a tmpfs");
  *bytes = (uint64_t) (sfs.f_blocks - sfs.f_bfree) * (uint64_t) sfs.f_bsize;
  *inodes = (uint64_t) (sfs.f_files - sfs.f_ffree);
  return 0;
}
