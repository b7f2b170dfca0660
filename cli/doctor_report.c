/* shmpipectl doctor: how each check reports (one line per finding: ok,
   FAIL with its fix, or skip), and the tests the checks share.  The checks
   (doctor_*.c) call these; the command (doctor.c) calls the checks. */
#include "doctor.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
report (struct doctor *d, const char *tag, const char *check, const char *fix, const char *fmt,
        va_list ap)
{
  printf ("%-5s %s: ", tag, check);
  vprintf (fmt, ap);
  putchar ('\n');
  if (fix != NULL)
    printf ("      fix: %s\n", fix);
  (void) d;
}

void
doctor_ok (struct doctor *d, const char *check, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  report (d, "ok", check, NULL, fmt, ap);
  va_end (ap);
  d->passed++;
}

void
doctor_fail (struct doctor *d, const char *check, const char *fix, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  report (d, "FAIL", check, fix, fmt, ap);
  va_end (ap);
  d->failed++;
}

void
doctor_skip (struct doctor *d, const char *check, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  report (d, "skip", check, NULL, fmt, ap);
  va_end (ap);
  d->skipped++;
}

bool
doctor_is_tool (const char *path, const char *name, char *why, size_t len)
{
  const char *base = strrchr (path, '/');
  struct stat st;

  base = base != NULL ? base + 1 : path;
  if (path[0] != '/')
    snprintf (why, len, "%s is not an absolute path", path);
  else if (strcmp (base, name) != 0)
    snprintf (why, len, "%s is not %s", path, name);
  else if (stat (path, &st) < 0)
    snprintf (why, len, "%s: %s", path, strerror (errno));
  else if (!S_ISREG (st.st_mode) || access (path, X_OK) < 0)
    snprintf (why, len, "%s is not an executable file", path);
  else
    return true;
  return false;
}
