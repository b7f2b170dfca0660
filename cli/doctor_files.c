/* doctor's checks of the files engines read: the config, hooks.d, containerd's
   config and base spec, Docker's plugin socket and daemon.json. */
#include "doctor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "cri.h"
#include "fileutil.h"
#include "json.h"

#define HOOK_NAME "shmpipe-hook"
#define RUNTIME_NAME "shmpipe-runtime"
/* hooks.d files, base specs and daemon.json are small; config.toml too. */
#define FILE_MAX (4 * 1024 * 1024)

static int
read_json (const char *path, yajl_val *tree, sp_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len;

  if (sp_read_file_at (AT_FDCWD, path, 0, FILE_MAX, &buf, &len, err) < 0)
    return -1;
  return sp_json_parse (buf, len, tree, err);
}

void
doctor_check_config (struct doctor *d)
{
  const struct sp_config *cfg = d->ctx->cfg;

  if (d->ctx->config_error != NULL)
    doctor_fail (d, "config",
                 "correct the file: every key is in schemas/config.schema.json and README's "
                 "configuration table",
                 "%s", d->ctx->config_error);
  else if (cfg->path == NULL)
    doctor_ok (d, "config", "no config file: built-in defaults");
  else
    doctor_ok (d, "config", "%s loads", cfg->path);
}

/* ---- hooks.d ---------------------------------------------------------- */

static bool
array_has_string (yajl_val a, const char *s)
{
  for (size_t i = 0; YAJL_IS_ARRAY (a) && i < a->u.array.len; i++)
    if (sp_json_str_eq (a->u.array.values[i], s))
      return true;
  return false;
}

/* One hooks.d file: 1 when it names shmpipe-hook (fine or not), 0 when it
   is some other hook's.  Sets the stages it covers. */
static int
check_hooks_file (struct doctor *d, const char *dir, const char *file, bool *join, bool *leave)
{
  cleanup_yajl_val yajl_val tree = NULL;
  sp_error_t err = NULL;
  char path[4096], why[4200];
  yajl_val hook, stages, when;
  const char *hook_path;

  snprintf (path, sizeof (path), "%s/%s", dir, file);
  if (read_json (path, &tree, &err) < 0)
    {
      /* Only ours matter; a file that does not even parse cannot be told. */
      bool ours = strstr (file, "shmpipe") != NULL;
      if (ours)
        doctor_fail (d, "hooks.d", "reinstall it from install/hooks.d (make install)", "%s: %s",
                     path, err->msg);
      sp_error_release (&err);
      return ours;
    }
  hook = sp_json_get (tree, "hook");
  hook_path = YAJL_IS_STRING (sp_json_get (hook, "path"))
                  ? YAJL_GET_STRING (sp_json_get (hook, "path"))
                  : "";
  if (strstr (hook_path, HOOK_NAME) == NULL)
    return 0;
  stages = sp_json_get (tree, "stages");
  when = sp_json_get (tree, "when");
  if (!sp_json_str_eq (sp_json_get (tree, "version"), "1.0.0"))
    doctor_fail (d, "hooks.d", "set \"version\": \"1.0.0\" (install/hooks.d has the files)",
                 "%s: not a hooks.d 1.0.0 file", path);
  else if (!doctor_is_tool (hook_path, HOOK_NAME, why, sizeof (why)))
    doctor_fail (d, "hooks.d", "make install, or set hook.path to the installed shmpipe-hook",
                 "%s: hook.path %s", path, why);
  else if (!YAJL_IS_OBJECT (sp_json_get (when, "annotations"))
           && !YAJL_IS_TRUE (sp_json_get (when, "always")))
    doctor_fail (d, "hooks.d",
                 "add \"when\": {\"annotations\": {\"^io\\\\.shmpipe\\\\.pipeline$\": \".+\"}}",
                 "%s: no \"when\": the hook never runs", path);
  else if (sp_cri_hook_entry (hook))
    doctor_fail (d, "hooks.d",
                 "remove \"--cri\" from hook.args (install/hooks.d/*.json); CRI-O gets it from a "
                 "directory of its own (install/crio/99-shmpipe.conf)",
                 "%s: runs shmpipe-hook --cri, and Podman reads this directory: any Podman "
                 "container could claim a pod's namespace",
                 path);
  else
    {
      bool j = array_has_string (stages, "createRuntime") || array_has_string (stages, "prestart");
      bool l = array_has_string (stages, "poststop");
      if (!j && !l)
        doctor_fail (d, "hooks.d", "list \"createRuntime\" or \"poststop\" in \"stages\"",
                     "%s: no stage shmpipe-hook serves", path);
      else
        doctor_ok (d, "hooks.d", "%s runs %s at %s%s%s", path, hook_path,
                   j ? "createRuntime/prestart" : "", j && l ? " and " : "", l ? "poststop" : "");
      *join |= j;
      *leave |= l;
    }
  return 1;
}

