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
#include "suggest.h"

static const char *const log_names[] = { "error", "warning", "info", "debug" };

const char *
sp_log_level_name (enum sp_log_level l)
{
  return (unsigned) l < 4 ? log_names[l] : "info";
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
        "auto_lifetime", "log_level",
        /* issue 15, part A */
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

int
sp_config_parse (const char *buf, size_t len, struct sp_config *cfg, sp_error_t *err)
{
  cleanup_yajl_val yajl_val root = NULL;
  const char *s = NULL;
  bool size_set = false;

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
          if (get_string (v, key, &s, err) < 0)
            return -1;
          if (s[0] != '/' || strlen (s) > 256 || strstr (s, "/..") != NULL)
            return sp_error_make (
                err, EINVAL,
                "config: \"root\" must be an absolute path of at most 256 bytes, without \"..\"");
          free (cfg->root);
          cfg->root = strdup (s);
          if (cfg->root == NULL)
            return sp_error_sys (err, ENOMEM, "config");
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
          for (j = 0; j < 4 && strcmp (s, log_names[j]) != 0; j++)
            ;
          if (j == 4)
            return sp_error_make (
                err, EINVAL,
                "config: invalid \"log_level\" \"%.32s\": want error, warning, info or debug", s);
          cfg->log_level = (enum sp_log_level) j;
        }
      /* Day-2 operations (issue 15, part A). */
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
      else
        return unknown_key (key, err);
    }

  if (cfg->default_size > cfg->max_size)
    {
      if (size_set)
        return sp_error_make (
            err, EINVAL, "config: \"default_size\" (%llu bytes) exceeds \"max_size\" (%llu bytes)",
            (unsigned long long) cfg->default_size, (unsigned long long) cfg->max_size);
      cfg->default_size = cfg->max_size;
    }
  return 0;
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

void
sp_config_free (struct sp_config *cfg)
{
  free (cfg->root);
  cfg->root = NULL;
  free (cfg->path);
  cfg->path = NULL;
  free (cfg->docker_socket);
  cfg->docker_socket = NULL;
}
