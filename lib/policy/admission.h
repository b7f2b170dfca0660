/* What a new pipeline is made with, decided in one place for every engine
   path: the config's defaults, then the options the request gave, then the
   policy of whoever asks.  Only the config is read: no store. */
#ifndef SHMPIPE_ADMISSION_H
#define SHMPIPE_ADMISSION_H

#include "config.h"
#include "error.h"
#include "pipeline_options.h"

/* Who asks, which sets the lifetime by default and the policy applied. */
enum sp_requester
{
  /* A container's annotations or environment (hook, runtime wrapper):
     auto_lifetime by default, held to the config's container_* keys. */
  SP_REQ_CONTAINER,
  /* A Docker volume (the plugin): persistent, as its content outlives the
     containers until `docker volume rm`; whoever drives dockerd is root's
     equal, so no container policy. */
  SP_REQ_VOLUME,
  /* The host's own user (shmpipectl): persistent by default. */
  SP_REQ_HOST,
};

/* The config's defaults for WHO (size, mode, inodes), uid/gid 0, huge
   never. */
void sp_admission_defaults (const struct sp_config *cfg, enum sp_requester who,
                            struct sp_pipeline_opts *o);

/* OUT: the defaults for WHO with the rows GIVEN of REQUESTED over them,
   checked against WHO's policy (for a container: whether or not its
   pipeline exists, so that the same annotations do not pass or fail by who
   came first).  The error names the annotation, config key and file. */
int sp_admit (const struct sp_config *cfg, enum sp_requester who,
              const struct sp_pipeline_opts *requested, sp_opt_mask given,
              struct sp_pipeline_opts *out, sp_error_t *err);

#endif
