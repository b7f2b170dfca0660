/* What the plugin gives up before it serves: privileges it never needs. */
#ifndef SHMPIPE_PLUGIN_HARDEN_H
#define SHMPIPE_PLUGIN_HARDEN_H

#include <stdbool.h>

#include "error.h"

/* no_new_privs; every capability but CAP_SYS_ADMIN (mounting pipelines),
   CAP_DAC_OVERRIDE (a pipeline's tmpfs root may be another uid's 0700
   directory, and the store still has to look into it), CAP_CHOWN and
   CAP_FOWNER (putting back the owner and mode of a volume's root that
   Docker's copy changed, volroot.h) is dropped from all
   sets; then, when SECCOMP, a deny-list filter (see harden.c).  Call before
   any thread starts: threads inherit all of it. */
int sp_plugin_harden (bool seccomp, sp_error_t *err);

#endif
