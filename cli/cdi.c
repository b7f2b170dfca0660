/* shmpipectl cdi */
#include <getopt.h>
#include <stdio.h>

#include "cdi.h"
#include "cleanup.h"
#include "commands.h"

static const char cdi_help[]
    = "Usage: shmpipectl cdi [--dir DIR | --stdout]\n"
      "\n"
      "Write, or refresh, the Container Device Interface spec of the persistent\n"
      "pipelines: DIR/" SP_CDI_SPEC_FILE
      " (default: the config's \"cdi_spec_dir\", " SP_DEFAULT_CDI_SPEC_DIR ").\n"
      "Each pipeline NAME is the device " SP_CDI_KIND "=NAME, e.g.\n"
      "  podman run --device " SP_CDI_KIND "=frames ...\n"
      "Its containerEdits run the shmpipe hook (the config's \"cdi_hook\") at\n"
      "createRuntime and poststop with --pipeline NAME.  The file is replaced\n"
      "atomically and only when its content changes; the same pipelines give\n"
      "the same bytes.  With \"cdi\": true in the config, create, rm, the Docker\n"
      "plugin and gc refresh it themselves.\n"
      "A pipeline of a Kubernetes namespace (NAMESPACE/NAME) has no device: only\n"
      "that namespace's pods join it, through the CRI.  Nor has a pipeline whose\n"
      "name ends in '_', '.' or '-' (a CDI device name ends with a letter or\n"
      "digit).  Each persistent one left out is named on stderr.\n"
      "\n"
      "Options:\n"
      "  --dir DIR   write DIR/" SP_CDI_SPEC_FILE " instead\n"
      "  --stdout    print the spec, write nothing\n";

/* The persistent pipelines the spec leaves out, and why. */
static void
say_left_out (struct sp_store *s)
{
  char **names = NULL;
  size_t n = 0;
  sp_error_t ignored = NULL;

  if (sp_store_list (s, &names, &n, &ignored) < 0)
    {
      sp_error_release (&ignored);
      return;
    }
  for (size_t i = 0; i < n; i++)
    {
      cleanup_pipeline struct sp_pipeline p = { 0 };
      const char *why = sp_cdi_left_out (names[i]);

      if (why != NULL && sp_store_get (s, names[i], &p, &ignored) == 0
          && p.opts.lifetime == SP_LIFETIME_PERSISTENT)
        fprintf (stderr, "shmpipectl: cdi: pipeline %s has no device: %s\n", names[i], why);
      sp_error_release (&ignored);
    }
  sp_store_free_names (names, n);
}

int
sp_cmd_cdi (struct sp_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
    { "dir", required_argument, NULL, 'd' },
    { "stdout", no_argument, NULL, 's' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_error sp_error_t err = NULL;
  cleanup_free char *spec = NULL;
  cleanup_store struct sp_store store = SP_STORE_INIT;
  const char *dir = NULL;
  bool to_stdout = false;
  int c, r;

  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    switch (c)
      {
      case 'd':
        dir = optarg;
        break;
      case 's':
        to_stdout = true;
        break;
      case 'h':
        fputs (cdi_help, stdout);
        return 0;
      default:
        return sp_cli_usage ("cdi", "bad option");
      }
  if (optind != argc)
    return sp_cli_usage ("cdi", "unexpected argument \"%.64s\"", argv[optind]);
  if (to_stdout && dir != NULL)
    return sp_cli_usage ("cdi", "--dir and --stdout exclude each other");
  if (dir != NULL && dir[0] != '/')
    return sp_cli_usage ("cdi", "--dir must be an absolute path");
  if (sp_store_open (&store, ctx->cfg, ctx->root, &err) < 0)
    return sp_cli_fail (&err);
  if (to_stdout)
    {
      size_t len;
      r = sp_cdi_generate (&store, &spec, &len, &err);
      if (r == 0)
        fputs (spec, stdout); /* yajl ends it with a newline */
    }
  else
    r = sp_cdi_write (&store, dir, NULL, 0, &err);
  if (r < 0)
    return sp_cli_fail (&err);
  say_left_out (&store);
  return 0;
}