void
doctor_check_hooks_d (struct doctor *d)
{
  bool join = false, leave = false, any_dir = false;
  int ours = 0;

  for (size_t i = 0; i < d->n_hooks_dirs; i++)
    {
      cleanup_dir DIR *dir = opendir (d->hooks_dirs[i]);
      struct dirent *de;

      if (dir == NULL)
        {
          if (d->hooks_explicit)
            doctor_fail (d, "hooks.d", "give the directory Podman/CRI-O read (--hooks-dir)",
                         "%s: %s", d->hooks_dirs[i], strerror (errno));
          continue;
        }
      any_dir = true;
      while ((de = readdir (dir)) != NULL)
        {
          size_t n = strlen (de->d_name);
          if (n > 5 && strcmp (de->d_name + n - 5, ".json") == 0)
            ours += check_hooks_file (d, d->hooks_dirs[i], de->d_name, &join, &leave);
        }
    }
  if (ours == 0)
    {
      if (d->hooks_explicit && any_dir)
        doctor_fail (d, "hooks.d", "copy install/hooks.d/*.json there (make install does)",
                     "no hooks.d file names %s", HOOK_NAME);
      else if (!d->hooks_explicit)
        doctor_skip (d, "hooks.d", "no hooks.d file names %s (Podman/CRI-O not set up)", HOOK_NAME);
      return;
    }
  if (!join)
    doctor_fail (d, "hooks.d", "install install/hooks.d/shmpipe.json",
                 "no hooks.d file runs %s at createRuntime or prestart: containers never join",
                 HOOK_NAME);
  if (!leave)
    doctor_fail (d, "hooks.d", "install install/hooks.d/shmpipe-poststop.json",
                 "no hooks.d file runs %s at poststop: members never leave", HOOK_NAME);
}

/* ---- containerd --------------------------------------------------------- */

/* The text after `KEY =` on the next line at or after *LINE that sets KEY
   (a commented one does not); *LINE moves past it.  containerd's config is
   TOML; these keys are one-line strings and arrays in every config
   containerd writes and in its dump, so a line is enough. */
static bool
toml_next (const char **line, const char *key, char *value, size_t len)
{
  size_t klen = strlen (key);

  while (*line != NULL && **line != '\0')
    {
      const char *eol = strchr (*line, '\n');
      const char *p = *line + strspn (*line, " \t");

      *line = eol != NULL ? eol + 1 : NULL;
      if (strncmp (p, key, klen) != 0)
        continue;
      p += klen;
      p += strspn (p, " \t");
      if (*p != '=')
        continue;
      p++;
      p += strspn (p, " \t");
      snprintf (value, len, "%.*s", (int) (eol != NULL ? (size_t) (eol - p) : strlen (p)), p);
      return true;
    }
  return false;
}

/* The next non-empty base_runtime_spec, unquoted: every runtime of a dump
   has one, and "" means that runtime has none. */
