#include "errlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"

/* The value of global option NAME at ARGV[*I] ("--log F" or "--log=F"). */
static const char *
option_value (int argc, char **argv, int *i, const char *name)
{
  size_t n = strlen (name);

  if (strncmp (argv[*i], name, n) != 0)
    return NULL;
  if (argv[*i][n] == '=')
    return argv[*i] + n + 1;
  if (argv[*i][n] == '\0' && *i + 1 < argc)
    return argv[++*i];
  return NULL;
}

void
sp_errlog_from_args (int argc, char **argv, struct sp_errlog *log)
{
  log->path = NULL;
  log->json = false;
  for (int i = 1; i < argc && argv[i][0] == '-'; i++)
    {
      const char *v;

      if ((v = option_value (argc, argv, &i, "--log-format")) != NULL)
        log->json = strcmp (v, "json") == 0;
      else if ((v = option_value (argc, argv, &i, "--log-level")) != NULL)
        continue;
      else if ((v = option_value (argc, argv, &i, "--log")) != NULL)
        log->path = *v != '\0' ? v : NULL;
      else if (strcmp (argv[i], "--root") == 0 || strcmp (argv[i], "--criu") == 0
               || strcmp (argv[i], "--rootless") == 0 || strcmp (argv[i], "--cgroup-manager") == 0
               || (strncmp (argv[i], "--shmpipe-", 10) == 0 && strchr (argv[i], '=') == NULL
                   && strcmp (argv[i], "--shmpipe-help") != 0))
        i++; /* their value is not an option (the wrapper's own come first) */
    }
}

/* logrus's text format: the value quoted, '"' and '\' escaped. */
static void
write_text_line (FILE *f, const char *when, const char *msg)
{
  fprintf (f, "time=\"%s\" level=error msg=\"", when);
  for (const char *p = msg; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        fputc ('\\', f);
      fputc (*p, f);
    }
  fputs ("\"\n", f);
}

void
sp_errlog_write (const struct sp_errlog *log, const char *text)
{
  cleanup_fclose FILE *f = NULL;
  cleanup_free char *msg = NULL;
  char when[40];
  struct tm tm;
  time_t now = time (NULL);
  int fd;

  fprintf (stderr, "%s\n", text);
  if (log == NULL || log->path == NULL)
    return;
  /* One line of printable ASCII: a hostile name in the message can neither
     add a line for the reader to take as the error nor break the JSON. */
  msg = strdup (text);
  if (msg == NULL)
    return;
  for (char *p = msg; *p; p++)
    if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f)
      *p = '?';
  gmtime_r (&now, &tm);
  strftime (when, sizeof (when), "%Y-%m-%dT%H:%M:%SZ", &tm);
  fd = open (log->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || (f = fdopen (fd, "a")) == NULL)
    {
      fprintf (stderr, "shmpipe-runtime: log %s: %s\n", log->path, strerror (errno));
      if (fd >= 0)
        close (fd);
      return;
    }
  if (log->json)
    {
      cleanup_yajl_gen yajl_gen g = sp_gen_new (false);
      cleanup_free char *line = NULL;
      cleanup_error sp_error_t err = NULL;

      yajl_gen_map_open (g);
      sp_gen_kv_str (g, "level", "error");
      sp_gen_kv_str (g, "msg", msg);
      sp_gen_kv_str (g, "time", when);
      yajl_gen_map_close (g);
      if (sp_gen_finish (g, &line, NULL, &err) < 0)
        {
          fprintf (stderr, "shmpipe-runtime: log %s: %s\n", log->path, err->msg);
          return;
        }
      fprintf (f, "%s\n", line);
    }
  else
    write_text_line (f, when, msg);
  if (fflush (f) != 0)
    fprintf (stderr, "shmpipe-runtime: log %s: %s\n", log->path, strerror (errno));
}
