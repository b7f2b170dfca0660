/* The keys of /etc/shmpipe/config.json as one table, and the parsing of one
   key's value. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

#define KEY(n, k, field, m, d, nt, h)                                                              \
  {                                                                                                \
    .name = n, .kind = k, .offset = offsetof (struct sp_config, field), .max = m, .def = d,        \
    .note = nt, .help = h                                                                          \
  }

/* Adding a key is a row here and a field in struct sp_config (config.h);
   its property in schemas/config.schema.json and its row in docs/config.md
   follow (test_config_keys fails until they do, and prints the table).  A
   default that is a constant is DEF, as JSON, and sp_config_defaults sets
   it; one computed from others is NULL, said in NOTE and settled in
   finish_limits.  A value of a new shape is a new enum sp_config_kind: a
   case in sp_config_key_parse below and in the test's schema check.  The
   order is the order of docs/config.md. */
const struct sp_config_key sp_config_keys[] = {
  { .name = "$schema",
    .kind = SP_CFG_SCHEMA,
    .note = "none",
    .help = "the schema's URL, for editors; shmpipe does not read it" },
  KEY ("root", SP_CFG_PATH, root, 256, "\"" SP_DEFAULT_ROOT "\"", NULL,
       "the store root: records, locks and mounts live below it"),
  KEY ("default_size", SP_CFG_SIZE, default_size, 0, "\"64m\"", NULL,
       "size of a pipeline created without one"),
  KEY ("max_size", SP_CFG_SIZE, max_size, 0, NULL, "half of RAM",
       "the largest size anyone may ask for"),
  KEY ("default_mode", SP_CFG_MODE, default_mode, 0, "\"1777\"", NULL,
       "mode of a new pipeline's tmpfs root"),
  KEY ("max_inodes", SP_CFG_COUNT, max_inodes, 1ULL << 40, "65536", NULL,
       "inode cap of each tmpfs (the default and the maximum)"),
  KEY ("auto_create", SP_CFG_BOOL, auto_create, 0, "true", NULL,
       "the hook creates a pipeline a container names that does not exist"),
  KEY ("auto_lifetime", SP_CFG_LIFETIME, auto_lifetime, 0, "\"ephemeral\"", NULL,
       "lifetime of auto-created pipelines"),
  KEY ("log_level", SP_CFG_LOG_LEVEL, log_level, 0, "\"info\"", NULL,
       "least severe message the binaries log"),
  KEY ("cdi", SP_CFG_BOOL, cdi, 0, "false", NULL,
       "create, rm, the Docker plugin and gc keep the CDI spec current"),
  KEY ("cdi_spec_dir", SP_CFG_PATH, cdi_spec_dir, 256, "\"" SP_DEFAULT_CDI_SPEC_DIR "\"", NULL,
       "directory of the CDI spec, one the engines read"),
  KEY ("cdi_hook", SP_CFG_PATH, cdi_hook, 256, "\"" SP_DEFAULT_CDI_HOOK "\"", NULL,
       "the shmpipe-hook binary the CDI devices run"),
  KEY ("max_pipelines", SP_CFG_COUNT, max_pipelines, 1ULL << 20, "4096", NULL,
       "most pipelines the store may hold"),
  KEY ("max_total_size", SP_CFG_SIZE, max_total_size, 0, NULL, "RAM, at least `max_size`",
       "most the sizes of all pipelines may add up to"),
  KEY ("container_options", SP_CFG_OPTIONS, container_options, 0,
       "[\"size\", \"mode\", \"lifetime\", \"ipc\", \"allow-namespaces\", \"sockets\"]", NULL,
       "options a container's `io.shmpipe.*` annotations may set"),
  KEY ("container_max_size", SP_CFG_SIZE, container_max_size, 0, NULL,
       "`1g`, within `max_size`, at least `default_size`",
       "largest size of a pipeline a container's annotations make"),
  KEY ("container_persistent", SP_CFG_BOOL, container_persistent, 0, "false", NULL,
       "a container may ask for `io.shmpipe.lifetime=persistent`"),
  KEY ("container_socket_prefixes", SP_CFG_PATHS, socket_prefixes, SP_SOCKET_PREFIXES_MAX,
       "[\"/tmp\", \"/run\", \"/var/run\"]", "`[]`: none",
       "where a container's `io.shmpipe.sockets` may put a socket directory: at or below one "
       "of these, by whole path components"),
  KEY ("docker_socket", SP_CFG_SOCKET, docker_socket, 107, "\"" SP_DEFAULT_DOCKER_SOCKET "\"",
       "`\"\"`: never ask",
       "dockerd's API, which `gc` and the plugin ask which Docker members a live container "
       "still holds"),
};
const size_t sp_config_key_count = ARRAY_SIZE (sp_config_keys);

