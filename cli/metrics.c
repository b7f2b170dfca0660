/* shmpipectl metrics: the store in Prometheus' text format, for
   node_exporter's textfile collector (docs/metrics.md). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "fileutil.h"

static const char metrics_help[]
    = "Usage: shmpipectl metrics [--output FILE]\n"
      "\n"
      "Print every pipeline's size, bytes used, inodes used and total, members and\n"
      "creation time, and the store's totals, in the Prometheus text format (0.0.4).\n"
      "With --output, write FILE atomically instead (a temp file and a rename in\n"
      "its directory), as node_exporter's textfile collector wants.  Values are\n"
      "those `inspect` shows; a pipeline whose tmpfs is gone shows 0 used.\n";

struct row
{
  struct sp_pipeline p;
  uint64_t used;
  uint64_t inodes_used;
};

struct family
{
  const char *name;
  const char *help;
  uint64_t (*value) (const struct row *r);
};

static uint64_t
v_size (const struct row *r)
{
  return r->p.opts.size;
}
static uint64_t
v_used (const struct row *r)
{
  return r->used;
}
static uint64_t
v_inodes_used (const struct row *r)
{
  return r->inodes_used;
}
static uint64_t
v_inodes_total (const struct row *r)
{
  return r->p.opts.inodes;
}
static uint64_t
v_members (const struct row *r)
{
  return r->p.n_members;
}
static uint64_t
v_created (const struct row *r)
{
  return (uint64_t) r->p.created;
}

static const struct family families[] = {
  { "shmpipe_pipeline_size_bytes", "Size of the pipeline's tmpfs.", v_size },
  { "shmpipe_pipeline_used_bytes", "Bytes in use on the pipeline's tmpfs.", v_used },
  { "shmpipe_pipeline_inodes_used", "Inodes in use on the pipeline's tmpfs.", v_inodes_used },
  { "shmpipe_pipeline_inodes_total", "Inode cap of the pipeline's tmpfs.", v_inodes_total },
  { "shmpipe_pipeline_members", "Members recorded (containers, Docker mounts).", v_members },
  { "shmpipe_pipeline_created_timestamp_seconds", "When the pipeline was created (Unix time).",
    v_created },
};

static void
print_metrics (FILE *f, const struct row *rows, size_t n)
{
  uint64_t size = 0, used = 0, members = 0;

  for (size_t i = 0; i < sizeof (families) / sizeof (families[0]); i++)
    {
      const struct family *fam = &families[i];
      fprintf (f, "# HELP %s %s\n# TYPE %s gauge\n", fam->name, fam->help, fam->name);
      for (size_t j = 0; j < n; j++)
        fprintf (f, "%s{pipeline=\"%s\"} %llu\n", fam->name, rows[j].p.name,
                 (unsigned long long) fam->value (&rows[j]));
    }
  /* Labels that are not numbers: one series per pipeline, always 1. */
  fprintf (f, "# HELP shmpipe_pipeline_info The pipeline's lifetime and huge page policy.\n"
              "# TYPE shmpipe_pipeline_info gauge\n");
  for (size_t j = 0; j < n; j++)
    fprintf (f, "shmpipe_pipeline_info{pipeline=\"%s\",lifetime=\"%s\",huge=\"%s\",ipc=\"%s\"} 1\n",
             rows[j].p.name, sp_lifetime_name (rows[j].p.opts.lifetime),
             sp_huge_name (rows[j].p.opts.huge), rows[j].p.opts.ipc ? "true" : "false");
  for (size_t j = 0; j < n; j++)
    {
      size += rows[j].p.opts.size;
      used += rows[j].used;
      members += rows[j].p.n_members;
    }
  fprintf (f,
           "# HELP shmpipe_store_pipelines Pipelines in the store.\n"
           "# TYPE shmpipe_store_pipelines gauge\n"
           "shmpipe_store_pipelines %zu\n"
           "# HELP shmpipe_store_size_bytes Sum of the pipelines' sizes.\n"
           "# TYPE shmpipe_store_size_bytes gauge\n"
           "shmpipe_store_size_bytes %llu\n"
           "# HELP shmpipe_store_used_bytes Sum of the bytes in use on the pipelines' tmpfs.\n"
           "# TYPE shmpipe_store_used_bytes gauge\n"
           "shmpipe_store_used_bytes %llu\n"
           "# HELP shmpipe_store_members Sum of the pipelines' members.\n"
           "# TYPE shmpipe_store_members gauge\n"
           "shmpipe_store_members %llu\n",
           n, (unsigned long long) size, (unsigned long long) used, (unsigned long long) members);
}

