/* shmpipectl rm and gc */
#include <stdio.h>

#include "cdi.h"
#include "commands.h"
#include "docker_members.h"
#include "names.h"

static const char rm_help[]
    = "Remove pipeline NAME: unmount its tmpfs and delete its record.  Refused\n"
      "while members are recorded (the message lists them).\n";

static const char gc_help[]
    = "Collect garbage: first what `shmpipectl restore` does (the persistent\n"
      "pipelines a reboot took are made again, empty), then drop members whose\n"
      "process is gone (a container whose\n"
      "runtime died before poststop), remove ephemeral pipelines left with no\n"
      "member, unmount tmpfs left without a record by an interrupted create, and\n"
      "remount a persistent pipeline whose tmpfs disappeared (its members keep\n"
      "their IPC namespace; a lost one is pinned anew), delete lock files of no\n"
      "pipeline.  Docker members (docker:MOUNT-ID) have no process: gc asks\n"
      "dockerd (config key docker_socket, default " SP_DEFAULT_DOCKER_SOCKET ")\n"
      "and drops those that no running, paused or restarting container holds;\n"
      "when no dockerd answers it says so in one line and keeps them.  Prints\n"
      "one line per change on stdout.\n"
      "\n"
      "A pipeline that cannot be repaired (something else mounted on its\n"
      "mountpoint, a symlink in its place) is left as it is and named on stderr;\n"
      "gc goes on with the others and then exits 1.\n";

static int
run_rm (struct sp_ctx *ctx, const struct sp_cli_args *a)
{
  cleanup_error sp_error_t err = NULL;
  cleanup_store struct sp_store store = SP_STORE_INIT;
  bool force = sp_cli_has (a, 'f');
  int r;

  if (sp_qname_check (a->argv[0], &err) < 0)
    return sp_cli_fail (&err);
  if (sp_store_open (&store, ctx->cfg, ctx->root, &err) < 0)
    return sp_cli_fail (&err);
  r = sp_store_remove (&store, a->argv[0], force, &err);
  if (r == 0)
    sp_cdi_refresh_or_warn (&store);
  return r < 0 ? sp_cli_fail (&err) : 0;
}

static const struct sp_cli_opt rm_opts[] = {
  { "force", NULL, 'f', 'f',
    "remove it with members: its tmpfs is detached (MNT_DETACH), containers "
    "that have it keep their memory until they exit, and the name is free at "
    "once" },
  { NULL, NULL, 0, 0, NULL },
};

const struct sp_command sp_cmd_rm = {
  .name = "rm",
  .alias = "remove",
  .synopsis = "NAME [--force]",
  .summary = "remove a pipeline (refused while it has members)",
  .help = rm_help,
  .opts = rm_opts,
  .operands = 1,
  .run = run_rm,
};

static int
run_gc (struct sp_ctx *ctx, const struct sp_cli_args *a)
{
  cleanup_error sp_error_t err = NULL;
  cleanup_store struct sp_store store = SP_STORE_INIT;
  int r;

  (void) a;
  if (sp_store_open (&store, ctx->cfg, ctx->root, &err) < 0)
    return sp_cli_fail (&err);
  r = sp_store_gc (&store, sp_cli_report, "gc", &err);
  if (r >= 0 && sp_docker_socket (ctx->cfg) != NULL)
    {
      const char *sock = sp_docker_socket (ctx->cfg);
      bool skipped = false;
      r = sp_store_reconcile_docker (&store, sock, sp_cli_report, "gc", &skipped, &err);
      if (skipped)
        fprintf (stderr, "shmpipectl: gc: Docker members not checked: no dockerd answers at %s\n",
                 sock);
    }
  /* Also after a partial gc: the spec follows the records as they now are. */
  sp_cdi_refresh_or_warn (&store);
  return r < 0 ? sp_cli_fail (&err) : 0;
}

const struct sp_command sp_cmd_gc = {
  .name = "gc",
  .synopsis = "",
  .summary = "drop members whose process is gone; remove ephemeral pipelines left "
             "with none",
  .help = gc_help,
  .operands = 0,
  .exit_status = "0 when everything was collected or repaired, 1 when a pipeline\n"
                 "could not be repaired or the store not read, 2 on a usage error.\n",
  .run = run_gc,
};
