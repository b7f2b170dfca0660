/* Puts a pipeline's tmpfs on a container's /dev/shm, and its socket
   directory at the path the pipeline names, from outside the container,
   before its process starts.

   The container's image is hostile input: its /dev or /dev/shm may be a
   symlink to anywhere, and another container sharing a volume may swap
   directories while we work.  So, as runc and crun learned the hard way
   (CVE-2019-19921, CVE-2021-30465, CVE-2023-27561), no path inside the
   rootfs is ever handed to the kernel as a string: every component is walked
   from a directory fd with openat2(RESOLVE_NO_SYMLINKS), and the mount is
   attached to the resulting fd with move_mount(T_EMPTY_PATH).  Every fd is
   O_CLOEXEC (CVE-2024-21626).  */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/nsfs.h>
#include <linux/magic.h>
#include <linux/openat2.h>

#include "cleanup.h"
#include "fault.h"
#include "fileutil.h"
#include "hook.h"

#define RESOLVE_STRICT (RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
/* A container's mountinfo lists every mount of the host before pivot_root. */
#define MOUNTINFO_MAX (16 * 1024 * 1024)

/* glibc 2.36 has no openat2 wrapper.  EAGAIN: a rename somewhere in the
   mount raced the kernel's ".." checks; trying again is what it asks for. */
static int
openat2_retry (int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
  struct open_how how = { .flags = flags | O_CLOEXEC, .mode = 0, .resolve = resolve };
  int fd, tries = 0;

  do
    fd = (int) syscall (SYS_openat2, dirfd, path, &how, sizeof (how));
  while (fd < 0 && (errno == EAGAIN || errno == EINTR) && ++tries < 16);
  return fd;
}

