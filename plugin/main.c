/* shmpipe-plugin: the shmpipe Docker volume plugin (driver "shmpipe").
   Options, the listening socket, signals; the protocol is in handlers.c. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cdi.h"
#include "cleanup.h"
#include "config.h"
#include "docker_members.h"
#include "fileutil.h"
#include "harden.h"
#include "log.h"
#include "reconcile.h"
#include "server.h"
#include "store.h"
#include "pipeline_options.h"
#include "version.h"

#define DEFAULT_SOCKET "/run/docker/plugins/shmpipe.sock"
/* sd_listen_fds(3): passed sockets start at fd 3. */
#define SD_LISTEN_FDS_START 3

static const char usage_text[]
    = "Usage: shmpipe-plugin [--socket PATH] [--root DIR] [--config FILE] [--log-level LEVEL]\n"
      "                      [--no-seccomp]\n"
      "       shmpipe-plugin --help | --version\n"
      "\n"
      "The shmpipe Docker volume plugin.  It serves Docker's VolumeDriver protocol on a\n"
      "unix socket, so that Docker containers can share a pipeline's memory on /dev/shm:\n"
      "\n"
      "  docker volume create -d shmpipe -o size=1g -o huge=within_size frames\n"
      "  docker run -d --volume-driver shmpipe -v frames:/dev/shm resize-service\n"
      "\n"
      "A volume NAME is the pipeline NAME: runc, containerd and Podman containers\n"
      "annotated io.shmpipe.pipeline=NAME (joined by shmpipe-hook) and pipelines made\n"
      "with shmpipectl share the same memory.  Docker finds the plugin by its socket:\n"
      "the driver name is the socket's file name without \".sock\".\n"
      "\n"
      "The plugin keeps nothing in memory that matters: every volume, option and mount\n"
      "lives in the store, so it can be killed and restarted at any time.  It runs in\n"
      "the foreground and logs to stderr.  When it starts it collects the store's\n"
      "garbage like `shmpipectl gc`: the persistent pipelines (volumes) a reboot\n"
      "took are made again from their definitions, empty, as `shmpipectl restore`\n"
      "does; members whose process is gone are dropped; a pipeline whose tmpfs\n"
      "vanished is mounted again, empty.\n"
      "\n"
      "Options:\n"
      "  --socket PATH      listen on PATH (default " DEFAULT_SOCKET ");\n"
      "                     its directory is created; the socket is mode 0600, root's,\n"
      "                     and removed on exit.  A stale socket left by a killed\n"
      "                     plugin is replaced; a live one is an error.  Ignored under\n"
      "                     systemd socket activation (LISTEN_FDS, LISTEN_PID: fd 3).\n"
      "  --root DIR         store root (env SHMPIPE_ROOT; default: the config's, else\n"
      "                     " SP_DEFAULT_ROOT ")\n"
      "  --config FILE      config file (env SHMPIPE_CONFIG; default " SP_DEFAULT_CONFIG ";\n"
      "                     a missing default file means built-in defaults)\n"
      "  --log-level LEVEL  error, warning, info or debug (default: the config's, info)\n"
      "  --no-seccomp       do not install the seccomp filter (for debugging)\n"
      "  -h, --help         this help\n"
      "  -V, --version      print the release and the commit\n"
      "\n"
      "Volume options (docker volume create -o KEY=VALUE):\n";

static const char usage_tail[]
    = "  Defaults: size, mode and inodes from the config (64m, 1777, 65536); uid and\n"
      "  gid 0; huge never; lifetime persistent: content survives while no container\n"
      "  uses it, until `docker volume rm` (ephemeral: removed when the last container\n"
      "  using it stops); no IPC namespace.\n"
      "  An unknown option is an error.  `docker run -v NAME:...` of a volume that does\n"
      "  not exist yet creates it with the defaults (persistent).  Containers see the\n"
      "  root's mode, uid and gid with or without :nocopy: Docker's copy of the\n"
      "  image's directory onto an empty volume changes them, and the plugin puts them\n"
      "  back on Mount and Unmount.\n"
      "\n"
      "Each container mount is a member of the pipeline (\"docker:MOUNT-ID\"); `docker\n"
      "volume rm` is refused while a container uses the volume.  `docker volume inspect`\n"
      "shows the pipeline under Status; `docker volume ls` lists every pipeline.\n"
      "After it starts, the plugin asks dockerd (config key docker_socket) which\n"
      "mounts its live containers hold, and drops members no container holds: a\n"
      "Mount recorded by a plugin killed before answering it, an Unmount lost with\n"
      "a dockerd that was killed.  `shmpipectl gc` does the same.\n"
      "\n"
      "Signals: SIGTERM and SIGINT finish the request in progress and exit 0; SIGHUP\n"
      "is ignored.\n"
      "\n"
      "Files:\n"
      "  " DEFAULT_SOCKET "   the default socket\n"
      "  " SP_DEFAULT_ROOT "/state/NAME.json   a pipeline's record\n"
      "  " SP_DEFAULT_ROOT "/mnt/NAME          its tmpfs, the volume's Mountpoint\n"
      "\n"
      "Exit status: 0 after SIGTERM/SIGINT or --help/--version; 1 when it cannot start;\n"
      "2 on a usage error.\n";

