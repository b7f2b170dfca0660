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

static const char usage_text[]
    = "Usage: shmpipectl [--root DIR] [--config FILE] COMMAND [ARGS...]\n"
      "\n"
      "Manage shmpipe pipelines: private shared-memory domains (one tmpfs each)\n"
      "that containers join on /dev/shm through the shmpipe OCI hook or the\n"
      "shmpipe Docker volume plugin.\n"
      "\n"
      "Commands:\n"
      "  create NAME [OPTIONS]  create a pipeline and mount its tmpfs\n"
      "  ls [--json]            list pipelines\n"
      "  inspect NAME           print a pipeline as JSON\n"
      "  rm NAME [--force]      remove a pipeline (refused while it has members)\n"
      "  gc                     drop members whose process is gone; remove\n"
      "                         ephemeral pipelines left with none\n"
      "  resize NAME --size N [--inodes N]\n"
      "                         change a live pipeline for every member at once\n"
      "  doctor [--pid PID]     check this host's integration, each finding with its fix\n"
      "  metrics [--output F]   the store in Prometheus' text format\n"
      "  options [--markdown]   the pipeline options: flags, plugin keys, annotations\n"
      "  cdi [--dir DIR]        write the CDI spec of the persistent pipelines\n"
      "                         (devices shmpipe.io/pipeline=NAME)\n"
      "  join NAME --id ID      record a member (plumbing, for scripts and tests)\n"
      "  leave NAME --id ID     drop a member (plumbing)\n"
      "\n"
      "Global options:\n"
      "  --root DIR      store root (env SHMPIPE_ROOT; default " SP_DEFAULT_ROOT ")\n"
      "  --config FILE   config file (env SHMPIPE_CONFIG; default " SP_DEFAULT_CONFIG ";\n"
      "                  a missing default file means built-in defaults)\n"
      "  -h, --help      this help; `shmpipectl COMMAND --help` for a command\n"
      "  -V, --version   print the release and the commit\n"
      "\n"
      "Exit status: 0 on success, 1 on error (one line on stderr naming the\n"
      "pipeline and the cause), 2 on a usage error.\n";

static const struct sp_command commands[] = {
  { "create", sp_cmd_create },   { "ls", sp_cmd_ls },           { "list", sp_cmd_ls },
  { "inspect", sp_cmd_inspect }, { "rm", sp_cmd_rm },           { "remove", sp_cmd_rm },
  { "gc", sp_cmd_gc },           { "join", sp_cmd_join },       { "leave", sp_cmd_leave },
  { "options", sp_cmd_options }, { "resize", sp_cmd_resize },   { "doctor", sp_cmd_doctor },
  { "cdi", sp_cmd_cdi },         { "metrics", sp_cmd_metrics },
};

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
  struct sp_config cfg;
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
        fputs (usage_text, stdout);
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
      fputs (usage_text, stderr);
      return 2;
    }
  for (size_t i = 0; i < ARRAY_SIZE (commands); i++)
    {
      if (strcmp (argv[optind], commands[i].name) != 0)
        continue;
      ctx.config_error = NULL;
      if (sp_config_load (config, config != NULL, &cfg, &err) < 0)
        {
          /* doctor reports a broken config as one of its findings. */
          if (commands[i].fn != sp_cmd_doctor)
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
      /* getopt restarts for the command's own options. */
      argc -= optind;
      argv += optind;
      optind = 0;
      rc = commands[i].fn (&ctx, argc, argv);
      sp_config_free (&cfg);
      return rc;
    }
  fprintf (stderr, "shmpipectl: unknown command \"%.64s\"; try 'shmpipectl --help'\n",
           argv[optind]);
  return 2;
}
