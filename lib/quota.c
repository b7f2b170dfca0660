/* The store's quotas: max_pipelines and max_total_size (the sum of the
   pipelines' sizes).  Every create, and every resize that grows a pipeline,
   holds the quota lock from its check until its record is written, so two
   creates of different names cannot both take the last place. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cleanup.h"
#include "store_impl.h"

/* An flock on a descriptor of its own for the state directory: no lock file
   that gc would have to tell from a pipeline's. */
int
sp_quota_lock (struct sp_store *s, sp_error_t *err)
{
  cleanup_close int fd
      = openat (s->root_fd, "state", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0)
    return sp_error_sys (err, errno, "quota lock");
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return sp_error_sys (err, errno, "quota lock");
  return sp_steal_fd (&fd);
}

static uint64_t
tmpfs_size (struct sp_store *s, dev_t mnt_dev, const char *name)
{
  cleanup_pipeline struct sp_pipeline p = { 0 };
  sp_error_t ignored = NULL;
  struct statfs sfs;
  struct stat dir;
  char path[PATH_MAX];

  if (fstatat (s->mnt_fd, name, &dir, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (dir.st_mode)
      && dir.st_dev != mnt_dev && sp_store_mountpoint (s, name, path, sizeof (path)) == 0
      && statfs (path, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC)
    return (uint64_t) sfs.f_blocks * (uint64_t) sfs.f_bsize;
  if (sp_store_load (s, name, &p, &ignored) != 1)
    {
      sp_error_release (&ignored);
      return 0;
    }
  return p.opts.size;
}

/* What NAME counts for in max_total_size: the size of its mounted tmpfs
   (two system calls, cheaper than reading the record; resize keeps the two
   equal), else its recorded size (a tmpfs that vanished and that gc will
   remount); and its socket directory's when it has one mounted.  Paths are fine here: mnt/ is
   the store's own, root's alone. */
static uint64_t
counted_size (struct sp_store *s, dev_t mnt_dev, const char *name)
{
  return tmpfs_size (s, mnt_dev, name)
         + (sp_sockdir_state (s, name) == SP_TMPFS_MOUNTED ? SP_SOCKDIR_BYTES : 0);
}

int
sp_quota_check (struct sp_store *s, const char *name, uint64_t size, sp_error_t *err)
{
  char **names = NULL;
  size_t n = 0, others = 0;
  uint64_t total = 0;
  bool exists = false;
  char want[32], sum[32], max[32];
  const char *file = sp_config_file (s->cfg);
  struct stat mnt;

  if (fstat (s->mnt_fd, &mnt) < 0)
    return sp_error_sys (err, errno, "stat mnt");
  if (sp_store_list (s, &names, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      if (strcmp (names[i], name) == 0)
        {
          exists = true;
          continue;
        }
      others++;
      total += counted_size (s, mnt.st_dev, names[i]);
    }
  sp_store_free_names (names, n);

  if (!exists && others + 1 > s->cfg->max_pipelines)
    return sp_error_make (err, EDQUOT,
                          "the store holds %zu pipeline%s, the most allowed (max_pipelines in %s)",
                          others, others == 1 ? "" : "s", file);
  if (total + size > s->cfg->max_total_size)
    {
      sp_format_size (size, want, sizeof (want));
      sp_format_size (total + size, sum, sizeof (sum));
      sp_format_size (s->cfg->max_total_size, max, sizeof (max));
      return sp_error_make (err, EDQUOT,
                            "size %s would bring the pipelines' total to %s, over %s "
                            "(max_total_size in %s)",
                            want, sum, max, file);
    }
  return 0;
}
