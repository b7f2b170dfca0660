/* What a container's request may ask for beyond the container_* limits of
   the config: a socket directory only under the allowed prefixes, and, for
   a pipeline that exists, exactly the options it was made with.  Each
   admission path (the hook, the runtime wrapper) calls these; they hold no
   state and take no lock. */
#ifndef SHMPIPE_REQUEST_CHECK_H
#define SHMPIPE_REQUEST_CHECK_H

#include <stdbool.h>

#include "config.h"
#include "error.h"
#include "pipeline_options.h"

/* Whether PATH is PREFIX or lies below it, compared by whole components
   ("/tmpx" is not under "/tmp").  Both absolute and normalized. */
bool sp_path_under (const char *path, const char *prefix);

/* A container's io.shmpipe.sockets=PATH against the config's
   container_socket_prefixes; the error names the key and the file. */
int sp_request_check_sockets (const struct sp_config *cfg, const char *path, sp_error_t *err);

/* A member's options GIVEN in WANT against those of the existing pipeline
   HAVE: the first that differs is refused in one line naming it, since the
   member would otherwise silently get the pipeline's (another socket path,
   another size, ...).  Allow lists compare as sets. */
int sp_request_check_existing (const struct sp_pipeline_opts *have,
                               const struct sp_pipeline_opts *want, sp_opt_mask given,
                               sp_error_t *err);

#endif
