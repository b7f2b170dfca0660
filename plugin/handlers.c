#include "macro.h"
#include "handlers.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "cdi.h"
#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "names.h"
#include "options.h"
#include "volroot.h"

/* One endpoint: fills G (a fresh generator) on success; on failure G is
   thrown away and the error becomes the reply. */
typedef int (*handler_fn) (struct sp_store *s, yajl_val req, yajl_gen g, sp_error_t *err);

/* Error text goes back to Docker and into logs: printable ASCII only, so that
   a hostile key or value can neither break the JSON generator (yajl refuses
   invalid UTF-8) nor forge log lines. */
static void
sanitize (const char *in, char *out, size_t len)
{
  size_t i;

  for (i = 0; in[i] != '\0' && i + 1 < len; i++)
    out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
  out[i] = '\0';
  if (in[i] != '\0' && len > 4)
    strcpy (out + len - 4, "...");
}

int
sp_plugin_reply_error (struct sp_plugin_reply *reply, int status, const char *fmt, ...)
{
  cleanup_yajl_gen yajl_gen g = sp_gen_new (false);
  cleanup_free char *msg = NULL;
  cleanup_free char *clean = NULL;
  size_t n;
  va_list ap;

  sp_plugin_reply_free (reply);
  reply->status = status;
  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  n = msg != NULL ? strlen (msg) + 1 : 16;
  clean = malloc (n);
  if (clean == NULL)
    abort ();
  sanitize (msg != NULL ? msg : "out of memory", clean, n);
  yajl_gen_map_open (g);
  sp_gen_kv_str (g, "Err", clean);
  yajl_gen_map_close (g);
  if (sp_gen_finish (g, &reply->body, &reply->len, NULL) < 0)
    abort (); /* only on allocation failure */
  return -1;
}

void
sp_plugin_reply_free (struct sp_plugin_reply *reply)
{
  free (reply->body);
  reply->body = NULL;
  reply->len = 0;
}

static bool
is_blank (const char *buf, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r' && buf[i] != '\n')
      return false;
  return true;
}

/* The request object; an empty body or `null` reads as {} (Docker sends no
   body with Plugin.Activate). */
static int
parse_request (const char *body, size_t len, yajl_val *req, sp_error_t *err)
{
  *req = NULL;
  if (body == NULL || is_blank (body, len))
    return 0;
  if (!sp_json_depth_ok (body, len, SP_PLUGIN_JSON_DEPTH_MAX))
    return sp_error_make (err, EINVAL, "request body: JSON nested deeper than %d levels",
                          SP_PLUGIN_JSON_DEPTH_MAX);
  if (sp_json_parse (body, len, req, err) < 0)
    return sp_error_prefix (err, "request body");
  if (YAJL_IS_NULL (*req))
    return 0;
  if (!YAJL_IS_OBJECT (*req))
    return sp_error_make (err, EINVAL, "request body: not a JSON object");
  return 0;
}

/* A required string member. */
static int
get_required_string (yajl_val req, const char *key, const char **out, sp_error_t *err)
{
  int r = sp_json_get_string (req, "invalid request", key, out, err);
  if (r == 1)
    return sp_error_make (err, EINVAL, "invalid request: missing \"%s\"", key);
  return r;
}

static int
get_name (yajl_val req, const char **name, sp_error_t *err)
{
  if (get_required_string (req, "Name", name, err) < 0)
    return -1;
  /* Docker has no Kubernetes namespaces: a qualified name would be a
     volume that no pod's pipeline may be. */
  if (strchr (*name, '/') != NULL && sp_qname_valid (*name, strlen (*name)))
    return sp_error_make (err, EINVAL,
                          "volume %s: a NAMESPACE/NAME pipeline belongs to Kubernetes pods; the "
                          "Docker plugin serves plain names",
                          *name);
  return sp_name_check (*name, err);
}

/* One volume is one mount point: volume NAME is pipeline NAME's tmpfs (for
   /dev/shm), volume NAME.sockets its socket directory (for the path the
   container's -v names).  A pipeline whose own name ends in ".sockets" is
   therefore out of the plugin's reach; shmpipectl and the hook still serve
   it. */
#define SOCKETS_SUFFIX ".sockets"

struct volume
{
  char pipeline[SP_NAME_MAX + 1];
  bool sockets;
};

