/* shmpipectl create, and shmpipectl options: the table of pipeline options. */
#include <stdio.h>
#include <string.h>

#include "admission.h"
#include "cdi.h"
#include "commands.h"
#include "names.h"
#include "pipeline_options.h"

static int
run_create (struct sp_ctx *ctx, const struct sp_cli_args *a)
{
  cleanup_error sp_error_t err = NULL;
  cleanup_store struct sp_store store = SP_STORE_INIT;
  struct sp_pipeline_opts o;
  char mp[4096];

  sp_admission_defaults (ctx->cfg, SP_REQ_HOST, &o);
  for (size_t i = 0; i < a->n; i++)
    if (sp_opt_parse (&sp_opt_defs[a->opts[i].val - SP_CLI_OPT_ROW (0)], a->opts[i].arg, &o, &err)
        < 0)
      return sp_cli_usage ("create", "%s", err->msg);
  if (sp_qname_check (a->argv[0], &err) < 0 || sp_store_open (&store, ctx->cfg, ctx->root, &err) < 0
      || sp_store_create (&store, a->argv[0], &o, SP_CREATE_EXCL, NULL, &err) < 0)
    return sp_cli_fail (&err);
  sp_store_mountpoint (&store, a->argv[0], mp, sizeof (mp));
  printf ("%s\n", mp);
  sp_cdi_refresh_or_warn (&store);
  return 0;
}

const struct sp_command sp_cmd_create = {
  .name = "create",
  .synopsis = "NAME [OPTIONS]",
  .summary = "create a pipeline and mount its tmpfs",
  .help = "Create pipeline NAME: a tmpfs mounted nosuid,nodev,noexec under the store\n"
          "root, which containers that name the pipeline get on their /dev/shm.\n"
          "NAME is 1-64 of [A-Za-z0-9_.-], starting with a letter or digit, or\n"
          "NAMESPACE/NAME for a pipeline of Kubernetes namespace NAMESPACE (its pods\n"
          "say just NAME; pods of the namespaces --allow-namespaces lists may join\n"
          "it as NAMESPACE/NAME).  Prints the tmpfs's mountpoint.\n"
          "\n"
          "The options are the pipeline's (`shmpipectl options` lists them with the\n"
          "plugin's keys and the annotations); [annotation]: a container may set it\n"
          "too.\n",
  .pipeline_opts = true,
  .pipeline_flags = 0,
  .operands = 1,
  .help_tail = "Defaults: size, mode and inodes from the config (default_size 64m,\n"
               "default_mode 1777, max_inodes 65536); uid and gid 0; huge never; lifetime\n"
               "persistent: it lives until `shmpipectl rm`, where ephemeral is removed\n"
               "when its last member leaves; no IPC namespace: with --ipc one is pinned at\n"
               "ROOT/ipc/NAME for runtimes to join (see shmpipe-runtime).\n"
               "\n"
               "Fails with \"already exists\" when NAME exists; the size may not exceed the\n"
               "config's max_size, nor the inodes its max_inodes.\n",
  .run = run_create,
};

static int
run_options (struct sp_ctx *ctx, const struct sp_cli_args *a)
{
  (void) ctx;
  if (sp_cli_has (a, 'm'))
    {
      sp_opts_print_table (stdout, SP_OPTS_MARKDOWN);
      return 0;
    }
  sp_opts_print_table (stdout, SP_OPTS_CLI);
  /* How a container joins rather than what a pipeline is: no flag. */
  fputs ("\nA container's request (annotation, or the plugin's -o), no flag:\n", stdout);
  for (size_t i = 0; i < sp_opt_count; i++)
    if (sp_opt_defs[i].flags & SP_OPT_F_REQUEST)
      printf ("  " SP_OPTS_ANNOTATION_PREFIX "%s=%s  %s\n", sp_opt_defs[i].name, sp_opt_defs[i].arg,
              sp_opt_defs[i].help);
  return 0;
}

static const struct sp_cli_opt options_opts[] = {
  { "markdown", NULL, 'm', 0, "print the table of docs/pipeline-options.md" },
  { NULL, NULL, 0, 0, NULL },
};

const struct sp_command sp_cmd_options = {
  .name = "options",
  .synopsis = "[--markdown]",
  .summary = "the pipeline options: flags, plugin keys, annotations",
  .help = "The options a pipeline is made of: `shmpipectl create --NAME`, the Docker\n"
          "plugin's `-o NAME=`, and, where a container may set it, the annotation\n"
          "io.shmpipe.NAME.\n",
  .opts = options_opts,
  .operands = 0,
  .operands_error = "takes no arguments but --markdown",
  .run = run_options,
};
