/* shmpipe-runtime's edit of a bundle's config.json: the hook entries and the
   pipeline's IPC namespace. */
#ifndef SHMPIPE_RUNTIME_REWRITE_H
#define SHMPIPE_RUNTIME_REWRITE_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

#include "error.h"

struct sp_rewrite
{
  const char *hook_path;   /* absolute path of shmpipe-hook */
  const char *store_root;  /* passed to the hook as SHMPIPE_ROOT */
  const char *config_path; /* passed as SHMPIPE_CONFIG; NULL: none */
  const char *ipc_ns;      /* the pipeline's pinned IPC namespace; NULL: leave ipc alone */
};

/* Re-emits CONFIG with a createRuntime and a poststop entry for the hook
   (unless an entry with the same path is there already) and, with IPC_NS, the
   ipc namespace entry pointing at it.  Everything else is kept as parsed. */
int sp_runtime_rewrite (yajl_val config, const struct sp_rewrite *rw, char **out, size_t *len,
                        sp_error_t *err);

#endif
