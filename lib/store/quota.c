/* The store's quotas (quota.h). */
#include "quota.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/file.h>
#include <unistd.h>

#include "cleanup.h"
#include "totals.h"

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

int
sp_quota_check (struct sp_store *s, const struct sp_totals *t, bool new_pipeline, uint64_t size,
                sp_error_t *err)
{
  char want[32], sum[32], max[32];
  const char *file = sp_config_file (s->cfg);

  if (new_pipeline && t->pipelines + 1 > s->cfg->max_pipelines)
    return sp_error_make (err, EDQUOT,
                          "the store holds %" PRIu64
                          " pipeline%s, the most allowed (max_pipelines in %s)",
                          t->pipelines, t->pipelines == 1 ? "" : "s", file);
  if (t->bytes + size > s->cfg->max_total_size)
    {
      sp_format_size (size, want, sizeof (want));
      sp_format_size (t->bytes + size, sum, sizeof (sum));
      sp_format_size (s->cfg->max_total_size, max, sizeof (max));
      return sp_error_make (err, EDQUOT,
                            "size %s would bring the pipelines' total to %s, over %s "
                            "(max_total_size in %s)",
                            want, sum, max, file);
    }
  return 0;
}

uint64_t
sp_quota_footprint (const struct sp_pipeline_opts *o)
{
  return o->size + (o->sockets[0] != '\0' ? SP_QUOTA_SOCKDIR_BYTES : 0);
}
