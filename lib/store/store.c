/* The store's pipeline lifecycle: create, join, leave, remove.  Records
   and locks are records.c's, the resources of a pipeline resources.c's,
   quotas quota.c's; reading the store is store_view.c's, opening it
   store_open.c's, resize resize.c's and gc gc.c's. */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "definitions.h"
#include "fault.h"
#include "proc.h"
#include "quota.h"
#include "resources.h"
#include "totals.h"

/* The error context of every entry point: the pipeline, once. */
static int
wrap (sp_error_t *err, const char *name)
{
  if (sp_qname_valid (name, strlen (name)))
    sp_error_wrap_pipeline (err, name);
  return -1;
}

/* The entry: REF from NAME, and the options checked against the config. */
static int
enter (struct sp_store *s, const char *name, const struct sp_pipeline_opts *opts,
       struct sp_ref *ref, sp_error_t *err)
{
  if (sp_ref_make (ref, name, err) < 0)
    return -1;
  return opts != NULL ? sp_store_check_opts (s, name, opts, err) : 0;
}

/* Resources first, then the record, then (persistent) the definition: a
   crash in between leaves resources without a record, which gc releases,
   or a record without a definition, which gc writes. */
int
sp_store_create_locked (struct sp_store *s, const struct sp_ref *ref,
                        const struct sp_pipeline_opts *opts, int64_t created, sp_error_t *err)
{
  struct sp_pipeline p;
  cleanup_totals struct sp_totals totals = SP_TOTALS_INIT;

  if (sp_totals_begin (s, ref, &totals, err) < 0
      || sp_quota_check (s, &totals, true, sp_quota_footprint (opts), err) < 0)
    return -1;
  memset (&p, 0, sizeof (p));
  strcpy (p.name, ref->name);
  p.opts = *opts;
  p.created = created != 0 ? created : (int64_t) time (NULL);
  if (sp_res_make_all (s, ref, &p, err) < 0)
    return -1;
  sp_fault_point ("create:mounted");
  if (sp_record_save (s, ref, &p, err) < 0 || sp_def_sync (s, ref, &p, err) < 0)
    {
      sp_error_t ignored = NULL;
      sp_record_remove (s, ref, &ignored);
      sp_error_release (&ignored);
      sp_res_release_all (s, ref, &ignored);
      sp_error_release (&ignored);
      return -1;
    }
  return 0;
}

static int
store_create (struct sp_store *s, const char *name, const struct sp_pipeline_opts *opts,
              enum sp_create_mode mode, bool *created, sp_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_pipeline struct sp_pipeline p = { 0 };
  struct sp_ref ref;
  const char *diff;
  int r;

  if (created != NULL)
    *created = false;
  if (enter (s, name, opts, &ref, err) < 0)
    return -1;
  r = sp_record_lock_load (s, &ref, &lock, &p, err);
  if (r < 0)
    return -1;
  if (r == 1)
    {
      if (mode == SP_CREATE_EXCL)
        return sp_error_make (err, EEXIST, "already exists");
      if (sp_pipeline_is_newer (&p))
        return sp_pipeline_refuse_newer (&p, err);
      diff = sp_opts_differ (&p.opts, opts);
      if (diff != NULL)
        return sp_error_make (err, EEXIST, "already exists with a different %s", diff);
      return 0;
    }
  if (sp_def_check_undefined (s, &ref, err) < 0
      || sp_store_create_locked (s, &ref, opts, 0, err) < 0)
    return -1;
  if (created != NULL)
    *created = true;
  return 0;
}

int
sp_store_create (struct sp_store *s, const char *name, const struct sp_pipeline_opts *opts,
                 enum sp_create_mode mode, bool *created, sp_error_t *err)
{
  return store_create (s, name, opts, mode, created, err) < 0 ? wrap (err, name) : 0;
}

/* Whether a pod of POD->ns may join NAME, whose record is P (NULL: none). */
static int
check_pod_access (const char *name, const struct sp_pod_ref *pod, const struct sp_pipeline *p,
                  sp_error_t *err)
{
  const char *slash = strchr (name, '/');
  size_t nslen = slash != NULL ? (size_t) (slash - name) : 0;

  if (pod == NULL || slash == NULL
      || (strlen (pod->ns) == nslen && strncmp (name, pod->ns, nslen) == 0))
    return 0;
  if (p == NULL)
    return sp_error_make (err, EACCES,
                          "does not exist, and a pod of namespace %s may not create a pipeline of "
                          "namespace %.*s",
                          pod->ns, (int) nslen, name);
  if (!sp_opts_allows_namespace (&p->opts, pod->ns))
    return sp_error_make (err, EACCES,
                          "refused for a pod of namespace %s: it belongs to namespace %.*s, and "
                          "its allow-namespaces does not list %s",
                          pod->ns, (int) nslen, name, pod->ns);
  return 0;
}

