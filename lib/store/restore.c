/* shmpipectl restore: the defined pipelines made again after a reboot, and
   the definitions an older release never wrote.  Above both the store's
   entry points (store.c) and the definitions (definitions.c): it makes
   pipelines as a create does, from what the definitions say. */
#include "restore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "definitions.h"
#include "fault.h"
#include "fileutil.h"
#include "tmpfs.h"

static void
report (sp_gc_report_fn fn, void *ctx, const char *name, const char *what, bool failed)
{
  if (fn != NULL)
    fn (ctx, name, what, failed);
}

/* NAME is defined: made again unless it has a record. */
static int
restore_one (struct sp_store *s, const struct sp_ref *ref, sp_gc_report_fn fn, void *ctx,
             sp_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_pipeline struct sp_pipeline rec = { 0 };
  cleanup_pipeline struct sp_pipeline def = { 0 };
  int r;

  r = sp_record_lock_load (s, ref, &lock, &rec, err);
  if (r != 0)
    return r < 0 ? -1 : 0; /* live: the record pass keeps its definition */
  r = sp_def_load (s, ref, &def, err);
  if (r <= 0)
    return r;
  if (!sp_def_pending (s, ref))
    {
      if (sp_def_remove (s, ref, err) < 0)
        return -1;
      report (fn, ctx, ref->name,
              "removed its definition: the pipeline was removed (by an older release, or by "
              "a remove that was interrupted)",
              false);
      return 1;
    }
  if (sp_pipeline_is_newer (&def))
    return sp_error_make (err, ENOTSUP,
                          "not restored: its definition was written by a newer release "
                          "(format %u); restore it with that release",
                          def.format);
  if (sp_store_create_locked (s, ref, &def.opts, def.created, err) < 0)
    return sp_error_prefix (err, "not restored");
  report (fn, ctx, ref->name,
          "restored from its definition (empty: content does not survive a reboot)", false);
  return 1;
}

/* NAME has a record: its definition follows it. */
static int
sync_one (struct sp_store *s, const struct sp_ref *ref, sp_gc_report_fn fn, void *ctx,
          sp_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_pipeline struct sp_pipeline rec = { 0 };
  bool had;
  int r;

  r = sp_record_lock_load (s, ref, &lock, &rec, err);
  if (r <= 0 || sp_pipeline_is_newer (&rec))
    return r < 0 ? -1 : 0;
  had = sp_def_exists (s, ref);
  if (rec.opts.lifetime == SP_LIFETIME_PERSISTENT && had)
    return sp_def_sync (s, ref, &rec, err) < 0 ? -1 : 0;
  if (rec.opts.lifetime != SP_LIFETIME_PERSISTENT && !had)
    return 0;
  if (sp_def_sync (s, ref, &rec, err) < 0)
    return -1;
  report (fn, ctx, ref->name,
          had ? "removed the definition of an ephemeral pipeline"
              : "wrote its definition (it will be made again after a reboot)",
          false);
  return 1;
}

/* Appends NAME to the failures of this restore (FAILED_NAMES, *LEN). */
static void
note_failure (char **failed_names, size_t *len, const char *name)
{
  size_t n = strlen (name);
  char *p = realloc (*failed_names, *len + n + 2);

  if (p == NULL)
    return; /* then it is retried as pending, which is no worse */
  memcpy (p + *len, name, n);
  p[*len + n] = '\n';
  p[*len + n + 1] = '\0';
  *failed_names = p;
  *len += n + 1;
}

int
sp_store_restore (struct sp_store *s, sp_gc_report_fn fn, void *ctx, sp_error_t *err)
{
  cleanup_free char *failed_names = NULL;
  size_t failed_len = 0;
  int total = 0, failed = 0;

  for (int pass = 0; pass < 2; pass++)
    {
      struct sp_ref *refs = NULL;
      size_t n = 0;

      if (pass == 0 && s->defs_fd < 0)
        continue;
      if (sp_list_dir (pass == 0 ? s->defs_fd : s->state_fd, SP_STATE_SUFFIX, &refs, &n, err) < 0)
        return -1;
      /* One pipeline that cannot be restored does not stop the others. */
      for (size_t i = 0; i < n; i++)
        {
          sp_error_t one = NULL;
          int r = pass == 0 ? restore_one (s, &refs[i], fn, ctx, &one)
                            : sync_one (s, &refs[i], fn, ctx, &one);
          if (r < 0)
            {
              report (fn, ctx, refs[i].name, one->msg, true);
              sp_error_release (&one);
              if (pass == 0)
                note_failure (&failed_names, &failed_len, refs[i].name);
              failed++;
            }
          else
            total += r;
        }
      free (refs);
    }
  if (sp_write_file_atomic (s->root_fd, SP_RESTORED_FILE, failed_names ? failed_names : "",
                            failed_len, 0644, err)
      < 0)
    return sp_error_prefix (err, "restore");
  if (failed > 0)
    return sp_error_make (err, EIO, "restore: %d pipeline%s could not be restored", failed,
                          failed == 1 ? "" : "s");
  return total;
}
