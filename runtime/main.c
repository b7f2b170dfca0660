/* shmpipe-runtime: an OCI runtime wrapper (the nvidia-container-runtime
   pattern).  On `create` and `run` of a bundle whose config.json names a
   pipeline, it adds the shmpipe hook and, for a pipeline with an IPC
   namespace, points the container's ipc namespace at it; then it execs the
   real runtime with the same arguments.  Every other command passes
   straight through. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admission.h"
#include "cleanup.h"
#include "config.h"
#include "errlog.h"
#include "fileutil.h"
#include "json.h"
#include "oci.h"
#include "rewrite.h"
#include "store.h"
#include "version.h"

static const char usage_text[]
    = "Usage: shmpipe-runtime [--shmpipe-OPTION VALUE...] [RUNTIME ARGS...]\n"
      "\n"
      "An OCI runtime that wraps a real one (runc by default).  For `create` and\n"
      "`run`, when the bundle's config.json names a pipeline (annotation\n"
      "io.shmpipe.pipeline=NAME or env SHMPIPE_PIPELINE=NAME), it rewrites\n"
      "config.json atomically: adds shmpipe-hook at createRuntime and poststop\n"
      "(with this wrapper's SHMPIPE_ROOT and SHMPIPE_CONFIG), and, when the\n"
      "pipeline has an IPC namespace (shmpipectl create --ipc), sets the\n"
      "container's ipc namespace path to it.  A missing pipeline is created with\n"
      "the config's defaults when auto_create is on.  Then it execs the real\n"
      "runtime with the same arguments; every other command passes through\n"
      "untouched, and so does a container that names no pipeline.\n"
      "\n"
      "Options (removed before the real runtime sees the arguments):\n"
      "  --shmpipe-runtime PATH  the real runtime (env SHMPIPE_RUNTIME; default runc)\n"
      "  --shmpipe-hook PATH     shmpipe-hook (env SHMPIPE_HOOK; default: next to\n"
      "                          this binary, or ../libexec/shmpipe/shmpipe-hook)\n"
      "  --shmpipe-root DIR      store root (env SHMPIPE_ROOT; default /run/shmpipe)\n"
      "  --shmpipe-config FILE   config file (env SHMPIPE_CONFIG)\n"
      "  --shmpipe-help          this help\n"
      "\n"
      "Docker: in /etc/docker/daemon.json\n"
      "  {\"runtimes\": {\"shmpipe\": {\"path\": \"/usr/local/bin/shmpipe-runtime\"}}}\n"
      "then `docker run --runtime shmpipe -e SHMPIPE_PIPELINE=frames ...`.\n"
      "containerd: set it as the runc runtime's BinaryName.\n"
      "\n"
      "Its own errors go to stderr and, like runc's, to the --log file the\n"
      "caller gives (JSON lines with --log-format json), where containerd and\n"
      "Docker read them.\n";

struct wrapper_opts
{
  const char *runtime;
  const char *hook;
  const char *root;
  const char *config;
};

/* The caller's --log and --log-format: engines read errors from there. */
static struct sp_errlog errlog;

static int
fail (sp_error_t *err)
{
  char line[4096];

  snprintf (line, sizeof (line), "shmpipe-runtime: %s", (*err)->msg);
  sp_errlog_write (&errlog, line);
  sp_error_release (err);
  return 1;
}

/* Takes the --shmpipe-* options out of ARGV (in place); returns the new argc. */
static int
take_own_options (int argc, char **argv, struct wrapper_opts *o, sp_error_t *err)
{
  static const char *const names[]
      = { "--shmpipe-runtime", "--shmpipe-hook", "--shmpipe-root", "--shmpipe-config" };
  int out = 1;

  for (int i = 1; i < argc; i++)
    {
      const char **slot[] = { &o->runtime, &o->hook, &o->root, &o->config };
      bool taken = false;

      if (strcmp (argv[i], "--shmpipe-help") == 0)
        {
          fputs (usage_text, stdout);
          exit (0);
        }
      for (size_t k = 0; k < 4 && !taken; k++)
        {
          size_t n = strlen (names[k]);
          if (strncmp (argv[i], names[k], n) != 0)
            continue;
          if (argv[i][n] == '=')
            *slot[k] = argv[i] + n + 1;
          else if (argv[i][n] == '\0' && i + 1 < argc)
            *slot[k] = argv[++i];
          else if (argv[i][n] == '\0')
            return sp_error_make (err, EINVAL, "%s needs a value", names[k]);
          else
            continue;
          taken = true;
        }
      if (!taken && strncmp (argv[i], "--shmpipe-", 10) == 0)
        return sp_error_make (err, EINVAL, "unknown option %.64s; see --shmpipe-help", argv[i]);
      if (!taken)
        argv[out++] = argv[i];
    }
  argv[out] = NULL;
  return out;
}

