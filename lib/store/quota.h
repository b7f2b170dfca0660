/* The store's quotas: max_pipelines and max_total_size (the sum of the
   pipelines' sizes), checked against running totals (totals.h), so that a
   create costs the same with 1 or 4,096 pipelines. */
#ifndef SHMPIPE_QUOTA_H
#define SHMPIPE_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include "records.h"

/* The lock every create, resize and destroy holds (taken after the
   pipeline's own, by sp_totals_begin) from its check until its record is
   written, so two creates of different names cannot both take the last
   place, and the totals stay exact. */
int sp_quota_lock (struct sp_store *s, sp_error_t *err);
/* A socket directory is a tmpfs of SP_QUOTA_SOCKDIR_BYTES, counted in
   max_total_size: sp_quota_footprint is what a pipeline of options O counts
   for (its size, and its socket directory's). */
#define SP_QUOTA_SOCKDIR_BYTES (16ULL << 20)
uint64_t sp_quota_footprint (const struct sp_pipeline_opts *o);

/* A pipeline at SIZE against max_pipelines (when NEW_PIPELINE) and
   max_total_size, given the totals T of the other pipelines. */
struct sp_totals;
int sp_quota_check (struct sp_store *s, const struct sp_totals *t, bool new_pipeline, uint64_t size,
                    sp_error_t *err);

#endif