#define FIELD(cfg, k, type) ((type *) ((char *) (cfg) + (k)->offset))

const struct sp_config_key *
sp_config_key_find (const char *name)
{
  for (size_t i = 0; name != NULL && i < sp_config_key_count; i++)
    if (strcmp (sp_config_keys[i].name, name) == 0)
      return &sp_config_keys[i];
  return NULL;
}

/* A size may be written as bytes (integer) or as a string with a suffix. */
static int
get_size (yajl_val v, const char *key, uint64_t *out, sp_error_t *err)
{
  if (YAJL_IS_INTEGER (v))
    {
      if (YAJL_GET_INTEGER (v) <= 0)
        return sp_error_make (err, EINVAL, "config: \"%s\" must be positive", key);
      char buf[32];
      snprintf (buf, sizeof (buf), "%lld", YAJL_GET_INTEGER (v));
      return sp_parse_size (buf, out, err) < 0 ? sp_error_prefix (err, "config: \"%s\"", key) : 0;
    }
  if (YAJL_IS_STRING (v))
    return sp_parse_size (YAJL_GET_STRING (v), out, err) < 0
               ? sp_error_prefix (err, "config: \"%s\"", key)
               : 0;
  return sp_error_make (err, EINVAL,
                        "config: \"%s\" must be a size such as \"64m\" or a number of bytes", key);
}

/* ["size", "mode"]: option rows a container's annotations may set. */
static int
get_container_options (yajl_val v, const char *key, sp_opt_mask *out, sp_error_t *err)
{
  sp_opt_mask m = 0;

  if (!YAJL_IS_ARRAY (v))
    return sp_error_make (err, EINVAL, "config: \"%s\" must be an array of option names", key);
  for (size_t i = 0; i < v->u.array.len; i++)
    {
      yajl_val e = v->u.array.values[i];
      const struct sp_opt_def *d = YAJL_IS_STRING (e) ? sp_opt_find (YAJL_GET_STRING (e)) : NULL;
      char names[128];

      if (d == NULL || !sp_opt_grantable (d))
        {
          sp_opts_grantable_names (names, sizeof (names));
          return sp_error_make (err, EINVAL, "config: \"%s\" may list only %s", key, names);
        }
      m |= sp_opt_bit (d);
    }
  *out = m;
  return 0;
}

/* A copy of S replacing the path at *OUT. */
static int
set_path (char **out, const char *s, sp_error_t *err)
{
  char *copy = strdup (s);

  if (copy == NULL)
    return sp_error_sys (err, ENOMEM, "config");
  free (*out);
  *out = copy;
  return 0;
}

/* ["/tmp", "/run"]: at most K->max normalized container paths below /
   (not /proc, /sys or /dev), replacing the default list. */
static int
get_paths (yajl_val v, const struct sp_config_key *k, struct sp_path_list *out, sp_error_t *err)
{
  struct sp_path_list l = { .n = 0 };

  if (!YAJL_IS_ARRAY (v) || v->u.array.len > k->max)
    return sp_error_make (err, EINVAL, "config: \"%s\" must be an array of at most %llu paths",
                          k->name, (unsigned long long) k->max);
  for (size_t i = 0; i < v->u.array.len; i++, l.n++)
    {
      yajl_val e = v->u.array.values[i];

      if (!YAJL_IS_STRING (e)
          || sp_parse_container_path (YAJL_GET_STRING (e), "path", l.path[i], SP_OPT_PATH_MAX, err)
                 < 0
          || l.path[i][0] == '\0')
        {
          sp_error_release (err);
          return sp_error_make (err, EINVAL,
                                "config: \"%s\": each must be an absolute, normalized path "
                                "below / (not /proc, /sys or /dev)",
                                k->name);
        }
    }
  *out = l;
  return 0;
}

