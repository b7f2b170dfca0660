/* shmpipectl join and leave: the store's member records, for scripts and tests. */
#include <stdio.h>
#include <string.h>

#include "admission.h"
#include "commands.h"
#include "names.h"
#include "options.h"

static const char join_help[]
    = "Record member ID (1-128 of [A-Za-z0-9_.:-]) in pipeline NAME, as the hook\n"
      "does for a container.  Joining twice is a no-op.  Plumbing, for scripts\n"
      "and tests.\n";

static const char leave_help[]
    = "Drop member ID from pipeline NAME; an ephemeral pipeline left with no\n"
      "member is removed.  Leaving twice, or a missing pipeline, is a no-op.\n"
      "Plumbing, for scripts and tests.\n";

static int
member_cmd (struct sp_ctx *ctx, const struct sp_cli_args *a, bool join)
{
  const char *cmd = join ? "join" : "leave";
  cleanup_error sp_error_t err = NULL;
  cleanup_store struct sp_store store = SP_STORE_INIT;
  struct sp_pipeline_opts create_opts;
  const char *id = sp_cli_value (a, 'i'), *pid_s = sp_cli_value (a, 'p'), *name = a->argv[0];
  bool create = sp_cli_has (a, 'c');
  uint32_t pid = 0;
  int r;

  if (pid_s != NULL && sp_parse_id (pid_s, "pid", &pid, &err) < 0)
    return sp_cli_usage (cmd, "%s", err->msg);
  if (id == NULL)
    return sp_cli_usage (cmd, "--id is required");
  if (sp_qname_check (name, &err) < 0)
    return sp_cli_fail (&err);
  if (!sp_member_id_valid (id))
    return sp_cli_usage (cmd, "invalid member id (want 1-%d of [A-Za-z0-9_.:-])", SP_MEMBER_ID_MAX);
  if (sp_store_open (&store, ctx->cfg, ctx->root, &err) < 0)
    return sp_cli_fail (&err);
  sp_admission_defaults (ctx->cfg, SP_REQ_CONTAINER, &create_opts);
  if (join)
    r = sp_store_join (&store, name, id, pid, create ? &create_opts : NULL, NULL, &err);
  else
    r = sp_store_leave (&store, name, id, NULL, &err);
  return r < 0 ? sp_cli_fail (&err) : 0;
}

static int
run_join (struct sp_ctx *ctx, const struct sp_cli_args *a)
{
  return member_cmd (ctx, a, true);
}

static int
run_leave (struct sp_ctx *ctx, const struct sp_cli_args *a)
{
  return member_cmd (ctx, a, false);
}

#define OPT_ID                                                                                     \
  {                                                                                                \
    "id", "ID", 'i', 0, "the member, 1-128 of [A-Za-z0-9_.:-] (required)"                          \
  }

static const struct sp_cli_opt join_opts[] = {
  OPT_ID,
  { "pid", "PID", 'p', 0, "the member's process: `gc` drops the member once it is gone" },
  { "create", NULL, 'c', 0,
    "create a missing NAME with the config's defaults and its auto-create "
    "lifetime" },
  { NULL, NULL, 0, 0, NULL },
};

static const struct sp_cli_opt leave_opts[] = {
  OPT_ID,
  { NULL, NULL, 0, 0, NULL },
};

const struct sp_command sp_cmd_join = {
  .name = "join",
  .synopsis = "NAME --id ID [--pid PID] [--create]",
  .summary = "record a member (plumbing, for scripts and tests)",
  .help = join_help,
  .opts = join_opts,
  .operands = 1,
  .run = run_join,
};

const struct sp_command sp_cmd_leave = {
  .name = "leave",
  .synopsis = "NAME --id ID",
  .summary = "drop a member (plumbing)",
  .help = leave_help,
  .opts = leave_opts,
  .operands = 1,
  .run = run_leave,
};
