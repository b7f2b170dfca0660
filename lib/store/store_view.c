/* Reading the store: records, listings, usage, host paths and clones of a
   pipeline's mounts.  None of these change anything, so none takes a lock:
   records are replaced atomically. */
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "resources.h"

static int
store_get (struct sp_store *s, const char *name, struct sp_pipeline *p, sp_error_t *err)
{
  struct sp_ref ref;
  int r;

  if (sp_ref_make (&ref, name, err) < 0)
    return -1;
  r = sp_record_load (s, &ref, p, err);
  if (r == 0)
    return sp_error_make (err, ENOENT, "does not exist");
  return r < 0 ? -1 : 0;
}

int
sp_store_get (struct sp_store *s, const char *name, struct sp_pipeline *p, sp_error_t *err)
{
  if (store_get (s, name, p, err) < 0)
    {
      if (sp_qname_valid (name, strlen (name)))
        sp_error_wrap_pipeline (err, name);
      return -1;
    }
  return 0;
}

bool
sp_store_exists (struct sp_store *s, const char *name)
{
  struct sp_ref ref;
  sp_error_t ignored = NULL;

  if (sp_ref_make (&ref, name, &ignored) < 0)
    {
      sp_error_release (&ignored);
      return false;
    }
  return sp_record_exists (s, &ref);
}

void
sp_store_free_names (char **names, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (names[i]);
  free (names);
}

int
sp_store_list (struct sp_store *s, char ***names, size_t *n, sp_error_t *err)
{
  struct sp_ref *refs = NULL;
  size_t count = 0;
  char **v;

  *names = NULL;
  *n = 0;
  if (sp_list_dir (s->state_fd, SP_STATE_SUFFIX, &refs, &count, err) < 0)
    return -1;
  v = calloc (count > 0 ? count : 1, sizeof (*v));
  for (size_t i = 0; v != NULL && i < count; i++)
    if ((v[i] = strdup (refs[i].name)) == NULL)
      {
        sp_store_free_names (v, i);
        v = NULL;
      }
  free (refs);
  if (v == NULL)
    return sp_error_sys (err, ENOMEM, "store: list");
  *names = v;
  *n = count;
  return 0;
}

int
sp_store_usage (struct sp_store *s, const char *name, struct sp_tmpfs_usage *u, sp_error_t *err)
{
  struct sp_ref ref;

  memset (u, 0, sizeof (*u));
  if (sp_ref_make (&ref, name, err) < 0)
    return -1;
  if (sp_tmpfs_usage (s->mnt_fd, ref.file, u, err) < 0)
    return sp_error_wrap_pipeline (err, name);
  return 0;
}

static int
res_path (const struct sp_store *s, int res, const char *name, char *buf, size_t len)
{
  struct sp_ref ref;
  sp_error_t ignored = NULL;

  if (sp_ref_make (&ref, name, &ignored) < 0)
    {
      sp_error_release (&ignored);
      return -1;
    }
  return sp_res_path (s, &sp_resources[res], &ref, buf, len);
}

int
sp_store_mountpoint (const struct sp_store *s, const char *name, char *buf, size_t len)
{
  return res_path (s, SP_RES_TMPFS, name, buf, len);
}

int
sp_store_ipc_path (const struct sp_store *s, const char *name, char *buf, size_t len)
{
  return res_path (s, SP_RES_IPC, name, buf, len);
}

int
sp_store_sockets_path (const struct sp_store *s, const char *name, char *buf, size_t len)
{
  return res_path (s, SP_RES_SOCKETS, name, buf, len);
}

static int
clone_res (struct sp_store *s, int res, const char *name, sp_error_t *err)
{
  const struct sp_resource *r = &sp_resources[res];
  struct sp_ref ref;
  int fd;

  if (sp_ref_make (&ref, name, err) < 0)
    return -1;
  fd = sp_tmpfs_clone (sp_res_dirfd (s, r), ref.file, err);
  if (fd >= 0)
    return fd;
  if (sp_error_status (*err) == ENOENT)
    {
      sp_error_release (err);
      sp_error_make (err, ENOENT, "its %s is not mounted (run `shmpipectl gc` to repair)", r->what);
    }
  else if (res != SP_RES_TMPFS)
    sp_error_prefix (err, "%s", r->what);
  return sp_error_wrap_pipeline (err, name);
}

int
sp_store_clone_mount (struct sp_store *s, const char *name, sp_error_t *err)
{
  return clone_res (s, SP_RES_TMPFS, name, err);
}

int
sp_store_clone_sockets (struct sp_store *s, const char *name, sp_error_t *err)
{
  return clone_res (s, SP_RES_SOCKETS, name, err);
}

void
sp_store_gen_info (struct sp_store *s, yajl_gen g, const struct sp_pipeline *p)
{
  char mp[PATH_MAX], ipc[PATH_MAX];
  struct sp_tmpfs_usage u;
  sp_error_t ignored = NULL;

  sp_store_mountpoint (s, p->name, mp, sizeof (mp));
  sp_store_ipc_path (s, p->name, ipc, sizeof (ipc));
  /* A tmpfs that vanished reads as 0 bytes used; gc repairs it. */
  sp_store_usage (s, p->name, &u, &ignored);
  sp_error_release (&ignored);
  sp_pipeline_gen_info (g, p, mp, p->opts.ipc ? ipc : NULL, u.used);
}
