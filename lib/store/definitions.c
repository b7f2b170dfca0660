/* Persistent pipelines' definitions on disk, and restoring them at boot. */
#include "definitions.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fault.h"
#include "fileutil.h"
#include "tmpfs.h"

/* REF's file in the definitions directory: FILE.json, as its record's. */
#define DEF_FILE(ref) def_file ((ref), (char[SP_QNAME_MAX + sizeof (SP_STATE_SUFFIX)]){ 0 })

static const char *
def_file (const struct sp_ref *ref, char *buf)
{
  snprintf (buf, SP_QNAME_MAX + sizeof (SP_STATE_SUFFIX), "%s" SP_STATE_SUFFIX, ref->file);
  return buf;
}

int
sp_definitions_path (const char *root, char *buf, size_t len, sp_error_t *err)
{
  const char *env = getenv (SP_DEFINITIONS_ENV);
  int n;

  if (env != NULL && *env != '\0')
    {
      if (env[0] != '/')
        return sp_error_make (err, EINVAL, "%s: must be an absolute path", SP_DEFINITIONS_ENV);
      n = snprintf (buf, len, "%s", env);
    }
  else if (strcmp (root, SP_DEFAULT_ROOT) == 0)
    n = snprintf (buf, len, "%s", SP_DEFAULT_DEFINITIONS);
  else
    n = snprintf (buf, len, "%s/definitions", root);
  if (n < 0 || (size_t) n >= len)
    return sp_error_make (err, ENAMETOOLONG, "definitions directory: path too long");
  return 0;
}

int
sp_defs_open (struct sp_store *s, sp_error_t *err)
{
  char path[PATH_MAX];

  if (sp_definitions_path (s->root, path, sizeof (path), err) < 0)
    return -1;
  s->defs = strdup (path);
  if (s->defs == NULL)
    return sp_error_sys (err, ENOMEM, "definitions %s", path);
  /* What it holds is made again as root at boot. */
  s->defs_fd = sp_open_private_dir (path, 0755, "definitions", err);
  if (s->defs_fd >= 0)
    return 0;
  /* A read-only /var (a metrics container, a live image) holds no
     definitions: reading the store goes on, and keeping a persistent
     pipeline fails with this.  One that is not root's is a trap: refused. */
  switch (sp_error_status (*err))
    {
    case EROFS:
    case EACCES:
    case ENOENT:
      s->defs_error = strdup ((*err)->msg);
      sp_error_release (err);
      return s->defs_error != NULL ? 0 : sp_error_sys (err, ENOMEM, "definitions %s", path);
    default:
      return -1;
    }
}

