#include "macro.h"
#include "rewrite.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

static const char *const our_stages[] = { "createRuntime", "poststop" };
#define N_STAGES (ARRAY_SIZE (our_stages))

static void
gen_hook_entry (yajl_gen g, const struct sp_rewrite *rw, const char *stage)
{
  char env[2][4200];

  yajl_gen_map_open (g);
  sp_gen_kv_str (g, "path", rw->hook_path);
  sp_gen_str (g, "args");
  yajl_gen_array_open (g);
  sp_gen_str (g, "shmpipe-hook");
  sp_gen_str (g, stage);
  yajl_gen_array_close (g);
  sp_gen_str (g, "env");
  yajl_gen_array_open (g);
  snprintf (env[0], sizeof (env[0]), "SHMPIPE_ROOT=%s", rw->store_root);
  sp_gen_str (g, env[0]);
  if (rw->config_path != NULL)
    {
      snprintf (env[1], sizeof (env[1]), "SHMPIPE_CONFIG=%s", rw->config_path);
      sp_gen_str (g, env[1]);
    }
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
}

static bool
has_hook (yajl_val entries, const char *path)
{
  for (size_t i = 0; YAJL_IS_ARRAY (entries) && i < entries->u.array.len; i++)
    {
      if (sp_json_str_eq (sp_json_get (entries->u.array.values[i], "path"), path))
        return true;
    }
  return false;
}

static int
gen_hooks (yajl_gen g, yajl_val hooks, const struct sp_rewrite *rw, sp_error_t *err)
{
  bool seen[N_STAGES] = { false };

  if (hooks != NULL && !YAJL_IS_OBJECT (hooks))
    return sp_error_make (err, EINVAL, "config.json: \"hooks\" must be an object");
  yajl_gen_map_open (g);
  for (size_t i = 0; hooks != NULL && i < hooks->u.object.len; i++)
    {
      const char *stage = hooks->u.object.keys[i];
      yajl_val entries = hooks->u.object.values[i];
      size_t k;

      for (k = 0; k < N_STAGES && strcmp (stage, our_stages[k]) != 0; k++)
        ;
      sp_gen_str (g, stage);
      if (k == N_STAGES)
        {
          sp_gen_value (g, entries);
          continue;
        }
      if (!YAJL_IS_ARRAY (entries))
        return sp_error_make (err, EINVAL, "config.json: \"hooks.%s\" must be an array", stage);
      seen[k] = true;
      yajl_gen_array_open (g);
      for (size_t j = 0; j < entries->u.array.len; j++)
        sp_gen_value (g, entries->u.array.values[j]);
      if (!has_hook (entries, rw->hook_path))
        gen_hook_entry (g, rw, stage);
      yajl_gen_array_close (g);
    }
  for (size_t k = 0; k < N_STAGES; k++)
    if (!seen[k])
      {
        sp_gen_str (g, our_stages[k]);
        yajl_gen_array_open (g);
        gen_hook_entry (g, rw, our_stages[k]);
        yajl_gen_array_close (g);
      }
  yajl_gen_map_close (g);
  return 0;
}

static void
gen_ipc_ns (yajl_gen g, const char *path)
{
  yajl_gen_map_open (g);
  sp_gen_kv_str (g, "type", "ipc");
  sp_gen_kv_str (g, "path", path);
  yajl_gen_map_close (g);
}

static int
gen_namespaces (yajl_gen g, yajl_val ns, const char *ipc_ns, sp_error_t *err)
{
  bool done = false;

  if (ns != NULL && !YAJL_IS_ARRAY (ns))
    return sp_error_make (err, EINVAL, "config.json: \"linux.namespaces\" must be an array");
  yajl_gen_array_open (g);
  for (size_t i = 0; ns != NULL && i < ns->u.array.len; i++)
    {
      if (sp_json_str_eq (sp_json_get (ns->u.array.values[i], "type"), "ipc"))
        {
          if (!done)
            gen_ipc_ns (g, ipc_ns);
          done = true;
        }
      else
        sp_gen_value (g, ns->u.array.values[i]);
    }
  if (!done)
    gen_ipc_ns (g, ipc_ns);
  yajl_gen_array_close (g);
  return 0;
}

static int
gen_linux (yajl_gen g, yajl_val linux_obj, const char *ipc_ns, sp_error_t *err)
{
  bool seen = false;

  if (linux_obj != NULL && !YAJL_IS_OBJECT (linux_obj))
    return sp_error_make (err, EINVAL, "config.json: \"linux\" must be an object");
  yajl_gen_map_open (g);
  for (size_t i = 0; linux_obj != NULL && i < linux_obj->u.object.len; i++)
    {
      sp_gen_str (g, linux_obj->u.object.keys[i]);
      if (strcmp (linux_obj->u.object.keys[i], "namespaces") == 0)
        {
          seen = true;
          if (gen_namespaces (g, linux_obj->u.object.values[i], ipc_ns, err) < 0)
            return -1;
        }
      else
        sp_gen_value (g, linux_obj->u.object.values[i]);
    }
  if (!seen)
    {
      sp_gen_str (g, "namespaces");
      if (gen_namespaces (g, NULL, ipc_ns, err) < 0)
        return -1;
    }
  yajl_gen_map_close (g);
  return 0;
}

int
sp_runtime_rewrite (yajl_val config, const struct sp_rewrite *rw, char **out, size_t *len,
                    sp_error_t *err)
{
  cleanup_yajl_gen yajl_gen g = sp_gen_new (false);
  bool hooks_seen = false, linux_seen = false;

  if (!YAJL_IS_OBJECT (config))
    return sp_error_make (err, EINVAL, "config.json: not a JSON object");
  yajl_gen_map_open (g);
  for (size_t i = 0; i < config->u.object.len; i++)
    {
      const char *key = config->u.object.keys[i];
      yajl_val v = config->u.object.values[i];

      sp_gen_str (g, key);
      if (strcmp (key, "hooks") == 0)
        {
          hooks_seen = true;
          if (gen_hooks (g, v, rw, err) < 0)
            return -1;
        }
      else if (strcmp (key, "linux") == 0 && rw->ipc_ns != NULL)
        {
          linux_seen = true;
          if (gen_linux (g, v, rw->ipc_ns, err) < 0)
            return -1;
        }
      else
        sp_gen_value (g, v);
    }
  if (!hooks_seen)
    {
      sp_gen_str (g, "hooks");
      if (gen_hooks (g, NULL, rw, err) < 0)
        return -1;
    }
  if (!linux_seen && rw->ipc_ns != NULL)
    {
      sp_gen_str (g, "linux");
      if (gen_linux (g, NULL, rw->ipc_ns, err) < 0)
        return -1;
    }
  yajl_gen_map_close (g);
  return sp_gen_finish (g, out, len, err);
}