static int
store_join (struct sp_store *s, const char *name, const char *id, int64_t pid,
            const struct sp_pod_ref *pod, const struct sp_pipeline_opts *create_opts, bool *created,
            sp_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_pipeline struct sp_pipeline p = { 0 };
  struct sp_ref ref;
  uint64_t start = 0;
  bool made = false;
  int r;

  if (created != NULL)
    *created = false;
  if (enter (s, name, create_opts, &ref, err) < 0)
    return -1;
  if (!sp_member_id_valid (id))
    return sp_error_make (err, EINVAL, "invalid member id (want 1-%d of [A-Za-z0-9_.:-])",
                          SP_MEMBER_ID_MAX);
  if (pid < 0 || pid > 4194304)
    return sp_error_make (err, EINVAL, "invalid pid %lld", (long long) pid);
  lock = sp_lock_take (s, &ref, err);
  if (lock < 0)
    return -1;
  sp_fault_point ("join:locked");
  r = sp_record_load (s, &ref, &p, err);
  if (r < 0 || check_pod_access (name, pod, r == 1 ? &p : NULL, err) < 0)
    return -1;
  if (r == 0)
    {
      if (create_opts == NULL)
        {
          sp_res_drop_unused_lock (s, &ref);
          return sp_def_missing (s, &ref, err);
        }
      /* Never a looser pipeline in place of a defined one not yet restored. */
      if (sp_def_check_undefined (s, &ref, err) < 0
          || sp_store_create_locked (s, &ref, create_opts, 0, err) < 0)
        return -1;
      made = true;
      sp_fault_point ("join:created");
      if (sp_record_load (s, &ref, &p, err) != 1)
        return -1;
    }
  else if (sp_pipeline_is_newer (&p))
    return sp_pipeline_refuse_newer (&p, err);
  else if (sp_tmpfs_state (s->mnt_fd, ref.file) != SP_TMPFS_MOUNTED)
    return sp_error_make (err, ENOENT, "its tmpfs is not mounted (run `shmpipectl gc` to repair)");
  if (sp_pipeline_find_member (&p, id) < 0)
    {
      if (pid > 0 && sp_proc_start_time ((pid_t) pid, &start) < 0)
        start = 0;
      if (sp_pipeline_add_member (&p, id, pid, start, (int64_t) time (NULL), err) < 0
          || (pod != NULL
              && sp_member_set_pod (&p.members[p.n_members - 1], pod->ns, pod->pod, pod->container,
                                    err)
                     < 0)
          || sp_record_save (s, &ref, &p, err) < 0)
        {
          sp_error_t ignored = NULL;
          if (made)
            sp_res_destroy (s, &ref, &ignored);
          sp_error_release (&ignored);
          return -1;
        }
      sp_fault_point ("join:recorded");
    }
  if (created != NULL)
    *created = made;
  return 0;
}

int
sp_store_join (struct sp_store *s, const char *name, const char *id, int64_t pid,
               const struct sp_pipeline_opts *create_opts, bool *created, sp_error_t *err)
{
  return store_join (s, name, id, pid, NULL, create_opts, created, err) < 0 ? wrap (err, name) : 0;
}

int
sp_store_join_pod (struct sp_store *s, const char *name, const char *id, int64_t pid,
                   const struct sp_pod_ref *pod, const struct sp_pipeline_opts *create_opts,
                   bool *created, sp_error_t *err)
{
  return store_join (s, name, id, pid, pod, create_opts, created, err) < 0 ? wrap (err, name) : 0;
}

static int
store_leave (struct sp_store *s, const char *name, const char *id, bool *removed, sp_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_pipeline struct sp_pipeline p = { 0 };
  struct sp_ref ref;
  ssize_t idx;
  int r;

  if (removed != NULL)
    *removed = false;
  if (sp_ref_make (&ref, name, err) < 0)
    return -1;
  r = sp_record_lock_load (s, &ref, &lock, &p, err);
  if (r == 0)
    sp_res_drop_unused_lock (s, &ref);
  if (r <= 0)
    return r;
  idx = sp_pipeline_find_member (&p, id);
  if (idx >= 0)
    sp_pipeline_remove_member (&p, (size_t) idx);
  /* Also when ID was no member: a join that created the pipeline and died
     before recording ID still has its poststop remove it, as gc would. */
  if (sp_pipeline_is_spent (&p))
    {
      sp_fault_point ("leave:destroying");
      if (sp_res_destroy (s, &ref, err) < 0)
        return -1;
      if (removed != NULL)
        *removed = true;
      return 0;
    }
  return idx >= 0 ? sp_record_save (s, &ref, &p, err) : 0;
}

int
sp_store_leave (struct sp_store *s, const char *name, const char *id, bool *removed,
                sp_error_t *err)
{
  return store_leave (s, name, id, removed, err) < 0 ? wrap (err, name) : 0;
}

static int
store_remove (struct sp_store *s, const char *name, bool force, sp_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_pipeline struct sp_pipeline p = { 0 };
  struct sp_ref ref;
  int r;

  if (sp_ref_make (&ref, name, err) < 0)
    return -1;
  r = sp_record_lock_load (s, &ref, &lock, &p, err);
  if (r < 0 && (!force || lock < 0))
    return -1;
  if (r == 0)
    {
      if (force && sp_res_any (s, &ref))
        return sp_res_destroy (s, &ref, err);
      /* Defined, not restored yet: removing it is dropping its definition. */
      if (sp_def_exists (s, &ref))
        {
          r = sp_def_remove (s, &ref, err);
          sp_res_drop_unused_lock (s, &ref);
          return r;
        }
      sp_res_drop_unused_lock (s, &ref);
      return sp_error_make (err, ENOENT, "does not exist");
    }
  if (r > 0 && p.n_members > 0 && !force)
    {
      char list[1024];
      sp_pipeline_format_members (&p, list, sizeof (list));
      return sp_error_make (err, EBUSY, "in use by %zu member%s (%s); use --force to detach it",
                            p.n_members, p.n_members == 1 ? "" : "s", list);
    }
  if (r < 0)
    sp_error_release (err); /* forced removal of a damaged record */
  return sp_res_destroy (s, &ref, err);
}

int
sp_store_remove (struct sp_store *s, const char *name, bool force, sp_error_t *err)
{
  return store_remove (s, name, force, err) < 0 ? wrap (err, name) : 0;
}