/* Whether we made the socket file, and which one, so that exit removes ours
   and never a successor's. */
struct own_socket
{
  const char *path;
  dev_t dev;
  ino_t ino;
  bool owned;
};

static void
report_gc (void *ctx, const char *name, const char *what, bool failed)
{
  (void) ctx;
  if (failed)
    sp_log_warning ("store: %s: %s", name, what);
  else
    sp_log_info ("store: %s: %s", name, what);
}

/* 1 with *FD when systemd passed a socket (checked to be a listening unix
   stream socket), 0 when not socket-activated, -1 on error. */
static int
activated_socket (int *fd, sp_error_t *err)
{
  const char *pid_s = getenv ("LISTEN_PID"), *fds_s = getenv ("LISTEN_FDS");
  struct sockaddr_storage sa;
  socklen_t len = sizeof (sa);
  int type = 0, listening = 0;
  socklen_t olen = sizeof (int);
  char *end;
  long pid, n;

  if (pid_s == NULL || fds_s == NULL)
    return 0;
  errno = 0;
  pid = strtol (pid_s, &end, 10);
  if (errno != 0 || *end != '\0' || pid != (long) getpid ())
    return 0; /* meant for another process */
  n = strtol (fds_s, &end, 10);
  if (*end != '\0' || n < 1)
    return sp_error_make (err, EINVAL, "socket activation: LISTEN_FDS=%.16s", fds_s);
  /* Not for our children (we have none, but the variables say "you"). */
  unsetenv ("LISTEN_PID");
  unsetenv ("LISTEN_FDS");
  unsetenv ("LISTEN_FDNAMES");
  if (getsockopt (SD_LISTEN_FDS_START, SOL_SOCKET, SO_TYPE, &type, &olen) < 0
      || getsockopt (SD_LISTEN_FDS_START, SOL_SOCKET, SO_ACCEPTCONN, &listening, &olen) < 0
      || getsockname (SD_LISTEN_FDS_START, (struct sockaddr *) &sa, &len) < 0)
    return sp_error_sys (err, errno, "socket activation: fd %d", SD_LISTEN_FDS_START);
  if (type != SOCK_STREAM || !listening || sa.ss_family != AF_UNIX)
    return sp_error_make (err, EINVAL,
                          "socket activation: fd %d is not a listening unix stream socket",
                          SD_LISTEN_FDS_START);
  for (long i = 1; i < n; i++)
    {
      sp_log_warning ("socket activation: ignoring extra fd %ld", SD_LISTEN_FDS_START + i);
      close ((int) (SD_LISTEN_FDS_START + i));
    }
  if (fcntl (SD_LISTEN_FDS_START, F_SETFD, FD_CLOEXEC) < 0)
    return sp_error_sys (err, errno, "socket activation: fd %d", SD_LISTEN_FDS_START);
  *fd = SD_LISTEN_FDS_START;
  return 1;
}

/* A socket file at PATH left by a plugin that was killed answers nothing:
   remove it.  One that answers belongs to a live plugin: refuse. */
static int
clear_stale_socket (const char *path, const struct sockaddr_un *sa, sp_error_t *err)
{
  cleanup_close int probe = -1;
  struct stat st;

  if (lstat (path, &st) < 0)
    return errno == ENOENT ? 0 : sp_error_sys (err, errno, "socket %s", path);
  if (!S_ISSOCK (st.st_mode))
    return sp_error_make (err, EEXIST, "socket %s: exists and is not a socket", path);
  probe = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0)
    return sp_error_sys (err, errno, "socket %s", path);
  if (connect (probe, (const struct sockaddr *) sa, sizeof (*sa)) == 0)
    return sp_error_make (err, EADDRINUSE, "socket %s: another plugin is serving it", path);
  if (errno != ECONNREFUSED && errno != ENOENT)
    return sp_error_sys (err, errno, "socket %s: probe", path);
  if (unlink (path) < 0 && errno != ENOENT)
    return sp_error_sys (err, errno, "socket %s: remove stale socket", path);
  sp_log_info ("removed a stale socket %s", path);
  return 0;
}

