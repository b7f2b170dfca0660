/* shmpipectl resize: change a live pipeline's size or inode cap. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "names.h"
#include "pipeline_options.h"

static int
run_resize (struct sp_ctx *ctx, const struct sp_cli_args *a)
{
  cleanup_error sp_error_t err = NULL;
  cleanup_store struct sp_store store = SP_STORE_INIT;
  struct sp_pipeline_opts o;
  sp_opt_mask given = 0;

  memset (&o, 0, sizeof (o));
  for (size_t i = 0; i < a->n; i++)
    {
      const struct sp_opt_def *d = &sp_opt_defs[a->opts[i].val - SP_CLI_OPT_ROW (0)];
      if (sp_opt_parse (d, a->opts[i].arg, &o, &err) < 0)
        return sp_cli_usage ("resize", "%s", err->msg);
      given |= sp_opt_bit (d);
    }
  if (given == 0)
    return sp_cli_usage ("resize", "give --size or --inodes");
  if (sp_qname_check (a->argv[0], &err) < 0 || sp_store_open (&store, ctx->cfg, ctx->root, &err) < 0
      || sp_store_change (&store, a->argv[0], &o, given, &err) < 0)
    return sp_cli_fail (&err);
  return 0;
}

const struct sp_command sp_cmd_resize = {
  .name = "resize",
  .synopsis = "NAME [--size SIZE] [--inodes N]",
  .summary = "change a live pipeline for every member at once",
  .help = "Change live pipeline NAME's tmpfs for every member at once (they all\n"
          "hold one tmpfs): a member's statfs shows the new size at once, and\n"
          "writes up to it succeed.  Refused when what is in use would not fit\n"
          "(bytes or inodes), and past the config's max_size, max_inodes or\n"
          "max_total_size.  The record is rewritten with the new values.\n",
  /* Only the rows a live pipeline may change are flags here. */
  .pipeline_opts = true,
  .pipeline_flags = SP_OPT_F_CHANGEABLE,
  .operands = 1,
  .run = run_resize,
};
