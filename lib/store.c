/* The store: locking, records, and the pipeline lifecycle (create, join,
   leave, remove).  Opening it (store_open.c), the tmpfs (tmpfs.c), the IPC
   namespace pin (ipcns.c), the socket directory (sockdir.c), quotas
   (quota.c), resize (resize.c) and gc (gc.c) have files of their own. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fault.h"
#include "fileutil.h"
#include "macro.h"
#include "names.h"
#include "proc.h"
#include "store_impl.h"
#include "totals.h"

/* Takes NAME's lock.  A remover unlinks the lock file while holding it, so a
   waiter that got a lock on an unlinked file retries on the new one. */
int
sp_store_lock (struct sp_store *s, const char *name, sp_error_t *err)
{
  char file[SP_QNAME_MAX + sizeof (SP_LOCK_SUFFIX)];

  snprintf (file, sizeof (file), "%s" SP_LOCK_SUFFIX, SP_FNAME (name));
  for (int tries = 0; tries < 1000; tries++)
    {
      struct stat fst, pst;
      cleanup_close int fd
          = openat (s->locks_fd, file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (fd < 0)
        return sp_error_sys (err, errno, "open lock");
      while (flock (fd, LOCK_EX) < 0)
        if (errno != EINTR)
          return sp_error_sys (err, errno, "lock");
      if (fstat (fd, &fst) < 0)
        return sp_error_sys (err, errno, "lock");
      if (fstatat (s->locks_fd, file, &pst, AT_SYMLINK_NOFOLLOW) == 0 && pst.st_ino == fst.st_ino
          && pst.st_dev == fst.st_dev)
        return sp_steal_fd (&fd);
    }
  return sp_error_make (err, EDEADLK, "lock keeps being replaced");
}

void
sp_store_unlink_lock (struct sp_store *s, const char *name)
{
  char file[SP_QNAME_MAX + sizeof (SP_LOCK_SUFFIX)];

  snprintf (file, sizeof (file), "%s" SP_LOCK_SUFFIX, SP_FNAME (name));
  unlinkat (s->locks_fd, file, 0);
}

/* Called with NAME's lock held, after finding no record: a lock file that
   guards nothing (no record, tmpfs or IPC pin) goes, so that refused and
   forged names leave nothing behind.  Waiters retry on a new file. */
void
sp_store_drop_unused_lock (struct sp_store *s, const char *name)
{
  if (!sp_store_exists (s, name) && sp_tmpfs_state (s, name) == SP_TMPFS_ABSENT
      && !sp_ipcns_pinned (s, name))
    sp_store_unlink_lock (s, name);
}

static void
state_file (const char *name, char *buf, size_t len)
{
  snprintf (buf, len, "%s" SP_STATE_SUFFIX, SP_FNAME (name));
}

const char *
sp_store_fname (const char *name, char *buf)
{
  size_t i = 0;

  for (; name[i] != '\0' && i < SP_QNAME_MAX; i++)
    buf[i] = name[i] == '/' ? SP_FNAME_SEP : name[i];
  buf[i] = '\0';
  return buf;
}

int
sp_store_lock_load (struct sp_store *s, const char *name, int *lock, struct sp_pipeline *p,
                    sp_error_t *err)
{
  *lock = sp_store_lock (s, name, err);
  if (*lock < 0)
    return -1;
  return sp_store_load (s, name, p, err);
}

/* 1: loaded, 0: no record, -1: error (a damaged record is an error, not "absent"). */
int
sp_store_load (struct sp_store *s, const char *name, struct sp_pipeline *p, sp_error_t *err)
{
  char file[SP_QNAME_MAX + sizeof (SP_STATE_SUFFIX)];
  cleanup_free char *buf = NULL;
  sp_error_t read_err = NULL;
  size_t len;

  memset (p, 0, sizeof (*p));
  state_file (name, file, sizeof (file));
  if (sp_read_file_at (s->state_fd, file, O_NOFOLLOW, SP_STATE_MAX_BYTES, &buf, &len, &read_err)
      < 0)
    {
      if (read_err->status == ENOENT)
        {
          sp_error_release (&read_err);
          return 0;
        }
      *err = read_err;
      return -1;
    }
  if (sp_state_parse (buf, len, p, err) < 0)
    return sp_error_prefix (err, "damaged record %s/state/%s", s->root, file);
  if (strcmp (p->name, name) != 0)
    {
      sp_pipeline_free (p);
      return sp_error_make (err, EINVAL, "record %s/state/%s names another pipeline", s->root,
                            file);
    }
  return 1;
}

int
sp_store_save (struct sp_store *s, const struct sp_pipeline *p, sp_error_t *err)
{
  char file[SP_QNAME_MAX + sizeof (SP_STATE_SUFFIX)];
  cleanup_free char *buf = NULL;
  size_t len;

  if (sp_state_generate (p, &buf, &len, err) < 0)
    return -1;
  state_file (p->name, file, sizeof (file));
  return sp_write_file_atomic (s->state_fd, file, buf, len, 0644, err);
}

/* Drops the record first, then the tmpfs and the IPC pin: a crash in
   between leaves a tmpfs without a record, which gc removes (as it does
   for a create that died before writing its record). */
int
sp_store_destroy_locked (struct sp_store *s, const char *name, sp_error_t *err)
{
  char file[SP_QNAME_MAX + sizeof (SP_STATE_SUFFIX)];
  cleanup_totals struct sp_totals totals = SP_TOTALS_INIT;

  if (sp_totals_begin (s, name, &totals, err) < 0)
    return -1;
  state_file (name, file, sizeof (file));
  if (unlinkat (s->state_fd, file, 0) < 0 && errno != ENOENT)
    return sp_error_sys (err, errno, "remove record");
  sp_fault_point ("destroy:unrecorded");
  if (sp_tmpfs_unmount (s, name, err) < 0 || sp_ipcns_release (s, name, err) < 0
      || sp_sockdir_unmount (s, name, err) < 0)
    return -1;
  sp_store_unlink_lock (s, name);
  return 0;
}

/* The error context of every entry point: the pipeline, once. */
static int
wrap (sp_error_t *err, const char *name)
{
  if (sp_qname_valid (name, strlen (name)))
    sp_error_wrap_pipeline (err, name);
  return -1;
}

static int
create_locked (struct sp_store *s, const char *name, const struct sp_pipeline_opts *opts,
               sp_error_t *err)
{
  struct sp_pipeline p;
  sp_error_t ignored = NULL;
  cleanup_totals struct sp_totals totals = SP_TOTALS_INIT;

  if (sp_totals_begin (s, name, &totals, err) < 0
      || sp_quota_check (s, &totals, true, opts->size, err) < 0)
    return -1;
  memset (&p, 0, sizeof (p));
  strcpy (p.name, name);
  p.opts = *opts;
  p.created = (int64_t) time (NULL);
  /* A tmpfs left by a create that died before writing its record. */
  if (sp_tmpfs_unmount (s, name, err) < 0 || sp_sockdir_unmount (s, name, err) < 0)
    return -1;
  if (sp_tmpfs_mount (s, &p, err) < 0 || (opts->ipc && sp_ipcns_pin (s, name, err) < 0)
      || (opts->sockets[0] && sp_sockdir_mount (s, &p, err) < 0)
      || (sp_fault_point ("create:mounted"), sp_store_save (s, &p, err) < 0))
    {
      sp_tmpfs_unmount (s, name, &ignored);
      sp_error_release (&ignored);
      sp_ipcns_release (s, name, &ignored);
      sp_error_release (&ignored);
      sp_sockdir_unmount (s, name, &ignored);
      sp_error_release (&ignored);
      return -1;
    }
  return 0;
}

static int
check_name_and_opts (struct sp_store *s, const char *name, const struct sp_pipeline_opts *opts,
                     sp_error_t *err)
{
  if (sp_qname_check (name, err) < 0)
    return -1;
  return opts != NULL ? sp_store_check_opts (s, name, opts, err) : 0;
}

static int
store_create (struct sp_store *s, const char *name, const struct sp_pipeline_opts *opts,
              enum sp_create_mode mode, bool *created, sp_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_pipeline struct sp_pipeline p = { 0 };
  const char *diff;
  int r;

  if (created != NULL)
    *created = false;
  if (check_name_and_opts (s, name, opts, err) < 0)
    return -1;
  r = sp_store_lock_load (s, name, &lock, &p, err);
  if (r < 0)
    return -1;
  if (r == 1)
    {
      if (mode == SP_CREATE_EXCL)
        return sp_error_make (err, EEXIST, "already exists");
      diff = sp_opts_differ (&p.opts, opts);
      if (diff != NULL)
        return sp_error_make (err, EEXIST, "already exists with a different %s", diff);
      return 0;
    }
  if (create_locked (s, name, opts, err) < 0)
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
  uint64_t start = 0;
  bool made = false;
  int r;

  if (created != NULL)
    *created = false;
  if (check_name_and_opts (s, name, create_opts, err) < 0)
    return -1;
  if (!sp_member_id_valid (id))
    return sp_error_make (err, EINVAL, "invalid member id (want 1-%d of [A-Za-z0-9_.:-])",
                          SP_MEMBER_ID_MAX);
  if (pid < 0 || pid > 4194304)
    return sp_error_make (err, EINVAL, "invalid pid %lld", (long long) pid);
  lock = sp_store_lock (s, name, err);
  if (lock < 0)
    return -1;
  sp_fault_point ("join:locked");
  r = sp_store_load (s, name, &p, err);
  if (r < 0 || check_pod_access (name, pod, r == 1 ? &p : NULL, err) < 0)
    return -1;
  if (r == 0)
    {
      if (create_opts == NULL)
        {
          sp_store_drop_unused_lock (s, name);
          return sp_error_make (err, ENOENT, "does not exist");
        }
      if (create_locked (s, name, create_opts, err) < 0)
        return -1;
      made = true;
      sp_fault_point ("join:created");
      if (sp_store_load (s, name, &p, err) != 1)
        return -1;
    }
  else if (sp_tmpfs_state (s, name) != SP_TMPFS_MOUNTED)
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
          || sp_store_save (s, &p, err) < 0)
        {
          sp_error_t ignored = NULL;
          if (made)
            sp_store_destroy_locked (s, name, &ignored);
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
  ssize_t idx;
  int r;

  if (removed != NULL)
    *removed = false;
  if (sp_qname_check (name, err) < 0)
    return -1;
  r = sp_store_lock_load (s, name, &lock, &p, err);
  if (r == 0)
    sp_store_drop_unused_lock (s, name);
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
      if (sp_store_destroy_locked (s, name, err) < 0)
        return -1;
      if (removed != NULL)
        *removed = true;
      return 0;
    }
  return idx >= 0 ? sp_store_save (s, &p, err) : 0;
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
  int r;

  if (sp_qname_check (name, err) < 0)
    return -1;
  r = sp_store_lock_load (s, name, &lock, &p, err);
  if (r < 0 && !force)
    return -1;
  if (r == 0)
    {
      if (sp_tmpfs_state (s, name) == SP_TMPFS_MOUNTED && force)
        return sp_store_destroy_locked (s, name, err);
      sp_store_drop_unused_lock (s, name);
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
  return sp_store_destroy_locked (s, name, err);
}

int
sp_store_remove (struct sp_store *s, const char *name, bool force, sp_error_t *err)
{
  return store_remove (s, name, force, err) < 0 ? wrap (err, name) : 0;
}

static int
store_get (struct sp_store *s, const char *name, struct sp_pipeline *p, sp_error_t *err)
{
  int r;

  if (sp_qname_check (name, err) < 0)
    return -1;
  r = sp_store_load (s, name, p, err);
  if (r == 0)
    return sp_error_make (err, ENOENT, "does not exist");
  return r < 0 ? -1 : 0;
}

int
sp_store_get (struct sp_store *s, const char *name, struct sp_pipeline *p, sp_error_t *err)
{
  return store_get (s, name, p, err) < 0 ? wrap (err, name) : 0;
}

bool
sp_store_exists (struct sp_store *s, const char *name)
{
  char file[SP_QNAME_MAX + sizeof (SP_STATE_SUFFIX)];
  struct stat st;

  if (!sp_qname_valid (name, strlen (name)))
    return false;
  state_file (name, file, sizeof (file));
  return fstatat (s->state_fd, file, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

void
sp_store_free_names (char **names, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (names[i]);
  free (names);
}

int
sp_store_list_dir (int dirfd, const char *suffix, char ***names, size_t *n, sp_error_t *err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  char **v = NULL;
  size_t count = 0, slen = strlen (suffix);
  int fd = dup (dirfd);

  *names = NULL;
  *n = 0;
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return sp_error_sys (err, errno, "store: list");
    }
  rewinddir (d);
  while ((de = readdir (d)) != NULL)
    {
      size_t len = strlen (de->d_name);
      char name[SP_QNAME_MAX + 1], *sep;
      char **nv;
      if (len <= slen || len - slen > SP_QNAME_MAX || strcmp (de->d_name + len - slen, suffix) != 0)
        continue;
      /* Back from the file name: the one separator is a qualified name's '/'. */
      memcpy (name, de->d_name, len - slen);
      name[len - slen] = '\0';
      if ((sep = strchr (name, SP_FNAME_SEP)) != NULL)
        *sep = '/';
      if (!sp_qname_valid (name, strlen (name)))
        continue;
      nv = realloc (v, (count + 1) * sizeof (*v));
      if (nv == NULL || (nv[count] = strdup (name)) == NULL)
        {
          sp_store_free_names (nv ? nv : v, count);
          return sp_error_sys (err, ENOMEM, "store: list");
        }
      v = nv;
      count++;
    }
  if (count > 0)
    qsort (v, count, sizeof (*v), cmp_names);
  *names = v;
  *n = count;
  return 0;
}

int
sp_store_list (struct sp_store *s, char ***names, size_t *n, sp_error_t *err)
{
  return sp_store_list_dir (s->state_fd, SP_STATE_SUFFIX, names, n, err);
}

void
sp_store_gen_info (struct sp_store *s, yajl_gen g, const struct sp_pipeline *p)
{
  char mp[PATH_MAX], ipc[PATH_MAX];
  uint64_t used = 0;
  sp_error_t ignored = NULL;

  sp_store_mountpoint (s, p->name, mp, sizeof (mp));
  sp_store_ipc_path (s, p->name, ipc, sizeof (ipc));
  /* A tmpfs that vanished reads as 0 bytes used; gc repairs it. */
  sp_store_used (s, p->name, &used, &ignored);
  sp_error_release (&ignored);
  sp_pipeline_gen_info (g, p, mp, p->opts.ipc ? ipc : NULL, used);
}
