/* shmpipectl metrics: the store in Prometheus' text format, for
   node_exporter's textfile collector (docs/metrics.md). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <microhttpd.h>

#include "cleanup.h"
#include "commands.h"
#include "fileutil.h"

static const char metrics_help[]
    = "Print every pipeline's size, bytes used, inodes used and total, members and\n"
      "creation time, and the store's totals, in the Prometheus text format (0.0.4).\n"
      "Values are those `inspect` shows; a pipeline whose tmpfs is gone shows 0\n"
      "used.\n"
      "\n"
      "With --listen ADDR ([HOST]:PORT, e.g. :9464 or 127.0.0.1:9464), serve them\n"
      "over HTTP at GET /metrics until SIGTERM or SIGINT, read fresh for each\n"
      "request: one request at a time, at most 8 connections, 10 s each; nothing\n"
      "is written.\n";

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
  { "shmpipe_pipeline_used_bytes", "Bytes in use on the pipeline's tmpfs and by its SysV segments.",
    v_used },
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

/* The store's metrics as text in *BUF (malloc'd), *LEN bytes. */
static int
render (struct sp_store *store, char **buf, size_t *len, sp_error_t *err)
{
  struct row *rows = NULL;
  size_t n = 0;
  FILE *f;
  int r;

  *buf = NULL;
  r = load_rows (store, &rows, &n, err);
  if (r == 0)
    {
      f = open_memstream (buf, len);
      if (f == NULL)
        r = sp_error_sys (err, errno, "metrics");
      else
        {
          print_metrics (f, rows, n);
          if (fclose (f) != 0)
            r = sp_error_sys (err, errno, "metrics");
        }
    }
  for (size_t i = 0; i < n; i++)
    sp_pipeline_free (&rows[i].p);
  free (rows);
  return r;
}

static enum MHD_Result
reply (struct MHD_Connection *conn, unsigned status, const char *type, char *body, size_t len)
{
  struct MHD_Response *resp = MHD_create_response_from_buffer (
      len, body, body != NULL ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
  enum MHD_Result ret;

  if (resp == NULL)
    {
      free (body);
      return MHD_NO;
    }
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  ret = MHD_queue_response (conn, status, resp);
  MHD_destroy_response (resp);
  return ret;
}

/* GET /metrics: rendered for each request; anything else refused. */
static enum MHD_Result
serve (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
       const char *version, const char *upload, size_t *upload_size, void **state)
{
  static const char text[] = "text/plain; charset=utf-8";
  cleanup_error sp_error_t err = NULL;
  char *buf = NULL;
  size_t len = 0;

  (void) version;
  (void) upload;
  (void) state;
  if (*upload_size != 0)
    return MHD_NO; /* a body on a GET: drop the connection */
  if (strcmp (method, MHD_HTTP_METHOD_GET) != 0 && strcmp (method, MHD_HTTP_METHOD_HEAD) != 0)
    return reply (conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, strdup ("only GET\n"), 9);
  if (strcmp (url, "/metrics") != 0)
    return reply (conn, MHD_HTTP_NOT_FOUND, text, strdup ("not found: try /metrics\n"), 24);
  if (render (cls, &buf, &len, &err) < 0)
    {
      free (buf);
      buf = NULL;
      if (asprintf (&buf, "%s\n", err->msg) < 0)
        return MHD_NO;
      return reply (conn, MHD_HTTP_INTERNAL_SERVER_ERROR, text, buf, strlen (buf));
    }
  return reply (conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", buf, len);
}

/* ADDR as [HOST]:PORT (HOST may be [v6]); an empty HOST is every address. */
static int
parse_listen (const char *addr, struct addrinfo **out, sp_error_t *err)
{
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
  cleanup_free char *host = strdup (addr);
  char *port, *h;
  int r;

  if (host == NULL)
    return sp_error_sys (err, ENOMEM, "metrics");
  port = strrchr (host, ':');
  if (port == NULL || port[1] == '\0')
    return sp_error_make (err, EINVAL, "metrics: --listen %.64s: want [HOST]:PORT", addr);
  *port++ = '\0';
  h = host;
  if (*h == '[' && h[strlen (h) - 1] == ']')
    {
      h[strlen (h) - 1] = '\0';
      h++;
    }
  r = getaddrinfo (*h ? h : NULL, port, &hints, out);
  if (r != 0)
    return sp_error_make (err, EINVAL, "metrics: --listen %.64s: %s", addr, gai_strerror (r));
  return 0;
}

static int
listen_metrics (struct sp_store *store, const char *addr, sp_error_t *err)
{
  struct addrinfo *ai = NULL;
  struct MHD_Daemon *d;
  sigset_t stop;
  int sig;

  if (parse_listen (addr, &ai, err) < 0)
    return -1;
  /* Blocked before the server's thread starts, so that it inherits the mask
     and only sigwait below sees them. */
  sigemptyset (&stop);
  sigaddset (&stop, SIGTERM);
  sigaddset (&stop, SIGINT);
  pthread_sigmask (SIG_BLOCK, &stop, NULL);
  d = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG
                            | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                        0, NULL, NULL, serve, store, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                        MHD_OPTION_CONNECTION_LIMIT, (unsigned) 8, MHD_OPTION_CONNECTION_TIMEOUT,
                        (unsigned) 10, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 32768,
                        MHD_OPTION_END);
  freeaddrinfo (ai);
  if (d == NULL)
    return sp_error_make (err, EADDRINUSE, "metrics: cannot listen on %.64s", addr);
  fprintf (stderr, "shmpipectl: serving metrics on %s/metrics\n", addr);
  while (sigwait (&stop, &sig) != 0)
    ;
  MHD_stop_daemon (d);
  return 0;
}

static int
run_metrics (struct sp_ctx *ctx, const struct sp_cli_args *a)
{
  cleanup_error sp_error_t err = NULL;
  cleanup_free char *buf = NULL;
  cleanup_store struct sp_store store = SP_STORE_INIT;
  const char *output = sp_cli_value (a, 'o'), *listen_addr = sp_cli_value (a, 'l');
  size_t len = 0;
  int r;

  if (output != NULL && listen_addr != NULL)
    return sp_cli_usage ("metrics", "--output and --listen exclude each other");
  if (sp_store_open (&store, ctx->cfg, ctx->root, &err) < 0)
    return sp_cli_fail (&err);
  if (listen_addr != NULL)
    return listen_metrics (&store, listen_addr, &err) < 0 ? sp_cli_fail (&err) : 0;
  r = render (&store, &buf, &len, &err);
  if (r == 0)
    {
      if (output != NULL)
        r = write_output (output, buf, len, &err);
      else if (fwrite (buf, 1, len, stdout) != len)
        r = sp_error_sys (&err, errno, "metrics: stdout");
    }
  return r < 0 ? sp_cli_fail (&err) : 0;
}

static const struct sp_cli_opt metrics_opts[] = {
  { "output", "FILE", 'o', 'o',
    "write FILE atomically instead (a temp file and a rename in its "
    "directory), as node_exporter's textfile collector wants" },
  { "listen", "ADDR", 'l', 0, "serve them over HTTP at [HOST]:PORT/metrics until SIGTERM" },
  { NULL, NULL, 0, 0, NULL },
};

const struct sp_command sp_cmd_metrics = {
  .name = "metrics",
  .synopsis = "[--output FILE | --listen ADDR]",
  .summary = "the store in Prometheus' text format",
  .help = metrics_help,
  .opts = metrics_opts,
  .operands = 0,
  .run = run_metrics,
};