static int
get_volume (yajl_val req, struct volume *v, sp_error_t *err)
{
  const char *name;
  size_t len, k = strlen (SOCKETS_SUFFIX);

  if (get_name (req, &name, err) < 0)
    return -1;
  len = strlen (name);
  v->sockets = len > k && strcmp (name + len - k, SOCKETS_SUFFIX) == 0;
  if (v->sockets)
    len -= k;
  memcpy (v->pipeline, name, len);
  v->pipeline[len] = '\0';
  return sp_name_check (v->pipeline, err);
}

/* The host directory Docker binds for V; a socket volume needs its pipeline
   to have a socket directory.  */
static int
volume_mountpoint (struct sp_store *s, const struct volume *v, char *buf, size_t len,
                   sp_error_t *err)
{
  cleanup_pipeline struct sp_pipeline p = { 0 };

  if (!v->sockets)
    {
      if (sp_store_mountpoint (s, v->pipeline, buf, len) < 0)
        return sp_error_make (err, ENAMETOOLONG, "volume %s: mountpoint path too long",
                              v->pipeline);
      return 0;
    }
  if (sp_store_get (s, v->pipeline, &p, err) < 0)
    return -1;
  if (p.opts.sockets[0] == '\0')
    return sp_error_make (err, ENOENT,
                          "volume %s" SOCKETS_SUFFIX ": pipeline %s has no socket directory "
                          "(create it with -o sockets=PATH)",
                          v->pipeline, v->pipeline);
  if (sp_store_sockets_path (s, v->pipeline, buf, len) < 0)
    return sp_error_make (err, ENAMETOOLONG, "volume %s: mountpoint path too long", v->pipeline);
  return 0;
}

/* "docker:" + Docker's mount ID: the member the store counts.  Docker's IDs
   are 64 hex digits; anything the store would not take as a member id is
   refused here, with Docker's field name in the message. */
static int
get_member_id (yajl_val req, char *buf, size_t len, sp_error_t *err)
{
  char shown[40];
  const char *id;

  if (get_required_string (req, "ID", &id, err) < 0)
    return -1;
  if (*id == '\0' || snprintf (buf, len, SP_PLUGIN_MEMBER_PREFIX "%s", id) >= (int) len
      || !sp_member_id_valid (buf))
    {
      sanitize (id, shown, sizeof (shown));
      return sp_error_make (err, EINVAL, "invalid mount ID \"%s\" (want 1-%zu of [A-Za-z0-9_.:-])",
                            shown, SP_MEMBER_ID_MAX - strlen (SP_PLUGIN_MEMBER_PREFIX));
    }
  return 0;
}

/* Docker's Opts map over the defaults of a Docker volume (persistent: its
   content outlives the containers until `docker volume rm`).  *N counts the
   options given. */
static int
parse_opts (struct sp_store *s, yajl_val req, struct sp_pipeline_opts *o, size_t *n,
            sp_error_t *err)
{
  yajl_val opts = sp_json_get (req, "Opts");
  struct sp_pipeline_opts requested = { 0 };
  sp_opt_mask given = 0;

  *n = 0;
  if (opts == NULL || YAJL_IS_NULL (opts))
    return sp_admit (s->cfg, SP_REQ_VOLUME, NULL, 0, o, err);
  if (!YAJL_IS_OBJECT (opts))
    return sp_error_make (err, EINVAL, "invalid request: \"Opts\" must be an object of strings");
  for (size_t i = 0; i < opts->u.object.len; i++)
    {
      const char *key = opts->u.object.keys[i];
      yajl_val v = opts->u.object.values[i];
      char shown[40];

      sanitize (key, shown, sizeof (shown));
      for (size_t j = 0; j < i; j++)
        if (strcmp (opts->u.object.keys[j], key) == 0)
          return sp_error_make (err, EINVAL, "option \"%s\" given twice", shown);
      if (!YAJL_IS_STRING (v))
        return sp_error_make (err, EINVAL, "option \"%s\": the value must be a string", shown);
      if (sp_opts_set (&requested, key, YAJL_GET_STRING (v), &given, err) < 0)
        return -1;
    }
  *n = opts->u.object.len;
  return sp_admit (s->cfg, SP_REQ_VOLUME, &requested, given, o, err);
}

static void
gen_err_ok (yajl_gen g)
{
  sp_gen_kv_str (g, "Err", "");
}

static int
handle_activate (struct sp_store *s, yajl_val req, yajl_gen g, sp_error_t *err)
{
  (void) s, (void) req, (void) err;
  yajl_gen_map_open (g);
  sp_gen_str (g, "Implements");
  yajl_gen_array_open (g);
  sp_gen_str (g, "VolumeDriver");
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  return 0;
}

