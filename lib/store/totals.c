/* The store's running totals for its quotas: see totals.h. */
#include "totals.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileutil.h"
#include "quota.h"

#define TOTALS_FILE "totals"
#define TOTALS_MAX_BYTES 512

struct totals_file
{
  uint64_t pipelines;
  uint64_t bytes;
  /* mnt/'s mtime when written: every create and remove makes or removes a
     mountpoint there, so another mtime means someone changed the store
     without counting (an earlier release, a hand). */
  struct timespec mnt;
  char pending[SP_QNAME_MAX + 1];
};

/* tmpfs counts a size in whole pages. */
static uint64_t
page_round (uint64_t size)
{
  uint64_t page = (uint64_t) sysconf (_SC_PAGESIZE);

  return (size + page - 1) / page * page;
}

/* What REF counts for: a record is a pipeline of its footprint (its size,
   and its socket directory's); a damaged one still takes a place, at no
   size. */
static void
count_one (struct sp_store *s, const struct sp_ref *ref, uint64_t *pipelines, uint64_t *bytes)
{
  cleanup_pipeline struct sp_pipeline p = { 0 };
  sp_error_t ignored = NULL;
  int r = sp_record_load (s, ref, &p, &ignored);

  sp_error_release (&ignored);
  *pipelines = r == 1 || (r < 0 && sp_record_exists (s, ref));
  /* A socket directory's bytes are whole pages: rounding the sum rounds
     the size. */
  *bytes = r == 1 ? page_round (sp_quota_footprint (&p.opts)) : 0;
}

static void
add_one (struct sp_store *s, const struct sp_ref *ref, struct totals_file *f)
{
  uint64_t n, b;

  count_one (s, ref, &n, &b);
  f->pipelines += n;
  f->bytes += b;
}

static int
mnt_stamp (struct sp_store *s, struct timespec *ts)
{
  struct stat st;

  if (fstat (s->mnt_fd, &st) < 0)
    return -1;
  *ts = st.st_mtim;
  return 0;
}

/* Counts every record.  The caller holds the quota lock, so no record comes
   or goes, nor changes its size, meanwhile. */
static int
recount (struct sp_store *s, struct totals_file *f, sp_error_t *err)
{
  struct sp_ref *refs = NULL;
  size_t n = 0;

  memset (f, 0, sizeof (*f));
  if (sp_list_dir (s->state_fd, SP_STATE_SUFFIX, &refs, &n, err) < 0)
    return sp_error_prefix (err, "quota totals");
  for (size_t i = 0; i < n; i++)
    add_one (s, &refs[i], f);
  free (refs);
  return 0;
}

/* 1: read; 0: missing or unreadable (a cache: it is then rebuilt). */
static int
load (struct sp_store *s, struct totals_file *f)
{
  cleanup_free char *buf = NULL;
  sp_error_t ignored = NULL;
  size_t len;
  int64_t sec;
  long nsec;
  int used = 0;

  memset (f, 0, sizeof (*f));
  if (sp_read_file_at (s->root_fd, TOTALS_FILE, O_NOFOLLOW, TOTALS_MAX_BYTES, &buf, &len, &ignored)
      < 0)
    {
      sp_error_release (&ignored);
      return 0;
    }
  if (sscanf (buf,
              "shmpipe-totals 1\npipelines %" SCNu64 "\nbytes %" SCNu64 "\nmnt %" SCNd64 " %ld\n%n",
              &f->pipelines, &f->bytes, &sec, &nsec, &used)
          != 4
      || used == 0)
    return 0;
  if (buf[used] != '\0')
    {
      const char *name = buf + used + strlen ("pending ");
      const char *nl = strchr (name, '\n');
      size_t n = nl != NULL ? (size_t) (nl - name) : 0;

      if (strncmp (buf + used, "pending ", strlen ("pending ")) != 0 || nl == NULL || nl[1] != '\0'
          || n > SP_QNAME_MAX || !sp_qname_valid (name, n))
        return 0;
      memcpy (f->pending, name, n);
      f->pending[n] = '\0';
    }
  f->mnt.tv_sec = sec;
  f->mnt.tv_nsec = nsec;
  return 1;
}

