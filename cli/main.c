/* shmpipectl: create, list, inspect, remove and collect pipelines. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "cleanup.h"
#include "commands.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "version.h"

static const char usage_head[]
    = "Usage: shmpipectl [--root DIR] [--config FILE] COMMAND [ARGS...]\n"
      "\n"
      "Manage shmpipe pipelines: private shared-memory domains (one tmpfs each)\n"
      "that containers join on /dev/shm through the shmpipe OCI hook or the\n"
      "shmpipe Docker volume plugin.\n"
      "\n"
      "Commands:\n";

static const char usage_tail[]
    = "\n"
      "Global options:\n"
      "  --root DIR      store root (env SHMPIPE_ROOT; default " SP_DEFAULT_ROOT ")\n"
      "  --config FILE   config file (env SHMPIPE_CONFIG; default " SP_DEFAULT_CONFIG ";\n"
      "                  a missing default file means built-in defaults)\n"
      "  -h, --help      this help; `shmpipectl COMMAND --help` for a command\n"
      "  -V, --version   print the release and the commit\n"
      "\n"
      "Exit status: 0 on success, 1 on error (one line on stderr naming the\n"
      "pipeline and the cause), 2 on a usage error.\n";

/* Every command, in the order `shmpipectl --help` lists them.  A new
   command is a row here and its struct sp_command (cli/commands.h). */
static const struct sp_command *const commands[] = {
  &sp_cmd_create, &sp_cmd_ls,     &sp_cmd_inspect, &sp_cmd_rm,      &sp_cmd_gc,
  &sp_cmd_resize, &sp_cmd_doctor, &sp_cmd_metrics, &sp_cmd_options, &sp_cmd_cdi,
  &sp_cmd_join,   &sp_cmd_leave,  &sp_cmd_restore,
};

static void
print_usage (FILE *f)
{
  fputs (usage_head, f);
  sp_cli_print_commands (commands, ARRAY_SIZE (commands), f);
  fputs (usage_tail, f);
}

static const struct sp_command *
find_command (const char *name)
{
  for (size_t i = 0; i < ARRAY_SIZE (commands); i++)
    if (strcmp (name, commands[i]->name) == 0
        || (commands[i]->alias != NULL && strcmp (name, commands[i]->alias) == 0))
      return commands[i];
  return NULL;
}

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "root", required_argument, NULL, 'r' },
    { "config", required_argument, NULL, 'c' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  const char *root = NULL, *config = NULL;
  cleanup_config struct sp_config cfg = { 0 };
  const struct sp_command *cmd;
  struct sp_cli_args args;
  struct sp_ctx ctx;
  cleanup_error sp_error_t err = NULL;
  int c, rc;

  sp_log_init ("shmpipectl", false, SP_LOG_WARNING);
  /* '+': options after the command belong to the command. */
  while ((c = getopt_long (argc, argv, "+hV", opts, NULL)) != -1)
    switch (c)
      {
      case 'r':
        root = optarg;
        break;
      case 'c':
        config = optarg;
        break;
      case 'h':
        print_usage (stdout);
        return 0;
      case 'V':
        sp_version_print (stdout, "shmpipectl");
        return 0;
      default:
        fputs ("Try 'shmpipectl --help'.\n", stderr);
        return 2;
      }
  if (optind >= argc)
    {
      print_usage (stderr);
      return 2;
    }
  cmd = find_command (argv[optind]);
  if (cmd == NULL)
    {
      fprintf (stderr, "shmpipectl: unknown command \"%.64s\"; try 'shmpipectl --help'\n",
               argv[optind]);
      return 2;
    }
  rc = sp_cli_parse (cmd, argc - optind, argv + optind, &args);
  if (rc != 0)
    return rc == 1 ? 0 : 2;
  ctx.config_error = NULL;
  if (sp_config_load (config, config != NULL, &cfg, &err) < 0)
    {
      if (!cmd->runs_without_config)
        {
          fprintf (stderr, "shmpipectl: %s\n", err->msg);
          return 1;
        }
      ctx.config_error = err->msg;
      sp_config_free (&cfg);
      sp_config_defaults (&cfg);
      if (config == NULL)
        config = getenv ("SHMPIPE_CONFIG");
      cfg.path = strdup (config != NULL && *config ? config : SP_DEFAULT_CONFIG);
    }
  sp_log_set_level (cfg.log_level < SP_LOG_WARNING ? cfg.log_level : SP_LOG_WARNING);
  ctx.cfg = &cfg;
  ctx.root = root;
  return cmd->run (&ctx, &args);
}