static int
handle_capabilities (struct sp_store *s, yajl_val req, yajl_gen g, sp_error_t *err)
{
  (void) s, (void) req, (void) err;
  /* local: the tmpfs lives on this host only. */
  yajl_gen_map_open (g);
  sp_gen_str (g, "Capabilities");
  yajl_gen_map_open (g);
  sp_gen_kv_str (g, "Scope", "local");
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);
  return 0;
}

static int
handle_create (struct sp_store *s, yajl_val req, yajl_gen g, sp_error_t *err)
{
  struct sp_pipeline_opts opts;
  struct volume v;
  const char *name;
  bool created = false;
  size_t n;
  char mp[PATH_MAX];

  if (get_volume (req, &v, err) < 0 || parse_opts (s, req, &opts, &n, err) < 0)
    return -1;
  name = v.pipeline;
  if (v.sockets)
    {
      /* Made with its pipeline; Docker's Create only has to find it. */
      if (n > 0)
        return sp_error_make (err, EINVAL,
                              "volume %s" SOCKETS_SUFFIX " takes no options: it is the socket "
                              "directory of pipeline %s (give -o sockets=PATH to %s)",
                              name, name, name);
      if (volume_mountpoint (s, &v, mp, sizeof (mp), err) < 0)
        return -1;
      yajl_gen_map_open (g);
      gen_err_ok (g);
      yajl_gen_map_close (g);
      return 0;
    }
  if (sp_store_create (s, name, &opts, SP_CREATE_MATCH, &created, err) < 0)
    {
      /* Docker sends Create without options on every `docker run -v NAME:...`:
         then any existing pipeline will do, whatever made it. */
      if (n > 0 || sp_error_status (*err) != EEXIST)
        return -1;
      sp_error_release (err);
    }
  if (created)
    {
      char size[32];
      sp_format_size (opts.size, size, sizeof (size));
      sp_log_info ("created volume %s (size %s, huge %s, %s)", name, size, sp_huge_name (opts.huge),
                   sp_lifetime_name (opts.lifetime));
      sp_cdi_refresh_or_warn (s);
    }
  yajl_gen_map_open (g);
  gen_err_ok (g);
  yajl_gen_map_close (g);
  return 0;
}

static int
handle_remove (struct sp_store *s, yajl_val req, yajl_gen g, sp_error_t *err)
{
  cleanup_pipeline struct sp_pipeline p = { 0 };
  sp_error_t get_err = NULL;
  struct volume v;
  const char *name;

  if (get_volume (req, &v, err) < 0)
    return -1;
  name = v.pipeline;
  if (v.sockets)
    {
      /* It goes with its pipeline: Docker may forget it. */
      yajl_gen_map_open (g);
      gen_err_ok (g);
      yajl_gen_map_close (g);
      return 0;
    }
  /* The store refuses too (under its lock); asking first gives a message in
     Docker's terms rather than shmpipectl's. */
  if (sp_store_get (s, name, &p, &get_err) == 0 && p.n_members > 0)
    {
      char list[1024];
      sp_pipeline_format_members (&p, list, sizeof (list));
      return sp_error_make (
          err, EBUSY,
          "volume %s is in use by %zu member%s (%s): stop the containers that use it first", name,
          p.n_members, p.n_members == 1 ? "" : "s", list);
    }
  sp_error_release (&get_err);
  if (sp_store_remove (s, name, false, err) < 0)
    {
      /* Gone already (shmpipectl rm, a reboot): let Docker forget it too. */
      if (sp_error_status (*err) != ENOENT)
        return -1;
      sp_log_info ("remove %s: no such pipeline; nothing to do", name);
      sp_error_release (err);
    }
  else
    sp_log_info ("removed volume %s", name);
  sp_cdi_refresh_or_warn (s);
  yajl_gen_map_open (g);
  gen_err_ok (g);
  yajl_gen_map_close (g);
  return 0;
}

