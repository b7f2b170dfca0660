/* shmpipe-hook: the OCI hook that gives a container the tmpfs of its
   pipeline on /dev/shm (join, at prestart or createRuntime) and drops it from
   the pipeline when it is gone (leave, at poststop).  */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admission.h"
#include "cleanup.h"
#include "config.h"
#include "cri.h"
#include "fault.h"
#include "fileutil.h"
#include "hook.h"
#include "privs.h"
#include "request_check.h"
#include "log.h"
#include "oci.h"
#include "definitions.h"
#include "store.h"
#include "version.h"

static const char usage_text[]
    = "Usage: shmpipe-hook [--root DIR] [--config FILE] [--pipeline NAME] [--cri] [STAGE]\n"
      "       shmpipe-hook --print-security | --help | --version\n"
      "\n"
      "OCI hook: reads the container state on stdin and its bundle's config.json.\n"
      "A container with the annotation " SP_ANNOTATION_PIPELINE "=NAME (or, for engines\n"
      "that pass no annotations, " SP_ENV_PIPELINE "=NAME in its environment) gets\n"
      "pipeline NAME's tmpfs on /dev/shm, and its socket directory at its path when\n"
      "it has one (sockets=PATH).  With --pipeline NAME (a CDI device's hooks)\n"
      "every container gets NAME's, and one whose annotation or environment names\n"
      "another pipeline is refused.  For a pipeline the hook creates, the\n"
      "annotations " SP_ANNOTATION_PREFIX "OPTION set the options containers may set\n"
      "(`shmpipectl options` lists them); any other " SP_ANNOTATION_PREFIX "* key is refused.\n"
      "What a container may ask for is held to the config's container_options,\n"
      "container_max_size and container_persistent (by default lifetime=persistent\n"
      "is refused), and a pipeline it makes to max_pipelines and max_total_size.\n"
      "\n"
      "Kubernetes, with --cri only (the CRI's own annotations, containerd's or\n"
      "CRI-O's): a pod's sandbox is left alone; an app container's NAME is\n"
      "NAMESPACE/NAME in its pod's namespace, and it may name NAMESPACE/NAME of\n"
      "another namespace only if that pipeline's allow-namespaces lists its own.\n"
      "Containers that are no pod use plain names only.  Without --cri, a\n"
      "container that asks for a pipeline and carries a CRI's key\n"
      "(io.kubernetes.cri.*, io.kubernetes.pod.*, io.kubernetes.container.*) is\n"
      "refused: anyone who runs runc or Podman can write those.\n"
      "\n"
      "STAGE: prestart or createRuntime (join the pipeline, mount /dev/shm and\n"
      "       the socket directory),\n"
      "       poststop (leave it).  Without STAGE the state's status decides:\n"
      "       creating/created join, stopped leaves.\n"
      "\n"
      "Options:\n"
      "  --root DIR         store root (env SHMPIPE_ROOT; default " SP_DEFAULT_ROOT ")\n"
      "  --config FILE      config file (env SHMPIPE_CONFIG; default " SP_DEFAULT_CONFIG ")\n"
      "  --pipeline NAME    the pipeline, whatever the container says (see above)\n"
      "  --cri              this hook is run by a Kubernetes CRI's own configuration\n"
      "                     (containerd's base runtime spec, CRI-O's own hooks dir):\n"
      "                     trust its pod annotations.  Never in a hooks dir that\n"
      "                     Podman reads\n"
      "  --debug            log to stderr at debug level instead of syslog\n"
      "  --print-security   drop privileges as for a real run, print the Cap*,\n"
      "                     NoNewPrivs and Seccomp lines of /proc/self/status, exit\n"
      "                     (also: env SHMPIPE_HOOK_SELFTEST=status)\n"
      "  -h, --help         this help\n"
      "  -V, --version      print the release and the commit\n"
      "\n"
      "Exit status: 0 on success or when the container asks for no pipeline,\n"
      "1 on error (one line on stderr: \"shmpipe-hook: pipeline NAME: cause\"),\n"
      "2 on a usage error.\n";