static int
bind_socket (struct own_socket *own, sp_error_t *err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  cleanup_close int fd = -1;
  cleanup_free char *dir = NULL;
  struct stat st;
  mode_t old;
  int r;

  if (own->path[0] != '/')
    return sp_error_make (err, EINVAL, "socket %s: must be an absolute path", own->path);
  if (strlen (own->path) >= sizeof (sa.sun_path))
    return sp_error_make (err, ENAMETOOLONG, "socket %s: longer than %zu bytes", own->path,
                          sizeof (sa.sun_path) - 1);
  strcpy (sa.sun_path, own->path);
  dir = strdup (own->path);
  if (dir == NULL)
    return sp_error_sys (err, ENOMEM, "socket");
  if (sp_mkdir_p (dirname (dir), 0755, err) < 0)
    return sp_error_prefix (err, "socket %s", own->path);
  if (clear_stale_socket (own->path, &sa, err) < 0)
    return -1;
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return sp_error_sys (err, errno, "socket");
  /* Created 0600 from the start: no window in which another user connects. */
  old = umask (0177);
  r = bind (fd, (const struct sockaddr *) &sa, sizeof (sa));
  umask (old);
  if (r < 0)
    return sp_error_sys (err, errno, "socket %s: bind", own->path);
  if (chmod (own->path, 0600) < 0 || lstat (own->path, &st) < 0)
    return sp_error_sys (err, errno, "socket %s", own->path);
  own->dev = st.st_dev;
  own->ino = st.st_ino;
  own->owned = true;
  /* The kernel's cap: dockerd dials non-blocking and a full backlog fails
     its request at once (EAGAIN) instead of waiting. */
  if (listen (fd, SOMAXCONN) < 0)
    return sp_error_sys (err, errno, "socket %s: listen", own->path);
  return sp_steal_fd (&fd);
}

static void
remove_socket (struct own_socket *own)
{
  struct stat st;

  if (!own->owned)
    return;
  if (lstat (own->path, &st) == 0 && st.st_dev == own->dev && st.st_ino == own->ino)
    unlink (own->path);
  own->owned = false;
}

struct plugin_opts
{
  const char *root;
  const char *config;
  const char *level; /* --log-level, or NULL: the config's */
  bool seccomp;
};

/* 0: run; 1: done (help, version), exit 0; 2: usage error. */
static int
parse_args (int argc, char **argv, struct plugin_opts *o, struct own_socket *own)
{
  static const struct option opts[] = {
    { "socket", required_argument, NULL, 's' }, { "root", required_argument, NULL, 'r' },
    { "config", required_argument, NULL, 'c' }, { "log-level", required_argument, NULL, 'l' },
    { "no-seccomp", no_argument, NULL, 'S' },   { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },      { NULL, 0, NULL, 0 },
  };
  enum sp_log_level level;
  int c;

  while ((c = getopt_long (argc, argv, "hV", opts, NULL)) != -1)
    switch (c)
      {
      case 's':
        own->path = optarg;
        break;
      case 'r':
        o->root = optarg;
        break;
      case 'c':
        o->config = optarg;
        break;
      case 'l':
        o->level = optarg;
        break;
      case 'S':
        o->seccomp = false;
        break;
      case 'h':
        fputs (usage_text, stdout);
        sp_opts_print_table (stdout, SP_OPTS_PLUGIN);
        fputs (usage_tail, stdout);
        return 1;
      case 'V':
        sp_version_print (stdout, "shmpipe-plugin");
        return 1;
      default:
        fputs ("Try 'shmpipe-plugin --help'.\n", stderr);
        return 2;
      }
  if (optind < argc)
    {
      fprintf (stderr,
               "shmpipe-plugin: unexpected argument \"%.64s\"; try 'shmpipe-plugin --help'\n",
               argv[optind]);
      return 2;
    }
  if (o->level != NULL && sp_log_level_parse (o->level, &level) < 0)
    {
      fprintf (stderr,
               "shmpipe-plugin: invalid log level \"%.32s\" (error, warning, info, debug)\n",
               o->level);
      return 2;
    }
  return 0;
}