/* Global options of runc and crun that take a value in the next argument. */
static bool
global_takes_value (const char *arg)
{
  static const char *const opts[] = { "--root", "--log",      "--log-format",     "--log-level",
                                      "--criu", "--rootless", "--cgroup-manager", NULL };
  for (size_t i = 0; opts[i]; i++)
    if (strcmp (arg, opts[i]) == 0)
      return true;
  return false;
}

/* Index of the runtime command in ARGV, or -1. */
static int
find_command (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      if (argv[i][0] != '-')
        return i;
      if (global_takes_value (argv[i]))
        i++;
    }
  return -1;
}

/* The bundle a create/run names (default: the current directory). */
static const char *
find_bundle (int argc, char **argv, int cmd)
{
  for (int i = cmd + 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--bundle") == 0 || strcmp (argv[i], "-b") == 0)
        return i + 1 < argc ? argv[i + 1] : ".";
      if (strncmp (argv[i], "--bundle=", 9) == 0)
        return argv[i] + 9;
      if (strncmp (argv[i], "-b=", 3) == 0)
        return argv[i] + 3;
    }
  return ".";
}

static bool
same_file (const char *a, const char *b)
{
  struct stat sa, sb;
  return stat (a, &sa) == 0 && stat (b, &sb) == 0 && sa.st_dev == sb.st_dev
         && sa.st_ino == sb.st_ino;
}

/* PATH lookup of NAME; refuses to find this very binary (a loop). */
static int
resolve_runtime (const char *name, char *buf, size_t len, sp_error_t *err)
{
  const char *path = getenv ("PATH");

  if (strchr (name, '/') != NULL)
    {
      if (snprintf (buf, len, "%s", name) >= (int) len)
        return sp_error_make (err, ENAMETOOLONG, "runtime path too long");
    }
  else
    {
      bool found = false;
      if (path == NULL || *path == '\0')
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
      while (*path && !found)
        {
          size_t n = strcspn (path, ":");
          if (n > 0 && snprintf (buf, len, "%.*s/%s", (int) n, path, name) < (int) len
              && access (buf, X_OK) == 0 && !same_file (buf, "/proc/self/exe"))
            found = true;
          path += n + (path[n] == ':');
        }
      if (!found)
        return sp_error_make (err, ENOENT, "real runtime \"%.64s\" not found in PATH", name);
    }
  if (same_file (buf, "/proc/self/exe"))
    return sp_error_make (err, ELOOP, "the real runtime %s is shmpipe-runtime itself", buf);
  return 0;
}