static bool
next_spec (const char **line, char *value, size_t len)
{
  while (toml_next (line, "base_runtime_spec", value, len))
    {
      size_t n = strlen (value);
      if (n >= 2 && value[0] == '"' && value[n - 1] == '"')
        {
          memmove (value, value + 1, n - 2);
          value[n - 2] = '\0';
        }
      if (value[0] != '\0')
        return true;
    }
  return false;
}

/* Whether a base_runtime_spec before END already named SPEC: runtimes
   often share one, and it is checked once. */
static bool
spec_seen_before (const char *text, const char *end, const char *spec)
{
  char value[4096];
  const char *line = text;

  /* LINE reaches END exactly past SPEC's own line. */
  while (next_spec (&line, value, sizeof (value)) && line != end)
    if (strcmp (value, spec) == 0)
      return true;
  return false;
}

/* Whether a stage of the spec's hooks runs shmpipe-hook; WHY when broken. */
static bool
spec_stage_has_hook (yajl_val hooks, const char *stage, char *why, size_t len)
{
  yajl_val a = sp_json_get (hooks, stage);

  for (size_t i = 0; YAJL_IS_ARRAY (a) && i < a->u.array.len; i++)
    {
      yajl_val p = sp_json_get (a->u.array.values[i], "path");
      const char *path = YAJL_IS_STRING (p) ? p->u.string : NULL;
      if (path != NULL && strstr (path, HOOK_NAME) != NULL)
        return doctor_is_tool (path, HOOK_NAME, why, len);
    }
  snprintf (why, len, "no %s hook runs %s", stage, HOOK_NAME);
  return false;
}

/* Whether every shmpipe-hook entry of the spec's hooks has --cri: the
   CRI's base spec is where its pods are told from forgeries. */
static bool
spec_runs_cri (yajl_val hooks)
{
  for (size_t s = 0; YAJL_IS_OBJECT (hooks) && s < hooks->u.object.len; s++)
    {
      yajl_val a = hooks->u.object.values[s];
      for (size_t i = 0; YAJL_IS_ARRAY (a) && i < a->u.array.len; i++)
        {
          yajl_val p = sp_json_get (a->u.array.values[i], "path");
          if (YAJL_IS_STRING (p) && strstr (p->u.string, HOOK_NAME) != NULL
              && !sp_cri_hook_entry (a->u.array.values[i]))
            return false;
        }
    }
  return true;
}

/* Whether pod_annotations lets the hook's io.shmpipe.* annotations through. */
static bool
shm_annotations (const char *value)
{
  return strstr (value, "\"io.shmpipe.*\"") != NULL
         || strstr (value, "\"io.shmpipe.pipeline\"") != NULL || strstr (value, "\"*\"") != NULL;
}

/* One base spec: the hook with --cri at createRuntime (or prestart) and
   poststop. */
static void
check_base_spec (struct doctor *d, const char *cc, const char *spec_path)
{
  cleanup_yajl_val yajl_val spec = NULL;
  sp_error_t err = NULL;
  char why[4200], why2[4200];

  if (read_json (spec_path, &spec, &err) < 0)
    {
      doctor_fail (d, "containerd", "install install/containerd/base-runtime-spec.json there",
                   "%s: base_runtime_spec %s", cc, err->msg);
      sp_error_release (&err);
    }
  else if (!spec_stage_has_hook (sp_json_get (spec, "hooks"), "createRuntime", why, sizeof (why))
           && !spec_stage_has_hook (sp_json_get (spec, "hooks"), "prestart", why2, sizeof (why2)))
    doctor_fail (d, "containerd",
                 "add {\"path\": \"/usr/local/libexec/shmpipe/shmpipe-hook\", \"args\": "
                 "[\"shmpipe-hook\", \"createRuntime\"]} to hooks.createRuntime",
                 "base spec %s: %s", spec_path, why);
  else if (!spec_stage_has_hook (sp_json_get (spec, "hooks"), "poststop", why, sizeof (why)))
    doctor_fail (d, "containerd",
                 "add {\"path\": \"/usr/local/libexec/shmpipe/shmpipe-hook\", \"args\": "
                 "[\"shmpipe-hook\", \"poststop\"]} to hooks.poststop",
                 "base spec %s: %s", spec_path, why);
  else if (!spec_runs_cri (sp_json_get (spec, "hooks")))
    doctor_fail (d, "containerd",
                 "add \"--cri\" before the stage in the hooks' args (install/containerd/"
                 "base-runtime-spec.json has it)",
                 "base spec %s runs %s without --cri: every pod that names a pipeline is refused",
                 spec_path, HOOK_NAME);
  else
    doctor_ok (d, "containerd", "base spec %s runs %s --cri at createRuntime and poststop",
               spec_path, HOOK_NAME);
}

