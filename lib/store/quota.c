/* The store's quotas (quota.h). */
#include "quota.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cleanup.h"
#include "tmpfs.h"

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

/* What REF counts for in max_total_size: the size of its mounted tmpfs
   (resize keeps the two equal), else its recorded size (a tmpfs that
   vanished and that gc will remount). */
static uint64_t
counted_size (struct sp_store *s, const struct sp_ref *ref)
{
  cleanup_pipeline struct sp_pipeline p = { 0 };
  sp_error_t ignored = NULL;
  struct sp_tmpfs_usage u;

  if (sp_tmpfs_usage (s->mnt_fd, ref->file, &u, &ignored) == 1)
    return u.size;
  sp_error_release (&ignored);
  if (sp_record_load (s, ref, &p, &ignored) != 1)
    {
      sp_error_release (&ignored);
      return 0;
    }
  return p.opts.size;
}

int
sp_quota_check (struct sp_store *s, const struct sp_ref *ref, uint64_t size, sp_error_t *err)
{
  struct sp_ref *refs = NULL;
  size_t n = 0, others = 0;
  uint64_t total = 0;
  bool exists = false;
  char want[32], sum[32], max[32];
  const char *file = sp_config_file (s->cfg);

  if (sp_list_dir (s->state_fd, SP_STATE_SUFFIX, &refs, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      if (strcmp (refs[i].name, ref->name) == 0)
        {
          exists = true;
          continue;
        }
      others++;
      total += counted_size (s, &refs[i]);
    }
  free (refs);

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
