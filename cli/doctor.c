/* shmpipectl doctor: checks this host's integration, each finding with its
   fix; the exit status says whether all passed. */
#include "doctor.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
parse_pid (const char *s, pid_t *out)
{
  char *end;
  long v;

  errno = 0;
  v = strtol (s, &end, 10);
  if (errno != 0 || *s == '\0' || *end != '\0' || v <= 0 || v > 4194304)
    return -1;
  *out = (pid_t) v;
  return 0;
}

static int
run_doctor (struct sp_ctx *ctx, const struct sp_cli_args *a)
{
  struct doctor d = {
    .ctx = ctx,
    .hooks_dirs = { "/usr/share/containers/oci/hooks.d", "/etc/containers/oci/hooks.d" },
    .n_hooks_dirs = 2,
    .containerd_config = "/etc/containerd/config.toml",
    .plugin_socket = "/run/docker/plugins/shmpipe.sock",
    .daemon_json = "/etc/docker/daemon.json",
    .crio_config = "/etc/crio",
  };

  for (size_t i = 0; i < a->n; i++)
    {
      const char *arg = a->opts[i].arg;

      switch (a->opts[i].val)
        {
        case 'p':
          if (parse_pid (arg, &d.pid) < 0)
            return sp_cli_usage ("doctor", "invalid --pid %.32s", arg);
          break;
        case 'P':
          d.pipeline = arg;
          break;
        case 'k':
          if (!d.hooks_explicit)
            d.n_hooks_dirs = 0;
          d.hooks_explicit = true;
          if (d.n_hooks_dirs == DOCTOR_MAX_PATHS)
            return sp_cli_usage ("doctor", "at most %d --hooks-dir", DOCTOR_MAX_PATHS);
          d.hooks_dirs[d.n_hooks_dirs++] = arg;
          break;
        case 'C':
          d.containerd_config = arg;
          d.containerd_explicit = true;
          break;
        case 's':
          d.plugin_socket = arg;
          d.plugin_explicit = true;
          break;
        case 'j':
          d.daemon_json = arg;
          d.daemon_explicit = true;
          break;
        case 'R':
          d.crio_config = arg;
          d.crio_explicit = true;
          break;
        case 'e':
          if (d.n_engine_pids == DOCTOR_MAX_PATHS)
            return sp_cli_usage ("doctor", "at most %d --engine-pid", DOCTOR_MAX_PATHS);
          if (parse_pid (arg, &d.engine_pids[d.n_engine_pids]) < 0)
            return sp_cli_usage ("doctor", "invalid --engine-pid %.32s", arg);
          d.n_engine_pids++;
          break;
        }
    }
  if (d.pipeline != NULL && d.pid == 0)
    return sp_cli_usage ("doctor", "--pipeline goes with --pid");

  doctor_check_config (&d);
  doctor_check_hooks_d (&d);
  doctor_check_containerd (&d);
  doctor_check_crio (&d);
  doctor_check_plugin_socket (&d);
  doctor_check_daemon_json (&d);
  doctor_check_store_visible (&d);
  if (d.pid != 0)
    doctor_check_pid (&d);
  printf ("doctor: %u passed, %u failed, %u skipped\n", d.passed, d.failed, d.skipped);
  return d.failed == 0 ? 0 : 1;
}

/* A default path that is missing means that integration is not set up; a
   given one must exist. */
static const struct sp_cli_opt doctor_opts[] = {
  { "pid", "PID", 'p', 0, "also check that process's /dev/shm (the pid check)" },
  { "pipeline", "NAME", 'P', 0, "with --pid: the pipeline it should have" },
  { "hooks-dir", "DIR", 'k', 0,
    "a hooks.d directory (repeatable)\n[/usr/share/containers/oci/hooks.d and "
    "/etc/containers/oci/hooks.d]" },
  { "containerd-config", "FILE", 'C', 0, "[/etc/containerd/config.toml]" },
  { "plugin-socket", "PATH", 's', 0, "[/run/docker/plugins/shmpipe.sock]" },
  { "daemon-json", "FILE", 'j', 0, "[/etc/docker/daemon.json]" },
  { "crio-config", "DIR", 'R', 0, "CRI-O's crio.conf and crio.conf.d [/etc/crio]" },
  { "engine-pid", "PID", 'e', 0,
    "an engine process to check the store from (repeatable) "
    "[every dockerd, containerd, crio and podman found in /proc]" },
  { NULL, NULL, 0, 0, NULL },
};

const struct sp_command sp_cmd_doctor = {
  .name = "doctor",
  .synopsis = "[--pid PID [--pipeline NAME]] [PATH OPTIONS]",
  .summary = "check this host's integration, each finding with its fix",
  .help = "Checks this host's shmpipe integration and prints one line per finding:\n"
          "ok, FAIL (followed by its fix) or skip (that engine is not set up for\n"
          "shmpipe here).\n"
          "\n"
          "Checks:\n"
          "  config      the config file (--config) loads\n"
          "  hooks.d     the Podman/CRI-O hooks.d files naming shmpipe-hook: stages\n"
          "              createRuntime (or prestart) and poststop, an executable hook,\n"
          "              and no --cri (Podman reads them: its containers are no pods)\n"
          "  containerd  each base runtime spec a runtime names holds the hook --cri at\n"
          "              createRuntime and poststop, and pod_annotations lets\n"
          "              io.shmpipe.* through; read from `containerd config dump`\n"
          "              (imports merged) when containerd is in PATH, else the file\n"
          "  crio        the shmpipe-hook files CRI-O's hooks_dir gives it (a later\n"
          "              directory's file replaces an earlier one's of the same name)\n"
          "              run it with --cri\n"
          "  plugin      Docker's plugin socket answers Plugin.Activate\n"
          "  daemon.json a runtime naming shmpipe-runtime is an executable\n"
          "  store       each engine (dockerd, containerd, crio, podman) sees the\n"
          "              store root and every pipeline's tmpfs from its mount namespace\n"
          "  pid         with --pid: the process's /dev/shm is its pipeline's tmpfs\n"
          "              (same superblock); its pipeline is --pipeline, else the one\n"
          "              whose recorded member is the process or an ancestor\n"
          "\n"
          "Path options (defaults in brackets) say where the engines' files are; a\n"
          "default path that is missing means that integration is not set up, a\n"
          "given one must exist.\n",
  .opts = doctor_opts,
  .operands = 0,
  .operands_error = "takes no NAME (see --pipeline)",
  .exit_status = "0 when nothing failed, 1 otherwise, 2 on a usage error.\n",
  .runs_without_config = true,
  .run = run_doctor,
};
