/* The Container Device Interface spec of the store's persistent pipelines:
   one device per pipeline, kind shmpipe.io/pipeline, whose containerEdits
   run shmpipe-hook at createRuntime and poststop with the pipeline in the
   hook's arguments (joining, membership and the fd-based mount stay the
   hook's; the spec binds nothing by path).  */
#ifndef SHMPIPE_CDI_H
#define SHMPIPE_CDI_H

#include <stddef.h>

#include "error.h"
#include "store.h"

#define SP_CDI_KIND "shmpipe.io/pipeline"
/* The newest version Podman 4.3 (CDI library 0.5) accepts; 0.6.0 it refuses. */
#define SP_CDI_VERSION "0.5.0"
#define SP_CDI_SPEC_FILE "shmpipe.json"
#define SP_CDI_HOOK_TIMEOUT 10

/* Why pipeline NAME has no device in the spec, or NULL when it has one
   (when persistent): a CDI device name is [A-Za-z0-9] then
   [A-Za-z0-9_.:-], ending with a letter or digit, and a pipeline of a
   Kubernetes namespace (NS/NAME) is joined only by that namespace's pods,
   whose identity the CRI gives, never by a container CDI serves. */
const char *sp_cdi_left_out (const char *name);

/* The spec for S's persistent pipelines, sorted by name: the same store
   gives the same bytes.  The hook is the config's cdi_hook; its arguments
   carry the store root and, when one was given, the config file.  */
int sp_cdi_generate (struct sp_store *s, char **out, size_t *len, sp_error_t *err);

/* Writes DIR/shmpipe.json (DIR NULL: the config's cdi_spec_dir) by temp file
   and rename, under the store's CDI lock, from the records as they are once
   the lock is held: of two concurrent writers the later one sees both
   changes, and a reader sees the old file or the new, never a torn one.
   PATH (PATH_LEN bytes, may be NULL) receives the file written.  */
int sp_cdi_write (struct sp_store *s, const char *dir, char *path, size_t path_len,
                  sp_error_t *err);

/* sp_cdi_write when the config's "cdi" is on, else nothing.  */
int sp_cdi_refresh (struct sp_store *s, sp_error_t *err);

/* For the places persistent pipelines come and go (create, rm, the plugin,
   gc), after the change: sp_cdi_refresh, a failure logged as a warning.  The
   change stands either way; `shmpipectl cdi` writes the spec once the cause
   is fixed.  */
void sp_cdi_refresh_or_warn (struct sp_store *s);

#endif
