#include "macro.h"
#include "oci.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

/* PID_MAX_LIMIT on 64-bit kernels. */
#define OCI_PID_MAX 4194304

static bool
has_control_chars (const char *s)
{
  for (; *s; s++)
    if ((unsigned char) *s < 0x20 || (unsigned char) *s == 0x7f)
      return true;
  return false;
}

/* Member KEY of OBJ; a key given twice is an error: Go runtimes keep the last
   one, yajl's tree the first, and the hook must not act on another value
   than the runtime does.  Returns 0 (found), 1 (absent or null), -1. */
static int
get_unique (yajl_val obj, const char *what, const char *key, yajl_val *out, sp_error_t *err)
{
  yajl_val found = NULL;

  *out = NULL;
  if (!YAJL_IS_OBJECT (obj))
    return 1;
  for (size_t i = 0; i < obj->u.object.len; i++)
    if (strcmp (obj->u.object.keys[i], key) == 0)
      {
        if (found != NULL)
          return sp_error_make (err, EINVAL, "%s: \"%s\" is given twice", what, key);
        found = obj->u.object.values[i];
      }
  if (found == NULL || YAJL_IS_NULL (found))
    return 1;
  *out = found;
  return 0;
}

static int
get_string (yajl_val obj, const char *what, const char *key, const char **out, sp_error_t *err)
{
  yajl_val v;
  int r = get_unique (obj, what, key, &v, err);

  if (r != 0)
    return r;
  if (!YAJL_IS_STRING (v))
    return sp_error_make (err, EINVAL, "%s: \"%s\" must be a string", what, key);
  *out = YAJL_GET_STRING (v);
  return 0;
}

static int
get_object (yajl_val obj, const char *what, const char *key, yajl_val *out, sp_error_t *err)
{
  int r = get_unique (obj, what, key, out, err);

  if (r == 0 && !YAJL_IS_OBJECT (*out))
    {
      *out = NULL;
      return sp_error_make (err, EINVAL, "%s: \"%s\" must be an object", what, key);
    }
  return r;
}

static int
check_path (const char *what, const char *path, bool absolute, sp_error_t *err)
{
  size_t len = strlen (path);

  if (len == 0)
    return sp_error_make (err, EINVAL, "%s: empty path", what);
  if (len >= PATH_MAX)
    return sp_error_make (err, ENAMETOOLONG, "%s: path longer than %d bytes", what, PATH_MAX - 1);
  if (has_control_chars (path))
    return sp_error_make (err, EINVAL, "%s: path contains control characters", what);
  if (absolute && path[0] != '/')
    return sp_error_make (err, EINVAL, "%s: path must be absolute", what);
  return 0;
}

void
sp_oci_state_free (struct sp_oci_state *st)
{
  if (st->tree != NULL)
    yajl_tree_free (st->tree);
  memset (st, 0, sizeof (*st));
}

int
sp_oci_state_parse (const char *buf, size_t len, struct sp_oci_state *st, sp_error_t *err)
{
  const char *what = "state";
  yajl_val v;
  int r;

  memset (st, 0, sizeof (*st));
  if (len > SP_OCI_STATE_MAX_BYTES)
    return sp_error_make (err, EFBIG, "state: larger than %d bytes", SP_OCI_STATE_MAX_BYTES);
  if (sp_json_parse (buf, len, &st->tree, err) < 0)
    return sp_error_prefix (err, "state");
  if (!YAJL_IS_OBJECT (st->tree))
    return sp_error_make (err, EINVAL, "state: must be a JSON object");

  if (get_string (st->tree, what, "ociVersion", &st->oci_version, err) < 0)
    return -1;

  r = get_string (st->tree, what, "id", &st->id, err);
  if (r < 0)
    return -1;
  if (r > 0)
    return sp_error_make (err, EINVAL, "state: no container \"id\"");
  if (!sp_member_id_valid (st->id))
    {
      char shown[40];
      return sp_error_make (err, EINVAL,
                            "state: invalid container id \"%s\" (want 1-%d of [A-Za-z0-9_.:-])",
                            sp_printable (st->id, 32, shown, sizeof (shown)), SP_MEMBER_ID_MAX);
    }

  if (get_string (st->tree, what, "status", &st->status, err) < 0)
    return -1;

  r = get_string (st->tree, what, "bundle", &st->bundle, err);
  if (r < 0)
    return -1;
  /* runc before 1.0.0-rc5 said "bundlePath". */
  if (r > 0 && (r = get_string (st->tree, what, "bundlePath", &st->bundle, err)) < 0)
    return -1;
  if (r > 0)
    return sp_error_make (err, EINVAL, "state: no \"bundle\"");
  if (check_path ("state: \"bundle\"", st->bundle, true, err) < 0)
    return -1;

  r = get_unique (st->tree, what, "pid", &v, err);
  if (r < 0)
    return -1;
  if (r == 0)
    {
      if (!YAJL_IS_INTEGER (v))
        return sp_error_make (err, EINVAL, "state: \"pid\" must be an integer");
      if (YAJL_GET_INTEGER (v) < 0 || YAJL_GET_INTEGER (v) > OCI_PID_MAX)
        return sp_error_make (err, EINVAL, "state: \"pid\" %lld out of range",
                              YAJL_GET_INTEGER (v));
      st->pid = YAJL_GET_INTEGER (v);
    }

  if (get_object (st->tree, what, "annotations", &st->annotations, err) < 0)
    return -1;
  return 0;
}

