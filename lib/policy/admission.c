/* Admission of a new pipeline's options (admission.h). */
#include "admission.h"

#include <string.h>

void
sp_admission_defaults (const struct sp_config *cfg, enum sp_requester who,
                       struct sp_pipeline_opts *o)
{
  memset (o, 0, sizeof (*o));
  o->size = cfg->default_size;
  o->mode = cfg->default_mode;
  o->inodes = cfg->max_inodes;
  o->huge = SP_HUGE_NEVER;
  o->lifetime = who == SP_REQ_CONTAINER ? cfg->auto_lifetime : SP_LIFETIME_PERSISTENT;
}

int
sp_admit (const struct sp_config *cfg, enum sp_requester who,
          const struct sp_pipeline_opts *requested, sp_opt_mask given, struct sp_pipeline_opts *out,
          sp_error_t *err)
{
  sp_admission_defaults (cfg, who, out);
  if (requested != NULL)
    sp_opts_overlay (out, requested, given);
  if (who == SP_REQ_CONTAINER)
    return sp_config_check_container (cfg, out, given, err);
  return 0;
}
