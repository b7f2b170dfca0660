/* What an OCI runtime hands a hook: the state on stdin and the bundle's
   config.json; and what a container asks of shmpipe through them.  */
#ifndef SHMPIPE_OCI_H
#define SHMPIPE_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <yajl/yajl_tree.h>

#include "error.h"
#include "names.h"
#include "pipeline_options.h"

/* Real states are a few hundred bytes (a few KiB with annotations); real
   config.json files a few tens of KiB.  */
#define SP_OCI_STATE_MAX_BYTES (64 * 1024)
#define SP_OCI_CONFIG_MAX_BYTES (4 * 1024 * 1024)
/* Longest value accepted for an io.shmpipe.* annotation or the env variable. */
#define SP_OCI_VALUE_MAX 256

/* io.shmpipe.pipeline names the pipeline; io.shmpipe.OPTION sets the rows of
   the options table that containers may set (SP_OPT_F_CONTAINER), for a
   pipeline the hook or the runtime wrapper creates. */
#define SP_ANNOTATION_PREFIX SP_OPTS_ANNOTATION_PREFIX
#define SP_ANNOTATION_PIPELINE SP_ANNOTATION_PREFIX "pipeline"
#define SP_ENV_PIPELINE "SHMPIPE_PIPELINE"

/* The state a runtime writes on a hook's stdin.  Strings point into TREE. */
struct sp_oci_state
{
  yajl_val tree;
  const char *oci_version; /* NULL when absent */
  const char *id;
  const char *status;   /* NULL when absent (very old runtimes) */
  const char *bundle;   /* "bundle", or the pre-1.0 "bundlePath" */
  int64_t pid;          /* 0 when absent or 0 (poststop) */
  yajl_val annotations; /* an object, or NULL */
};

/* Tolerates what runtimes really send (runc's "creating", crun's "created",
   no pid at poststop, extra keys); refuses wrong types, a missing or invalid
   id, a relative bundle path, a negative pid.  */
int sp_oci_state_parse (const char *buf, size_t len, struct sp_oci_state *st, sp_error_t *err);
void sp_oci_state_free (struct sp_oci_state *st);

/* The parts of a bundle's config.json a hook needs.  */
struct sp_oci_config
{
  yajl_val tree;
  const char *root_path; /* root.path as written (may be relative); NULL when absent */
  yajl_val annotations;  /* an object, or NULL */
  yajl_val env;          /* process.env: an array, or NULL */
};

int sp_oci_config_parse (const char *buf, size_t len, struct sp_oci_config *cfg, sp_error_t *err);
void sp_oci_config_free (struct sp_oci_config *cfg);

/* What a container asks for.  */
struct sp_oci_request
{
  char pipeline[SP_QNAME_MAX + 1];
  const char *source;           /* "annotation" or "environment" */
  struct sp_pipeline_opts opts; /* the options it gave, marked in GIVEN */
  sp_opt_mask given;
};

/* Looks for io.shmpipe.pipeline in ANNOTATIONS, else SHMPIPE_PIPELINE=NAME in
   ENV (an array of "KEY=VALUE"); either may be NULL.  Returns 1 with REQ
   filled, 0 when the container asks for nothing, -1 on a hostile or invalid
   value (bad name, over-long value, control characters, a bad option value,
   an io.shmpipe.* key that is no option a container may set, conflicting
   SHMPIPE_PIPELINE entries).  */
int sp_oci_get_request (yajl_val annotations, yajl_val env, struct sp_oci_request *req,
                        sp_error_t *err);

enum sp_oci_stage
{
  SP_OCI_STAGE_NONE = 0, /* not given: take it from the state's status */
  SP_OCI_STAGE_PRESTART,
  SP_OCI_STAGE_CREATE_RUNTIME,
  SP_OCI_STAGE_POSTSTOP,
};

enum sp_hook_action
{
  SP_HOOK_JOIN,
  SP_HOOK_LEAVE,
};

/* "prestart", "createRuntime", "poststop"; anything else is an error.  */
int sp_oci_parse_stage (const char *s, enum sp_oci_stage *out, sp_error_t *err);
const char *sp_oci_stage_name (enum sp_oci_stage stage);

/* Join at prestart/createRuntime, leave at poststop.  Without a stage:
   status creating/created joins, stopped leaves, anything else is an error. */
int sp_oci_select_action (enum sp_oci_stage stage, const char *status, enum sp_hook_action *out,
                          sp_error_t *err);

/* ROOT_PATH (config root.path) as an absolute path: relative ones are taken
   against BUNDLE.  Refuses empty paths and ".." components.  */
int sp_oci_rootfs_path (const char *bundle, const char *root_path, char *buf, size_t len,
                        sp_error_t *err);

#define cleanup_oci_state __attribute__ ((cleanup (sp_oci_state_free)))
#define cleanup_oci_config __attribute__ ((cleanup (sp_oci_config_free)))

#endif
