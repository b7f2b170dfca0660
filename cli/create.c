/* shmpipectl create, and shmpipectl options: the table of pipeline options. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "admission.h"
#include "cdi.h"
#include "commands.h"
#include "names.h"
#include "pipeline_options.h"

/* getopt's value for row I of the options table. */
#define OPT_ROW(i) (256 + (int) (i))

static void
print_help (void)
{
  fputs ("Usage: shmpipectl create NAME [OPTIONS]\n"
         "\n"
         "Create pipeline NAME: a tmpfs mounted nosuid,nodev,noexec under the store\n"
         "root, which containers that name the pipeline get on their /dev/shm.\n"
         "NAME is 1-64 of [A-Za-z0-9_.-], starting with a letter or digit, or\n"
         "NAMESPACE/NAME for a pipeline of Kubernetes namespace NAMESPACE (its pods\n"
         "say just NAME; pods of the namespaces --allow-namespaces lists may join\n"
         "it as NAMESPACE/NAME).\n"
         "\n"
         "Options (`shmpipectl options` lists them with the plugin's keys and the\n"
         "annotations; [annotation]: a container may set it too):\n",
         stdout);
  sp_opts_print_table (stdout, SP_OPTS_CLI);
  fputs ("\n"
         "Defaults: size, mode and inodes from the config (default_size 64m,\n"
         "default_mode 1777, max_inodes 65536); uid and gid 0; huge never; lifetime\n"
         "persistent: it lives until `shmpipectl rm`, where ephemeral is removed\n"
         "when its last member leaves; no IPC namespace: with --ipc one is pinned at\n"
         "ROOT/ipc/NAME for runtimes to join (see shmpipe-runtime).\n"
         "\n"
         "Fails with \"already exists\" when NAME exists; the size may not exceed the\n"
         "config's max_size, nor the inodes its max_inodes.\n",
         stdout);
}

int
sp_cmd_create (struct sp_ctx *ctx, int argc, char **argv)
{
  struct option opts[sp_opt_count + 2];
  cleanup_error sp_error_t err = NULL;
  cleanup_store struct sp_store store = SP_STORE_INIT;
  struct sp_pipeline_opts o;
  char mp[4096];
  int c;

  for (size_t i = 0; i < sp_opt_count; i++)
    opts[i] = (struct option){ sp_opt_defs[i].name,
                               sp_opt_defs[i].arg ? required_argument : no_argument, NULL,
                               OPT_ROW (i) };
  opts[sp_opt_count] = (struct option){ "help", no_argument, NULL, 'h' };
  opts[sp_opt_count + 1] = (struct option){ NULL, 0, NULL, 0 };

  sp_admission_defaults (ctx->cfg, SP_REQ_HOST, &o);
  opterr = 0;
  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    {
      if (c == 'h')
        {
          print_help ();
          return 0;
        }
      if (c < OPT_ROW (0) || c >= OPT_ROW (sp_opt_count))
        {
          const char *arg = argv[optind - 1];
          char name[64];

          /* "--sizee=1g" or "--sizee": name the nearest option. */
          if (c == ':' || strncmp (arg, "--", 2) != 0)
            return sp_cli_usage ("create", "bad option %.64s", arg);
          snprintf (name, sizeof (name), "%.*s", (int) strcspn (arg + 2, "="), arg + 2);
          if (sp_opt_find (name) != NULL)
            return sp_cli_usage ("create", "option --%s needs a value", name);
          sp_opt_unknown ("option", "--", name, &err);
          return sp_cli_usage ("create", "%s", err->msg);
        }
      if (sp_opt_parse (&sp_opt_defs[c - OPT_ROW (0)], optarg, &o, &err) < 0)
        return sp_cli_usage ("create", "%s", err->msg);
    }
  if (optind != argc - 1)
    return sp_cli_usage ("create", "want exactly one NAME");
  if (sp_qname_check (argv[optind], &err) < 0
      || sp_store_open (&store, ctx->cfg, ctx->root, &err) < 0
      || sp_store_create (&store, argv[optind], &o, SP_CREATE_EXCL, NULL, &err) < 0)
    return sp_cli_fail (&err);
  sp_store_mountpoint (&store, argv[optind], mp, sizeof (mp));
  printf ("%s\n", mp);
  sp_cdi_refresh_or_warn (&store);
  return 0;
}

int
sp_cmd_options (struct sp_ctx *ctx, int argc, char **argv)
{
  (void) ctx;
  if (argc == 2 && strcmp (argv[1], "--markdown") == 0)
    {
      sp_opts_print_table (stdout, SP_OPTS_MARKDOWN);
      return 0;
    }
  if (argc == 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      fputs ("Usage: shmpipectl options [--markdown]\n"
             "\n"
             "The options a pipeline is made of: `shmpipectl create --NAME`, the Docker\n"
             "plugin's `-o NAME=`, and, where a container may set it, the annotation\n"
             "io.shmpipe.NAME.  --markdown prints the table of docs/pipeline-options.md.\n",
             stdout);
      return 0;
    }
  if (argc != 1)
    return sp_cli_usage ("options", "takes no arguments but --markdown");
  sp_opts_print_table (stdout, SP_OPTS_CLI);
  return 0;
}
