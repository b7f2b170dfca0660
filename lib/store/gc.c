/* gc: what crashes leave behind, repaired under each pipeline's lock. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "definitions.h"
#include "restore.h"
#include "ipc_limits.h"
#include "ipcns.h"
#include "proc.h"
#include "resize.h"
#include "resources.h"
#include "store.h"
#include "totals.h"

static void
report (sp_gc_report_fn fn, void *ctx, const char *name, const char *what)
{
  if (fn != NULL)
    fn (ctx, name, what, false);
}

/* Each resource P wants, repaired when it went missing. */
static int
repair_resources (struct sp_store *s, const struct sp_ref *ref, const struct sp_pipeline *p,
                  sp_gc_report_fn fn, void *ctx, sp_error_t *err)
{
  int changes = 0;

  for (size_t i = 0; i < SP_RES_COUNT; i++)
    {
      const struct sp_resource *r = &sp_resources[i];
      int dirfd = sp_res_dirfd (s, r), st;

      if (!r->wanted (p))
        continue;
      st = r->state (dirfd, ref->file);
      if (st < 0)
        return sp_error_sys (err, errno, "cannot check its %s", r->place);
      if (st == SP_RES_OTHER)
        return sp_error_make (err, EBUSY, "something other than its %s is mounted on its %s",
                              r->what, r->place);
      if (st == SP_RES_ABSENT)
        {
          if (r->repair (dirfd, ref, p, err) < 0)
            return -1;
          report (fn, ctx, ref->name, r->repaired);
          changes++;
        }
    }
  return changes;
}

/* A resize that did not complete; the SysV limits of an IPC namespace
   pinned by a release that set none. */
static int
repair_resize (struct sp_store *s, const struct sp_ref *ref, struct sp_pipeline *p,
               sp_gc_report_fn fn, void *ctx, sp_error_t *err)
{
  char what[128], size[32];
  int r = sp_resize_repair (s, ref, p, err);

  if (r < 0)
    return -1;
  if (r == 0 && p->opts.ipc && sp_ipcns_pinned (s->ipc_fd, ref->file)
      && sp_ipcns_set_limits (s->ipc_fd, ref->file, p->opts.size, err) < 0)
    return -1;
  if (r == 0)
    return 0;
  if (r == 2)
    {
      /* The record takes the mount's size: saved under the quota totals'
         bracket, so that they follow, and the definition with it. */
      cleanup_totals struct sp_totals totals = SP_TOTALS_INIT;

      if (sp_totals_begin (s, ref, &totals, err) < 0 || sp_record_save (s, ref, p, err) < 0
          || sp_def_sync (s, ref, p, err) < 0)
        return -1;
    }
  sp_format_size (p->opts.size, size, sizeof (size));
  snprintf (what, sizeof (what),
            r == 1 ? "put its tmpfs back to its recorded size %s (a resize did not complete)"
                   : "recorded its tmpfs's size %s (a resize did not complete; what is in use "
                     "does not fit the old size)",
            size);
  report (fn, ctx, ref->name, what);
  return 1;
}

static int
gc_one (struct sp_store *s, const struct sp_ref *ref, sp_gc_report_fn fn, void *ctx,
        sp_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_pipeline struct sp_pipeline p = { 0 };
  int changes = 0, r;

  r = sp_record_lock_load (s, ref, &lock, &p, err);
  if (r <= 0)
    return r;
  for (size_t i = 0; i < p.n_members;)
    {
      struct sp_member *m = &p.members[i];
      if (sp_member_is_gone (m))
        {
          char what[SP_MEMBER_ID_MAX + 64];
          snprintf (what, sizeof (what), "dropped member %s (pid %lld is gone)", m->id,
                    (long long) m->pid);
          report (fn, ctx, ref->name, what);
          sp_pipeline_remove_member (&p, i);
          changes++;
        }
      else
        i++;
    }
  if (sp_pipeline_is_spent (&p))
    {
      if (sp_res_destroy (s, ref, err) < 0)
        return -1;
      report (fn, ctx, ref->name, "removed (ephemeral, no members left)");
      return changes + 1;
    }
  /* What a newer release made is its to repair; its members are ours to drop. */
  if (sp_pipeline_is_newer (&p))
    return changes > 0 && sp_record_save (s, ref, &p, err) < 0 ? -1 : changes;
  r = repair_resources (s, ref, &p, fn, ctx, err);
  if (r < 0)
    return -1;
  changes += r;
  r = repair_resize (s, ref, &p, fn, ctx, err);
  if (r < 0)
    return -1;
  changes += r;
  if (changes > 0 && sp_record_save (s, ref, &p, err) < 0)
    return -1;
  return changes;
}

/* ".NAME.json.tmp.PID.SEQ" of sp_write_file_atomic in DIRFD (records in
   state/, definitions, the quota totals in the root), when PID is gone. */
static void
sweep_temp_files (int dirfd, sp_gc_report_fn fn, void *ctx)
{
  int fd = dirfd >= 0 ? fcntl (dirfd, F_DUPFD_CLOEXEC, 3) : -1;
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
      if (unlinkat (dirfd, de->d_name, 0) == 0)
        report (fn, ctx, de->d_name, "removed a temp file left by a dead writer");
    }
}