static bool
same_inode (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* What tells the container's own filesystems from the host's: the mount
   of its rootfs, and the hook's own mountinfo (its mount namespace is the
   runtime's, the host side of every bind). */
struct own_fs
{
  uint64_t root_mnt;
  int host_mountinfo;
};

/* Whether DEV is the device of a mount listed in the hook's own
   namespace: 1 yes, 0 no, -1 on error. */
static int
host_mounts_dev (int host_mountinfo, dev_t dev, sp_error_t *err)
{
  cleanup_free char *buf = NULL;
  char want[48];
  char *line, *save = NULL;
  size_t len;

  if (lseek (host_mountinfo, 0, SEEK_SET) < 0)
    return sp_error_sys (err, errno, "the hook's mountinfo");
  if (sp_read_fd_capped (host_mountinfo, MOUNTINFO_MAX, "the hook's mountinfo", &buf, &len, err)
      < 0)
    return -1;
  snprintf (want, sizeof (want), " %u:%u ", major (dev), minor (dev));
  for (line = strtok_r (buf, "\n", &save); line != NULL; line = strtok_r (NULL, "\n", &save))
    {
      /* ID PARENT MAJ:MIN ...: the third field. */
      char *f = strchr (line, ' ');
      f = f != NULL ? strchr (f + 1, ' ') : NULL;
      if (f != NULL && strncmp (f, want, strlen (want)) == 0)
        return 1;
    }
  return 0;
}

/* Before anything is created in directory DIR: it must be on the
   container's own filesystem, the rootfs's mount or a tmpfs the runtime made
   for the container alone (mounted nowhere in the hook's namespace).  A
   host directory bound into the container is neither: a directory made
   there would stay on the host after the container is gone.  */
static int
check_own_fs (int dir, const struct own_fs *own, const char *shown, sp_error_t *err)
{
  struct statx stx;
  struct statfs sfs;
  int r;

  if (statx (dir, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
    return sp_error_sys (err, errno, "container's %s: statx", shown);
  if (!(stx.stx_mask & STATX_MNT_ID))
    return sp_error_make (err, ENOSYS, "container's %s: statx gives no mount ID", shown);
  if (stx.stx_mnt_id == own->root_mnt)
    return 0;
  if (fstatfs (dir, &sfs) < 0)
    return sp_error_sys (err, errno, "container's %s: statfs", shown);
  r = sfs.f_type == TMPFS_MAGIC ? host_mounts_dev (
          own->host_mountinfo, makedev (stx.stx_dev_major, stx.stx_dev_minor), err)
                                : 1;
  if (r < 0)
    return -1;
  if (r > 0)
    return sp_error_make (err, EPERM,
                          "container's %s is missing, and the directory it would be made in is "
                          "not the container's own (a host directory or filesystem bound into "
                          "it): refusing to create anything there",
                          shown);
  return 0;
}

/* Opens directory NAME (one component) under PARENT, creating it when absent
   and PARENT is the container's own.  A symlink or anything but a directory
   is refused, never followed.  */
static int
open_or_create_dir (int parent, const char *name, const char *shown, mode_t mode,
                    const struct own_fs *own, sp_error_t *err)
{
  for (int tries = 0; tries < 4; tries++)
    {
      int fd = openat2_retry (parent, name, O_PATH | O_DIRECTORY, RESOLVE_BENEATH | RESOLVE_STRICT);
      if (fd >= 0)
        return fd;
      switch (errno)
        {
        case ENOENT:
          if (check_own_fs (parent, own, shown, err) < 0)
            return -1;
          /* mkdirat never follows a symlink in the last component. */
          if (mkdirat (parent, name, mode) < 0 && errno != EEXIST)
            return sp_error_sys (err, errno, "container's %s: mkdir", shown);
          continue;
        case ELOOP:
          return sp_error_make (
              err, ELOOP, "container's %s is a symbolic link: refusing to mount through it", shown);
        case ENOTDIR:
          return sp_error_make (
              err, ENOTDIR, "container's %s is not a directory: refusing to mount on it", shown);
        case EXDEV:
          return sp_error_make (
              err, EXDEV, "container's %s escapes the rootfs: refusing to mount on it", shown);
        default:
          return sp_error_sys (err, errno, "container's %s: openat2", shown);
        }
    }
  return sp_error_make (err, EAGAIN, "container's %s keeps changing: giving up", shown);
}

/* statmount(2), Linux 6.8; Debian 12's headers predate it.  457 on every
   architecture (new system calls share one table). */
#ifndef __NR_statmount
#define __NR_statmount 457
#endif
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x4000U
#endif
#define SP_STATMOUNT_MNT_BASIC 0x2U

struct sp_mnt_id_req
{
  uint32_t size;
  uint32_t spare;
  uint64_t mnt_id;
  uint64_t param;
};

struct sp_statmount
{
  uint32_t size;
  uint32_t mnt_opts;
  uint64_t mask;
  uint32_t sb_dev_major;
  uint32_t sb_dev_minor;
  uint64_t sb_magic;
  uint32_t sb_flags;
  uint32_t fs_type;
  uint64_t mnt_id;
  uint64_t mnt_parent_id;
  uint32_t mnt_id_old;
  uint32_t mnt_parent_id_old;
  uint64_t mnt_attr;
  uint64_t mnt_propagation;
  uint64_t mnt_peer_group;
  uint64_t mnt_master;
  uint64_t propagate_from;
  uint32_t mnt_root;
  uint32_t mnt_point;
  uint64_t spare2[50];
};

static int
refuse_peer_group (const char *shown, unsigned long long group, sp_error_t *err)
{
  return sp_error_make (err, EPERM,
                        "container's %s is on a shared mount (peer group %llu): a mount there "
                        "would propagate to other mount namespaces, maybe the host's; refusing "
                        "(make that mount private or slave)",
                        shown, group);
}

/* The propagation of FD's mount by statmount(2): one system call, where
   mountinfo lists every mount of the host.  1 when it answered (and the
   mount is not shared), 0 when the kernel cannot tell (older than 6.8, or a
   filter denies it), -1 (refusing) when the mount is shared or on error. */
static int
check_propagation_statmount (int fd, const char *shown, sp_error_t *err)
{
  struct sp_mnt_id_req req = { .size = sizeof (req), .param = SP_STATMOUNT_MNT_BASIC };
  struct sp_statmount sm;
  struct statx stx;

  if (statx (fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID_UNIQUE, &stx) < 0)
    return sp_error_sys (err, errno, "container's %s: statx", shown);
  if (!(stx.stx_mask & STATX_MNT_ID_UNIQUE))
    return 0;
  req.mnt_id = stx.stx_mnt_id;
  memset (&sm, 0, sizeof (sm));
  if (syscall (__NR_statmount, &req, &sm, sizeof (sm), 0) < 0)
    return errno == ENOSYS ? 0 : sp_error_sys (err, errno, "container's %s: statmount", shown);
  if (!(sm.mask & SP_STATMOUNT_MNT_BASIC))
    return 0;
  if (sm.mnt_propagation & MS_SHARED)
    return refuse_peer_group (shown, (unsigned long long) sm.mnt_peer_group, err);
  return 1;
}

/* Refuses a target directory FD whose mount is shared (in a peer group):
   a mount made on it would propagate to every peer and their slaves, in
   other mount namespaces and maybe the host's.  That is what a bind of a
   host directory with bidirectional propagation gives (rootfsPropagation
   rshared and an rshared bind: Kubernetes' "mountPropagation:
   Bidirectional"); on such a /dev the pipeline would also land on the
   host's side of the bind, there to stay.  Without statmount(2), reads
   MOUNTINFO, an fd of the container's /proc/PID/mountinfo (mount IDs are
   global).  */
static int
refuse_shared_target (int fd, int mountinfo, const char *shown, sp_error_t *err)
{
  cleanup_free char *buf = NULL;
  struct statx stx;
  char *line, *save = NULL;
  size_t len;
  int r;

  r = check_propagation_statmount (fd, shown, err);
  if (r != 0)
    return r < 0 ? -1 : 0;
  if (statx (fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
    return sp_error_sys (err, errno, "container's %s: statx", shown);
  if (!(stx.stx_mask & STATX_MNT_ID))
    return sp_error_make (err, ENOSYS, "container's %s: statx gives no mount ID", shown);
  if (lseek (mountinfo, 0, SEEK_SET) < 0)
    return sp_error_sys (err, errno, "container's mountinfo");
  if (sp_read_fd_capped (mountinfo, MOUNTINFO_MAX, "container's mountinfo", &buf, &len, err) < 0)
    return -1;
  for (line = strtok_r (buf, "\n", &save); line != NULL; line = strtok_r (NULL, "\n", &save))
    {
      char *end, *field, *fsave = NULL;
      unsigned long long id = strtoull (line, &end, 10);
      int n = 0;

      if (end == line || *end != ' ' || id != stx.stx_mnt_id)
        continue;
      /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE ...
         (paths escape blanks as \040) */
      for (field = strtok_r (line, " ", &fsave); field != NULL;
           field = strtok_r (NULL, " ", &fsave), n++)
        {
          if (n < 6)
            continue;
          if (strcmp (field, "-") == 0)
            return 0;
          if (strncmp (field, "shared:", 7) == 0)
            return refuse_peer_group (shown, strtoull (field + 7, NULL, 10), err);
        }
      return 0;
    }
  /* Not listed: the mount lies above the container's root (a root that is
     not a mount point, chroot(2)-style), where its propagation cannot be
     seen.  A runtime that has pivoted has its rootfs as a mount point. */
  return sp_error_make (
      err, EPERM,
      "container's %s: its mount (%llu) is outside the container's root, where "
      "its propagation cannot be checked: refusing (the rootfs must be a mount point)",
      shown, (unsigned long long) stx.stx_mnt_id);
}

/* Walks PATH (absolute, normalized) from CROOT one component at a time,
   creating what is missing; never through a symlink.  */
static int
open_target (int croot, const char *path, const struct own_fs *own, sp_error_t *err)
{
  cleanup_close int dir = -1;
  char buf[PATH_MAX], shown[PATH_MAX];
  char *comp, *save = NULL;
  size_t shown_len = 0;

  if (snprintf (buf, sizeof (buf), "%s", path) >= (int) sizeof (buf))
    return sp_error_make (err, ENAMETOOLONG, "container path too long");
  dir = fcntl (croot, F_DUPFD_CLOEXEC, 3);
  if (dir < 0)
    return sp_error_sys (err, errno, "dup");
  for (comp = strtok_r (buf, "/", &save); comp != NULL; comp = strtok_r (NULL, "/", &save))
    {
      bool last = save == NULL || *save == '\0';
      int next;

      shown_len += (size_t) snprintf (shown + shown_len, sizeof (shown) - shown_len, "/%s", comp);
      next = open_or_create_dir (dir, comp, shown, last ? 01777 : 0755, own, err);
      if (next < 0)
        return -1;
      sp_close (&dir);
      dir = next;
    }
  return sp_steal_fd (&dir);
}

/* Inside the container's mount namespace: CROOT is its rootfs.  */
static int
attach (int clone_fd, const struct stat *st_clone, int croot, int mountinfo,
        const struct own_fs *own, const char *path, bool *already, sp_error_t *err)
{
  cleanup_close int target = -1;
  cleanup_close int check = -1;
  struct stat st;
  struct statvfs vfs;
  const unsigned long want = ST_NOSUID | ST_NODEV | ST_NOEXEC;

  target = open_target (croot, path, own, err);
  if (target < 0)
    return -1;
  if (fstat (target, &st) < 0)
    return sp_error_sys (err, errno, "container's %s: stat", path);
  /* The hook configured at two stages: the second finds its own mount. */
  if (st.st_dev == st_clone->st_dev)
    {
      *already = true;
      return 0;
    }

  if (refuse_shared_target (target, mountinfo, path, err) < 0)
    return -1;

  /* On top of whatever is there: for /dev/shm usually the runtime's private
     shm tmpfs, which is what the pipeline replaces.  */
  if (move_mount (clone_fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return sp_error_sys (err, errno, "mount on the container's %s: move_mount", path);
  /* Tests: killed with the mount made inside the container, unverified. */
  sp_fault_point ("hook:mounted");

  /* Trust but verify: the flags the container gets, and that a fresh walk of
     PATH in its rootfs lands on the pipeline's mount.  */
  if (fstatvfs (clone_fd, &vfs) < 0)
    return sp_error_sys (err, errno, "container's %s: statvfs", path);
  if ((vfs.f_flag & want) != want)
    return sp_error_make (err, EPERM, "container's %s: mounted without nosuid,nodev,noexec", path);
  check = openat2_retry (croot, path + 1, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_STRICT);
  if (check < 0 || fstat (check, &st) < 0)
    return sp_error_sys (err, errno, "container's %s: openat2 after the mount", path);
  if (!same_inode (&st, st_clone))
    return sp_error_make (err, EIO, "container's %s is not the pipeline's mount after the mount",
                          path);
  return 0;
}

/* The rootfs of the container, as a directory fd in its mount namespace.

   Where that is depends on the runtime and the stage: runc and crun run
   prestart/createRuntime hooks after the container's mounts are made but
   before pivot_root, so its init's root (/proc/PID/root) is still the copy
   of the host's root and the rootfs sits at ROOTFS inside it; a runtime that
   has already pivoted (or chrooted) has /proc/PID/root at the rootfs itself.
   Either way the answer is checked against the directory the runtime named,
   opened in our own namespace: same device and inode, or no mount.  */
static int
open_container_rootfs (int proc_root, const char *rootfs, const struct stat *st_rootfs,
                       sp_error_t *err)
{
  cleanup_close int fd = -1;
  struct stat st;
  const char *rel;

  if (fstat (proc_root, &st) < 0)
    return sp_error_sys (err, errno, "container's root: stat");
  if (same_inode (&st, st_rootfs))
    {
      fd = fcntl (proc_root, F_DUPFD_CLOEXEC, 3);
      if (fd < 0)
        return sp_error_sys (err, errno, "dup");
      return sp_steal_fd (&fd);
    }

  /* Not pivoted yet.  The path is the runtime's (every component above the
     rootfs is on the host's side), so symlinks in it are followed, but only
     inside that root and never through /proc magic links.  */
  rel = rootfs + strspn (rootfs, "/");
  fd = openat2_retry (proc_root, *rel ? rel : ".", O_PATH | O_DIRECTORY,
                      RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (fd < 0)
    return sp_error_sys (err, errno, "rootfs %s in the container's mount namespace: openat2",
                         rootfs);
  if (fstat (fd, &st) < 0)
    return sp_error_sys (err, errno, "rootfs %s in the container's mount namespace: stat", rootfs);
  if (!same_inode (&st, st_rootfs))
    return sp_error_make (err, ENOENT, "rootfs %s: not found in the container's mount namespace",
                          rootfs);
  return sp_steal_fd (&fd);
}

int
sp_hook_mount_at (int clone_fd_in, pid_t pid, const char *rootfs, const char *target, bool *already,
                  sp_error_t *err)
{
  cleanup_close int clone_fd = clone_fd_in;
  cleanup_close int pidfd = -1;
  cleanup_close int self_ns = -1;
  cleanup_close int ns = -1;
  cleanup_close int proc_root = -1;
  cleanup_close int host_rootfs = -1;
  cleanup_close int croot = -1;
  cleanup_close int mountinfo = -1;
  cleanup_close int host_mountinfo = -1;
  struct stat st_self, st_ns, st_rootfs, st_clone;
  struct statx stx_root;
  struct own_fs own;
  struct mount_attr attr;
  char path[64];
  int r, saved;

  *already = false;
  /* The pidfd pins the identity of PID: if the process died and its pid were
     reused while we open its /proc files, the check below would fail.  */
  pidfd = pidfd_open (pid, 0);
  if (pidfd < 0)
    return sp_error_sys (err, errno, "container process %d: pidfd_open", (int) pid);
  self_ns = open ("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (self_ns < 0)
    return sp_error_sys (err, errno, "open /proc/self/ns/mnt");
  snprintf (path, sizeof (path), "/proc/%d/ns/mnt", (int) pid);
  ns = open (path, O_RDONLY | O_CLOEXEC);
  if (ns < 0)
    return sp_error_sys (err, errno, "open %s", path);
  r = ioctl (ns, NS_GET_NSTYPE);
  if (r < 0)
    return sp_error_sys (err, errno, "%s: namespace type", path);
  if (r != CLONE_NEWNS)
    return sp_error_make (err, EINVAL, "%s is not a mount namespace", path);
  if (fstat (self_ns, &st_self) < 0 || fstat (ns, &st_ns) < 0)
    return sp_error_sys (err, errno, "stat mount namespaces");
  /* Mounting "in" our own namespace would put the tmpfs on the host. */
  if (same_inode (&st_self, &st_ns))
    return sp_error_make (err, EINVAL,
                          "the container has no mount namespace of its own: refusing to mount");

  snprintf (path, sizeof (path), "/proc/%d/mountinfo", (int) pid);
  mountinfo = open (path, O_RDONLY | O_CLOEXEC);
  if (mountinfo < 0)
    return sp_error_sys (err, errno, "open %s", path);
  snprintf (path, sizeof (path), "/proc/%d/root", (int) pid);
  proc_root = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (proc_root < 0)
    return sp_error_sys (err, errno, "open %s", path);
  host_rootfs = open (rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (host_rootfs < 0)
    return sp_error_sys (err, errno, "rootfs %s", rootfs);
  if (fstat (host_rootfs, &st_rootfs) < 0)
    return sp_error_sys (err, errno, "rootfs %s: stat", rootfs);
  if (pidfd_send_signal (pidfd, 0, NULL, 0) < 0)
    return sp_error_sys (err, errno, "container process %d", (int) pid);

  croot = open_container_rootfs (proc_root, rootfs, &st_rootfs, err);
  if (croot < 0)
    return -1;
  host_mountinfo = open ("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (host_mountinfo < 0)
    return sp_error_sys (err, errno, "open /proc/self/mountinfo");
  if (statx (croot, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx_root) < 0)
    return sp_error_sys (err, errno, "container's rootfs: statx");
  if (!(stx_root.stx_mask & STATX_MNT_ID))
    return sp_error_make (err, ENOSYS, "container's rootfs: statx gives no mount ID");
  own.root_mnt = stx_root.stx_mnt_id;
  own.host_mountinfo = host_mountinfo;
  /* Tests: killed holding the clone, before anything is attached. */
  sp_fault_point ("hook:cloned");

  /* The pipeline's own mount has these flags already; say so again on the
     clone, and make it private: a clone of a shared mount joins its peer
     group, and nothing mounted under the container's /dev/shm may travel
     back to the host.  */
  memset (&attr, 0, sizeof (attr));
  attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
  attr.propagation = MS_PRIVATE;
  if (target[0] != '/' || target[1] == '\0')
    return sp_error_make (err, EINVAL, "container path %s: want an absolute path below /", target);
  if (mount_setattr (clone_fd, "", AT_EMPTY_PATH, &attr, sizeof (attr)) < 0)
    return sp_error_sys (err, errno,
                         "set nosuid,nodev,noexec on the pipeline's mount: mount_setattr");
  if (fstat (clone_fd, &st_clone) < 0)
    return sp_error_sys (err, errno, "pipeline's mount: stat");

  /* From here to the setns back: no logging (syslog(3) might connect to the
     container's /dev/log) and no path outside the container.  */
  if (setns (ns, CLONE_NEWNS) < 0)
    return sp_error_sys (err, errno, "enter the container's mount namespace");
  /* Tests: killed inside the container's mount namespace. */
  sp_fault_point ("hook:entered");
  r = attach (clone_fd, &st_clone, croot, mountinfo, &own, target, already, err);
  if (setns (self_ns, CLONE_NEWNS) < 0)
    {
      saved = errno;
      if (r == 0)
        sp_error_sys (err, saved, "return to the runtime's mount namespace");
      else
        sp_error_prefix (err, "(and cannot return to the runtime's mount namespace: %s)",
                         strerror (saved));
      return SP_HOOK_STRANDED;
    }
  return r;
}

int
sp_hook_mount_shm (int clone_fd, pid_t pid, const char *rootfs, bool *already, sp_error_t *err)
{
  return sp_hook_mount_at (clone_fd, pid, rootfs, "/dev/shm", already, err);
}
