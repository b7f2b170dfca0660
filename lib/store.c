#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cleanup.h"
#include "fault.h"
#include "fileutil.h"
#include "names.h"
#include "proc.h"

#define STATE_SUFFIX ".json"
#define LOCK_SUFFIX ".lock"

static int
open_subdir (int root_fd, const char *root, const char *sub, mode_t mode, sp_error_t *err)
{
  int fd;

  if (mkdirat (root_fd, sub, mode) < 0 && errno != EEXIST)
    return sp_error_sys (err, errno, "store %s: mkdir %s", root, sub);
  fd = openat (root_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return sp_error_sys (err, errno, "store %s: open %s", root, sub);
  return fd;
}

int
sp_store_open (struct sp_store *s, const struct sp_config *cfg, const char *root, sp_error_t *err)
{
  struct stat st;

  memset (s, 0, sizeof (*s));
  s->root_fd = s->state_fd = s->locks_fd = s->mnt_fd = s->ipc_fd = -1;
  s->cfg = cfg;
  if (root == NULL || *root == '\0')
    root = getenv ("SHMPIPE_ROOT");
  if (root == NULL || *root == '\0')
    root = cfg->root != NULL ? cfg->root : SP_DEFAULT_ROOT;
  if (root[0] != '/')
    return sp_error_make (err, EINVAL, "store %s: root must be an absolute path", root);
  s->root = strdup (root);
  if (s->root == NULL)
    return sp_error_sys (err, ENOMEM, "store %s", root);
  if (sp_mkdir_p (root, 0755, err) < 0)
    return sp_error_prefix (err, "store");
  s->root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->root_fd < 0)
    return sp_error_sys (err, errno, "store %s: open", root);
  /* Records and locks are root's business; the store must not be a trap
     another user laid. */
  if (fstat (s->root_fd, &st) < 0)
    return sp_error_sys (err, errno, "store %s: stat", root);
  if (st.st_uid != geteuid () || (st.st_mode & 022) != 0)
    return sp_error_make (err, EPERM,
                          "store %s: must be owned by uid %d and not group/world-writable", root,
                          (int) geteuid ());
  s->state_fd = open_subdir (s->root_fd, root, "state", 0755, err);
  if (s->state_fd < 0)
    return -1;
  s->locks_fd = open_subdir (s->root_fd, root, "locks", 0700, err);
  if (s->locks_fd < 0)
    return -1;
  s->mnt_fd = open_subdir (s->root_fd, root, "mnt", 0755, err);
  if (s->mnt_fd < 0)
    return -1;
  s->ipc_fd = open_subdir (s->root_fd, root, "ipc", 0755, err);
  if (s->ipc_fd < 0)
    return -1;
  return 0;
}

void
sp_store_close (struct sp_store *s)
{
  int *fds[] = { &s->root_fd, &s->state_fd, &s->locks_fd, &s->mnt_fd, &s->ipc_fd };

  for (size_t i = 0; i < sizeof (fds) / sizeof (fds[0]); i++)
    if (*fds[i] >= 0)
      {
        close (*fds[i]);
        *fds[i] = -1;
      }
  free (s->root);
  s->root = NULL;
}

void
sp_store_default_opts (const struct sp_store *s, enum sp_lifetime lifetime,
                       struct sp_pipeline_opts *o)
{
  memset (o, 0, sizeof (*o));
  o->size = s->cfg->default_size;
  o->mode = s->cfg->default_mode;
  o->inodes = s->cfg->max_inodes;
  o->huge = SP_HUGE_NEVER;
  o->lifetime = lifetime;
}

int
sp_store_check_opts (const struct sp_store *s, const char *name, const struct sp_pipeline_opts *o,
                     sp_error_t *err)
{
  char want[32], max[32];

  if (o->size > s->cfg->max_size)
    {
      sp_format_size (o->size, want, sizeof (want));
      sp_format_size (s->cfg->max_size, max, sizeof (max));
      return sp_error_make (err, EINVAL, "pipeline %s: size %s exceeds the configured maximum %s",
                            name, want, max);
    }
  if (o->size < SP_SIZE_MIN)
    return sp_error_make (err, EINVAL, "pipeline %s: size below %llu bytes", name, SP_SIZE_MIN);
  if (o->inodes == 0 || o->inodes > s->cfg->max_inodes)
    return sp_error_make (err, EINVAL, "pipeline %s: inodes %llu outside 1..%llu", name,
                          (unsigned long long) o->inodes, (unsigned long long) s->cfg->max_inodes);
  if (o->mode > 07777)
    return sp_error_make (err, EINVAL, "pipeline %s: invalid mode %o", name, (unsigned) o->mode);
  return 0;
}