/* The store as the plugin serves it: a store that outlived its tmpfs (a
   reboot under a persistent root, as a managed plugin's is) gets them back
   before Docker mounts anything. */
static int
open_store (struct sp_store *store, const struct sp_config *cfg, const char *root, sp_error_t *err)
{
  if (sp_store_open (store, cfg, root, err) < 0)
    return -1;
  if (sp_store_gc (store, report_gc, NULL, err) < 0)
    {
      sp_log_warning ("store: %s", (*err)->msg);
      sp_error_release (err);
    }
  sp_cdi_refresh_or_warn (store);
  return 0;
}

/* The listening socket: systemd's, or one bound at OWN's path. */
static int
listen_socket (struct own_socket *own, sp_error_t *err)
{
  int fd = -1, r;

  r = activated_socket (&fd, err);
  if (r < 0)
    return -1;
  return r == 1 ? fd : bind_socket (own, err);
}

/* Signals are taken by sigwaitinfo in wait_for_stop: blocked before any
   thread exists, so that none of MHD's threads gets them. */
static void
block_signals (sigset_t *sigs)
{
  sigemptyset (sigs);
  sigaddset (sigs, SIGTERM);
  sigaddset (sigs, SIGINT);
  sigaddset (sigs, SIGHUP);
  pthread_sigmask (SIG_BLOCK, sigs, NULL);
  signal (SIGPIPE, SIG_IGN);
}

/* Mounts recorded by a plugin that died before answering, Unmounts lost
   with a dockerd that died: checked once requests are served. */
static void
start_reconcile (struct sp_store *store, const struct sp_config *cfg)
{
  cleanup_error sp_error_t err = NULL;

  if (sp_docker_socket (cfg) != NULL
      && sp_plugin_reconcile_start (store, sp_docker_socket (cfg), &err) < 0)
    sp_log_warning ("%s", err->msg);
}

static void
wait_for_stop (const sigset_t *sigs)
{
  for (;;)
    {
      siginfo_t si;
      int sig = sigwaitinfo (sigs, &si);
      if (sig < 0)
        continue; /* EINTR */
      if (sig == SIGHUP)
        {
          sp_log_info ("SIGHUP ignored (nothing to reload: all state lives in the store)");
          continue;
        }
      sp_log_info ("%s: stopping", strsignal (sig));
      return;
    }
}

/* Serves until SIGTERM or SIGINT; an error only before serving starts. */
static int
serve (const struct plugin_opts *o, struct own_socket *own, sp_error_t *err)
{
  cleanup_config struct sp_config cfg = { 0 };
  cleanup_store struct sp_store store = SP_STORE_INIT;
  cleanup_close int fd = -1;
  struct sp_server *srv = NULL;
  enum sp_log_level level;
  sigset_t sigs;

  if (sp_config_load (o->config, o->config != NULL, &cfg, err) < 0)
    return -1;
  if (o->level == NULL || sp_log_level_parse (o->level, &level) < 0)
    level = cfg.log_level;
  sp_log_set_level (level);
  if (open_store (&store, &cfg, o->root, err) < 0)
    return -1;
  fd = listen_socket (own, err);
  if (fd < 0)
    return -1;
  block_signals (&sigs);
  if (sp_plugin_harden (o->seccomp, err) < 0)
    return -1;
  /* The server's fd now, even on failure. */
  if (sp_server_start (&store, sp_steal_fd (&fd), &srv, err) < 0)
    return -1;
  sp_log_info ("serving %s (store %s)%s", own->owned ? own->path : "the socket-activated fd 3",
               store.root, o->seccomp ? "" : " without seccomp");
  start_reconcile (&store, &cfg);
  wait_for_stop (&sigs);
  sp_server_stop (srv);
  remove_socket (own);
  /* A check still asking dockerd keeps using the store and the config:
     exit here, before the cleanups close them under it. */
  if (sp_plugin_reconcile_running ())
    exit (0);
  return 0;
}

int
main (int argc, char **argv)
{
  struct plugin_opts opts = { .seccomp = true };
  struct own_socket own = { .path = DEFAULT_SOCKET };
  cleanup_error sp_error_t err = NULL;
  int r;

  sp_log_init ("shmpipe-plugin", false, SP_LOG_INFO);
  r = parse_args (argc, argv, &opts, &own);
  if (r != 0)
    return r == 1 ? 0 : 2;
  if (serve (&opts, &own, &err) < 0)
    {
      sp_log_error ("%s", err->msg);
      remove_socket (&own);
      return 1;
    }
  return 0;
}
