#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileutil.h"
#include "json.h"
#include "macro.h"
#include "pipeline_options.h"
#include "suggest.h"

#define SP_DEFAULT_MAX_PIPELINES 4096
#define SP_DEFAULT_CONTAINER_MAX_SIZE (1ULL << 30)

/* The limits that default from others: container_max_size (1 GiB, within
   max_size, at least default_size) and max_total_size (at least max_size).
   Explicit values that contradict each other are errors. */
static int
finish_limits (struct sp_config *cfg, bool container_set, bool total_set)
{
  if (!container_set)
    {
      cfg->container_max_size = SP_DEFAULT_CONTAINER_MAX_SIZE;
      if (cfg->container_max_size > cfg->max_size)
        cfg->container_max_size = cfg->max_size;
      if (cfg->container_max_size < cfg->default_size)
        cfg->container_max_size = cfg->default_size;
    }
  if (!total_set && cfg->max_total_size < cfg->max_size)
    cfg->max_total_size = cfg->max_size;
  return 0;
}

void
sp_config_defaults (struct sp_config *cfg)
{
  long pages = sysconf (_SC_PHYS_PAGES);
  long psize = sysconf (_SC_PAGESIZE);

  memset (cfg, 0, sizeof (*cfg));
  cfg->default_size = 64ULL << 20;
  /* tmpfs's own default cap: half of physical memory. */
  cfg->max_size = (pages > 0 && psize > 0) ? (uint64_t) pages * (uint64_t) psize / 2 : (1ULL << 30);
  if (cfg->max_size < cfg->default_size)
    cfg->max_size = cfg->default_size;
  cfg->default_mode = 01777;
  cfg->max_inodes = 65536;
  cfg->auto_create = true;
  cfg->auto_lifetime = SP_LIFETIME_EPHEMERAL;
  cfg->log_level = SP_LOG_INFO;
  cfg->max_pipelines = SP_DEFAULT_MAX_PIPELINES;
  cfg->max_total_size
      = (pages > 0 && psize > 0) ? (uint64_t) pages * (uint64_t) psize : (2ULL << 30);
  for (size_t i = 0; i < sp_opt_count; i++)
    if (sp_opt_defs[i].flags & SP_OPT_F_CONTAINER)
      cfg->container_options |= sp_opt_bit (&sp_opt_defs[i]);
  cfg->container_max_size = 0; /* settled by sp_config_parse's end or finish_limits */
  cfg->container_persistent = false;
  finish_limits (cfg, false, false);
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

static int
get_string (yajl_val v, const char *key, const char **out, sp_error_t *err)
{
  if (!YAJL_IS_STRING (v))
    return sp_error_make (err, EINVAL, "config: \"%s\" must be a string", key);
  *out = YAJL_GET_STRING (v);
  return 0;
}

static const char *const config_keys[]
    = { "$schema", "root", "default_size", "max_size", "default_mode", "max_inodes", "auto_create",
        "auto_lifetime", "log_level", "cdi", "cdi_spec_dir", "cdi_hook",
        /* quotas and what containers may ask for */
        "max_pipelines", "max_total_size", "container_options", "container_max_size",
        "container_persistent",
        /* Docker members reconciled by gc */
        "docker_socket" };

static int
unknown_key (const char *key, sp_error_t *err)
{
  const char *near = sp_nearest (key, config_keys, ARRAY_SIZE (config_keys), sizeof (char *));

  if (near != NULL)
    return sp_error_make (err, EINVAL, "config: unknown key \"%.64s\" (did you mean \"%s\"?)", key,
                          near);
  return sp_error_make (err, EINVAL, "config: unknown key \"%.64s\"", key);
}

/* An absolute path of at most 256 bytes without "..", replacing *OUT. */
static int
get_abs_path (yajl_val v, const char *key, char **out, sp_error_t *err)
{
  const char *s = NULL;

  if (get_string (v, key, &s, err) < 0)
    return -1;
  if (s[0] != '/' || strlen (s) > 256 || strstr (s, "/..") != NULL)
    return sp_error_make (
        err, EINVAL, "config: \"%s\" must be an absolute path of at most 256 bytes, without \"..\"",
        key);
  free (*out);
  *out = strdup (s);
  if (*out == NULL)
    return sp_error_sys (err, ENOMEM, "config");
  return 0;
}

enum
{
  SET_CONTAINER_MAX_SIZE = 1u << 0,
  SET_MAX_TOTAL_SIZE = 1u << 1,
};

/* ["size", "mode"]: option rows a container's annotations may set. */
static int
get_container_options (yajl_val v, sp_opt_mask *out, sp_error_t *err)
{
  sp_opt_mask m = 0;

  if (!YAJL_IS_ARRAY (v))
    return sp_error_make (err, EINVAL,
                          "config: \"container_options\" must be an array of option names");
  for (size_t i = 0; i < v->u.array.len; i++)
    {
      yajl_val e = v->u.array.values[i];
      const struct sp_opt_def *d = YAJL_IS_STRING (e) ? sp_opt_find (YAJL_GET_STRING (e)) : NULL;
      char names[128];

      if (d == NULL || !(d->flags & SP_OPT_F_CONTAINER))
        {
          sp_opts_names (SP_OPT_F_CONTAINER, names, sizeof (names));
          return sp_error_make (err, EINVAL, "config: \"container_options\" may list only %s",
                                names);
        }
      m |= sp_opt_bit (d);
    }
  *out = m;
  return 0;
}

/* The keys of the quota block; anything else is an unknown key. */
static int
parse_limit_key (const char *key, yajl_val v, struct sp_config *cfg, unsigned *set, sp_error_t *err)
{
  if (strcmp (key, "max_pipelines") == 0)
    {
      if (!YAJL_IS_INTEGER (v) || YAJL_GET_INTEGER (v) <= 0 || YAJL_GET_INTEGER (v) > (1LL << 20))
        return sp_error_make (err, EINVAL,
                              "config: \"max_pipelines\" must be an integer from 1 to 1048576");
      cfg->max_pipelines = (uint64_t) YAJL_GET_INTEGER (v);
      return 0;
    }
  if (strcmp (key, "max_total_size") == 0)
    {
      *set |= SET_MAX_TOTAL_SIZE;
      return get_size (v, key, &cfg->max_total_size, err);
    }
  if (strcmp (key, "container_options") == 0)
    return get_container_options (v, &cfg->container_options, err);
  if (strcmp (key, "container_max_size") == 0)
    {
      *set |= SET_CONTAINER_MAX_SIZE;
      return get_size (v, key, &cfg->container_max_size, err);
    }
  if (strcmp (key, "container_persistent") == 0)
    {
      if (!YAJL_IS_TRUE (v) && !YAJL_IS_FALSE (v))
        return sp_error_make (err, EINVAL,
                              "config: \"container_persistent\" must be true or false");
      cfg->container_persistent = YAJL_IS_TRUE (v);
      return 0;
    }
  return unknown_key (key, err);
}

int
sp_config_parse (const char *buf, size_t len, struct sp_config *cfg, sp_error_t *err)
{
  cleanup_yajl_val yajl_val root = NULL;
  const char *s = NULL;
  bool size_set = false;
  unsigned limits_set = 0;

  if (len > SP_CONFIG_MAX_BYTES)
    return sp_error_make (err, EFBIG, "config: larger than %d bytes", SP_CONFIG_MAX_BYTES);
  if (sp_json_parse (buf, len, &root, err) < 0)
    return sp_error_prefix (err, "config");
  if (!YAJL_IS_OBJECT (root))
    return sp_error_make (err, EINVAL, "config: must be a JSON object");

  for (size_t i = 0; i < root->u.object.len; i++)
    {
      const char *key = root->u.object.keys[i];
      yajl_val v = root->u.object.values[i];

      if (strcmp (key, "$schema") == 0)
        {
          if (get_string (v, key, &s, err) < 0)
            return -1;
        }
      else if (strcmp (key, "root") == 0)
        {
          if (get_abs_path (v, key, &cfg->root, err) < 0)
            return -1;
        }
      else if (strcmp (key, "default_size") == 0)
        {
          if (get_size (v, key, &cfg->default_size, err) < 0)
            return -1;
          size_set = true;
        }
      else if (strcmp (key, "max_size") == 0)
        {
          if (get_size (v, key, &cfg->max_size, err) < 0)
            return -1;
        }
      else if (strcmp (key, "default_mode") == 0)
        {
          if (get_string (v, key, &s, err) < 0 || sp_parse_mode (s, &cfg->default_mode, err) < 0)
            return sp_error_prefix (err, "config: \"default_mode\"");
        }
      else if (strcmp (key, "max_inodes") == 0)
        {
          if (!YAJL_IS_INTEGER (v) || YAJL_GET_INTEGER (v) <= 0
              || YAJL_GET_INTEGER (v) > (1LL << 40))
            return sp_error_make (err, EINVAL, "config: \"max_inodes\" must be a positive integer");
          cfg->max_inodes = (uint64_t) YAJL_GET_INTEGER (v);
        }
      else if (strcmp (key, "auto_create") == 0)
        {
          if (!YAJL_IS_TRUE (v) && !YAJL_IS_FALSE (v))
            return sp_error_make (err, EINVAL, "config: \"auto_create\" must be true or false");
          cfg->auto_create = YAJL_IS_TRUE (v);
        }
      else if (strcmp (key, "auto_lifetime") == 0)
        {
          if (get_string (v, key, &s, err) < 0
              || sp_parse_lifetime (s, &cfg->auto_lifetime, err) < 0)
            return sp_error_prefix (err, "config: \"auto_lifetime\"");
        }
      else if (strcmp (key, "log_level") == 0)
        {
          size_t j;
          if (get_string (v, key, &s, err) < 0)
            return -1;
          for (j = 0; j < 4 && strcmp (s, sp_log_level_name ((enum sp_log_level) j)) != 0; j++)
            ;
          if (j == 4)
            return sp_error_make (
                err, EINVAL,
                "config: invalid \"log_level\" \"%.32s\": want error, warning, info or debug", s);
          cfg->log_level = (enum sp_log_level) j;
        }
      else if (strcmp (key, "cdi") == 0)
        {
          if (!YAJL_IS_TRUE (v) && !YAJL_IS_FALSE (v))
            return sp_error_make (err, EINVAL, "config: \"cdi\" must be true or false");
          cfg->cdi = YAJL_IS_TRUE (v);
        }
      else if (strcmp (key, "cdi_spec_dir") == 0)
        {
          if (get_abs_path (v, key, &cfg->cdi_spec_dir, err) < 0)
            return -1;
        }
      else if (strcmp (key, "cdi_hook") == 0)
        {
          if (get_abs_path (v, key, &cfg->cdi_hook, err) < 0)
            return -1;
        }
      else if (strcmp (key, "docker_socket") == 0)
        {
          if (get_string (v, key, &s, err) < 0)
            return -1;
          if ((s[0] != '\0' && s[0] != '/') || strlen (s) > 107)
            return sp_error_make (err, EINVAL,
                                  "config: \"docker_socket\" must be an absolute path of at most "
                                  "107 bytes, or \"\" to turn Docker member checks off");
          free (cfg->docker_socket);
          cfg->docker_socket = strdup (s);
          if (cfg->docker_socket == NULL)
            return sp_error_sys (err, ENOMEM, "config");
        }
      else if (parse_limit_key (key, v, cfg, &limits_set, err) < 0)
        return -1;
    }

  if (cfg->default_size > cfg->max_size)
    {
      if (size_set)
        return sp_error_make (
            err, EINVAL, "config: \"default_size\" (%llu bytes) exceeds \"max_size\" (%llu bytes)",
            (unsigned long long) cfg->default_size, (unsigned long long) cfg->max_size);
      cfg->default_size = cfg->max_size;
    }
  if ((limits_set & SET_CONTAINER_MAX_SIZE) && cfg->container_max_size > cfg->max_size)
    return sp_error_make (err, EINVAL, "config: \"container_max_size\" exceeds \"max_size\"");
  if ((limits_set & SET_CONTAINER_MAX_SIZE) && cfg->container_max_size < cfg->default_size)
    return sp_error_make (err, EINVAL,
                          "config: \"default_size\" exceeds \"container_max_size\": a container "
                          "could never make a pipeline");
  return finish_limits (cfg, limits_set & SET_CONTAINER_MAX_SIZE, limits_set & SET_MAX_TOTAL_SIZE);
}

int
sp_config_load (const char *path, bool explicit_path, struct sp_config *cfg, sp_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len;
  sp_error_t read_err = NULL;

  sp_config_defaults (cfg);
  if (path == NULL)
    {
      path = getenv ("SHMPIPE_CONFIG");
      explicit_path = path != NULL && *path != '\0';
      if (!explicit_path)
        path = SP_DEFAULT_CONFIG;
    }
  if (sp_read_file_at (AT_FDCWD, path, 0, SP_CONFIG_MAX_BYTES, &buf, &len, &read_err) < 0)
    {
      if (read_err->status == ENOENT && !explicit_path)
        {
          sp_error_release (&read_err);
          goto done;
        }
      *err = read_err;
      return sp_error_prefix (err, "config %s", path);
    }
  if (sp_config_parse (buf, len, cfg, err) < 0)
    return sp_error_prefix (err, "%s", path);
  cfg->path = strdup (path);
  if (cfg->path == NULL)
    return sp_error_sys (err, ENOMEM, "config");
done:
  if (cfg->root == NULL)
    {
      cfg->root = strdup (SP_DEFAULT_ROOT);
      if (cfg->root == NULL)
        return sp_error_sys (err, ENOMEM, "config");
    }
  return 0;
}

const char *
sp_config_file (const struct sp_config *cfg)
{
  return cfg->path != NULL ? cfg->path : "the built-in defaults; no config file was read";
}

int
sp_config_check_container (const struct sp_config *cfg, const struct sp_pipeline_opts *o,
                           sp_opt_mask given, sp_error_t *err)
{
  char want[32], max[32];

  for (size_t i = 0; i < sp_opt_count; i++)
    if ((given & sp_opt_bit (&sp_opt_defs[i]))
        && !(cfg->container_options & sp_opt_bit (&sp_opt_defs[i])))
      return sp_error_make (err, EPERM,
                            "annotation " SP_OPTS_ANNOTATION_PREFIX
                            "%s is not allowed for containers (container_options in %s)",
                            sp_opt_defs[i].name, sp_config_file (cfg));
  if ((given & sp_opt_bit (sp_opt_find ("lifetime"))) && o->lifetime == SP_LIFETIME_PERSISTENT
      && !cfg->container_persistent)
    return sp_error_make (err, EPERM,
                          "annotation " SP_OPTS_ANNOTATION_PREFIX
                          "lifetime=persistent is not allowed for containers (container_persistent "
                          "in %s)",
                          sp_config_file (cfg));
  if (o->size > cfg->container_max_size)
    {
      sp_format_size (o->size, want, sizeof (want));
      sp_format_size (cfg->container_max_size, max, sizeof (max));
      return sp_error_make (err, EPERM,
                            "size %s exceeds the configured maximum for pipelines containers "
                            "create, %s (container_max_size in %s)",
                            want, max, sp_config_file (cfg));
    }
  return 0;
}

void
sp_config_free (struct sp_config *cfg)
{
  free (cfg->root);
  free (cfg->cdi_spec_dir);
  free (cfg->cdi_hook);
  free (cfg->path);
  free (cfg->docker_socket);
  cfg->root = cfg->cdi_spec_dir = cfg->cdi_hook = cfg->path = cfg->docker_socket = NULL;
}