/* Takes NAME's lock.  A remover unlinks the lock file while holding it, so a
   waiter that got a lock on an unlinked file retries on the new one. */
static int
lock_name (struct sp_store *s, const char *name, sp_error_t *err)
{
  char file[SP_NAME_MAX + sizeof (LOCK_SUFFIX)];

  snprintf (file, sizeof (file), "%s" LOCK_SUFFIX, name);
  for (int tries = 0; tries < 1000; tries++)
    {
      struct stat fst, pst;
      cleanup_close int fd
          = openat (s->locks_fd, file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (fd < 0)
        return sp_error_sys (err, errno, "pipeline %s: open lock", name);
      while (flock (fd, LOCK_EX) < 0)
        if (errno != EINTR)
          return sp_error_sys (err, errno, "pipeline %s: lock", name);
      if (fstat (fd, &fst) < 0)
        return sp_error_sys (err, errno, "pipeline %s: lock", name);
      if (fstatat (s->locks_fd, file, &pst, AT_SYMLINK_NOFOLLOW) == 0 && pst.st_ino == fst.st_ino
          && pst.st_dev == fst.st_dev)
        return sp_steal_fd (&fd);
    }
  return sp_error_make (err, EDEADLK, "pipeline %s: lock keeps being replaced", name);
}

static void
unlink_lock (struct sp_store *s, const char *name)
{
  char file[SP_NAME_MAX + sizeof (LOCK_SUFFIX)];

  snprintf (file, sizeof (file), "%s" LOCK_SUFFIX, name);
  unlinkat (s->locks_fd, file, 0);
}

static void
state_file (const char *name, char *buf, size_t len)
{
  snprintf (buf, len, "%s" STATE_SUFFIX, name);
}

/* 1: loaded, 0: no record, -1: error (a damaged record is an error, not "absent"). */
static int
load_state (struct sp_store *s, const char *name, struct sp_pipeline *p, sp_error_t *err)
{
  char file[SP_NAME_MAX + sizeof (STATE_SUFFIX)];
  cleanup_free char *buf = NULL;
  sp_error_t read_err = NULL;
  size_t len;

  memset (p, 0, sizeof (*p));
  state_file (name, file, sizeof (file));
  if (sp_read_file_at (s->state_fd, file, O_NOFOLLOW, SP_STATE_MAX_BYTES, &buf, &len, &read_err)
      < 0)
    {
      if (read_err->status == ENOENT)
        {
          sp_error_release (&read_err);
          return 0;
        }
      *err = read_err;
      return sp_error_prefix (err, "pipeline %s", name);
    }
  if (sp_state_parse (buf, len, p, err) < 0)
    return sp_error_prefix (err, "pipeline %s: damaged record %s/state/%s", name, s->root, file);
  if (strcmp (p->name, name) != 0)
    {
      sp_pipeline_free (p);
      return sp_error_make (err, EINVAL, "pipeline %s: record %s/state/%s names another pipeline",
                            name, s->root, file);
    }
  return 1;
}

static int
save_state (struct sp_store *s, const struct sp_pipeline *p, sp_error_t *err)
{
  char file[SP_NAME_MAX + sizeof (STATE_SUFFIX)];
  cleanup_free char *buf = NULL;
  size_t len;

  if (sp_state_generate (p, &buf, &len, err) < 0)
    return sp_error_prefix (err, "pipeline %s", p->name);
  state_file (p->name, file, sizeof (file));
  if (sp_write_file_atomic (s->state_fd, file, buf, len, 0644, err) < 0)
    return sp_error_prefix (err, "pipeline %s", p->name);
  return 0;
}

int
sp_store_mountpoint (const struct sp_store *s, const char *name, char *buf, size_t len)
{
  int n = snprintf (buf, len, "%s/mnt/%s", s->root, name);
  return (n < 0 || (size_t) n >= len) ? -1 : 0;
}

/* 1 when mnt/NAME is a tmpfs mounted there, 0 when nothing is mounted there,
   MOUNTED_OTHER when another filesystem is, -1 (errno set) when it cannot be
   told (a symlink or a file in its place, no fds left). */
#define MOUNTED_OTHER 2
static int
is_mounted (struct sp_store *s, const char *name)
{
  struct stat parent, st;
  struct statfs sfs;
  cleanup_close int fd = openat (s->mnt_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0)
    return errno == ENOENT ? 0 : -1;
  if (fstat (s->mnt_fd, &parent) < 0 || fstat (fd, &st) < 0 || fstatfs (fd, &sfs) < 0)
    return -1;
  if (st.st_dev == parent.st_dev)
    return 0;
  return sfs.f_type == TMPFS_MAGIC ? 1 : MOUNTED_OTHER;
}

/* Whether ROOT/ipc/NAME pins a namespace (an nsfs bind mount). */
static bool
ipc_pinned (struct sp_store *s, const char *name)
{
  struct statfs sfs;
  cleanup_close int fd = openat (s->ipc_fd, name, O_PATH | O_CLOEXEC | O_NOFOLLOW);

  return fd >= 0 && fstatfs (fd, &sfs) == 0 && sfs.f_type == NSFS_MAGIC;
}

static int
fsconfig_str (int fsfd, const char *key, const char *value, const char *name, sp_error_t *err)
{
  if (fsconfig (fsfd, FSCONFIG_SET_STRING, key, value, 0) < 0)
    return sp_error_sys (err, errno, "pipeline %s: tmpfs option %s=%s", name, key, value);
  return 0;
}

/* The classic mount(2) onto the mountpoint's fd, for kernels (and valgrind)
   without fsopen. */
static int
mount_tmpfs_legacy (const struct sp_pipeline *p, int dirfd, sp_error_t *err)
{
  char source[SP_NAME_MAX + 16], data[256], target[64];

  snprintf (source, sizeof (source), "shmpipe-%s", p->name);
  snprintf (data, sizeof (data), "size=%llu,mode=%o,uid=%u,gid=%u,nr_inodes=%llu%s%s",
            (unsigned long long) p->opts.size, (unsigned) p->opts.mode, p->opts.uid, p->opts.gid,
            (unsigned long long) p->opts.inodes, p->opts.huge != SP_HUGE_NEVER ? ",huge=" : "",
            p->opts.huge != SP_HUGE_NEVER ? sp_huge_name (p->opts.huge) : "");
  snprintf (target, sizeof (target), "/proc/self/fd/%d", dirfd);
  if (mount (source, target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data) < 0)
    return sp_error_sys (err, errno, "pipeline %s: mount tmpfs (%s)", p->name, data);
  return 0;
}

static int
mount_tmpfs (struct sp_store *s, const struct sp_pipeline *p, sp_error_t *err)
{
  char v[SP_NAME_MAX + 16];
  cleanup_close int fsfd = -1;
  cleanup_close int mfd = -1;
  cleanup_close int dirfd = -1;
  const char *name = p->name;

  if (mkdirat (s->mnt_fd, name, 0755) < 0 && errno != EEXIST)
    return sp_error_sys (err, errno, "pipeline %s: mkdir mountpoint", name);
  dirfd = openat (s->mnt_fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dirfd < 0)
    return sp_error_sys (err, errno, "pipeline %s: open mountpoint", name);

  fsfd = fsopen ("tmpfs", FSOPEN_CLOEXEC);
  if (fsfd < 0 && errno == ENOSYS)
    return mount_tmpfs_legacy (p, dirfd, err);
  if (fsfd < 0)
    return sp_error_sys (err, errno, "pipeline %s: fsopen tmpfs", name);
  snprintf (v, sizeof (v), "shmpipe-%s", name);
  if (fsconfig_str (fsfd, "source", v, name, err) < 0)
    return -1;
  snprintf (v, sizeof (v), "%llu", (unsigned long long) p->opts.size);
  if (fsconfig_str (fsfd, "size", v, name, err) < 0)
    return -1;
  snprintf (v, sizeof (v), "%o", (unsigned) p->opts.mode);
  if (fsconfig_str (fsfd, "mode", v, name, err) < 0)
    return -1;
  snprintf (v, sizeof (v), "%u", p->opts.uid);
  if (fsconfig_str (fsfd, "uid", v, name, err) < 0)
    return -1;
  snprintf (v, sizeof (v), "%u", p->opts.gid);
  if (fsconfig_str (fsfd, "gid", v, name, err) < 0)
    return -1;
  snprintf (v, sizeof (v), "%llu", (unsigned long long) p->opts.inodes);
  if (fsconfig_str (fsfd, "nr_inodes", v, name, err) < 0)
    return -1;
  /* huge=never is the kernel's default; passing it needs THP support. */
  if (p->opts.huge != SP_HUGE_NEVER
      && fsconfig (fsfd, FSCONFIG_SET_STRING, "huge", sp_huge_name (p->opts.huge), 0) < 0)
    return sp_error_sys (
        err, errno, "pipeline %s: tmpfs option huge=%s (needs transparent hugepages for shmem)",
        name, sp_huge_name (p->opts.huge));
  if (fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return sp_error_sys (err, errno, "pipeline %s: create tmpfs", name);
  mfd = fsmount (fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  if (mfd < 0)
    return sp_error_sys (err, errno, "pipeline %s: fsmount", name);
  if (move_mount (mfd, "", dirfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return sp_error_sys (err, errno, "pipeline %s: move_mount", name);
  return 0;
}

/* Unmounts (detached: live users keep their mappings) and removes the mountpoint. */
static int
unmount_tmpfs (struct sp_store *s, const char *name, sp_error_t *err)
{
  char path[PATH_MAX];
  int r;

  if (sp_store_mountpoint (s, name, path, sizeof (path)) < 0)
    return sp_error_sys (err, ENAMETOOLONG, "pipeline %s: mountpoint", name);
  while ((r = is_mounted (s, name)) == 1)
    if (umount2 (path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
      return sp_error_sys (err, errno, "pipeline %s: unmount %s", name, path);
  if (unlinkat (s->mnt_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return sp_error_sys (err, errno, "pipeline %s: rmdir %s", name, path);
  return 0;
}

int
sp_store_ipc_path (const struct sp_store *s, const char *name, char *buf, size_t len)
{
  int n = snprintf (buf, len, "%s/ipc/%s", s->root, name);
  return (n < 0 || (size_t) n >= len) ? -1 : 0;
}

/* Unpins NAME's IPC namespace, if any: the namespace lives on while
   containers are in it. */
static int
release_ipc (struct sp_store *s, const char *name, sp_error_t *err)
{
  char path[PATH_MAX];
  struct stat st;

  if (fstatat (s->ipc_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : sp_error_sys (err, errno, "pipeline %s: stat IPC namespace", name);
  if (sp_store_ipc_path (s, name, path, sizeof (path)) < 0)
    return sp_error_sys (err, ENAMETOOLONG, "pipeline %s: IPC namespace path", name);
  /* EINVAL: not a mount point (a pin that never completed). */
  while (umount2 (path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
    ;
  if (errno != EINVAL && errno != ENOENT)
    return sp_error_sys (err, errno, "pipeline %s: unmount %s", name, path);
  if (unlinkat (s->ipc_fd, name, 0) < 0 && errno != ENOENT)
    return sp_error_sys (err, errno, "pipeline %s: remove %s", name, path);
  return 0;
}

/* Creates a fresh IPC namespace and pins it on ROOT/ipc/NAME with a bind
   mount of its nsfs file, as `ip netns add` does for network namespaces.  A
   short-lived child makes it: this process keeps its own namespace. */
static int
pin_ipc (struct sp_store *s, const char *name, sp_error_t *err)
{
  cleanup_close int nsfd = -1;
  cleanup_close int target = -1;
  int ready[2], hold[2];
  char c = 0, ns_path[64], target_path[64];
  pid_t pid;
  int r = -1, status;

  if (release_ipc (s, name, err) < 0)
    return -1;
  if (pipe2 (ready, O_CLOEXEC) < 0)
    return sp_error_sys (err, errno, "pipeline %s: pipe", name);
  if (pipe2 (hold, O_CLOEXEC) < 0)
    {
      close (ready[0]);
      close (ready[1]);
      return sp_error_sys (err, errno, "pipeline %s: pipe", name);
    }
  pid = fork ();
  if (pid == 0)
    {
      /* Only async-signal-safe calls: the caller may have threads. */
      close (ready[0]);
      close (hold[1]);
      c = unshare (CLONE_NEWIPC) == 0 ? 'y' : 'n';
      if (write (ready[1], &c, 1) != 1)
        _exit (1);
      /* Wait until the parent has pinned the namespace (or gave up). */
      while (read (hold[0], &c, 1) < 0 && errno == EINTR)
        ;
      _exit (0);
    }
  close (ready[1]);
  close (hold[0]);
  if (pid < 0)
    {
      sp_error_sys (err, errno, "pipeline %s: fork", name);
      goto out;
    }
  if (read (ready[0], &c, 1) != 1 || c != 'y')
    {
      sp_error_make (err, EPERM, "pipeline %s: cannot create an IPC namespace", name);
      goto out;
    }
  snprintf (ns_path, sizeof (ns_path), "/proc/%d/ns/ipc", (int) pid);
  nsfd = open (ns_path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    {
      sp_error_sys (err, errno, "pipeline %s: open %s", name, ns_path);
      goto out;
    }
  target = openat (s->ipc_fd, name, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
  if (target < 0)
    {
      sp_error_sys (err, errno, "pipeline %s: create IPC namespace file", name);
      goto out;
    }
  snprintf (ns_path, sizeof (ns_path), "/proc/self/fd/%d", nsfd);
  snprintf (target_path, sizeof (target_path), "/proc/self/fd/%d", target);
  /* A bind ignores the type; "none" rather than NULL keeps memcheck quiet. */
  if (mount (ns_path, target_path, "none", MS_BIND, NULL) < 0)
    {
      sp_error_sys (err, errno, "pipeline %s: pin IPC namespace", name);
      unlinkat (s->ipc_fd, name, 0);
      goto out;
    }
  r = 0;
out:
  close (ready[0]);
  close (hold[1]);
  if (pid > 0)
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
      ;
  return r;
}

/* Drops the record first, then the tmpfs and the IPC pin: a crash in
   between leaves a tmpfs without a record, which gc removes (as it does
   for a create that died before writing its record). */
static int
destroy_locked (struct sp_store *s, const char *name, sp_error_t *err)
{
  char file[SP_NAME_MAX + sizeof (STATE_SUFFIX)];

  state_file (name, file, sizeof (file));
  if (unlinkat (s->state_fd, file, 0) < 0 && errno != ENOENT)
    return sp_error_sys (err, errno, "pipeline %s: remove record", name);
  sp_fault_point ("destroy:unrecorded");
  if (unmount_tmpfs (s, name, err) < 0 || release_ipc (s, name, err) < 0)
    return -1;
  unlink_lock (s, name);
  return 0;
}

static int
create_locked (struct sp_store *s, const char *name, const struct sp_pipeline_opts *opts,
               sp_error_t *err)
{
  struct sp_pipeline p;
  sp_error_t ignored = NULL;

  memset (&p, 0, sizeof (p));
  strcpy (p.name, name);
  p.opts = *opts;
  p.created = (int64_t) time (NULL);
  /* A tmpfs left by a create that died before writing its record. */
  if (unmount_tmpfs (s, name, err) < 0)
    return -1;
  if (mount_tmpfs (s, &p, err) < 0 || (opts->ipc && pin_ipc (s, name, err) < 0)
      || (sp_fault_point ("create:mounted"), save_state (s, &p, err) < 0))
    {
      unmount_tmpfs (s, name, &ignored);
      sp_error_release (&ignored);
      release_ipc (s, name, &ignored);
      sp_error_release (&ignored);
      return -1;
    }
  return 0;
}

static int
check_name_and_opts (struct sp_store *s, const char *name, const struct sp_pipeline_opts *opts,
                     sp_error_t *err)
{
  if (sp_name_check (name, err) < 0)
    return -1;
  return opts != NULL ? sp_store_check_opts (s, name, opts, err) : 0;
}

/* Names the first option in which two pipelines differ, or NULL. */
static const char *
opts_differ (const struct sp_pipeline_opts *a, const struct sp_pipeline_opts *b)
{
  if (a->size != b->size)
    return "size";
  if (a->mode != b->mode)
    return "mode";
  if (a->uid != b->uid)
    return "uid";
  if (a->gid != b->gid)
    return "gid";
  if (a->huge != b->huge)
    return "huge";
  if (a->lifetime != b->lifetime)
    return "lifetime";
  if (a->inodes != b->inodes)
    return "inodes";
  if (a->ipc != b->ipc)
    return "ipc";
  return NULL;
}

int
sp_store_create (struct sp_store *s, const char *name, const struct sp_pipeline_opts *opts,
                 enum sp_create_mode mode, bool *created, sp_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_pipeline struct sp_pipeline p = { 0 };
  const char *diff;
  int r;

  if (created != NULL)
    *created = false;
  if (check_name_and_opts (s, name, opts, err) < 0)
    return -1;
  lock = lock_name (s, name, err);
  if (lock < 0)
    return -1;
  r = load_state (s, name, &p, err);
  if (r < 0)
    return -1;
  if (r == 1)
    {
      if (mode == SP_CREATE_EXCL)
        return sp_error_make (err, EEXIST, "pipeline %s: already exists", name);
      diff = opts_differ (&p.opts, opts);
      if (diff != NULL)
        return sp_error_make (err, EEXIST, "pipeline %s: already exists with a different %s", name,
                              diff);
      return 0;
    }
  if (create_locked (s, name, opts, err) < 0)
    return -1;
  if (created != NULL)
    *created = true;
  return 0;
}

int
sp_store_join (struct sp_store *s, const char *name, const char *id, int64_t pid,
               const struct sp_pipeline_opts *create_opts, bool *created, sp_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_pipeline struct sp_pipeline p = { 0 };
  uint64_t start = 0;
  bool made = false;
  int r;

  if (created != NULL)
    *created = false;
  if (check_name_and_opts (s, name, create_opts, err) < 0)
    return -1;
  if (!sp_member_id_valid (id))
    return sp_error_make (err, EINVAL,
                          "pipeline %s: invalid member id (want 1-%d of [A-Za-z0-9_.:-])", name,
                          SP_MEMBER_ID_MAX);
  if (pid < 0 || pid > 4194304)
    return sp_error_make (err, EINVAL, "pipeline %s: invalid pid %lld", name, (long long) pid);
  lock = lock_name (s, name, err);
  if (lock < 0)
    return -1;
  sp_fault_point ("join:locked");
  r = load_state (s, name, &p, err);
  if (r < 0)
    return -1;
  if (r == 0)
    {
      if (create_opts == NULL)
        return sp_error_make (err, ENOENT, "pipeline %s: does not exist", name);
      if (create_locked (s, name, create_opts, err) < 0)
        return -1;
      made = true;
      sp_fault_point ("join:created");
      if (load_state (s, name, &p, err) != 1)
        return -1;
    }
  else if (is_mounted (s, name) != 1)
    return sp_error_make (
        err, ENOENT, "pipeline %s: its tmpfs is not mounted (run `shmpipectl gc` to repair)", name);
  if (sp_pipeline_find_member (&p, id) < 0)
    {
      if (pid > 0 && sp_proc_start_time ((pid_t) pid, &start) < 0)
        start = 0;
      if (sp_pipeline_add_member (&p, id, pid, start, (int64_t) time (NULL), err) < 0
          || save_state (s, &p, err) < 0)
        {
          sp_error_t ignored = NULL;
          if (made)
            destroy_locked (s, name, &ignored);
          sp_error_release (&ignored);
          return -1;
        }
      sp_fault_point ("join:recorded");
    }
  if (created != NULL)
    *created = made;
  return 0;
}

int
sp_store_leave (struct sp_store *s, const char *name, const char *id, bool *removed,
                sp_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_pipeline struct sp_pipeline p = { 0 };
  ssize_t idx;
  int r;

  if (removed != NULL)
    *removed = false;
  if (sp_name_check (name, err) < 0)
    return -1;
  lock = lock_name (s, name, err);
  if (lock < 0)
    return -1;
  r = load_state (s, name, &p, err);
  if (r <= 0)
    return r;
  idx = sp_pipeline_find_member (&p, id);
  if (idx >= 0)
    sp_pipeline_remove_member (&p, (size_t) idx);
  /* Also when ID was no member: a join that created the pipeline and died
     before recording ID still has its poststop remove it, as gc would. */
  if (p.n_members == 0 && p.opts.lifetime == SP_LIFETIME_EPHEMERAL)
    {
      sp_fault_point ("leave:destroying");
      if (destroy_locked (s, name, err) < 0)
        return -1;
      if (removed != NULL)
        *removed = true;
      return 0;
    }
  return idx >= 0 ? save_state (s, &p, err) : 0;
}

int
sp_store_remove (struct sp_store *s, const char *name, bool force, sp_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_pipeline struct sp_pipeline p = { 0 };
  int r;

  if (sp_name_check (name, err) < 0)
    return -1;
  lock = lock_name (s, name, err);
  if (lock < 0)
    return -1;
  r = load_state (s, name, &p, err);
  if (r < 0 && !force)
    return -1;
  if (r == 0)
    {
      if (is_mounted (s, name) == 1 && force)
        return destroy_locked (s, name, err);
      return sp_error_make (err, ENOENT, "pipeline %s: does not exist", name);
    }
  if (r > 0 && p.n_members > 0 && !force)
    {
      char list[512];
      size_t off = 0;
      for (size_t i = 0; i < p.n_members && off < sizeof (list) - 1; i++)
        {
          int n
              = snprintf (list + off, sizeof (list) - off, "%s%s", i ? ", " : "", p.members[i].id);
          if (n < 0)
            break;
          off += (size_t) n;
        }
      if (off >= sizeof (list) - 1)
        strcpy (list + sizeof (list) - 5, "...");
      return sp_error_make (err, EBUSY,
                            "pipeline %s: in use by %zu member%s (%s); use --force to detach it",
                            name, p.n_members, p.n_members == 1 ? "" : "s", list);
    }
  if (r < 0)
    sp_error_release (err); /* forced removal of a damaged record */
  return destroy_locked (s, name, err);
}

int
sp_store_get (struct sp_store *s, const char *name, struct sp_pipeline *p, sp_error_t *err)
{
  int r;

  if (sp_name_check (name, err) < 0)
    return -1;
  r = load_state (s, name, p, err);
  if (r == 0)
    return sp_error_make (err, ENOENT, "pipeline %s: does not exist", name);
  return r < 0 ? -1 : 0;
}

bool
sp_store_exists (struct sp_store *s, const char *name)
{
  char file[SP_NAME_MAX + sizeof (STATE_SUFFIX)];
  struct stat st;

  if (!sp_name_valid (name, strlen (name)))
    return false;
  state_file (name, file, sizeof (file));
  return fstatat (s->state_fd, file, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

void
sp_store_free_names (char **names, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (names[i]);
  free (names);
}

/* Names of entries in DIRFD that are valid pipeline names once SUFFIX is cut
   (SUFFIX "" for the mountpoint directory). */
static int
list_dir (int dirfd, const char *suffix, char ***names, size_t *n, sp_error_t *err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  char **v = NULL;
  size_t count = 0, slen = strlen (suffix);
  int fd = dup (dirfd);

  *names = NULL;
  *n = 0;
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return sp_error_sys (err, errno, "store: list");
    }
  rewinddir (d);
  while ((de = readdir (d)) != NULL)
    {
      size_t len = strlen (de->d_name);
      char **nv;
      if (len <= slen || strcmp (de->d_name + len - slen, suffix) != 0
          || !sp_name_valid (de->d_name, len - slen))
        continue;
      nv = realloc (v, (count + 1) * sizeof (*v));
      if (nv == NULL || (nv[count] = strndup (de->d_name, len - slen)) == NULL)
        {
          sp_store_free_names (nv ? nv : v, count);
          return sp_error_sys (err, ENOMEM, "store: list");
        }
      v = nv;
      count++;
    }
  if (count > 0)
    qsort (v, count, sizeof (*v), cmp_names);
  *names = v;
  *n = count;
  return 0;
}

int
sp_store_list (struct sp_store *s, char ***names, size_t *n, sp_error_t *err)
{
  return list_dir (s->state_fd, STATE_SUFFIX, names, n, err);
}

int
sp_store_used (struct sp_store *s, const char *name, uint64_t *used, sp_error_t *err)
{
  struct statfs sfs;
  cleanup_close int fd = openat (s->mnt_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

  *used = 0;
  if (fd < 0 || fstatfs (fd, &sfs) < 0)
    return sp_error_sys (err, errno, "pipeline %s: statfs", name);
  if (sfs.f_type != TMPFS_MAGIC)
    return 0;
  *used = (uint64_t) (sfs.f_blocks - sfs.f_bfree) * (uint64_t) sfs.f_bsize;
  return 0;
}

int
sp_store_clone_mount (struct sp_store *s, const char *name, sp_error_t *err)
{
  cleanup_close int fd = -1;
  struct statfs sfs;

  if (sp_name_check (name, err) < 0)
    return -1;
  if (is_mounted (s, name) != 1)
    return sp_error_make (err, ENOENT, "pipeline %s: its tmpfs is not mounted", name);
  fd = open_tree (s->mnt_fd, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
  if (fd < 0)
    return sp_error_sys (err, errno, "pipeline %s: open_tree", name);
  if (fstatfs (fd, &sfs) < 0)
    return sp_error_sys (err, errno, "pipeline %s: statfs", name);
  if (sfs.f_type != TMPFS_MAGIC)
    return sp_error_make (err, EINVAL, "pipeline %s: mount is not a tmpfs", name);
  return sp_steal_fd (&fd);
}

void
sp_store_gen_info (struct sp_store *s, yajl_gen g, const struct sp_pipeline *p)
{
  char mp[PATH_MAX], ipc[PATH_MAX];
  uint64_t used = 0;
  sp_error_t ignored = NULL;

  sp_store_mountpoint (s, p->name, mp, sizeof (mp));
  sp_store_ipc_path (s, p->name, ipc, sizeof (ipc));
  /* A tmpfs that vanished reads as 0 bytes used; gc repairs it. */
  sp_store_used (s, p->name, &used, &ignored);
  sp_error_release (&ignored);
  sp_pipeline_gen_info (g, p, mp, p->opts.ipc ? ipc : NULL, used);
}

static void
report (sp_gc_report_fn fn, void *ctx, const char *name, const char *what)
{
  if (fn != NULL)
    fn (ctx, name, what, false);
}

/* MSG without its leading "pipeline NAME: ", for a report already keyed by NAME. */
static const char *
strip_name_prefix (const char *msg, const char *name)
{
  size_t n = strlen (name);

  if (strncmp (msg, "pipeline ", 9) == 0 && strncmp (msg + 9, name, n) == 0
      && strncmp (msg + 9 + n, ": ", 2) == 0)
    return msg + 9 + n + 2;
  return msg;
}

static int
gc_one (struct sp_store *s, const char *name, sp_gc_report_fn fn, void *ctx, sp_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_pipeline struct sp_pipeline p = { 0 };
  int changes = 0, r;
  size_t i;

  lock = lock_name (s, name, err);
  if (lock < 0)
    return -1;
  r = load_state (s, name, &p, err);
  if (r <= 0)
    return r;
  for (i = 0; i < p.n_members;)
    {
      struct sp_member *m = &p.members[i];
      if (m->pid > 0 && !sp_proc_alive ((pid_t) m->pid, m->start_time))
        {
          char what[SP_MEMBER_ID_MAX + 64];
          snprintf (what, sizeof (what), "dropped member %s (pid %lld is gone)", m->id,
                    (long long) m->pid);
          report (fn, ctx, name, what);
          sp_pipeline_remove_member (&p, i);
          changes++;
        }
      else
        i++;
    }
  if (p.n_members == 0 && p.opts.lifetime == SP_LIFETIME_EPHEMERAL)
    {
      if (destroy_locked (s, name, err) < 0)
        return -1;
      report (fn, ctx, name, "removed (ephemeral, no members left)");
      return changes + 1;
    }
  r = is_mounted (s, name);
  if (r < 0)
    return sp_error_sys (err, errno, "pipeline %s: cannot check its mountpoint", name);
  if (r == MOUNTED_OTHER)
    return sp_error_make (
        err, EBUSY, "pipeline %s: something other than its tmpfs is mounted on its mountpoint",
        name);
  if (r == 0)
    {
      /* The tmpfs went away under us (reboot of a persistent root, a manual
         umount): its content is lost, the pipeline and its options are not.
         Only the tmpfs is made again: members keep their IPC namespace. */
      if (mount_tmpfs (s, &p, err) < 0)
        return -1;
      report (fn, ctx, name, "remounted its missing tmpfs (content was lost)");
      changes++;
    }
  if (p.opts.ipc && !ipc_pinned (s, name))
    {
      if (pin_ipc (s, name, err) < 0)
        return -1;
      report (fn, ctx, name, "pinned a new IPC namespace in place of its missing one");
      changes++;
    }
  if (changes > 0 && save_state (s, &p, err) < 0)
    return -1;
  return changes;
}

/* ".NAME.json.tmp.PID.SEQ" of sp_write_file_atomic, when PID is gone. */
static void
sweep_temp_files (struct sp_store *s, sp_gc_report_fn fn, void *ctx)
{
  int fd = dup (s->state_fd);
  cleanup_dir DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *de;

  if (d == NULL)
    {
      if (fd >= 0)
        close (fd);
      return;
    }
  rewinddir (d);
  while ((de = readdir (d)) != NULL)
    {
      const char *tmp = strstr (de->d_name, ".tmp.");
      char *end;
      long pid;

      if (de->d_name[0] != '.' || tmp == NULL)
        continue;
      pid = strtol (tmp + 5, &end, 10);
      if (pid <= 0 || *end != '.' || sp_proc_alive ((pid_t) pid, 0))
        continue;
      if (unlinkat (s->state_fd, de->d_name, 0) == 0)
        report (fn, ctx, de->d_name, "removed a temp file left by a dead writer");
    }
}

int
sp_store_gc (struct sp_store *s, sp_gc_report_fn fn, void *ctx, sp_error_t *err)
{
  char **names = NULL;
  size_t n = 0;
  int total = 0, failed = 0;

  if (sp_store_list (s, &names, &n, err) < 0)
    return -1;
  /* One pipeline that cannot be repaired does not stop the others. */
  for (size_t i = 0; i < n; i++)
    {
      sp_error_t one = NULL;
      int r = gc_one (s, names[i], fn, ctx, &one);
      if (r < 0)
        {
          if (fn != NULL)
            fn (ctx, names[i], strip_name_prefix (one->msg, names[i]), true);
          sp_error_release (&one);
          failed++;
        }
      else
        total += r;
    }
  sp_store_free_names (names, n);

  /* Temp files of writers that died before their rename. */
  sweep_temp_files (s, fn, ctx);

  /* Mountpoints and IPC pins without a record: a create that died half-way,
     a remove that died after dropping the record. */
  for (int pass = 0; pass < 2 && *err == NULL; pass++)
    {
      if (list_dir (pass == 0 ? s->mnt_fd : s->ipc_fd, "", &names, &n, err) < 0)
        return -1;
      for (size_t i = 0; i < n; i++)
        {
          cleanup_close int lock = lock_name (s, names[i], err);
          if (lock < 0)
            break;
          if (sp_store_exists (s, names[i]))
            continue;
          if ((pass == 0 ? unmount_tmpfs (s, names[i], err) : release_ipc (s, names[i], err)) < 0)
            break;
          report (fn, ctx, names[i],
                  pass == 0 ? "removed a tmpfs left without a record"
                            : "released an IPC namespace left without a record");
          unlink_lock (s, names[i]);
          total++;
        }
      sp_store_free_names (names, n);
    }
  if (failed > 0 && *err == NULL)
    sp_error_make (err, EIO, "gc: %d pipeline%s could not be repaired", failed,
                   failed == 1 ? "" : "s");
  return *err != NULL ? -1 : total;
}