static int
handle_mount (struct sp_store *s, yajl_val req, yajl_gen g, sp_error_t *err)
{
  char id[SP_MEMBER_ID_MAX + 8], mp[PATH_MAX];
  struct volume v;

  /* Either volume makes its container a member: an ephemeral pipeline stays
     while any of its mounts is in use. */
  if (get_volume (req, &v, err) < 0 || get_member_id (req, id, sizeof (id), err) < 0
      || volume_mountpoint (s, &v, mp, sizeof (mp), err) < 0)
    return -1;
  if (sp_store_join (s, v.pipeline, id, 0, NULL, NULL, err) < 0)
    return -1;
  /* The root as recorded, whatever Docker copied onto it (see volroot.h).
     A socket directory's volume is not the tmpfs root: left as it is. */
  if (!v.sockets && sp_volroot_restore (s, v.pipeline, err) < 0)
    {
      sp_error_t undo = NULL;
      if (sp_store_leave (s, v.pipeline, id, NULL, &undo) < 0)
        sp_log_warning ("mount %s for %s: undo the join: %s", v.pipeline, id, undo->msg);
      sp_error_release (&undo);
      return -1;
    }
  sp_log_info ("mount %s%s for %s", v.pipeline, v.sockets ? SOCKETS_SUFFIX : "", id);
  yajl_gen_map_open (g);
  sp_gen_kv_str (g, "Mountpoint", mp);
  gen_err_ok (g);
  yajl_gen_map_close (g);
  return 0;
}

static int
handle_unmount (struct sp_store *s, yajl_val req, yajl_gen g, sp_error_t *err)
{
  char id[SP_MEMBER_ID_MAX + 8];
  struct volume v;
  const char *name;
  bool removed = false;

  if (get_volume (req, &v, err) < 0 || get_member_id (req, id, sizeof (id), err) < 0)
    return -1;
  name = v.pipeline;
  /* Leaving twice, or a pipeline that is gone, is a no-op: a count never
     goes below zero. */
  if (sp_store_leave (s, name, id, &removed, err) < 0)
    return -1;
  /* Docker's copy of the image's directory ends with this Unmount (see
     volroot.h); a failure here is logged, the leave stands. */
  if (!removed && sp_store_exists (s, name))
    {
      sp_error_t root_err = NULL;
      if (sp_volroot_restore (s, name, &root_err) < 0)
        sp_log_warning ("unmount %s for %s: %s", name, id, root_err->msg);
      sp_error_release (&root_err);
    }
  sp_log_info ("unmount %s for %s%s", name, id, removed ? " (ephemeral pipeline removed)" : "");
  yajl_gen_map_open (g);
  gen_err_ok (g);
  yajl_gen_map_close (g);
  return 0;
}

static int
handle_path (struct sp_store *s, yajl_val req, yajl_gen g, sp_error_t *err)
{
  cleanup_pipeline struct sp_pipeline p = { 0 };
  char mp[PATH_MAX];
  struct volume v;

  if (get_volume (req, &v, err) < 0 || sp_store_get (s, v.pipeline, &p, err) < 0
      || volume_mountpoint (s, &v, mp, sizeof (mp), err) < 0)
    return -1;
  yajl_gen_map_open (g);
  sp_gen_kv_str (g, "Mountpoint", mp);
  gen_err_ok (g);
  yajl_gen_map_close (g);
  return 0;
}

static int
handle_get (struct sp_store *s, yajl_val req, yajl_gen g, sp_error_t *err)
{
  cleanup_pipeline struct sp_pipeline p = { 0 };
  char mp[PATH_MAX], created[32];
  const char *name;
  struct volume v;

  if (get_volume (req, &v, err) < 0 || sp_store_get (s, v.pipeline, &p, err) < 0
      || volume_mountpoint (s, &v, mp, sizeof (mp), err) < 0)
    return -1;
  /* Docker wants the name it asked for. */
  name = YAJL_GET_STRING (sp_json_get (req, "Name"));
  sp_format_time (p.created, created, sizeof (created));
  yajl_gen_map_open (g);
  sp_gen_str (g, "Volume");
  yajl_gen_map_open (g);
  sp_gen_kv_str (g, "Name", name);
  sp_gen_kv_str (g, "Mountpoint", mp);
  sp_gen_kv_str (g, "CreatedAt", created);
  sp_gen_str (g, "Status");
  /* Usage is a courtesy: a tmpfs that went away reports 0 bytes used. */
  sp_store_gen_info (s, g, &p);
  yajl_gen_map_close (g);
  gen_err_ok (g);
  yajl_gen_map_close (g);
  return 0;
}

static void
free_names (char ***names, size_t *n)
{
  sp_store_free_names (*names, *n);
  *names = NULL;
  *n = 0;
}

