/* shmpipectl ls and inspect */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "json.h"

static const char ls_help[]
    = "Usage: shmpipectl ls [--json]\n"
      "\n"
      "List pipelines as a table: NAME SIZE USED MEMBERS LIFETIME CREATED, each\n"
      "member that is a Kubernetes pod's container on a line of its own below\n"
      "(\"  pod NAMESPACE/POD container NAME\").  A pipeline of a Kubernetes\n"
      "namespace is named NAMESPACE/NAME.\n"
      "A pipeline with 90% or more of its size or of its inodes in use is\n"
      "flagged at the end of its line (\"nearly full: 95% of size\"): a new\n"
      "segment that does not fit fails with ENOSPC, and a mapped one touched\n"
      "past the free space gets SIGBUS.\n"
      "With --json, print a JSON array of the objects `inspect` prints.\n";

static const char inspect_help[]
    = "Usage: shmpipectl inspect NAME\n"
      "\n"
      "Print pipeline NAME as one JSON object: name, mountpoint, used (bytes),\n"
      "size (bytes), mode (octal string), uid, gid, huge, lifetime, inodes,\n"
      "ipc (whether it has an IPC namespace) and ipc_namespace (its path or\n"
      "null), allow-namespaces, created (RFC 3339) and members (an array of\n"
      "{id, pid, joined}, with pod_namespace, pod and container for a Kubernetes\n"
      "pod's container).  NAME may be NAMESPACE/NAME.\n";

static int
print_gen (yajl_gen g, sp_error_t *err)
{
  cleanup_free char *out = NULL;

  if (sp_gen_finish (g, &out, NULL, err) < 0)
    return -1;
  fputs (out, stdout);
  if (out[0] != '\0' && out[strlen (out) - 1] != '\n')
    fputc ('\n', stdout);
  return 0;
}

static int
ls_json (struct sp_store *s, char **names, size_t n, sp_error_t *err)
{
  cleanup_yajl_gen yajl_gen g = sp_gen_new (true);

  yajl_gen_array_open (g);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_pipeline struct sp_pipeline p = { 0 };
      sp_error_t gone = NULL;
      /* Removed since listed: not an error for a listing. */
      if (sp_store_get (s, names[i], &p, &gone) < 0)
        {
          if (sp_error_status (gone) != ENOENT)
            {
              *err = gone;
              return -1;
            }
          sp_error_release (&gone);
          continue;
        }
      sp_store_gen_info (s, g, &p);
    }
  yajl_gen_array_close (g);
  return print_gen (g, err);
}

/* At this share of its bytes or inodes in use, a pipeline is flagged: the
   next segment may not fit (ENOSPC on write, SIGBUS on a mapped page). */
#define NEARLY_FULL_PERCENT 90

/* "  nearly full: 95% of size" or "" */
static void
fullness_note (const struct sp_tmpfs_usage *u, char *buf, size_t len)
{
  unsigned bytes = 0, inodes = 0;

  buf[0] = '\0';
  if (u->size > 0)
    bytes = (unsigned) (u->used * 100 / u->size);
  if (u->inodes > 0)
    inodes = (unsigned) (u->inodes_used * 100 / u->inodes);
  if (bytes >= NEARLY_FULL_PERCENT && bytes >= inodes)
    snprintf (buf, len, "  nearly full: %u%% of size", bytes);
  else if (inodes >= NEARLY_FULL_PERCENT)
    snprintf (buf, len, "  nearly full: %u%% of inodes", inodes);
}

static int
ls_table (struct sp_store *s, char **names, size_t n, sp_error_t *err)
{
  printf ("%-24s %8s %8s %7s %-10s %s\n", "NAME", "SIZE", "USED", "MEMBERS", "LIFETIME", "CREATED");
  for (size_t i = 0; i < n; i++)
    {
      cleanup_pipeline struct sp_pipeline p = { 0 };
      sp_error_t gone = NULL;
      char size[16], used_s[16], created[32], note[48];
      struct sp_tmpfs_usage u;

      if (sp_store_get (s, names[i], &p, &gone) < 0)
        {
          if (sp_error_status (gone) != ENOENT)
            {
              *err = gone;
              return -1;
            }
          sp_error_release (&gone);
          continue;
        }
      /* A tmpfs that vanished reads as 0 bytes used; gc repairs it. */
      sp_store_usage (s, p.name, &u, &gone);
      sp_error_release (&gone);
      sp_format_size (p.opts.size, size, sizeof (size));
      sp_format_size (u.used, used_s, sizeof (used_s));
      sp_format_time (p.created, created, sizeof (created));
      fullness_note (&u, note, sizeof (note));
      printf ("%-24s %8s %8s %7zu %-10s %s%s\n", p.name, size, used_s, p.n_members,
              sp_lifetime_name (p.opts.lifetime), created, note);
      for (size_t m = 0; m < p.n_members; m++)
        if (p.members[m].pod != NULL)
          printf ("  pod %s/%s container %s\n",
                  p.members[m].pod_namespace ? p.members[m].pod_namespace : "?", p.members[m].pod,
                  p.members[m].container ? p.members[m].container : "?");
    }
  return 0;
}

int
sp_cmd_ls (struct sp_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_error sp_error_t err = NULL;
  cleanup_store struct sp_store store = SP_STORE_INIT;
  char **names = NULL;
  size_t n = 0;
  bool json = false;
  int c, r;

  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    switch (c)
      {
      case 'j':
        json = true;
        break;
      case 'h':
        fputs (ls_help, stdout);
        return 0;
      default:
        return sp_cli_usage ("ls", "bad option");
      }
  if (optind != argc)
    return sp_cli_usage ("ls", "unexpected argument \"%.64s\"", argv[optind]);
  if (sp_store_open (&store, ctx->cfg, ctx->root, &err) < 0)
    return sp_cli_fail (&err);
  if (sp_store_list (&store, &names, &n, &err) < 0)
    r = -1;
  else
    r = json ? ls_json (&store, names, n, &err) : ls_table (&store, names, n, &err);
  sp_store_free_names (names, n);
  return r < 0 ? sp_cli_fail (&err) : 0;
}

int
sp_cmd_inspect (struct sp_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_error sp_error_t err = NULL;
  cleanup_pipeline struct sp_pipeline p = { 0 };
  cleanup_yajl_gen yajl_gen g = NULL;
  cleanup_store struct sp_store store = SP_STORE_INIT;
  int c, r;

  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    switch (c)
      {
      case 'h':
        fputs (inspect_help, stdout);
        return 0;
      default:
        return sp_cli_usage ("inspect", "bad option");
      }
  if (optind != argc - 1)
    return sp_cli_usage ("inspect", "want exactly one NAME");
  if (sp_qname_check (argv[optind], &err) < 0)
    return sp_cli_fail (&err);
  if (sp_store_open (&store, ctx->cfg, ctx->root, &err) < 0)
    return sp_cli_fail (&err);
  r = sp_store_get (&store, argv[optind], &p, &err);
  if (r == 0)
    {
      g = sp_gen_new (true);
      sp_store_gen_info (&store, g, &p);
      r = print_gen (g, &err);
    }
  return r < 0 ? sp_cli_fail (&err) : 0;
}
