/* The store's running totals for its quotas (max_pipelines,
   max_total_size), so that a create checks them at the same cost with 1 or
   4,096 pipelines instead of listing the store.

   ROOT/totals holds how many records the store has and the sum of their
   sizes (each rounded up to a page, as tmpfs counts it).  Every change of a
   record's existence or size (create, resize, sp_res_destroy) is bracketed
   by sp_totals_begin and sp_totals_end under the quota lock: begin takes
   the pipeline out of the totals and writes it down as pending, end puts
   it back as its record now says.  A crash in between leaves it pending,
   and the next begin settles it from its record, so the totals stay exact
   without waiting for gc.
   A missing or unreadable file, or one older than the last create or
   remove (another release changed the store), is rebuilt from the records;
   gc rebuilds it too. */
#ifndef SHMPIPE_TOTALS_H
#define SHMPIPE_TOTALS_H

#include <stdbool.h>
#include <stdint.h>

#include "records.h"

struct sp_totals
{
  struct sp_store *store;
  int lock;           /* the quota lock, held from begin to end */
  uint64_t pipelines; /* records other than REF's */
  uint64_t bytes;     /* their sizes */
  struct sp_ref ref;
};

#define SP_TOTALS_INIT                                                                             \
  {                                                                                                \
    .lock = -1                                                                                     \
  }

/* Takes the quota lock and the totals of every pipeline but REF into T. */
int sp_totals_begin (struct sp_store *s, const struct sp_ref *ref, struct sp_totals *t,
                     sp_error_t *err);
/* Counts REF again as its record now is and releases the lock (no-op when
   T was not begun).  It cannot fail: a file it cannot write is removed, to
   be rebuilt. */
void sp_totals_end (struct sp_totals *t);
/* Totals ended at the end of their scope (start them as SP_TOTALS_INIT). */
#define cleanup_totals __attribute__ ((cleanup (sp_totals_end)))

/* The totals of the whole store; *REBUILT tells whether the file had to be
   made again (missing, stale or wrong: what gc reports).  With REBUILD, the
   file is always recounted from the records (gc). */
int sp_totals_read (struct sp_store *s, bool rebuild, uint64_t *pipelines, uint64_t *bytes,
                    bool *rebuilt, sp_error_t *err);

#endif