void
doctor_check_containerd (struct doctor *d)
{
  cleanup_free char *file_text = NULL;
  cleanup_free char *dump = NULL;
  sp_error_t err = NULL;
  char spec_path[4096], value[4096], annotations[4096] = "";
  const char *cc = d->containerd_config, *text, *line;
  bool has_spec, has_annotations = false;
  size_t len;

  if (sp_read_file_at (AT_FDCWD, cc, 0, FILE_MAX, &file_text, &len, &err) < 0)
    {
      if (d->containerd_explicit || sp_error_status (err) != ENOENT)
        doctor_fail (d, "containerd", "give containerd's config (--containerd-config)", "%s",
                     err->msg);
      else
        doctor_skip (d, "containerd", "%s not found (containerd not set up)", cc);
      sp_error_release (&err);
      return;
    }
  /* What containerd runs with is the config and its imports merged, and a
     node's CRI section is often in an import (NVIDIA's toolkit); the file
     alone is all there is to read when containerd cannot dump it. */
  text = doctor_containerd_dump (cc, &dump, &len) == 0 ? dump : file_text;

  line = text;
  has_spec = next_spec (&line, spec_path, sizeof (spec_path));
  for (line = text; toml_next (&line, "pod_annotations", value, sizeof (value));)
    if (!has_annotations || shm_annotations (value))
      {
        has_annotations = true;
        snprintf (annotations, sizeof (annotations), "%s", value);
        if (shm_annotations (value))
          break;
      }

  if (!has_spec && !shm_annotations (annotations))
    {
      if (d->containerd_explicit)
        doctor_fail (d, "containerd",
                     "set base_runtime_spec to a spec with the hook and pod_annotations = "
                     "[\"io.shmpipe.*\"] (install/containerd/config.toml.snippet)",
                     "%s: no base_runtime_spec and no io.shmpipe pod_annotations", cc);
      else
        doctor_skip (d, "containerd", "%s does not use shmpipe", cc);
      return;
    }
  if (!has_spec)
    doctor_fail (d, "containerd",
                 "set base_runtime_spec = \"/usr/local/share/shmpipe/base-runtime-spec.json\" "
                 "in the runc runtime's section (install/containerd/config.toml.snippet)",
                 "%s: no base_runtime_spec: containers never run the hook", cc);
  for (line = text; next_spec (&line, spec_path, sizeof (spec_path));)
    if (!spec_seen_before (text, line, spec_path))
      check_base_spec (d, cc, spec_path);
  if (!shm_annotations (annotations))
    doctor_fail (d, "containerd",
                 "add pod_annotations = [\"io.shmpipe.*\"] to the runc runtime's section",
                 "%s: pod_annotations does not let io.shmpipe.* through: pods' annotations "
                 "never reach the hook",
                 cc);
  else
    doctor_ok (d, "containerd", "%s: pod_annotations = %s", cc, annotations);
}

/* ---- Docker -------------------------------------------------------------- */

