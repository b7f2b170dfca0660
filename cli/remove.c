/* shmpipectl rm and gc */
#include <getopt.h>
#include <stdio.h>

#include "cdi.h"
#include "commands.h"
#include "docker_members.h"
#include "names.h"

static const char rm_help[]
    = "Usage: shmpipectl rm NAME [--force]\n"
      "\n"
      "Remove pipeline NAME: unmount its tmpfs and delete its record.  Refused\n"
      "while members are recorded (the message lists them).  With --force the\n"
      "tmpfs is detached (MNT_DETACH): containers that have it keep their memory\n"
      "until they exit, and the name is free at once.\n";

static const char gc_help[]
    = "Usage: shmpipectl gc\n"
      "\n"
      "Collect garbage: drop members whose process is gone (a container whose\n"
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

int
sp_cmd_rm (struct sp_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
    { "force", no_argument, NULL, 'f' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_error sp_error_t err = NULL;
  cleanup_store struct sp_store store = SP_STORE_INIT;
  bool force = false;
  int c, r;

  while ((c = getopt_long (argc, argv, "fh", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        force = true;
        break;
      case 'h':
        fputs (rm_help, stdout);
        return 0;
      default:
        return sp_cli_usage ("rm", "bad option");
      }
  if (optind != argc - 1)
    return sp_cli_usage ("rm", "want exactly one NAME");
  if (sp_qname_check (argv[optind], &err) < 0)
    return sp_cli_fail (&err);
  if (sp_store_open (&store, ctx->cfg, ctx->root, &err) < 0)
    return sp_cli_fail (&err);
  r = sp_store_remove (&store, argv[optind], force, &err);
  if (r == 0)
    sp_cdi_refresh_or_warn (&store);
  return r < 0 ? sp_cli_fail (&err) : 0;
}

static void
gc_report (void *ctx, const char *name, const char *what, bool failed)
{
  (void) ctx;
  if (failed)
    fprintf (stderr, "shmpipectl: gc: %s: %s\n", name, what);
  else
    printf ("%s: %s\n", name, what);
}

int
sp_cmd_gc (struct sp_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_error sp_error_t err = NULL;
  cleanup_store struct sp_store store = SP_STORE_INIT;
  int c, r;

  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    switch (c)
      {
      case 'h':
        fputs (gc_help, stdout);
        return 0;
      default:
        return sp_cli_usage ("gc", "bad option");
      }
  if (optind != argc)
    return sp_cli_usage ("gc", "unexpected argument \"%.64s\"", argv[optind]);
  if (sp_store_open (&store, ctx->cfg, ctx->root, &err) < 0)
    return sp_cli_fail (&err);
  r = sp_store_gc (&store, gc_report, NULL, &err);
  if (r >= 0 && sp_docker_socket (ctx->cfg) != NULL)
    {
      const char *sock = sp_docker_socket (ctx->cfg);
      bool skipped = false;
      r = sp_store_reconcile_docker (&store, sock, gc_report, NULL, &skipped, &err);
      if (skipped)
        fprintf (stderr, "shmpipectl: gc: Docker members not checked: no dockerd answers at %s\n",
                 sock);
    }
  /* Also after a partial gc: the spec follows the records as they now are. */
  sp_cdi_refresh_or_warn (&store);
  return r < 0 ? sp_cli_fail (&err) : 0;
}