struct hook_opts
{
  const char *root;
  const char *config;
  const char *pipeline; /* --pipeline, or NULL */
  const char *stage;
  bool cri; /* --cri: the CRI's annotations are the CRI's */
  bool debug;
  bool print_security;
};

struct hook_run
{
  const struct hook_opts *opts;
  struct sp_oci_state state;
  struct sp_oci_config config;
  bool have_config;
  yajl_val annotations; /* the config's, else the state's; borrowed */
  struct sp_oci_request req;
  bool asked; /* the container itself names a pipeline (not only --pipeline) */
  struct sp_cri_container cri;
  struct sp_config cfg;
  bool have_cfg;
};

static void
hook_run_free (struct hook_run *h)
{
  sp_oci_state_free (&h->state);
  sp_oci_config_free (&h->config);
  if (h->have_cfg)
    sp_config_free (&h->cfg);
}

/* 0: run; 1: done (help, version), exit 0; 2: usage error. */
static int
parse_args (int argc, char **argv, struct hook_opts *o)
{
  static const struct option longopts[] = {
    { "root", required_argument, NULL, 'r' },
    { "config", required_argument, NULL, 'c' },
    { "pipeline", required_argument, NULL, 'p' },
    { "debug", no_argument, NULL, 'd' },
    { "cri", no_argument, NULL, 'K' },
    { "print-security", no_argument, NULL, 'S' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  const char *selftest = getenv ("SHMPIPE_HOOK_SELFTEST");
  int c;

  memset (o, 0, sizeof (*o));
  opterr = 0;
  while ((c = getopt_long (argc, argv, "hV", longopts, NULL)) != -1)
    switch (c)
      {
      case 'r':
        o->root = optarg;
        break;
      case 'c':
        o->config = optarg;
        break;
      case 'p':
        o->pipeline = optarg;
        break;
      case 'K':
        o->cri = true;
        break;
      case 'd':
        o->debug = true;
        break;
      case 'S':
        o->print_security = true;
        break;
      case 'h':
        fputs (usage_text, stdout);
        return 1;
      case 'V':
        sp_version_print (stdout, "shmpipe-hook");
        return 1;
      default:
        fprintf (stderr, "shmpipe-hook: unknown or incomplete option \"%s\" (see --help)\n",
                 argv[optind - 1]);
        return 2;
      }
  if (optind < argc)
    o->stage = argv[optind++];
  if (optind < argc)
    {
      fprintf (stderr, "shmpipe-hook: unexpected argument \"%s\" (see --help)\n", argv[optind]);
      return 2;
    }
  if (o->root != NULL && o->root[0] != '/')
    {
      fprintf (stderr, "shmpipe-hook: --root must be an absolute path\n");
      return 2;
    }
  /* The hook works from / (see main): a relative file would be another. */
  if (o->config != NULL && o->config[0] != '/')
    {
      fprintf (stderr, "shmpipe-hook: --config must be an absolute path\n");
      return 2;
    }
  if (o->pipeline != NULL)
    {
      cleanup_error sp_error_t err = NULL;
      if (sp_name_check (o->pipeline, &err) < 0)
        {
          fprintf (stderr, "shmpipe-hook: --pipeline: %s\n", err->msg);
          return 2;
        }
    }
  if (selftest != NULL && strcmp (selftest, "status") == 0)
    o->print_security = true;
  return 0;
}

static int
read_state (struct sp_oci_state *st, sp_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len;

  if (sp_read_fd_capped (STDIN_FILENO, SP_OCI_STATE_MAX_BYTES, "state from stdin", &buf, &len, err)
      < 0)
    return -1;
  return sp_oci_state_parse (buf, len, st, err);
}

static int
read_bundle_config (const char *bundle, struct sp_oci_config *cfg, sp_error_t *err)
{
  cleanup_close int dir = -1;
  cleanup_close int fd = -1;
  cleanup_free char *buf = NULL;
  struct stat st;
  size_t len;

  dir = open (bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return sp_error_sys (err, errno, "bundle %s", bundle);
  /* O_NONBLOCK: a FIFO planted as config.json must not hang the runtime. */
  fd = openat (dir, "config.json", O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return sp_error_sys (err, errno, "bundle %s: config.json", bundle);
  if (fstat (fd, &st) < 0)
    return sp_error_sys (err, errno, "bundle %s: config.json", bundle);
  if (!S_ISREG (st.st_mode))
    return sp_error_make (err, EINVAL, "bundle %s: config.json is not a regular file", bundle);
  if (st.st_size > SP_OCI_CONFIG_MAX_BYTES)
    return sp_error_make (err, EFBIG, "bundle %s: config.json is larger than %d bytes", bundle,
                          SP_OCI_CONFIG_MAX_BYTES);
  if (sp_read_fd_capped (fd, SP_OCI_CONFIG_MAX_BYTES, "config.json", &buf, &len, err) < 0
      || sp_oci_config_parse (buf, len, cfg, err) < 0)
    return sp_error_prefix (err, "bundle %s", bundle);
  return 0;
}

static int
load_site_config (struct hook_run *h, sp_error_t *err)
{
  if (sp_config_load (h->opts->config, h->opts->config != NULL, &h->cfg, err) < 0)
    return -1;
  h->have_cfg = true;
  if (!h->opts->debug)
    sp_log_set_level (h->cfg.log_level);
  return 0;
}

/* The pipeline's socket directory, when it has one, at its path in the
   container (copied to SOCKETS for the log).  */
static int
mount_sockets (struct sp_store *store, struct hook_run *h, const char *rootfs, char *sockets,
               bool *already, sp_error_t *err)
{
  cleanup_pipeline struct sp_pipeline p = { 0 };
  int clone_fd;

  if (sp_store_get (store, h->req.pipeline, &p, err) < 0)
    return -1;
  if (p.opts.sockets[0] == '\0')
    return 0;
  memcpy (sockets, p.opts.sockets, SP_OPT_PATH_MAX);
  clone_fd = sp_store_clone_sockets (store, h->req.pipeline, err);
  if (clone_fd < 0)
    return -1;
  return sp_hook_mount_at (clone_fd, (pid_t) h->state.pid, rootfs, sockets, already, err);
}

static int
check_joined (struct sp_store *store, const struct hook_run *h, const struct sp_pipeline_opts *opts,
              sp_error_t *err)
{
  cleanup_pipeline struct sp_pipeline p = { 0 };

  if (h->req.given == 0)
    return 0;
  if (sp_store_get (store, h->req.pipeline, &p, err) < 0)
    return -1;
  return sp_request_check_existing (&p.opts, opts, h->req.given, err);
}

static int
join (struct hook_run *h, sp_error_t *err)
{
  cleanup_store struct sp_store store = SP_STORE_INIT;
  struct sp_pipeline_opts opts;
  const struct sp_pipeline_opts *create = NULL;
  const char *name = h->req.pipeline, *id = h->state.id;
  char rootfs[PATH_MAX];
  bool created = false, was_member = false, already = false, sockets_already = false;
  char sockets[SP_OPT_PATH_MAX] = "";
  int clone_fd, r;

  if (h->state.pid <= 0)
    return sp_error_make (err, EINVAL, "state has no pid: nothing to mount into at this stage");
  if (sp_oci_rootfs_path (h->state.bundle, h->config.root_path, rootfs, sizeof (rootfs), err) < 0)
    return -1;
  if (load_site_config (h, err) < 0)
    return -1;
  if (sp_store_open (&store, &h->cfg, h->opts->root, err) < 0)
    return -1;

  if (sp_admit (&h->cfg, SP_REQ_CONTAINER, &h->req.opts, h->req.given, &opts, err) < 0)
    return -1;
  /* A join-only consumer that lands where its pipeline is not fails to
     start, rather than wait on an empty pipeline of its own.  */
  if (!opts.join_only && h->cfg.auto_create)
    create = &opts;
  else if (!sp_store_exists (&store, name))
    return sp_store_check_undefined (&store, name, err) < 0
               ? -1
               : sp_error_make (err, ENOENT, "%s",
                                opts.join_only
                                    ? "does not exist on this node, and the container only "
                                      "joins (" SP_ANNOTATION_PREFIX "create=false)"
                                    : "does not exist, and auto_create is off in the config");

  /* Joining twice (the hook at two stages) must not make a failure of the
     second undo the first.  A pipeline that exists is joined only as it
     was made: asking for other options is refused, not ignored.  */
  {
    cleanup_pipeline struct sp_pipeline p = { 0 };
    sp_error_t ignored = NULL;
    if (sp_store_get (&store, name, &p, &ignored) == 0)
      {
        was_member = sp_pipeline_find_member (&p, id) >= 0;
        if (sp_request_check_existing (&p.opts, &opts, h->req.given, err) < 0)
          return -1;
      }
    sp_error_release (&ignored);
  }

  if (h->cri.is_pod)
    {
      const struct sp_pod_ref pod = { h->cri.ns, h->cri.pod, h->cri.container };
      r = sp_store_join_pod (&store, name, id, h->state.pid, &pod, create, &created, err);
    }
  else
    r = sp_store_join (&store, name, id, h->state.pid, create, &created, err);
  if (r < 0)
    return -1;
  /* Tests: a hook killed here leaves a recorded member and no mount. */
  sp_fault_point ("hook:joined");
  /* Another container may have made it between the check above and the
     join: check again what was joined (it cannot change but by resize). */
  r = created ? 0 : check_joined (&store, h, &opts, err);
  clone_fd = r < 0 ? -1 : sp_store_clone_mount (&store, name, err);
  r = clone_fd < 0 ? -1 : sp_hook_mount_shm (clone_fd, (pid_t) h->state.pid, rootfs, &already, err);
  if (r == 0)
    r = mount_sockets (&store, h, rootfs, sockets, &sockets_already, err);
  if (r < 0)
    {
      sp_error_t ignored = NULL;
      bool removed = false;

      if (r == SP_HOOK_STRANDED || was_member)
        return -1;
      if (sp_store_leave (&store, name, id, &removed, &ignored) < 0)
        sp_log_warning ("container %s: pipeline %s: undoing the join failed: %s", id, name,
                        ignored->msg);
      /* A pipeline made for this container alone goes too, even a
         persistent one; not if someone joined it meanwhile.  */
      else if (created && !removed && sp_store_remove (&store, name, false, &ignored) < 0)
        sp_log_info ("container %s: pipeline %s: kept: %s", id, name, ignored->msg);
      sp_error_release (&ignored);
      return -1;
    }
  sp_log_info ("container %s joined pipeline %s%s (from its %s): %s%s%s%s", id, name,
               created ? " (created it)" : "", h->req.source,
               already ? "/dev/shm was already mounted" : "mounted on /dev/shm",
               sockets[0] ? "; socket directory " : "", sockets,
               !sockets[0]       ? ""
               : sockets_already ? " was already mounted"
                                 : " mounted");
  return 0;
}

static int
leave (struct hook_run *h, sp_error_t *err)
{
  cleanup_store struct sp_store store = SP_STORE_INIT;
  bool removed = false;

  if (load_site_config (h, err) < 0 || sp_store_open (&store, &h->cfg, h->opts->root, err) < 0)
    return -1;
  if (sp_store_leave (&store, h->req.pipeline, h->state.id, &removed, err) < 0)
    return -1;
  sp_log_info ("container %s left pipeline %s%s", h->state.id, h->req.pipeline,
               removed ? " (ephemeral, no members left: removed)" : "");
  return 0;
}

/* Poststop with the bundle's config.json gone and no annotations in the
   state: the pipeline is unknown, so find the container among the members. */
static int
leave_everywhere (struct hook_run *h, sp_error_t *err)
{
  cleanup_store struct sp_store store = SP_STORE_INIT;
  char **names = NULL;
  size_t n = 0;
  const char *root;
  struct stat st;
  int r = 0;

  if (load_site_config (h, err) < 0)
    return -1;
  root = sp_store_root_path (&h->cfg, h->opts->root);
  /* No store: nobody ever joined anything; do not create one. */
  if (stat (root, &st) < 0 && errno == ENOENT)
    return 0;
  if (sp_store_open (&store, &h->cfg, root, err) < 0 || sp_store_list (&store, &names, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n && r == 0; i++)
    {
      cleanup_pipeline struct sp_pipeline p = { 0 };
      sp_error_t ignored = NULL;
      bool removed = false;

      if (sp_store_get (&store, names[i], &p, &ignored) < 0
          || sp_pipeline_find_member (&p, h->state.id) < 0)
        {
          sp_error_release (&ignored);
          continue;
        }
      r = sp_store_leave (&store, names[i], h->state.id, &removed, err);
      if (r == 0)
        sp_log_info ("container %s left pipeline %s%s (found by id: its config.json is gone)",
                     h->state.id, names[i],
                     removed ? " (ephemeral, no members left: removed)" : "");
    }
  sp_store_free_names (names, n);
  return r;
}

/* One line on stderr for the runtime to show; the same in syslog with the
   container's id.  */
static int
fail (const struct hook_run *h, sp_error_t err)
{
  const char *msg = err != NULL && err->msg != NULL ? err->msg : "unknown error";
  const char *id = h->state.id != NULL ? h->state.id : "?";
  /* A system call the hook needs (openat2, open_tree, move_mount, ...)
     missing: an old kernel, or a seccomp filter of whoever runs the hook.
     There is no fallback by path: say so rather than leave "Function not
     implemented" to be guessed at.  */
  const char *hint
      = sp_error_status (err) == ENOSYS
            ? " (a system call the hook needs is missing or denied by a seccomp filter:"
              " it needs Linux 5.12 or later and never falls back to mounting by path)"
            : "";

  fprintf (stderr, "shmpipe-hook: %s%s\n", msg, hint);
  sp_log_error ("container %s: %s%s", id, msg, hint);
  return 1;
}

/* The container's state from stdin, what to do with it, and its bundle's
   config.json.  At poststop the bundle may be gone already: the state's
   annotations (or the members' ids) still tell which pipeline to leave. */
static int
read_container (struct hook_run *h, enum sp_oci_stage stage, enum sp_hook_action *action,
                sp_error_t *err)
{
  if (read_state (&h->state, err) < 0
      || sp_oci_select_action (stage, h->state.status, action, err) < 0)
    return -1;
  if (read_bundle_config (h->state.bundle, &h->config, err) < 0)
    {
      if (*action != SP_HOOK_LEAVE || sp_error_status (*err) != ENOENT)
        return -1;
      sp_log_debug ("container %s: %s", h->state.id, (*err)->msg);
      sp_error_release (err);
    }
  else
    h->have_config = true;
  h->annotations = h->config.annotations != NULL ? h->config.annotations : h->state.annotations;
  return 0;
}

/* The pipeline the container asks for, held to --pipeline: 1 with h->req
   set, 0 when it asks for none. */
static int
find_request (struct hook_run *h, sp_error_t *err)
{
  const char *pinned = h->opts->pipeline;
  int r = sp_oci_get_request (h->annotations, h->config.env, &h->req, err);

  h->asked = r > 0;
  if (r < 0 || pinned == NULL)
    return r;
  if (r > 0 && strcmp (h->req.pipeline, pinned) != 0)
    {
      /* The argument comes from whoever installed the hook (a CDI spec);
         a container that names another pipeline is not let in anywhere. */
      sp_error_make (err, EPERM,
                     "the container's %s names pipeline %s, the hook's --pipeline %s: refusing",
                     h->req.source, h->req.pipeline, pinned);
      sp_error_wrap_pipeline (err, pinned);
      return -1;
    }
  if (r == 0)
    {
      memset (&h->req, 0, sizeof (h->req));
      snprintf (h->req.pipeline, sizeof (h->req.pipeline), "%s", pinned);
      h->req.source = "hook argument --pipeline";
    }
  return 1;
}

/* Kubernetes: a pod's NAME is its namespace's, NS/NAME.  1 for a pod's
   sandbox (pause) container: it carries the pod's annotations too (CRI-O
   runs hooks.d for it), but is no member: its /dev/shm is not the app
   containers' concern, and it outlives none of them. */
static int
name_for_pod (struct hook_run *h, sp_error_t *err)
{
  char full[SP_QNAME_MAX + 1];

  /* Who runs the hook says whether the CRI's keys are the CRI's: without
     --cri they may be anyone's, and a container that asks for a pipeline
     with them is refused rather than let into a plain-named one.  Only
     --pipeline's own container (a CDI device's) asks for nothing itself:
     it joins that plain name, its keys unread.  */
  if (h->opts->cri ? sp_cri_identify (h->annotations, &h->cri, err) < 0
                   : h->asked && sp_cri_refuse_keys (h->annotations, err) < 0)
    return -1;
  /* A pod's sandbox (pause) container carries the pod's annotations too
     (CRI-O runs hooks.d for it), but is no member.  */
  if (h->cri.is_sandbox)
    return 1;
  if (sp_cri_pipeline_name (&h->cri, h->req.pipeline, full, sizeof (full), err) < 0)
    return -1;
  snprintf (h->req.pipeline, sizeof (h->req.pipeline), "%s", full);
  return 0;
}

int
main (int argc, char **argv)
{
  struct hook_opts opts;
  __attribute__ ((cleanup (hook_run_free))) struct hook_run h;
  cleanup_error sp_error_t err = NULL;
  enum sp_oci_stage stage = SP_OCI_STAGE_NONE;
  enum sp_hook_action action;
  int r;

  memset (&h, 0, sizeof (h));
  h.opts = &opts;
  /* Runtimes start hooks in the bundle, whose rootfs is the container's:
     no relative path, and no directory the container could reach, may be
     our working directory (CVE-2025-23266, CVE-2024-21626). */
  if (chdir ("/") < 0)
    {
      fprintf (stderr, "shmpipe-hook: chdir /: %s\n", strerror (errno));
      return 1;
    }
  r = parse_args (argc, argv, &opts);
  if (r != 0)
    return r == 1 ? 0 : 2;
  sp_log_init ("shmpipe-hook", !opts.debug, opts.debug ? SP_LOG_DEBUG : SP_LOG_INFO);

  /* Before any input is read. */
  if (sp_hook_harden (&err) < 0)
    return fail (&h, err);
  if (opts.print_security)
    return sp_privs_print_status (stdout, &err) < 0 ? fail (&h, err) : 0;
  if (opts.stage != NULL && sp_oci_parse_stage (opts.stage, &stage, &err) < 0)
    {
      fprintf (stderr, "shmpipe-hook: %s\n", err->msg);
      return 2;
    }

  if (read_container (&h, stage, &action, &err) < 0)
    return fail (&h, err);
  r = find_request (&h, &err);
  if (r < 0)
    return fail (&h, err);
  if (r == 0)
    {
      if (action == SP_HOOK_LEAVE && !h.have_config)
        return leave_everywhere (&h, &err) < 0 ? fail (&h, err) : 0;
      /* Not ours: touch nothing, not even the store. */
      return 0;
    }
  r = name_for_pod (&h, &err);
  if (r == 0)
    r = action == SP_HOOK_JOIN ? join (&h, &err) : leave (&h, &err);
  if (r < 0)
    sp_error_wrap_pipeline (&err, h.req.pipeline);
  return r < 0 ? fail (&h, err) : 0;
}