void
doctor_check_plugin_socket (struct doctor *d)
{
  static const char req[] = "POST /Plugin.Activate HTTP/1.0\r\nHost: plugin\r\n"
                            "Content-Length: 0\r\n\r\n";
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  struct timeval tv = { .tv_sec = 5 };
  cleanup_close int fd = -1;
  const char *sock = d->plugin_socket;
  const char *fix = "start the plugin: systemctl enable --now shmpipe-plugin.socket";
  char buf[1024];
  size_t off = 0;
  ssize_t n;
  struct stat st;

  if (stat (sock, &st) < 0 && errno == ENOENT && !d->plugin_explicit)
    {
      doctor_skip (d, "plugin", "%s not found (the Docker plugin is not set up)", sock);
      return;
    }
  if (strlen (sock) >= sizeof (addr.sun_path))
    {
      doctor_fail (d, "plugin", "use a shorter socket path", "%s: path too long", sock);
      return;
    }
  strcpy (addr.sun_path, sock);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *) &addr, sizeof (addr)) < 0)
    {
      doctor_fail (d, "plugin", fix, "%s: connect: %s", sock, strerror (errno));
      return;
    }
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof (tv));
  if (write (fd, req, sizeof (req) - 1) != (ssize_t) sizeof (req) - 1)
    {
      doctor_fail (d, "plugin", fix, "%s: write: %s", sock, strerror (errno));
      return;
    }
  while (off < sizeof (buf) - 1 && (n = read (fd, buf + off, sizeof (buf) - 1 - off)) > 0)
    off += (size_t) n;
  buf[off] = '\0';
  if (strncmp (buf, "HTTP/1.", 7) != 0 || strstr (buf, " 200 ") == NULL
      || strstr (buf, "\"VolumeDriver\"") == NULL)
    doctor_fail (d, "plugin", "make sure shmpipe-plugin serves this socket (docs/docker-plugin.md)",
                 "%s: no VolumeDriver answer to Plugin.Activate", sock);
  else
    doctor_ok (d, "plugin", "%s answers Plugin.Activate as a VolumeDriver", sock);
}

void
doctor_check_daemon_json (struct doctor *d)
{
  cleanup_yajl_val yajl_val tree = NULL;
  sp_error_t err = NULL;
  yajl_val runtimes;
  char why[4200];
  int found = 0;

  if (read_json (d->daemon_json, &tree, &err) < 0)
    {
      if (d->daemon_explicit || sp_error_status (err) != ENOENT)
        doctor_fail (d, "daemon.json", "correct the file: dockerd refuses to start with it",
                     "%s: %s", d->daemon_json, err->msg);
      else
        doctor_skip (d, "daemon.json", "%s not found (Docker runtime not set up)", d->daemon_json);
      sp_error_release (&err);
      return;
    }
  runtimes = sp_json_get (tree, "runtimes");
  for (size_t i = 0; YAJL_IS_OBJECT (runtimes) && i < runtimes->u.object.len; i++)
    {
      yajl_val p = sp_json_get (runtimes->u.object.values[i], "path");
      const char *name = runtimes->u.object.keys[i];
      const char *path = YAJL_IS_STRING (p) ? p->u.string : NULL;

      if (path == NULL || strstr (path, RUNTIME_NAME) == NULL)
        continue;
      found++;
      if (doctor_is_tool (path, RUNTIME_NAME, why, sizeof (why)))
        doctor_ok (d, "daemon.json", "runtime \"%s\" is %s", name, path);
      else
        doctor_fail (d, "daemon.json",
                     "make install, or set its path to the installed shmpipe-runtime; then "
                     "restart dockerd",
                     "%s: runtime \"%s\": %s", d->daemon_json, name, why);
    }
  if (found == 0)
    {
      if (d->daemon_explicit)
        doctor_fail (
            d, "daemon.json",
            "add \"runtimes\": {\"shmpipe\": {\"path\": \"/usr/local/bin/shmpipe-runtime\"}} "
            "and restart dockerd",
            "%s: no runtime runs %s", d->daemon_json, RUNTIME_NAME);
      else
        doctor_skip (d, "daemon.json", "%s names no %s (`docker run --runtime shmpipe` not set up)",
                     d->daemon_json, RUNTIME_NAME);
    }
}
