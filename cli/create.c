/* shmpipectl create */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "names.h"
#include "options.h"

static const char help[]
    = "Usage: shmpipectl create NAME [OPTIONS]\n"
      "\n"
      "Create pipeline NAME: a tmpfs mounted nosuid,nodev,noexec under the store\n"
      "root, which containers that name the pipeline get on their /dev/shm.\n"
      "NAME is 1-64 of [A-Za-z0-9_.-], starting with a letter or digit.\n"
      "\n"
      "Options:\n"
      "  --size SIZE          tmpfs size, bytes or with a k/m/g/t suffix\n"
      "                       (default: the config's default_size, 64m)\n"
      "  --mode MODE          octal mode of the tmpfs root (default 1777)\n"
      "  --uid UID            owner of the tmpfs root (default 0)\n"
      "  --gid GID            group of the tmpfs root (default 0)\n"
      "  --huge POLICY        never, always, within_size or advise (default never)\n"
      "  --inodes N           inode cap (default and maximum: the config's max_inodes)\n"
      "  --lifetime LIFETIME  persistent (default): lives until `shmpipectl rm`;\n"
      "                       ephemeral: removed when its last member leaves\n"
      "  --ipc                give the pipeline an IPC namespace of its own (SysV\n"
      "                       shm, semaphores, POSIX message queues), pinned at\n"
      "                       ROOT/ipc/NAME for runtimes to join (see shmpipe-runtime)\n"
      "\n"
      "Fails with \"already exists\" when NAME exists; the size may not exceed the\n"
      "config's max_size.\n";

int
sp_cmd_create (struct sp_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
    { "size", required_argument, NULL, 's' },     { "mode", required_argument, NULL, 'm' },
    { "uid", required_argument, NULL, 'u' },      { "gid", required_argument, NULL, 'g' },
    { "huge", required_argument, NULL, 'H' },     { "inodes", required_argument, NULL, 'i' },
    { "lifetime", required_argument, NULL, 'l' }, { "ipc", no_argument, NULL, 'I' },
    { "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
  };
  cleanup_error sp_error_t err = NULL;
  struct sp_store store;
  struct sp_pipeline_opts o;
  int c, rc;

  sp_store_default_opts (&(struct sp_store){ .cfg = ctx->cfg }, SP_LIFETIME_PERSISTENT, &o);
  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    {
      int r = 0;
      switch (c)
        {
        case 's':
          r = sp_parse_size (optarg, &o.size, &err);
          break;
        case 'm':
          r = sp_parse_mode (optarg, &o.mode, &err);
          break;
        case 'u':
          r = sp_parse_id (optarg, "uid", &o.uid, &err);
          break;
        case 'g':
          r = sp_parse_id (optarg, "gid", &o.gid, &err);
          break;
        case 'H':
          r = sp_parse_huge (optarg, &o.huge, &err);
          break;
        case 'i':
          r = sp_parse_count (optarg, "inodes", &o.inodes, &err);
          break;
        case 'l':
          r = sp_parse_lifetime (optarg, &o.lifetime, &err);
          break;
        case 'I':
          o.ipc = true;
          break;
        case 'h':
          fputs (help, stdout);
          return 0;
        default:
          return sp_cli_usage ("create", "bad option");
        }
      if (r < 0)
        return sp_cli_usage ("create", "%s", err->msg);
    }
  if (optind != argc - 1)
    return sp_cli_usage ("create", "want exactly one NAME");
  if (sp_name_check (argv[optind], &err) < 0)
    return sp_cli_fail (&err);
  if (sp_store_open (&store, ctx->cfg, ctx->root, &err) < 0)
    return sp_cli_fail (&err);
  rc = sp_store_create (&store, argv[optind], &o, SP_CREATE_EXCL, NULL, &err) < 0
           ? sp_cli_fail (&err)
           : 0;
  if (rc == 0)
    {
      char mp[4096];
      sp_store_mountpoint (&store, argv[optind], mp, sizeof (mp));
      printf ("%s\n", mp);
    }
  sp_store_close (&store);
  return rc;
}