int
sp_config_key_parse (const struct sp_config_key *k, yajl_val v, struct sp_config *cfg,
                     sp_error_t *err)
{
  const char *s = YAJL_IS_STRING (v) ? YAJL_GET_STRING (v) : NULL;

  switch (k->kind)
    {
    case SP_CFG_SIZE:
      return get_size (v, k->name, FIELD (cfg, k, uint64_t), err);
    case SP_CFG_COUNT:
      if (!YAJL_IS_INTEGER (v) || YAJL_GET_INTEGER (v) <= 0
          || (uint64_t) YAJL_GET_INTEGER (v) > k->max)
        return sp_error_make (err, EINVAL, "config: \"%s\" must be an integer from 1 to %llu",
                              k->name, (unsigned long long) k->max);
      *FIELD (cfg, k, uint64_t) = (uint64_t) YAJL_GET_INTEGER (v);
      return 0;
    case SP_CFG_BOOL:
      if (!YAJL_IS_TRUE (v) && !YAJL_IS_FALSE (v))
        return sp_error_make (err, EINVAL, "config: \"%s\" must be true or false", k->name);
      *FIELD (cfg, k, bool) = YAJL_IS_TRUE (v);
      return 0;
    case SP_CFG_OPTIONS:
      return get_container_options (v, k->name, FIELD (cfg, k, sp_opt_mask), err);
    case SP_CFG_PATHS:
      return get_paths (v, k, FIELD (cfg, k, struct sp_path_list), err);
    default:
      break;
    }

  /* The rest are strings. */
  if (s == NULL)
    return sp_error_make (err, EINVAL, "config: \"%s\" must be a string", k->name);
  switch (k->kind)
    {
    case SP_CFG_SCHEMA:
      return 0;
    case SP_CFG_PATH:
      if (s[0] != '/' || strlen (s) > k->max || strstr (s, "/..") != NULL)
        return sp_error_make (err, EINVAL,
                              "config: \"%s\" must be an absolute path of at most %llu bytes, "
                              "without \"..\"",
                              k->name, (unsigned long long) k->max);
      return set_path (FIELD (cfg, k, char *), s, err);
    case SP_CFG_SOCKET:
      if ((s[0] != '\0' && s[0] != '/') || strlen (s) > k->max)
        return sp_error_make (err, EINVAL,
                              "config: \"%s\" must be an absolute path of at most %llu bytes, or "
                              "\"\" for none",
                              k->name, (unsigned long long) k->max);
      return set_path (FIELD (cfg, k, char *), s, err);
    case SP_CFG_MODE:
      if (sp_parse_mode (s, FIELD (cfg, k, mode_t), err) < 0)
        return sp_error_prefix (err, "config: \"%s\"", k->name);
      return 0;
    case SP_CFG_LIFETIME:
      if (sp_parse_lifetime (s, FIELD (cfg, k, enum sp_lifetime), err) < 0)
        return sp_error_prefix (err, "config: \"%s\"", k->name);
      return 0;
    case SP_CFG_LOG_LEVEL:
      if (sp_log_level_parse (s, FIELD (cfg, k, enum sp_log_level)) < 0)
        return sp_error_make (
            err, EINVAL, "config: invalid \"%s\" \"%.32s\": want error, warning, info or debug",
            k->name, s);
      return 0;
    default:
      return sp_error_make (err, EINVAL, "config: \"%s\": unknown kind", k->name);
    }
}

/* The value column: what a user writes. */
static const char *const kind_names[] = {
  [SP_CFG_SCHEMA] = "string",
  [SP_CFG_PATH] = "absolute path",
  [SP_CFG_SOCKET] = "absolute path",
  [SP_CFG_SIZE] = "size",
  [SP_CFG_MODE] = "octal string",
  [SP_CFG_COUNT] = "integer",
  [SP_CFG_BOOL] = "`true` or `false`",
  [SP_CFG_LIFETIME] = "`\"persistent\"` or `\"ephemeral\"`",
  [SP_CFG_LOG_LEVEL] = "`\"error\"`, `\"warning\"`, `\"info\"` or `\"debug\"`",
  [SP_CFG_OPTIONS] = "array of option names",
  [SP_CFG_PATHS] = "array of absolute paths",
};

void
sp_config_print_table (FILE *f)
{
  fputs ("| key | value | default | meaning |\n| --- | --- | --- | --- |\n", f);
  for (size_t i = 0; i < sp_config_key_count; i++)
    {
      const struct sp_config_key *k = &sp_config_keys[i];

      fprintf (f, "| `%s` | %s", k->name, kind_names[k->kind]);
      if (k->kind == SP_CFG_COUNT)
        fprintf (f, " from 1 to %llu", (unsigned long long) k->max);
      else if (k->kind == SP_CFG_PATH || k->kind == SP_CFG_SOCKET)
        fprintf (f, " of at most %llu bytes%s", (unsigned long long) k->max,
                 k->kind == SP_CFG_SOCKET ? ", or `\"\"`" : "");
      fputs (" | ", f);
      if (k->def != NULL)
        fprintf (f, "`%s`%s", k->def, k->note != NULL ? " (" : "");
      if (k->note != NULL)
        fprintf (f, "%s%s", k->note, k->def != NULL ? ")" : "");
      fprintf (f, " | %s |\n", k->help);
    }
}
