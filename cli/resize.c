/* shmpipectl resize: change a live pipeline's size or inode cap. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "names.h"
#include "pipeline_options.h"

#define OPT_ROW(i) (256 + (int) (i))

static void
print_help (void)
{
  fputs ("Usage: shmpipectl resize NAME [--size SIZE] [--inodes N]\n"
         "\n"
         "Change live pipeline NAME's tmpfs for every member at once (they all\n"
         "hold one tmpfs): a member's statfs shows the new size at once, and\n"
         "writes up to it succeed.  Refused when what is in use would not fit\n"
         "(bytes or inodes), and past the config's max_size, max_inodes or\n"
         "max_total_size.  The record is rewritten with the new values.\n"
         "\n"
         "Options:\n",
         stdout);
  for (size_t i = 0; i < sp_opt_count; i++)
    if (sp_opt_defs[i].flags & SP_OPT_F_CHANGEABLE)
      printf ("  --%s %-10s %s\n", sp_opt_defs[i].name, sp_opt_defs[i].arg, sp_opt_defs[i].help);
}

int
sp_cmd_resize (struct sp_ctx *ctx, int argc, char **argv)
{
  struct option opts[sp_opt_count + 2];
  cleanup_error sp_error_t err = NULL;
  cleanup_store struct sp_store store = SP_STORE_INIT;
  struct sp_pipeline_opts o;
  sp_opt_mask given = 0;
  size_t n = 0;
  int c;

  /* Only the changeable rows are flags here. */
  for (size_t i = 0; i < sp_opt_count; i++)
    if (sp_opt_defs[i].flags & SP_OPT_F_CHANGEABLE)
      opts[n++] = (struct option){ sp_opt_defs[i].name, required_argument, NULL, OPT_ROW (i) };
  opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
  opts[n] = (struct option){ NULL, 0, NULL, 0 };

  memset (&o, 0, sizeof (o));
  opterr = 0;
  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    {
      const struct sp_opt_def *d;

      if (c == 'h')
        {
          print_help ();
          return 0;
        }
      if (c < OPT_ROW (0) || c >= OPT_ROW (sp_opt_count))
        return sp_cli_usage ("resize", "bad option %.64s", argv[optind - 1]);
      d = &sp_opt_defs[c - OPT_ROW (0)];
      if (sp_opt_parse (d, optarg, &o, &err) < 0)
        return sp_cli_usage ("resize", "%s", err->msg);
      given |= sp_opt_bit (d);
    }
  if (optind != argc - 1)
    return sp_cli_usage ("resize", "want exactly one NAME");
  if (given == 0)
    return sp_cli_usage ("resize", "give --size or --inodes");
  if (sp_qname_check (argv[optind], &err) < 0
      || sp_store_open (&store, ctx->cfg, ctx->root, &err) < 0
      || sp_store_change (&store, argv[optind], &o, given, &err) < 0)
    return sp_cli_fail (&err);
  return 0;
}