/* Resources of row R without a record: a create that died half-way, a
   remove that died after dropping the record. */
static int
sweep_orphans (struct sp_store *s, const struct sp_resource *r, sp_gc_report_fn fn, void *ctx,
               sp_error_t *err)
{
  struct sp_ref *refs = NULL;
  size_t n = 0;
  int total = 0, dirfd = sp_res_dirfd (s, r);

  if (sp_list_dir (dirfd, "", &refs, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      cleanup_close int lock = sp_lock_take (s, &refs[i], err);
      if (lock >= 0 && sp_record_exists (s, &refs[i]))
        continue;
      if (lock < 0 || r->release (dirfd, refs[i].file, err) < 0)
        {
          sp_error_wrap_pipeline (err, refs[i].name);
          break;
        }
      report (fn, ctx, refs[i].name, r->orphaned);
      sp_res_drop_unused_lock (s, &refs[i]);
      total++;
    }
  free (refs);
  return *err != NULL ? -1 : total;
}

/* Lock files that guard nothing: left by names that were refused, or by an
   earlier release.  Each is taken first, so a create that holds it or waits
   for it is never raced: a waiter that wakes on an unlinked file retries on
   a new one (sp_store_lock). */
static int
sweep_locks (struct sp_store *s, sp_gc_report_fn fn, void *ctx, sp_error_t *err)
{
  struct sp_ref *refs = NULL;
  size_t n = 0;
  int total = 0;

  if (sp_list_dir (s->locks_fd, SP_LOCK_SUFFIX, &refs, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      cleanup_close int lock = -1;

      if (sp_record_exists (s, &refs[i]))
        continue;
      lock = sp_lock_take (s, &refs[i], err);
      if (lock < 0)
        {
          sp_error_wrap_pipeline (err, refs[i].name);
          break;
        }
      sp_res_drop_unused_lock (s, &refs[i]);
      if (!sp_lock_exists (s, &refs[i]))
        {
          report (fn, ctx, refs[i].name, "removed a lock file of no pipeline");
          total++;
        }
    }
  free (refs);
  return *err != NULL ? -1 : total;
}

/* The quota totals recounted from the records: 1 when they were wrong
   (changed behind the store's back, or by an earlier release). */
static int
recount_totals (struct sp_store *s, sp_gc_report_fn fn, void *ctx, sp_error_t *err)
{
  uint64_t pipelines, bytes;
  bool rebuilt;
  char what[128], size[32];

  if (sp_totals_read (s, true, &pipelines, &bytes, &rebuilt, err) < 0)
    return -1;
  if (!rebuilt)
    return 0;
  sp_format_size (bytes, size, sizeof (size));
  snprintf (what, sizeof (what), "rebuilt the quota totals: %" PRIu64 " pipeline%s, %s", pipelines,
            pipelines == 1 ? "" : "s", size);
  report (fn, ctx, "(store)", what);
  return 1;
}

int
sp_store_gc (struct sp_store *s, sp_gc_report_fn fn, void *ctx, sp_error_t *err)
{
  struct sp_ref *refs = NULL;
  size_t n = 0;
  int total = 0, failed = 0;

  /* Defined pipelines a reboot took are made again first (a host without
     systemd has no unit that runs `shmpipectl restore`); each failure was
     reported. */
  {
    sp_error_t restore_err = NULL;
    int r = sp_store_restore (s, fn, ctx, &restore_err);
    if (r < 0)
      {
        failed++;
        sp_error_release (&restore_err);
      }
    else
      total += r;
  }
  if (sp_list_dir (s->state_fd, SP_STATE_SUFFIX, &refs, &n, err) < 0)
    return -1;
  /* One pipeline that cannot be repaired does not stop the others. */
  for (size_t i = 0; i < n; i++)
    {
      sp_error_t one = NULL;
      int r = gc_one (s, &refs[i], fn, ctx, &one);
      if (r < 0)
        {
          if (fn != NULL)
            fn (ctx, refs[i].name, one->msg, true);
          sp_error_release (&one);
          failed++;
        }
      else
        total += r;
    }
  free (refs);

  sweep_temp_files (s->state_fd, fn, ctx);
  sweep_temp_files (s->defs_fd, fn, ctx);
  sweep_temp_files (s->root_fd, fn, ctx);
  for (size_t i = 0; i < SP_RES_COUNT; i++)
    {
      int r = sweep_orphans (s, &sp_resources[i], fn, ctx, err);
      if (r < 0)
        return -1;
      total += r;
    }
  {
    int r = sweep_locks (s, fn, ctx, err);
    if (r < 0 || (r = recount_totals (s, fn, ctx, err)) < 0)
      return -1;
    total += r;
  }
  if (failed > 0)
    return sp_error_make (err, EIO, "gc: %d pipeline%s could not be repaired", failed,
                          failed == 1 ? "" : "s");
  return total;
}
