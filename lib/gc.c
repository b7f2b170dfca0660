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
#include "proc.h"
#include "store_impl.h"
#include "totals.h"

static void
report (sp_gc_report_fn fn, void *ctx, const char *name, const char *what)
{
  if (fn != NULL)
    fn (ctx, name, what, false);
}

static int
gc_one (struct sp_store *s, const char *name, sp_gc_report_fn fn, void *ctx, sp_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_pipeline struct sp_pipeline p = { 0 };
  int changes = 0, r;

  r = sp_store_lock_load (s, name, &lock, &p, err);
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
          report (fn, ctx, name, what);
          sp_pipeline_remove_member (&p, i);
          changes++;
        }
      else
        i++;
    }
  if (sp_pipeline_is_spent (&p))
    {
      if (sp_store_destroy_locked (s, name, err) < 0)
        return -1;
      report (fn, ctx, name, "removed (ephemeral, no members left)");
      return changes + 1;
    }
  r = sp_tmpfs_state (s, name);
  if (r < 0)
    return sp_error_sys (err, errno, "cannot check its mountpoint");
  if (r == SP_TMPFS_OTHER)
    return sp_error_make (err, EBUSY,
                          "something other than its tmpfs is mounted on its mountpoint");
  if (r == SP_TMPFS_ABSENT)
    {
      /* The tmpfs went away under us (reboot of a persistent root, a manual
         umount): its content is lost, the pipeline and its options are not.
         Only the tmpfs is made again: members keep their IPC namespace. */
      if (sp_tmpfs_mount (s, &p, err) < 0)
        return -1;
      report (fn, ctx, name, "remounted its missing tmpfs (content was lost)");
      changes++;
    }
  if (p.opts.ipc && !sp_ipcns_pinned (s, name))
    {
      if (sp_ipcns_pin (s, name, err) < 0)
        return -1;
      report (fn, ctx, name, "pinned a new IPC namespace in place of its missing one");
      changes++;
    }
  if (p.opts.sockets[0])
    {
      r = sp_sockdir_state (s, name);
      if (r < 0)
        return sp_error_sys (err, errno, "cannot check its socket directory");
      if (r == SP_TMPFS_OTHER)
        return sp_error_make (err, EBUSY,
                              "something other than its socket directory is mounted there");
      if (r == SP_TMPFS_ABSENT)
        {
          /* New members get a fresh one; sockets bound in the old one (the
             live members' view) are gone with it. */
          if (sp_sockdir_mount (s, &p, err) < 0)
            return -1;
          report (fn, ctx, name, "remounted its missing socket directory");
          changes++;
        }
    }
  if (changes > 0 && sp_store_save (s, &p, err) < 0)
    return -1;
  return changes;
}

/* ".NAME.tmp.PID.SEQ" of sp_write_file_atomic in DIRFD (records in state/,
   the totals in the root), when PID is gone. */
static void
sweep_temp_files (int dirfd, sp_gc_report_fn fn, void *ctx)
{
  int fd = dup (dirfd);
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

/* Mountpoints (PASS 0), IPC pins (PASS 1) and socket directories (PASS 2)
   without a record: a create that died half-way, a remove that died after
   dropping the record. */
static int
sweep_orphans (struct sp_store *s, int pass, sp_gc_report_fn fn, void *ctx, sp_error_t *err)
{
  char **names = NULL;
  size_t n = 0;
  int total = 0;

  static const char *const what[] = { "removed a tmpfs left without a record",
                                      "released an IPC namespace left without a record",
                                      "removed a socket directory left without a record" };
  int dirs[] = { s->mnt_fd, s->ipc_fd, s->sockets_fd };

  if (sp_store_list_dir (dirs[pass], "", &names, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      cleanup_close int lock = sp_store_lock (s, names[i], err);
      if (lock >= 0 && sp_store_exists (s, names[i]))
        continue;
      if (lock < 0
          || (pass == 0   ? sp_tmpfs_unmount (s, names[i], err)
              : pass == 1 ? sp_ipcns_release (s, names[i], err)
                          : sp_sockdir_unmount (s, names[i], err))
                 < 0)
        {
          sp_error_wrap_pipeline (err, names[i]);
          break;
        }
      report (fn, ctx, names[i], what[pass]);
      sp_store_unlink_lock (s, names[i]);
      total++;
    }
  sp_store_free_names (names, n);
  return *err != NULL ? -1 : total;
}

/* Lock files that guard nothing: left by names that were refused, or by an
   earlier release.  Each is taken first, so a create that holds it or waits
   for it is never raced: a waiter that wakes on an unlinked file retries on
   a new one (sp_store_lock). */
static int
sweep_locks (struct sp_store *s, sp_gc_report_fn fn, void *ctx, sp_error_t *err)
{
  char **names = NULL;
  size_t n = 0;
  int total = 0;

  if (sp_store_list_dir (s->locks_fd, SP_LOCK_SUFFIX, &names, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      struct stat st;
      char file[SP_NAME_MAX + sizeof (SP_LOCK_SUFFIX)];
      cleanup_close int lock = -1;

      if (sp_store_exists (s, names[i]))
        continue;
      lock = sp_store_lock (s, names[i], err);
      if (lock < 0)
        {
          sp_error_wrap_pipeline (err, names[i]);
          break;
        }
      sp_store_drop_unused_lock (s, names[i]);
      snprintf (file, sizeof (file), "%s" SP_LOCK_SUFFIX, names[i]);
      if (fstatat (s->locks_fd, file, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
        {
          report (fn, ctx, names[i], "removed a lock file of no pipeline");
          total++;
        }
    }
  sp_store_free_names (names, n);
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
            fn (ctx, names[i], one->msg, true);
          sp_error_release (&one);
          failed++;
        }
      else
        total += r;
    }
  sp_store_free_names (names, n);

  sweep_temp_files (s->state_fd, fn, ctx);
  sweep_temp_files (s->root_fd, fn, ctx);
  for (int pass = 0; pass < 3; pass++)
    {
      int r = sweep_orphans (s, pass, fn, ctx, err);
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
