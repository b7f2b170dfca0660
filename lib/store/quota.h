/* The store's quotas: max_pipelines and max_total_size (the sum of the
   pipelines' sizes). */
#ifndef SHMPIPE_QUOTA_H
#define SHMPIPE_QUOTA_H

#include <stdint.h>

#include "records.h"

/* The lock every create and growing resize holds (taken after the
   pipeline's own) from its check until its record is written, so two
   creates of different names cannot both take the last place. */
int sp_quota_lock (struct sp_store *s, sp_error_t *err);
/* REF at SIZE against max_pipelines (when REF has no record yet) and
   max_total_size (the other pipelines' sizes plus SIZE). */
int sp_quota_check (struct sp_store *s, const struct sp_ref *ref, uint64_t size, sp_error_t *err);

#endif
