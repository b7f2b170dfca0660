/* Restoring the persistent pipelines a reboot took (restore.c). */
#ifndef SHMPIPE_RESTORE_H
#define SHMPIPE_RESTORE_H

#include "error.h"
#include "store.h"

/* Makes every defined pipeline that has no record again (empty, with its
   options, created time and allow list), and writes the missing
   definitions of persistent records (made by an older release).
   Idempotent; live pipelines are left as they are.  Reports like gc;
   returns the number of changes, -1 when a pipeline could not be
   restored (the others still are). */
int sp_store_restore (struct sp_store *s, sp_gc_report_fn report, void *ctx, sp_error_t *err);

#endif
