/* shmpipectl join and leave: the store's member records, for scripts and tests. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "admission.h"
#include "commands.h"
#include "names.h"
#include "options.h"

static const char join_help[]
    = "Usage: shmpipectl join NAME --id ID [--pid PID] [--create]\n"
      "\n"
      "Record member ID (1-128 of [A-Za-z0-9_.:-]) in pipeline NAME, as the hook\n"
      "does for a container.  With --pid, `gc` drops the member once that process\n"
      "is gone.  With --create, a missing NAME is created with the config's\n"
      "defaults and its auto-create lifetime.  Joining twice is a no-op.\n";

static const char leave_help[]
    = "Usage: shmpipectl leave NAME --id ID\n"
      "\n"
      "Drop member ID from pipeline NAME; an ephemeral pipeline left with no\n"
      "member is removed.  Leaving twice, or a missing pipeline, is a no-op.\n";

static int
member_cmd (struct sp_ctx *ctx, int argc, char **argv, bool join)
{
  static const struct option opts[] = {
    { "id", required_argument, NULL, 'i' },
    { "pid", required_argument, NULL, 'p' },
    { "create", no_argument, NULL, 'c' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *cmd = join ? "join" : "leave";
  cleanup_error sp_error_t err = NULL;
  cleanup_store struct sp_store store = SP_STORE_INIT;
  struct sp_pipeline_opts create_opts;
  const char *id = NULL;
  uint32_t pid = 0;
  bool create = false;
  int c, r;

  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    switch (c)
      {
      case 'i':
        id = optarg;
        break;
      case 'p':
        if (!join || sp_parse_id (optarg, "pid", &pid, &err) < 0)
          return sp_cli_usage (cmd, "%s", err ? err->msg : "--pid is for join");
        break;
      case 'c':
        if (!join)
          return sp_cli_usage (cmd, "--create is for join");
        create = true;
        break;
      case 'h':
        fputs (join ? join_help : leave_help, stdout);
        return 0;
      default:
        return sp_cli_usage (cmd, "bad option");
      }
  if (optind != argc - 1)
    return sp_cli_usage (cmd, "want exactly one NAME");
  if (id == NULL)
    return sp_cli_usage (cmd, "--id is required");
  if (sp_qname_check (argv[optind], &err) < 0)
    return sp_cli_fail (&err);
  if (!sp_member_id_valid (id))
    return sp_cli_usage (cmd, "invalid member id (want 1-%d of [A-Za-z0-9_.:-])", SP_MEMBER_ID_MAX);
  if (sp_store_open (&store, ctx->cfg, ctx->root, &err) < 0)
    return sp_cli_fail (&err);
  sp_admission_defaults (ctx->cfg, SP_REQ_CONTAINER, &create_opts);
  if (join)
    r = sp_store_join (&store, argv[optind], id, pid, create ? &create_opts : NULL, NULL, &err);
  else
    r = sp_store_leave (&store, argv[optind], id, NULL, &err);
  return r < 0 ? sp_cli_fail (&err) : 0;
}

int
sp_cmd_join (struct sp_ctx *ctx, int argc, char **argv)
{
  return member_cmd (ctx, argc, argv, true);
}

int
sp_cmd_leave (struct sp_ctx *ctx, int argc, char **argv)
{
  return member_cmd (ctx, argc, argv, false);
}
