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
    if (sp_opt_grantable (&sp_opt_defs[i]))
      cfg->container_options |= sp_opt_bit (&sp_opt_defs[i]);
  cfg->container_max_size = 0; /* settled by sp_config_parse's end or finish_limits */
  cfg->container_persistent = false;
  {
    static const char *const prefixes[] = SP_DEFAULT_SOCKET_PREFIXES;
    for (size_t i = 0; i < ARRAY_SIZE (prefixes); i++)
      snprintf (cfg->socket_prefixes.path[i], SP_OPT_PATH_MAX, "%s", prefixes[i]);
    cfg->socket_prefixes.n = ARRAY_SIZE (prefixes);
  }
  finish_limits (cfg, false, false);
}

static int
unknown_key (const char *key, sp_error_t *err)
{
  const char *near
      = sp_nearest (key, sp_config_keys, sp_config_key_count, sizeof (sp_config_keys[0]));

  if (near != NULL)
    return sp_error_make (err, EINVAL, "config: unknown key \"%.64s\" (did you mean \"%s\"?)", key,
                          near);
  return sp_error_make (err, EINVAL, "config: unknown key \"%.64s\"", key);
}

/* Bit I stands for row I of sp_config_keys: the keys the file gave. */
typedef uint32_t key_mask;

static bool
given (key_mask m, const char *name)
{
  const struct sp_config_key *k = sp_config_key_find (name);
  return k != NULL && (m & ((key_mask) 1 << (k - sp_config_keys)));
}

int
sp_config_parse (const char *buf, size_t len, struct sp_config *cfg, sp_error_t *err)
{
  cleanup_yajl_val yajl_val root = NULL;
  key_mask seen = 0;

  if (len > SP_CONFIG_MAX_BYTES)
    return sp_error_make (err, EFBIG, "config: larger than %d bytes", SP_CONFIG_MAX_BYTES);
  if (sp_json_parse (buf, len, &root, err) < 0)
    return sp_error_prefix (err, "config");
  if (!YAJL_IS_OBJECT (root))
    return sp_error_make (err, EINVAL, "config: must be a JSON object");
  /* A 33rd key needs a wider key_mask (test_config_keys says so). */
  if (sp_config_key_count > sizeof (key_mask) * 8)
    return sp_error_make (err, EINVAL, "config: more keys than key_mask holds");

  for (size_t i = 0; i < root->u.object.len; i++)
    {
      const char *key = root->u.object.keys[i];
      const struct sp_config_key *k = sp_config_key_find (key);
      key_mask bit;

      if (k == NULL)
        return unknown_key (key, err);
      /* yajl keeps both; the rest of shmpipe refuses a key given twice
         rather than guess which one the writer meant. */
      bit = (key_mask) 1 << (k - sp_config_keys);
      if (seen & bit)
        return sp_error_make (err, EINVAL, "config: key \"%s\" is given twice", key);
      seen |= bit;
      if (sp_config_key_parse (k, root->u.object.values[i], cfg, err) < 0)
        return -1;
    }

  if (cfg->default_size > cfg->max_size)
    {
      if (given (seen, "default_size"))
        return sp_error_make (
            err, EINVAL, "config: \"default_size\" (%llu bytes) exceeds \"max_size\" (%llu bytes)",
            (unsigned long long) cfg->default_size, (unsigned long long) cfg->max_size);
      cfg->default_size = cfg->max_size;
    }
  if (given (seen, "container_max_size") && cfg->container_max_size > cfg->max_size)
    return sp_error_make (err, EINVAL, "config: \"container_max_size\" exceeds \"max_size\"");
  if (given (seen, "container_max_size") && cfg->container_max_size < cfg->default_size)
    return sp_error_make (err, EINVAL,
                          "config: \"default_size\" exceeds \"container_max_size\": a container "
                          "could never make a pipeline");
  return finish_limits (cfg, given (seen, "container_max_size"), given (seen, "max_total_size"));
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
        && !(cfg->container_options & sp_opt_bit (&sp_opt_defs[i]))
        /* Asking to join only asks for less: never refused. */
        && !(sp_opt_defs[i].flags & SP_OPT_F_REQUEST))
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
