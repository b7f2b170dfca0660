/* The store's low unit: references, locks, records and listings. */
#include "records.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileutil.h"

int
sp_ref_make (struct sp_ref *ref, const char *name, sp_error_t *err)
{
  size_t i = 0;

  if (sp_qname_check (name, err) < 0)
    return -1;
  for (; name[i] != '\0'; i++)
    ref->file[i] = name[i] == '/' ? SP_FNAME_SEP : name[i];
  ref->file[i] = '\0';
  memcpy (ref->name, name, i + 1);
  return 0;
}

bool
sp_ref_from_file (struct sp_ref *ref, const char *file, size_t len)
{
  char *sep;

  if (len == 0 || len > SP_QNAME_MAX || memchr (file, '/', len) != NULL)
    return false;
  memcpy (ref->file, file, len);
  ref->file[len] = '\0';
  memcpy (ref->name, ref->file, len + 1);
  /* Back from the file name: the one separator is a qualified name's '/'. */
  if ((sep = strchr (ref->name, SP_FNAME_SEP)) != NULL)
    *sep = '/';
  return sp_qname_valid (ref->name, len);
}

static void
lock_file (const struct sp_ref *ref, char *buf, size_t len)
{
  snprintf (buf, len, "%s" SP_LOCK_SUFFIX, ref->file);
}

static void
state_file (const struct sp_ref *ref, char *buf, size_t len)
{
  snprintf (buf, len, "%s" SP_STATE_SUFFIX, ref->file);
}

int
sp_lock_take (struct sp_store *s, const struct sp_ref *ref, sp_error_t *err)
{
  char file[SP_QNAME_MAX + sizeof (SP_LOCK_SUFFIX)];

  lock_file (ref, file, sizeof (file));
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
sp_lock_unlink (struct sp_store *s, const struct sp_ref *ref)
{
  char file[SP_QNAME_MAX + sizeof (SP_LOCK_SUFFIX)];

  lock_file (ref, file, sizeof (file));
  unlinkat (s->locks_fd, file, 0);
}

bool
sp_lock_exists (struct sp_store *s, const struct sp_ref *ref)
{
  char file[SP_QNAME_MAX + sizeof (SP_LOCK_SUFFIX)];
  struct stat st;

  lock_file (ref, file, sizeof (file));
  return fstatat (s->locks_fd, file, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int
sp_record_load (struct sp_store *s, const struct sp_ref *ref, struct sp_pipeline *p,
                sp_error_t *err)
{
  char file[SP_QNAME_MAX + sizeof (SP_STATE_SUFFIX)];
  cleanup_free char *buf = NULL;
  sp_error_t read_err = NULL;
  size_t len;

  memset (p, 0, sizeof (*p));
  state_file (ref, file, sizeof (file));
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
  if (strcmp (p->name, ref->name) != 0)
    {
      sp_pipeline_free (p);
      return sp_error_make (err, EINVAL, "record %s/state/%s names another pipeline", s->root,
                            file);
    }
  return 1;
}

int
sp_record_lock_load (struct sp_store *s, const struct sp_ref *ref, int *lock, struct sp_pipeline *p,
                     sp_error_t *err)
{
  *lock = sp_lock_take (s, ref, err);
  if (*lock < 0)
    return -1;
  return sp_record_load (s, ref, p, err);
}

int
sp_record_save (struct sp_store *s, const struct sp_ref *ref, const struct sp_pipeline *p,
                sp_error_t *err)
{
  char file[SP_QNAME_MAX + sizeof (SP_STATE_SUFFIX)];
  cleanup_free char *buf = NULL;
  size_t len;

  if (sp_state_generate (p, &buf, &len, err) < 0)
    return -1;
  state_file (ref, file, sizeof (file));
  return sp_write_file_atomic (s->state_fd, file, buf, len, 0644, err);
}

int
sp_record_remove (struct sp_store *s, const struct sp_ref *ref, sp_error_t *err)
{
  char file[SP_QNAME_MAX + sizeof (SP_STATE_SUFFIX)];

  state_file (ref, file, sizeof (file));
  if (unlinkat (s->state_fd, file, 0) < 0 && errno != ENOENT)
    return sp_error_sys (err, errno, "remove record");
  return 0;
}

bool
sp_record_exists (struct sp_store *s, const struct sp_ref *ref)
{
  char file[SP_QNAME_MAX + sizeof (SP_STATE_SUFFIX)];
  struct stat st;

  state_file (ref, file, sizeof (file));
  return fstatat (s->state_fd, file, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int
cmp_refs (const void *a, const void *b)
{
  return strcmp (((const struct sp_ref *) a)->name, ((const struct sp_ref *) b)->name);
}

int
sp_list_dir (int dirfd, const char *suffix, struct sp_ref **refs, size_t *n, sp_error_t *err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  struct sp_ref *v = NULL;
  size_t count = 0, cap = 0, slen = strlen (suffix);
  int fd = dup (dirfd);

  *refs = NULL;
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
      struct sp_ref ref;

      if (len <= slen || strcmp (de->d_name + len - slen, suffix) != 0
          || !sp_ref_from_file (&ref, de->d_name, len - slen))
        continue;
      if (count == cap)
        {
          struct sp_ref *nv = reallocarray (v, cap ? cap * 2 : 16, sizeof (*v));
          if (nv == NULL)
            {
              free (v);
              return sp_error_sys (err, ENOMEM, "store: list");
            }
          v = nv;
          cap = cap ? cap * 2 : 16;
        }
      v[count++] = ref;
    }
  if (count > 0)
    qsort (v, count, sizeof (*v), cmp_refs);
  *refs = v;
  *n = count;
  return 0;
}
