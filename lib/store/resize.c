/* Changing a live pipeline: the rows of the options table flagged
   SP_OPT_F_CHANGEABLE (size, inodes), for every member at once, since they
   all hold clones of one tmpfs. */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "fault.h"
#include "definitions.h"
#include "ipc_limits.h"
#include "ipcns.h"
#include "quota.h"
#include "resize.h"
#include "resources.h"
#include "totals.h"
#include "store.h"
#include "tmpfs.h"

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
check_fits (struct sp_store *s, const struct sp_ref *ref, const struct sp_pipeline_opts *o,
            sp_error_t *err)
{
  struct sp_tmpfs_usage u;
  uint64_t bytes, inodes;
  char want[32], used[32];

  if (sp_tmpfs_usage (s->mnt_fd, ref->file, &u, err) < 0)
    return -1;
  bytes = u.used;
  inodes = u.inodes_used;
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

/* The tmpfs options of the rows GIVEN at their values in O. */
static int
reconfigure (struct sp_store *s, const struct sp_ref *ref, const struct sp_pipeline_opts *o,
             sp_opt_mask given, sp_error_t *err)
{
  struct sp_tmpfs_opts opts = { .n = 0 };

  for (size_t i = 0; i < sp_opt_count; i++)
    {
      const struct sp_opt_def *d = &sp_opt_defs[i];
      char v[64];

      if (!(given & sp_opt_bit (d)) || d->mount_key == NULL)
        continue;
      sp_opt_format (d, o, v, sizeof (v));
      if (sp_tmpfs_opts_add (&opts, d->mount_key, v) < 0)
        return sp_error_make (err, E2BIG, "tmpfs options too long");
    }
  if (sp_tmpfs_reconfigure (s->mnt_fd, ref->file, &opts, err) < 0)
    {
      if (sp_error_status (*err) == ENOENT)
        {
          sp_error_release (err);
          return sp_error_make (err, ENOENT,
                                "its tmpfs is not mounted (run `shmpipectl gc` to repair)");
        }
      return -1;
    }
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
  struct sp_ref ref;
  int r;

  if (sp_ref_make (&ref, name, err) < 0 || check_changeable (given, err) < 0)
    return -1;
  r = sp_record_lock_load (s, &ref, &lock, &p, err);
  if (r <= 0)
    return r == 0 ? sp_def_missing (s, &ref, err) : -1;
  if (sp_pipeline_is_newer (&p))
    return sp_pipeline_refuse_newer (&p, err);
  old = p.opts;
  sp_opts_overlay (&p.opts, requested, given);
  if (sp_store_check_opts (s, name, &p.opts, err) < 0)
    return -1;
  if (sp_totals_begin (s, &ref, &totals, err) < 0
      || (p.opts.size > old.size
          && sp_quota_check (s, &totals, false, sp_quota_footprint (&p.opts), err) < 0))
    return -1;
  if (check_fits (s, &ref, &p.opts, err) < 0)
    return -1;
  if (reconfigure (s, &ref, &p.opts, given, err) < 0)
    {
      /* A writer filled the gap between check_fits and the kernel's own
         check. */
      if (sp_error_status (*err) == EINVAL)
        {
          sp_error_release (err);
          if (check_fits (s, &ref, &p.opts, err) < 0)
            return -1;
          return sp_error_make (err, EINVAL, "the kernel refused the new size or inode cap");
        }
      return -1;
    }
  sp_fault_point ("resize:remounted");
  /* SysV memory of its namespace follows the size (ipc_limits.c). */
  if (p.opts.ipc && p.opts.size != old.size && sp_ipcns_pinned (s->ipc_fd, ref.file)
      && sp_ipcns_set_limits (s->ipc_fd, ref.file, p.opts.size, err) < 0)
    {
      sp_error_t ignored = NULL;
      reconfigure (s, &ref, &old, given, &ignored);
      sp_error_release (&ignored);
      return -1;
    }
  if (sp_record_save (s, &ref, &p, err) < 0 || sp_def_sync (s, &ref, &p, err) < 0)
    {
      sp_error_t ignored = NULL;
      reconfigure (s, &ref, &old, given, &ignored);
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
      if (sp_qname_valid (name, strlen (name)))
        sp_error_wrap_pipeline (err, name);
      return -1;
    }
  return 0;
}

int
sp_resize_repair (struct sp_store *s, const struct sp_ref *ref, struct sp_pipeline *p,
                  sp_error_t *err)
{
  const struct sp_opt_def *size = sp_opt_find ("size"), *inodes = sp_opt_find ("inodes");
  sp_error_t ignored = NULL;
  struct sp_tmpfs_usage u;
  sp_opt_mask given = 0;
  int r;

  r = sp_tmpfs_usage (s->mnt_fd, ref->file, &u, err);
  if (r <= 0)
    return r;
  if (u.size != p->opts.size)
    given |= sp_opt_bit (size);
  if (p->opts.inodes != 0 && u.inodes != p->opts.inodes)
    given |= sp_opt_bit (inodes);
  if (given == 0)
    return 0;
  /* The record holds: the resize never completed. */
  r = reconfigure (s, ref, &p->opts, given, &ignored) == 0 ? 1 : 2;
  sp_error_release (&ignored);
  /* What is in use no longer fits the recorded size: the mount holds. */
  if (r == 2 && (given & sp_opt_bit (size)))
    p->opts.size = u.size;
  if (r == 2 && (given & sp_opt_bit (inodes)))
    p->opts.inodes = u.inodes;
  if (p->opts.ipc && sp_ipcns_pinned (s->ipc_fd, ref->file)
      && sp_ipcns_set_limits (s->ipc_fd, ref->file, p->opts.size, err) < 0)
    return -1;
  return r;
}