void
sp_oci_config_free (struct sp_oci_config *cfg)
{
  if (cfg->tree != NULL)
    yajl_tree_free (cfg->tree);
  memset (cfg, 0, sizeof (*cfg));
}

int
sp_oci_config_parse (const char *buf, size_t len, struct sp_oci_config *cfg, sp_error_t *err)
{
  const char *what = "config.json";
  yajl_val root = NULL, process = NULL, env = NULL;

  memset (cfg, 0, sizeof (*cfg));
  if (len > SP_OCI_CONFIG_MAX_BYTES)
    return sp_error_make (err, EFBIG, "config.json: larger than %d bytes", SP_OCI_CONFIG_MAX_BYTES);
  if (sp_json_parse (buf, len, &cfg->tree, err) < 0)
    return sp_error_prefix (err, "config.json");
  if (!YAJL_IS_OBJECT (cfg->tree))
    return sp_error_make (err, EINVAL, "config.json: must be a JSON object");

  if (get_object (cfg->tree, what, "root", &root, err) < 0)
    return -1;
  if (root != NULL && get_string (root, "config.json: root", "path", &cfg->root_path, err) < 0)
    return -1;

  if (get_object (cfg->tree, what, "annotations", &cfg->annotations, err) < 0)
    return -1;

  if (get_object (cfg->tree, what, "process", &process, err) < 0)
    return -1;
  if (process != NULL && get_unique (process, "config.json: process", "env", &env, err) < 0)
    return -1;
  if (env != NULL && !YAJL_IS_ARRAY (env))
    return sp_error_make (err, EINVAL, "config.json: process.env must be an array");
  cfg->env = env;
  return 0;
}

/* An io.shmpipe.* value: short, no control characters (no newline that could
   forge a log line).  */
static int
check_value (const char *what, const char *value, sp_error_t *err)
{
  if (strlen (value) > SP_OCI_VALUE_MAX)
    return sp_error_make (err, EINVAL, "%s: value longer than %d bytes", what, SP_OCI_VALUE_MAX);
  if (has_control_chars (value))
    return sp_error_make (err, EINVAL, "%s: value contains control characters", what);
  return 0;
}

static int
set_pipeline (struct sp_oci_request *req, const char *what, const char *value, sp_error_t *err)
{
  if (check_value (what, value, err) < 0 || sp_qname_check (value, err) < 0)
    return sp_error_prefix (err, "%s", what);
  strcpy (req->pipeline, value);
  return 0;
}

/* A string annotation KEY: 0 and *OUT set, 1 when absent, -1. */
static int
get_annotation (yajl_val annotations, const char *key, const char **out, sp_error_t *err)
{
  char what[64];
  int r;

  snprintf (what, sizeof (what), "annotation %s", key);
  r = get_string (annotations, "annotations", key, out, err);
  if (r != 0)
    return r;
  return check_value (what, *out, err) < 0 ? -1 : 0;
}

static int
get_env_pipeline (yajl_val env, const char **out, sp_error_t *err)
{
  static const char prefix[] = SP_ENV_PIPELINE "=";
  const char *found = NULL;

  if (!YAJL_IS_ARRAY (env))
    return 1;
  for (size_t i = 0; i < env->u.array.len; i++)
    {
      const char *e = YAJL_GET_STRING (env->u.array.values[i]);
      if (e == NULL || strncmp (e, prefix, sizeof (prefix) - 1) != 0)
        continue;
      e += sizeof (prefix) - 1;
      /* getenv() in the container sees the first entry, a Go engine may have
         meant the last: refuse to guess.  */
      if (found != NULL && strcmp (found, e) != 0)
        return sp_error_make (err, EINVAL,
                              "environment " SP_ENV_PIPELINE ": given twice with different values");
      found = e;
    }
  if (found == NULL)
    return 1;
  *out = found;
  return 0;
}

/* Every io.shmpipe.* annotation but the pipeline's name: an option row a
   container may set, or an error naming the nearest one. */
static int
get_options (yajl_val annotations, struct sp_oci_request *req, sp_error_t *err)
{
  static const size_t plen = sizeof (SP_ANNOTATION_PREFIX) - 1;

  if (!YAJL_IS_OBJECT (annotations))
    return 0;
  for (size_t i = 0; i < annotations->u.object.len; i++)
    {
      const char *key = annotations->u.object.keys[i], *v;
      const struct sp_opt_def *d;
      char shown[48];
      int r;

      if (strncmp (key, SP_ANNOTATION_PREFIX, plen) != 0
          || strcmp (key, SP_ANNOTATION_PIPELINE) == 0)
        continue;
      d = sp_opt_find (key + plen);
      sp_printable (key, 40, shown, sizeof (shown));
      if (d == NULL)
        return sp_opt_unknown ("annotation", SP_ANNOTATION_PREFIX, key + plen, err);
      if (!(d->flags & SP_OPT_F_CONTAINER))
        return sp_error_make (
            err, EPERM, "annotation %s: not for containers to set (use shmpipectl create)", shown);
      r = get_annotation (annotations, key, &v, err);
      if (r < 0)
        return -1;
      if (r == 0 && sp_opt_parse (d, v, &req->opts, err) < 0)
        return sp_error_prefix (err, "annotation %s", shown);
      if (r == 0)
        req->given |= sp_opt_bit (d);
    }
  return 0;
}

