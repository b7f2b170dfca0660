#include "volroot.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "cleanup.h"
#include "log.h"

int
sp_volroot_restore (struct sp_store *s, const char *name, sp_error_t *err)
{
  cleanup_pipeline struct sp_pipeline p = { 0 };
  cleanup_close int fd = -1;
  struct stat st, parent;
  struct statfs sfs;
  mode_t want;

  if (sp_store_get (s, name, &p, err) < 0)
    return -1;
  fd = openat (s->mnt_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return sp_error_sys (err, errno, "volume %s: open its tmpfs", name);
  /* Only the pipeline's own tmpfs, never the store's directory under it (a
     tmpfs that vanished is gc's to repair, not ours to chmod). */
  if (fstatfs (fd, &sfs) < 0 || fstat (fd, &st) < 0 || fstat (s->mnt_fd, &parent) < 0)
    return sp_error_sys (err, errno, "volume %s: stat its tmpfs", name);
  if (sfs.f_type != TMPFS_MAGIC || st.st_dev == parent.st_dev)
    return sp_error_make (err, ENOENT, "volume %s: its tmpfs is not mounted", name);
  want = p.opts.mode & 07777;
  if (st.st_uid == p.opts.uid && st.st_gid == p.opts.gid && (st.st_mode & 07777) == want)
    return 0;
  /* chown first: it clears the setgid bit, which the chmod then sets. */
  if (fchown (fd, p.opts.uid, p.opts.gid) < 0)
    return sp_error_sys (err, errno, "volume %s: chown its root to %u:%u", name, p.opts.uid,
                         p.opts.gid);
  if (fchmod (fd, want) < 0)
    return sp_error_sys (err, errno, "volume %s: chmod its root to %04o", name, want);
  sp_log_info ("volume %s: root was %04o %u:%u (Docker's copy of the image's directory), "
               "restored to %04o %u:%u",
               name, (unsigned) (st.st_mode & 07777), st.st_uid, st.st_gid, (unsigned) want,
               p.opts.uid, p.opts.gid);
  return 0;
}