bool
sp_def_exists (struct sp_store *s, const struct sp_ref *ref)
{
  struct stat st;

  return fstatat (s->defs_fd, DEF_FILE (ref), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int
sp_def_load (struct sp_store *s, const struct sp_ref *ref, struct sp_pipeline *p, sp_error_t *err)
{
  if (s->defs_fd < 0)
    return 0;
  return sp_record_read (s->defs_fd, s->defs, DEF_FILE (ref), "definition", ref, p, err);
}

/* DATA to FILE by temp file, fsync and rename, then the directory's fsync:
   unlike the store's records, a definition must outlive a power cut. */
static int
write_durable (struct sp_store *s, const char *file, const char *data, size_t len, sp_error_t *err)
{
  char tmp[SP_QNAME_MAX + 64];
  cleanup_close int fd = -1;
  size_t off = 0;

  /* The shape gc sweeps when PID is gone (".FILE.tmp.PID.SEQ"). */
  snprintf (tmp, sizeof (tmp), ".%s.tmp.%d.0", file, (int) getpid ());
  fd = openat (s->defs_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return sp_error_sys (err, errno, "definition %s/%s", s->defs, file);
  while (off < len)
    {
      ssize_t w = write (fd, data + off, len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        goto fail;
      off += (size_t) w;
    }
  if (fsync (fd) < 0)
    goto fail;
  sp_fault_point ("definition:written");
  if (renameat (s->defs_fd, tmp, s->defs_fd, file) < 0)
    goto fail;
  fsync (s->defs_fd);
  return 0;

fail:
  {
    int saved = errno;
    unlinkat (s->defs_fd, tmp, 0);
    return sp_error_sys (err, saved, "definition %s/%s", s->defs, file);
  }
}

static int
def_write (struct sp_store *s, const struct sp_ref *ref, const struct sp_pipeline *p,
           sp_error_t *err)
{
  struct sp_pipeline def = *p;
  cleanup_free char *buf = NULL;
  size_t len;

  if (s->defs_fd < 0)
    return sp_error_make (err, EROFS, "cannot keep its definition: %s", s->defs_error);
  /* Members are of this boot only. */
  def.members = NULL;
  def.n_members = 0;
  if (sp_state_generate (&def, &buf, &len, err) < 0)
    return -1;
  return write_durable (s, DEF_FILE (ref), buf, len, err);
}

int
sp_def_remove (struct sp_store *s, const struct sp_ref *ref, sp_error_t *err)
{
  if (s->defs_fd < 0)
    return 0; /* nothing can have been kept there */
  if (unlinkat (s->defs_fd, DEF_FILE (ref), 0) < 0 && errno != ENOENT)
    return sp_error_sys (err, errno, "remove definition %s/%s", s->defs, DEF_FILE (ref));
  fsync (s->defs_fd);
  return 0;
}

int
sp_def_sync (struct sp_store *s, const struct sp_ref *ref, const struct sp_pipeline *p,
             sp_error_t *err)
{
  cleanup_pipeline struct sp_pipeline def = { 0 };
  sp_error_t ignored = NULL;
  int r;

  if (p->opts.lifetime != SP_LIFETIME_PERSISTENT)
    return sp_def_exists (s, ref) ? sp_def_remove (s, ref, err) : 0;
  r = sp_def_load (s, ref, &def, &ignored);
  sp_error_release (&ignored);
  /* A damaged one is replaced by what the record says. */
  if (r == 1 && def.format == p->format && def.created == p->created
      && sp_opts_differ (&def.opts, &p->opts) == NULL)
    return 0;
  return def_write (s, ref, p, err);
}

/* ROOT/restored, in the store's memory part: written by each restore, it
   says that one ran since boot, and names the pipelines it could not make
   (one a line). */

enum restored
{
  NOT_SINCE_BOOT, /* no restore since boot: definitions are pending */
  RESTORED,       /* NAME's definition was made (or had a record) */
  FAILED,         /* the last restore could not make NAME */
};

static enum restored
restored_state (struct sp_store *s, const struct sp_ref *ref)
{
  cleanup_free char *buf = NULL;
  sp_error_t ignored = NULL;
  size_t len, n = strlen (ref->name);

  if (sp_read_file_at (s->root_fd, SP_RESTORED_FILE, O_NOFOLLOW, SP_STATE_MAX_BYTES, &buf, &len,
                       &ignored)
      < 0)
    {
      sp_error_release (&ignored);
      return NOT_SINCE_BOOT;
    }
  for (const char *l = buf; *l; l += strcspn (l, "\n"), l += *l == '\n')
    if (strcspn (l, "\n") == n && strncmp (l, ref->name, n) == 0)
      return FAILED;
  return RESTORED;
}

/* Whether NAME's definition (there is one, no record) waits for a restore.
   Else the pipeline was made this boot and then removed by something that
   left the definition: an older release's rm (after a restore), or a
   remove interrupted between the record and the definition (its tmpfs is
   still mounted, which no reboot leaves). */
static bool
def_pending (struct sp_store *s, const struct sp_ref *ref)
{
  return restored_state (s, ref) != RESTORED
         && sp_tmpfs_state (s->mnt_fd, ref->file) != SP_TMPFS_MOUNTED;
}

bool
sp_def_pending (struct sp_store *s, const struct sp_ref *ref)
{
  return sp_def_exists (s, ref) && def_pending (s, ref);
}

int
sp_def_missing (struct sp_store *s, const struct sp_ref *ref, sp_error_t *err)
{
  if (!sp_def_pending (s, ref))
    return sp_error_make (err, ENOENT, "does not exist");
  if (restored_state (s, ref) == FAILED)
    return sp_error_make (err, EAGAIN,
                          "is defined (%s/%s) but the last restore could not make it: run "
                          "`shmpipectl restore` to see why",
                          s->defs, DEF_FILE (ref));
  return sp_error_make (err, EAGAIN,
                        "is defined (%s/%s) but was not made again since the host started: "
                        "run `shmpipectl restore`",
                        s->defs, DEF_FILE (ref));
}

int
sp_def_check_undefined (struct sp_store *s, const struct sp_ref *ref, sp_error_t *err)
{
  return sp_def_pending (s, ref) ? sp_def_missing (s, ref, err) : 0;
}

int
sp_store_list_unrestored (struct sp_store *s, char ***names, size_t *n, sp_error_t *err)
{
  struct sp_ref *refs = NULL;
  size_t count = 0, kept = 0;
  char **v;

  *names = NULL;
  *n = 0;
  if (s->defs_fd >= 0 && sp_list_dir (s->defs_fd, SP_STATE_SUFFIX, &refs, &count, err) < 0)
    return -1;
  v = calloc (count + 1, sizeof (*v));
  if (v == NULL)
    {
      free (refs);
      return sp_error_sys (err, ENOMEM, "definitions");
    }
  for (size_t i = 0; i < count; i++)
    if (!sp_record_exists (s, &refs[i]) && sp_def_pending (s, &refs[i])
        && (v[kept] = strdup (refs[i].name)) != NULL)
      kept++;
  free (refs);
  *names = v;
  *n = kept;
  return 0;
}

int
sp_store_get_definition (struct sp_store *s, const char *name, struct sp_pipeline *p,
                         sp_error_t *err)
{
  struct sp_ref ref;
  int r;

  if (sp_ref_make (&ref, name, err) < 0)
    return -1;
  r = sp_def_load (s, &ref, p, err);
  if (r == 0)
    return sp_error_make (err, ENOENT, "pipeline %s: no definition", name);
  return r < 0 ? -1 : 0;
}

int
sp_store_check_undefined (struct sp_store *s, const char *name, sp_error_t *err)
{
  struct sp_ref ref;

  if (sp_ref_make (&ref, name, err) < 0 || sp_def_check_undefined (s, &ref, err) < 0)
    return sp_error_wrap_pipeline (err, name);
  return 0;
}