int
sp_oci_get_request (yajl_val annotations, yajl_val env, struct sp_oci_request *req, sp_error_t *err)
{
  const char *v = NULL;
  int r;

  memset (req, 0, sizeof (*req));
  r = get_annotation (annotations, SP_ANNOTATION_PIPELINE, &v, err);
  if (r < 0)
    return -1;
  if (r == 0)
    {
      if (set_pipeline (req, "annotation " SP_ANNOTATION_PIPELINE, v, err) < 0)
        return -1;
      req->source = "annotation";
    }
  else
    {
      r = get_env_pipeline (env, &v, err);
      if (r < 0)
        return -1;
      if (r > 0)
        return 0;
      if (set_pipeline (req, "environment " SP_ENV_PIPELINE, v, err) < 0)
        return -1;
      req->source = "environment";
    }

  return get_options (annotations, req, err) < 0 ? -1 : 1;
}

static const char *const stage_names[] = {
  [SP_OCI_STAGE_NONE] = "",
  [SP_OCI_STAGE_PRESTART] = "prestart",
  [SP_OCI_STAGE_CREATE_RUNTIME] = "createRuntime",
  [SP_OCI_STAGE_POSTSTOP] = "poststop",
};

const char *
sp_oci_stage_name (enum sp_oci_stage stage)
{
  return (unsigned) stage < ARRAY_SIZE (stage_names) ? stage_names[stage] : "";
}

int
sp_oci_parse_stage (const char *s, enum sp_oci_stage *out, sp_error_t *err)
{
  char shown[40];

  for (size_t i = SP_OCI_STAGE_PRESTART; s != NULL && i < ARRAY_SIZE (stage_names); i++)
    if (strcmp (s, stage_names[i]) == 0)
      {
        *out = (enum sp_oci_stage) i;
        return 0;
      }
  /* createContainer and startContainer run inside the container's namespaces,
     where neither the hook binary nor the store is.  */
  return sp_error_make (err, EINVAL,
                        "unsupported hook stage \"%s\" (want prestart, createRuntime or poststop)",
                        sp_printable (s, 32, shown, sizeof (shown)));
}

int
sp_oci_select_action (enum sp_oci_stage stage, const char *status, enum sp_hook_action *out,
                      sp_error_t *err)
{
  char shown[40];

  switch (stage)
    {
    case SP_OCI_STAGE_PRESTART:
    case SP_OCI_STAGE_CREATE_RUNTIME:
      *out = SP_HOOK_JOIN;
      return 0;
    case SP_OCI_STAGE_POSTSTOP:
      *out = SP_HOOK_LEAVE;
      return 0;
    case SP_OCI_STAGE_NONE:
      break;
    }
  if (status == NULL)
    return sp_error_make (err, EINVAL,
                          "the state has no status: give the stage (createRuntime or poststop) "
                          "as an argument");
  /* runc says "creating" at prestart/createRuntime, crun "created". */
  if (strcmp (status, "creating") == 0 || strcmp (status, "created") == 0)
    {
      *out = SP_HOOK_JOIN;
      return 0;
    }
  if (strcmp (status, "stopped") == 0)
    {
      *out = SP_HOOK_LEAVE;
      return 0;
    }
  return sp_error_make (
      err, EINVAL,
      "cannot tell the stage from status \"%s\": give it (createRuntime or poststop) as an "
      "argument",
      sp_printable (status, 32, shown, sizeof (shown)));
}

int
sp_oci_rootfs_path (const char *bundle, const char *root_path, char *buf, size_t len,
                    sp_error_t *err)
{
  int n;

  if (root_path == NULL)
    return sp_error_make (err, EINVAL, "config.json: no root.path");
  if (check_path ("config.json: root.path", root_path, false, err) < 0)
    return -1;
  /* The path is the engine's, but ".." has no business in it and would make
     "the same directory" checks harder to reason about.  */
  for (const char *p = root_path; (p = strstr (p, "..")) != NULL; p += 2)
    if ((p == root_path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
      return sp_error_make (err, EINVAL, "config.json: root.path must not contain \"..\"");
  if (root_path[0] == '/')
    n = snprintf (buf, len, "%s", root_path);
  else
    {
      if (bundle == NULL || bundle[0] != '/')
        return sp_error_make (err, EINVAL, "relative root.path needs an absolute bundle path");
      n = snprintf (buf, len, "%s/%s", bundle, root_path);
    }
  if (n < 0 || (size_t) n >= len)
    return sp_error_make (err, ENAMETOOLONG, "config.json: root.path too long");
  return 0;
}