/* Loads every pipeline; one that is removed meanwhile is left out, a
   damaged record is an error (as for ls). */
static int
load_rows (struct sp_store *s, struct row **out, size_t *nout, sp_error_t *err)
{
  char **names = NULL;
  size_t n = 0, k = 0;
  struct row *rows;

  *out = NULL;
  *nout = 0;
  if (sp_store_list (s, &names, &n, err) < 0)
    return -1;
  rows = calloc (n > 0 ? n : 1, sizeof (*rows));
  if (rows == NULL)
    {
      sp_store_free_names (names, n);
      return sp_error_sys (err, ENOMEM, "metrics");
    }
  for (size_t i = 0; i < n; i++)
    {
      sp_error_t one = NULL;
      struct sp_tmpfs_usage u;
      if (sp_store_get (s, names[i], &rows[k].p, &one) < 0)
        {
          if (sp_error_status (one) == ENOENT)
            {
              sp_error_release (&one);
              continue;
            }
          *err = one;
          break;
        }
      sp_store_usage (s, names[i], &u, &one);
      sp_error_release (&one);
      rows[k].used = u.used;
      rows[k].inodes_used = u.inodes_used;
      k++;
    }
  sp_store_free_names (names, n);
  *out = rows;
  *nout = k;
  return *err != NULL ? -1 : 0;
}

static int
write_output (const char *path, const char *buf, size_t len, sp_error_t *err)
{
  cleanup_free char *dir_copy = strdup (path), *base_copy = strdup (path);
  cleanup_close int dfd = -1;

  if (dir_copy == NULL || base_copy == NULL)
    return sp_error_sys (err, ENOMEM, "metrics");
  dfd = open (dirname (dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return sp_error_sys (err, errno, "metrics: %s", path);
  if (sp_write_file_atomic (dfd, basename (base_copy), buf, len, 0644, err) < 0)
    return sp_error_prefix (err, "metrics: %s", path);
  return 0;
}

int
sp_cmd_metrics (struct sp_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
    { "output", required_argument, NULL, 'o' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_error sp_error_t err = NULL;
  cleanup_free char *buf = NULL;
  cleanup_store struct sp_store store = SP_STORE_INIT;
  struct row *rows = NULL;
  const char *output = NULL;
  size_t n = 0, len = 0;
  FILE *f;
  int c, r;

  while ((c = getopt_long (argc, argv, "o:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'o':
        output = optarg;
        break;
      case 'h':
        fputs (metrics_help, stdout);
        return 0;
      default:
        return sp_cli_usage ("metrics", "bad option");
      }
  if (optind != argc)
    return sp_cli_usage ("metrics", "unexpected argument \"%.64s\"", argv[optind]);
  if (sp_store_open (&store, ctx->cfg, ctx->root, &err) < 0)
    return sp_cli_fail (&err);
  r = load_rows (&store, &rows, &n, &err);
  if (r == 0)
    {
      f = open_memstream (&buf, &len);
      if (f == NULL)
        r = sp_error_sys (&err, errno, "metrics");
      else
        {
          print_metrics (f, rows, n);
          if (fclose (f) != 0)
            r = sp_error_sys (&err, errno, "metrics");
        }
    }
  if (r == 0)
    {
      if (output != NULL)
        r = write_output (output, buf, len, &err);
      else if (fwrite (buf, 1, len, stdout) != len)
        r = sp_error_sys (&err, errno, "metrics: stdout");
    }
  for (size_t i = 0; i < n; i++)
    sp_pipeline_free (&rows[i].p);
  free (rows);
  return r < 0 ? sp_cli_fail (&err) : 0;
}
