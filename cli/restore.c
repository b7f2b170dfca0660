/* shmpipectl restore: the defined pipelines made again after a reboot. */
#include <stdio.h>

#include "cdi.h"
#include "cleanup.h"
#include "commands.h"
#include "definitions.h"
#include "restore.h"

static const char restore_help[]
    = "Make every persistent pipeline again that a reboot took: its definition\n"
      "(name, options, allow list) is kept on disk, in " SP_DEFAULT_DEFINITIONS "\n"
      "(env " SP_DEFINITIONS_ENV "; with another store root, ROOT/definitions);\n"
      "its content is memory and is gone: it comes back empty.  Ephemeral\n"
      "pipelines and members do not come back.  Also writes the definition of\n"
      "each persistent pipeline that has none (made by an older release), and\n"
      "the CDI spec when the config keeps one.\n"
      "\n"
      "Run it at boot before the container engines start (the shmpipe-restore\n"
      "unit does); on a host without systemd, the plugin's start and\n"
      "`shmpipectl gc` do the same.  Until it has run, a container naming a\n"
      "defined pipeline is refused, never given a looser one.  It is safe to\n"
      "run again, and with live pipelines: those are left as they are.\n"
      "\n"
      "Prints a line per pipeline it made or changed.\n";

static int
run_restore (struct sp_ctx *ctx, const struct sp_cli_args *a)
{
  cleanup_error sp_error_t err = NULL;
  cleanup_store struct sp_store store = SP_STORE_INIT;
  int r;

  (void) a;
  if (sp_store_open (&store, ctx->cfg, ctx->root, &err) < 0)
    return sp_cli_fail (&err);
  r = sp_store_restore (&store, sp_cli_report, "restore", &err);
  /* Also after a partial restore: the spec lists what exists now. */
  sp_cdi_refresh_or_warn (&store);
  return r < 0 ? sp_cli_fail (&err) : 0;
}

const struct sp_command sp_cmd_restore = {
  .name = "restore",
  .synopsis = "",
  .summary = "make the persistent pipelines a reboot took again, empty, from their "
             "definitions",
  .help = restore_help,
  .operands = 0,
  .exit_status = "0 when every defined pipeline exists, 1 when one could not be\n"
                 "restored (each is named on stderr; the others still are), 2 on a\n"
                 "usage error.\n",
  .run = run_restore,
};
