/* Changing a live pipeline: the rows of the options table flagged
   SP_OPT_F_CHANGEABLE (size, inodes), for every member at once, since they
   all hold clones of one tmpfs. */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "fault.h"
#include "store_impl.h"
#include "totals.h"

static int
check_changeable (sp_opt_mask given, sp_error_t *err)
{
  char names[128];

  if (given == 0)
    return sp_error_make (err, EINVAL, "nothing to change");
  for (size_t i = 0; i < sp_opt_count; i++)
    if ((given & sp_opt_bit (&sp_opt_defs[i])) && !(sp_opt_defs[i].flags & SP_OPT_F_CHANGEABLE))
      {
        sp_opts_names (SP_OPT_F_CHANGEABLE, names, sizeof (names));
        return sp_error_make (err, EINVAL, "%s cannot change on a live pipeline (only %s)",
                              sp_opt_defs[i].name, names);
      }
  return 0;
}

/* What is in use must fit: the kernel refuses too, but only with EINVAL. */
static int
check_fits (struct sp_store *s, const char *name, const struct sp_pipeline_opts *o, sp_error_t *err)
{
  uint64_t bytes, inodes;
  char want[32], used[32];

  if (sp_tmpfs_usage (s, name, &bytes, &inodes, err) < 0)
    return -1;
  if (bytes > o->size)
    {
      sp_format_size (o->size, want, sizeof (want));
      sp_format_size (bytes, used, sizeof (used));
      return sp_error_make (err, EBUSY, "cannot shrink to size %s: %s in use", want, used);
    }
  if (inodes > o->inodes)
    return sp_error_make (err, EBUSY, "cannot shrink to %llu inodes: %llu in use",
                          (unsigned long long) o->inodes, (unsigned long long) inodes);
  return 0;
}

static int
store_change (struct sp_store *s, const char *name, const struct sp_pipeline_opts *requested,
              sp_opt_mask given, sp_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_totals struct sp_totals totals = SP_TOTALS_INIT;
  cleanup_pipeline struct sp_pipeline p = { 0 };
  struct sp_pipeline_opts old;
  int r;

  if (sp_name_check (name, err) < 0 || check_changeable (given, err) < 0)
    return -1;
  lock = sp_store_lock (s, name, err);
  if (lock < 0)
    return -1;
  r = sp_store_load (s, name, &p, err);
  if (r <= 0)
    return r == 0 ? sp_error_make (err, ENOENT, "does not exist") : -1;
  old = p.opts;
  sp_opts_overlay (&p.opts, requested, given);
  if (sp_store_check_opts (s, name, &p.opts, err) < 0)
    return -1;
  if (sp_totals_begin (s, name, &totals, err) < 0
      || (p.opts.size > old.size && sp_quota_check (s, &totals, false, p.opts.size, err) < 0))
    return -1;
  if (check_fits (s, name, &p.opts, err) < 0)
    return -1;
  if (sp_tmpfs_reconfigure (s, name, &p.opts, given, err) < 0)
    {
      /* A writer filled the gap between check_fits and the kernel's own
         check. */
      if (sp_error_status (*err) == EINVAL)
        {
          sp_error_release (err);
          if (check_fits (s, name, &p.opts, err) < 0)
            return -1;
          return sp_error_make (err, EINVAL, "the kernel refused the new size or inode cap");
        }
      return -1;
    }
  sp_fault_point ("resize:remounted");
  if (sp_store_save (s, &p, err) < 0)
    {
      sp_error_t ignored = NULL;
      sp_tmpfs_reconfigure (s, name, &old, given, &ignored);
      sp_error_release (&ignored);
      return -1;
    }
  return 0;
}

int
sp_store_change (struct sp_store *s, const char *name, const struct sp_pipeline_opts *requested,
                 sp_opt_mask given, sp_error_t *err)
{
  if (store_change (s, name, requested, given, err) < 0)
    {
      if (sp_name_valid (name, strlen (name)))
        sp_error_wrap_pipeline (err, name);
      return -1;
    }
  return 0;
}