static int
default_hook_path (char *buf, size_t len, sp_error_t *err)
{
  char self[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", self, sizeof (self) - 1);
  char *slash;

  if (n < 0)
    return sp_error_sys (err, errno, "readlink /proc/self/exe");
  self[n] = '\0';
  slash = strrchr (self, '/');
  *slash = '\0';
  if (snprintf (buf, len, "%s/shmpipe-hook", self) < (int) len && access (buf, X_OK) == 0)
    return 0;
  if (snprintf (buf, len, "%s/../libexec/shmpipe/shmpipe-hook", self) < (int) len
      && access (buf, X_OK) == 0 && realpath (buf, self) != NULL && strlen (self) < len)
    {
      strcpy (buf, self);
      return 0;
    }
  return sp_error_make (err, ENOENT,
                        "shmpipe-hook not found next to shmpipe-runtime; use --shmpipe-hook");
}

/* Makes sure pipeline REQ names exists (creating it when the config allows);
   fills *P. */
static int
ensure_pipeline (struct sp_store *store, const struct sp_config *cfg,
                 const struct sp_oci_request *req, struct sp_pipeline *p, sp_error_t *err)
{
  struct sp_pipeline_opts o;
  sp_error_t get_err = NULL;

  if (sp_admit (cfg, SP_REQ_CONTAINER, &req->opts, req->given, &o, err) < 0)
    return sp_error_wrap_pipeline (err, req->pipeline);
  if (sp_store_get (store, req->pipeline, p, &get_err) == 0)
    return 0;
  if (sp_error_status (get_err) != ENOENT || !cfg->auto_create)
    {
      *err = get_err;
      return sp_error_status (get_err) == ENOENT ? sp_error_prefix (err, "auto_create is off") : -1;
    }
  sp_error_release (&get_err);
  /* EXCL and then read back: a concurrent create of the same name wins. */
  if (sp_store_create (store, req->pipeline, &o, SP_CREATE_EXCL, NULL, &get_err) < 0
      && sp_error_status (get_err) != EEXIST)
    {
      *err = get_err;
      return -1;
    }
  sp_error_release (&get_err);
  return sp_store_get (store, req->pipeline, p, err);
}

/* Returns 0 with the bundle rewritten (or left alone when it names no
   pipeline), -1 with nothing changed. */
static int
prepare_bundle (const char *bundle, const struct wrapper_opts *o, struct sp_oci_request *req,
                sp_error_t *err)
{
  cleanup_close int dirfd = -1;
  cleanup_free char *buf = NULL;
  cleanup_free char *out = NULL;
  cleanup_oci_config struct sp_oci_config oc = { 0 };
  cleanup_pipeline struct sp_pipeline p = { 0 };
  struct sp_config cfg;
  struct sp_store store;
  struct sp_rewrite rw;
  char hook[PATH_MAX], ipc[PATH_MAX];
  struct stat st;
  size_t len, out_len;
  int r;

  dirfd = open (bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return sp_error_sys (err, errno, "bundle %s", bundle);
  if (sp_read_file_at (dirfd, "config.json", O_NOFOLLOW, SP_OCI_CONFIG_MAX_BYTES, &buf, &len, err)
          < 0
      || fstatat (dirfd, "config.json", &st, AT_SYMLINK_NOFOLLOW) < 0)
    return sp_error_prefix (err, "bundle %s", bundle);
  if (sp_oci_config_parse (buf, len, &oc, err) < 0)
    return sp_error_prefix (err, "bundle %s", bundle);
  r = sp_oci_get_request (oc.annotations, oc.env, req, err);
  if (r <= 0)
    return r;
  /* Kubernetes namespaces are the hook's: here a qualified name is refused. */
  if (strchr (req->pipeline, '/') != NULL)
    return sp_error_make (err, EPERM,
                          "a qualified name (NAMESPACE/NAME) is for Kubernetes pods through "
                          "shmpipe-hook, not for shmpipe-runtime");

  if (sp_config_load (o->config, o->config != NULL, &cfg, err) < 0)
    return -1;
  if (sp_store_open (&store, &cfg, o->root, err) < 0)
    {
      sp_config_free (&cfg);
      return -1;
    }
  r = ensure_pipeline (&store, &cfg, req, &p, err);
  if (r == 0 && o->hook == NULL)
    r = default_hook_path (hook, sizeof (hook), err);
  if (r == 0)
    {
      sp_store_ipc_path (&store, req->pipeline, ipc, sizeof (ipc));
      rw.hook_path = o->hook != NULL ? o->hook : hook;
      rw.store_root = store.root;
      rw.config_path = o->config;
      rw.ipc_ns = p.opts.ipc ? ipc : NULL;
      r = sp_runtime_rewrite (oc.tree, &rw, &out, &out_len, err);
    }
  if (r == 0)
    r = sp_write_file_atomic (dirfd, "config.json", out, out_len, st.st_mode & 07777, err);
  sp_store_close (&store);
  sp_config_free (&cfg);
  return r;
}

int
main (int argc, char **argv)
{
  cleanup_error sp_error_t err = NULL;
  struct wrapper_opts o = { getenv ("SHMPIPE_RUNTIME"), getenv ("SHMPIPE_HOOK"),
                            getenv ("SHMPIPE_ROOT"), getenv ("SHMPIPE_CONFIG") };
  struct sp_oci_request req = { 0 };
  char runtime[PATH_MAX];
  int cmd;

  if (o.config != NULL && *o.config == '\0')
    o.config = NULL;
  sp_errlog_from_args (argc, argv, &errlog);
  argc = take_own_options (argc, argv, &o, &err);
  if (argc < 0)
    return fail (&err);
  if (resolve_runtime (o.runtime ? o.runtime : "runc", runtime, sizeof (runtime), &err) < 0)
    return fail (&err);
  cmd = find_command (argc, argv);
  if (cmd > 0 && (strcmp (argv[cmd], "create") == 0 || strcmp (argv[cmd], "run") == 0)
      && prepare_bundle (find_bundle (argc, argv, cmd), &o, &req, &err) < 0)
    {
      sp_error_wrap_pipeline (&err, req.pipeline);
      return fail (&err);
    }
  if (cmd > 0 && strcmp (argv[cmd], "shmpipe-version") == 0)
    {
      printf ("shmpipe-runtime %s (runtime %s)\n", SHMPIPE_VERSION, runtime);
      return 0;
    }
  argv[0] = runtime;
  execv (runtime, argv);
  sp_error_sys (&err, errno, "exec %s", runtime);
  return fail (&err);
}
