#include "docker_members.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "docker_api.h"
#include "resources.h"

#define DOCKER_MEMBER_PREFIX "docker:"

const char *
sp_docker_socket (const struct sp_config *cfg)
{
  const char *s = cfg->docker_socket != NULL ? cfg->docker_socket : SP_DEFAULT_DOCKER_SOCKET;
  return s[0] != '\0' ? s : NULL;
}

static bool
is_docker_member (const struct sp_member *m)
{
  return m->pid == 0 && strncmp (m->id, DOCKER_MEMBER_PREFIX, strlen (DOCKER_MEMBER_PREFIX)) == 0;
}

/* "NAME\tMOUNTPOINT" as sp_docker_volumes lists it: dockerd knows NAME as a
   volume on this store (another store's pipeline of the same name, or
   another driver's volume, is not ours to judge). */
static bool
is_volume_here (struct sp_store *s, const struct sp_strset *vols, const char *name)
{
  char mp[PATH_MAX], key[PATH_MAX + SP_QNAME_MAX + 2];

  if (sp_store_mountpoint (s, name, mp, sizeof (mp)) < 0)
    return false;
  snprintf (key, sizeof (key), "%s\t%s", name, mp);
  return sp_strset_has (vols, key);
}

/* Under NAME's lock: drops the members in STALE (ids recorded before
   dockerd was asked, and held by none of its live containers). */
static int
drop_stale (struct sp_store *s, const char *name, const struct sp_strset *stale, sp_gc_report_fn fn,
            void *ctx, sp_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_pipeline struct sp_pipeline p = { 0 };
  struct sp_ref ref;
  int changes = 0, r;

  if (sp_ref_make (&ref, name, err) < 0)
    return -1;
  r = sp_record_lock_load (s, &ref, &lock, &p, err);
  if (r <= 0)
    return r;
  for (size_t i = 0; i < p.n_members;)
    if (is_docker_member (&p.members[i]) && sp_strset_has (stale, p.members[i].id))
      {
        char what[SP_MEMBER_ID_MAX + 96];
        snprintf (what, sizeof (what), "dropped member %s (no live container of dockerd holds it)",
                  p.members[i].id);
        if (fn != NULL)
          fn (ctx, name, what, false);
        sp_pipeline_remove_member (&p, i);
        changes++;
      }
    else
      i++;
  if (changes == 0)
    return 0;
  if (sp_pipeline_is_spent (&p))
    {
      if (sp_res_destroy (s, &ref, err) < 0)
        return -1;
      if (fn != NULL)
        fn (ctx, name, "removed (ephemeral, no members left)", false);
      return changes + 1;
    }
  return sp_record_save (s, &ref, &p, err) < 0 ? -1 : changes;
}

/* Pipelines with docker: members, and those members, as recorded now. */
struct snapshot
{
  struct sp_strset names;
  struct sp_strset ids; /* "NAME\tID" */
};

static void
snapshot_free (struct snapshot *snap)
{
  sp_strset_free (&snap->names);
  sp_strset_free (&snap->ids);
}

static int
strset_push (struct sp_strset *set, const char *s, sp_error_t *err)
{
  char **nv = realloc (set->v, (set->n + 1) * sizeof (char *));
  if (nv == NULL || (nv[set->n] = strdup (s)) == NULL)
    {
      if (nv != NULL)
        set->v = nv;
      return sp_error_sys (err, ENOMEM, "reconcile");
    }
  set->v = nv;
  set->n++;
  return 0;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
take_snapshot (struct sp_store *s, struct snapshot *snap, sp_error_t *err)
{
  char **names = NULL;
  size_t n = 0;

  if (sp_store_list (s, &names, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      cleanup_pipeline struct sp_pipeline p = { 0 };
      sp_error_t ignored = NULL;
      bool any = false;

      /* A damaged record is gc's to report. */
      if (sp_store_get (s, names[i], &p, &ignored) < 0)
        {
          sp_error_release (&ignored);
          continue;
        }
      for (size_t j = 0; j < p.n_members; j++)
        if (is_docker_member (&p.members[j]))
          {
            char key[SP_QNAME_MAX + SP_MEMBER_ID_MAX + 2];
            snprintf (key, sizeof (key), "%s\t%s", names[i], p.members[j].id);
            if (strset_push (&snap->ids, key, err) < 0)
              goto fail;
            any = true;
          }
      if (any && strset_push (&snap->names, names[i], err) < 0)
        goto fail;
    }
  sp_store_free_names (names, n);
  if (snap->ids.n > 1)
    qsort (snap->ids.v, snap->ids.n, sizeof (char *), cmp_str);
  return 0;
fail:
  sp_store_free_names (names, n);
  return -1;
}

int
sp_store_reconcile_docker (struct sp_store *s, const char *socket, sp_gc_report_fn fn, void *ctx,
                           bool *skipped, sp_error_t *err)
{
  struct snapshot snap = { 0 };
  struct sp_strset live = { 0 }, vols = { 0 };
  int total = 0, ret = -1;

  *skipped = false;
  /* First what is recorded, then what dockerd says: a Mount answered after
     the snapshot is not in it, and so never judged by an older answer. */
  if (take_snapshot (s, &snap, err) < 0)
    goto out;
  if (snap.names.n == 0)
    {
      ret = 0;
      goto out;
    }
  if (sp_docker_volumes (socket, &vols, err) < 0
      || sp_docker_live_mount_ids (socket, &live, err) < 0)
    {
      if (sp_error_status (*err) == ECONNREFUSED)
        {
          sp_error_release (err);
          *skipped = true;
          ret = 0;
        }
      goto out;
    }
  for (size_t i = 0; i < snap.names.n; i++)
    {
      const char *name = snap.names.v[i];
      struct sp_strset stale = { 0 };
      size_t nlen = strlen (name);
      int r;

      if (!is_volume_here (s, &vols, name))
        continue;
      for (size_t j = 0; j < snap.ids.n; j++)
        {
          const char *key = snap.ids.v[j];
          if (strncmp (key, name, nlen) != 0 || key[nlen] != '\t')
            continue;
          if (!sp_strset_has (&live, key + nlen + 1 + strlen (DOCKER_MEMBER_PREFIX))
              && strset_push (&stale, key + nlen + 1, err) < 0)
            {
              sp_strset_free (&stale);
              goto out;
            }
        }
      if (stale.n > 1)
        qsort (stale.v, stale.n, sizeof (char *), cmp_str);
      r = stale.n > 0 ? drop_stale (s, name, &stale, fn, ctx, err) : 0;
      sp_strset_free (&stale);
      if (r < 0)
        {
          sp_error_wrap_pipeline (err, name);
          goto out;
        }
      total += r;
    }
  ret = total;
out:
  snapshot_free (&snap);
  sp_strset_free (&live);
  sp_strset_free (&vols);
  return ret;
}
