/* What every shmpipectl command shares: errors, usage errors, opening the store. */
#include <stdarg.h>
#include <stdio.h>

#include "commands.h"

int
sp_cli_fail (sp_error_t *err)
{
  fprintf (stderr, "shmpipectl: %s\n", (err && *err) ? (*err)->msg : "unknown error");
  sp_error_release (err);
  return 1;
}

int
sp_cli_usage (const char *command, const char *fmt, ...)
{
  va_list ap;

  fprintf (stderr, "shmpipectl %s: ", command);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fprintf (stderr, "; try 'shmpipectl %s --help'\n", command);
  return 2;
}

void
sp_cli_report (void *command, const char *name, const char *what, bool failed)
{
  if (failed)
    fprintf (stderr, "shmpipectl: %s: %s: %s\n", (const char *) command, name, what);
  else
    printf ("%s: %s\n", name, what);
}