static int
handle_list (struct sp_store *s, yajl_val req, yajl_gen g, sp_error_t *err)
{
  char **names = NULL;
  size_t n = 0;
  char mp[PATH_MAX], created[32];

  (void) req;
  /* Every pipeline, whoever made it: the hook's and shmpipectl's too. */
  if (sp_store_list (s, &names, &n, err) < 0)
    return -1;
  yajl_gen_map_open (g);
  sp_gen_str (g, "Volumes");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_pipeline struct sp_pipeline p = { 0 };
      sp_error_t get_err = NULL;

      if (sp_store_mountpoint (s, names[i], mp, sizeof (mp)) < 0)
        continue;
      if (sp_store_get (s, names[i], &p, &get_err) < 0)
        {
          /* Removed since the listing, or damaged: list what is known. */
          if (sp_error_status (get_err) == ENOENT)
            {
              sp_error_release (&get_err);
              continue;
            }
          sp_log_warning ("list: %s", get_err->msg);
          sp_error_release (&get_err);
          p.created = 0;
        }
      sp_format_time (p.created, created, sizeof (created));
      yajl_gen_map_open (g);
      sp_gen_kv_str (g, "Name", names[i]);
      sp_gen_kv_str (g, "Mountpoint", mp);
      if (p.created != 0)
        sp_gen_kv_str (g, "CreatedAt", created);
      yajl_gen_map_close (g);
      if (p.opts.sockets[0] != '\0' && strlen (names[i]) + strlen (SOCKETS_SUFFIX) <= SP_NAME_MAX
          && sp_store_sockets_path (s, names[i], mp, sizeof (mp)) == 0)
        {
          char vol[SP_NAME_MAX + sizeof (SOCKETS_SUFFIX)];
          snprintf (vol, sizeof (vol), "%s" SOCKETS_SUFFIX, names[i]);
          yajl_gen_map_open (g);
          sp_gen_kv_str (g, "Name", vol);
          sp_gen_kv_str (g, "Mountpoint", mp);
          sp_gen_kv_str (g, "CreatedAt", created);
          yajl_gen_map_close (g);
        }
    }
  yajl_gen_array_close (g);
  gen_err_ok (g);
  yajl_gen_map_close (g);
  free_names (&names, &n);
  return 0;
}

static const struct
{
  const char *endpoint;
  handler_fn fn;
  bool mutates;
} handlers[] = {
  { "/Plugin.Activate", handle_activate, false },
  { "/VolumeDriver.Capabilities", handle_capabilities, false },
  { "/VolumeDriver.Create", handle_create, true },
  { "/VolumeDriver.Remove", handle_remove, true },
  { "/VolumeDriver.Mount", handle_mount, true },
  { "/VolumeDriver.Unmount", handle_unmount, true },
  { "/VolumeDriver.Path", handle_path, false },
  { "/VolumeDriver.Get", handle_get, false },
  { "/VolumeDriver.List", handle_list, false },
};

int
sp_plugin_handle (struct sp_store *s, const char *endpoint, const char *body, size_t len,
                  struct sp_plugin_reply *reply)
{
  cleanup_yajl_val yajl_val req = NULL;
  cleanup_yajl_gen yajl_gen g = NULL;
  cleanup_error sp_error_t err = NULL;
  char shown[72];
  size_t i;

  memset (reply, 0, sizeof (*reply));
  for (i = 0; i < ARRAY_SIZE (handlers); i++)
    if (strcmp (endpoint, handlers[i].endpoint) == 0)
      break;
  if (i == ARRAY_SIZE (handlers))
    {
      sanitize (endpoint, shown, sizeof (shown));
      sp_log_debug ("unknown endpoint %s", shown);
      return sp_plugin_reply_error (
          reply, SP_HTTP_NOT_FOUND,
          "unknown endpoint \"%s\" (this plugin implements Plugin.Activate and "
          "VolumeDriver.*)",
          shown);
    }
  /* The server stops reading at the cap already; this keeps the handlers
     safe whoever calls them. */
  if (len > SP_PLUGIN_BODY_MAX)
    return sp_plugin_reply_error (reply, SP_HTTP_TOO_LARGE, "request body larger than %d bytes",
                                  SP_PLUGIN_BODY_MAX);
  /* Messages name Docker's method ("VolumeDriver.Create"), without the '/'. */
  const char *what = handlers[i].endpoint + 1;
  g = sp_gen_new (false);
  if (parse_request (body, len, &req, &err) < 0 || handlers[i].fn (s, req, g, &err) < 0)
    {
      sp_error_prefix (&err, "%s", what);
      if (handlers[i].mutates)
        sp_log_warning ("%s", err->msg);
      else
        sp_log_debug ("%s", err->msg);
      return sp_plugin_reply_error (reply, SP_HTTP_OK, "%s", err->msg);
    }
  reply->status = SP_HTTP_OK;
  if (sp_gen_finish (g, &reply->body, &reply->len, &err) < 0)
    return sp_plugin_reply_error (reply, SP_HTTP_OK, "%s: %s", what, err->msg);
  return 0;
}