/* A file that cannot be written is removed: the next reader rebuilds it
   rather than trust one that no longer matches the records. */
static void
save (struct sp_store *s, struct totals_file *f, const char *point)
{
  char buf[TOTALS_MAX_BYTES];
  sp_error_t ignored = NULL;
  int len;

  if (mnt_stamp (s, &f->mnt) < 0)
    goto drop;
  len = snprintf (buf, sizeof (buf),
                  "shmpipe-totals 1\npipelines %" PRIu64 "\nbytes %" PRIu64 "\nmnt %" PRId64
                  " %ld\n",
                  f->pipelines, f->bytes, (int64_t) f->mnt.tv_sec, (long) f->mnt.tv_nsec);
  if (f->pending[0] != '\0')
    len += snprintf (buf + len, sizeof (buf) - (size_t) len, "pending %s\n", f->pending);
  if (sp_write_file_atomic_at_point (s->root_fd, TOTALS_FILE, buf, (size_t) len, 0644, point,
                                     &ignored)
      == 0)
    return;
  sp_error_release (&ignored);
drop:
  unlinkat (s->root_fd, TOTALS_FILE, 0);
}

/* The file as it is, a change a crash left pending settled.  *STALE: the
   store changed behind its back, so its numbers cannot be trusted. */
static int
load_settled (struct sp_store *s, struct totals_file *f, bool *stale)
{
  struct timespec now;

  if (!load (s, f))
    return 0;
  *stale = mnt_stamp (s, &now) < 0 || now.tv_sec != f->mnt.tv_sec || now.tv_nsec != f->mnt.tv_nsec;
  if (f->pending[0] != '\0')
    {
      struct sp_ref ref;
      sp_error_t ignored = NULL;

      if (sp_ref_make (&ref, f->pending, &ignored) < 0)
        {
          sp_error_release (&ignored);
          return 0;
        }
      add_one (s, &ref, f);
      f->pending[0] = '\0';
    }
  return 1;
}

int
sp_totals_begin (struct sp_store *s, const struct sp_ref *ref, struct sp_totals *t, sp_error_t *err)
{
  struct totals_file f;
  uint64_t n, b;
  bool stale = false;

  t->lock = sp_quota_lock (s, err);
  if (t->lock < 0)
    return -1;
  t->store = s;
  count_one (s, ref, &n, &b);
  if (!load_settled (s, &f, &stale) || stale || f.pipelines < n || f.bytes < b)
    {
      if (recount (s, &f, err) < 0)
        {
          sp_close (&t->lock);
          return -1;
        }
    }
  f.pipelines -= n;
  f.bytes -= b;
  snprintf (f.pending, sizeof (f.pending), "%s", ref->name);
  save (s, &f, "totals:pending");
  t->pipelines = f.pipelines;
  t->bytes = f.bytes;
  t->ref = *ref;
  return 0;
}

void
sp_totals_end (struct sp_totals *t)
{
  struct totals_file f = { .pipelines = t->pipelines, .bytes = t->bytes };

  if (t->lock < 0)
    return;
  add_one (t->store, &t->ref, &f);
  save (t->store, &f, "totals:settled");
  sp_close (&t->lock);
}

int
sp_totals_read (struct sp_store *s, bool rebuild, uint64_t *pipelines, uint64_t *bytes,
                bool *rebuilt, sp_error_t *err)
{
  cleanup_close int lock = sp_quota_lock (s, err);
  struct totals_file f, fresh;
  bool stale = false, have;

  *rebuilt = false;
  if (lock < 0)
    return -1;
  have = load_settled (s, &f, &stale);
  if (!have || stale || rebuild)
    {
      if (recount (s, &fresh, err) < 0)
        return -1;
      /* Only numbers that were wrong count as a repair; a stamp that moved
         (a crash between a mountpoint and the totals) does not. */
      *rebuilt = !have || fresh.pipelines != f.pipelines || fresh.bytes != f.bytes;
      f = fresh;
    }
  save (s, &f, "totals:settled");
  *pipelines = f.pipelines;
  *bytes = f.bytes;
  return 0;
}
