#include "error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>

static char oom_msg[] = "out of memory";

static int
error_vmake (sp_error_t *err, int status, bool with_strerror, const char *fmt, va_list ap)
{
  char *msg = NULL;
  char *full = NULL;

  if (err == NULL || *err != NULL)
    return -1;
  *err = calloc (1, sizeof (**err));
  if (*err == NULL)
    abort ();
  (*err)->status = status;

  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  if (msg != NULL && with_strerror && status != 0)
    {
      if (asprintf (&full, "%s: %s", msg, strerror (status)) < 0)
        full = NULL;
      free (msg);
      msg = full;
    }
  (*err)->msg = msg != NULL ? msg : oom_msg;
  return -1;
}

int
sp_error_make (sp_error_t *err, int status, const char *fmt, ...)
{
  va_list ap;
  int r;

  va_start (ap, fmt);
  r = error_vmake (err, status, false, fmt, ap);
  va_end (ap);
  return r;
}

int
sp_error_sys (sp_error_t *err, int errnum, const char *fmt, ...)
{
  va_list ap;
  int r;

  va_start (ap, fmt);
  r = error_vmake (err, errnum, true, fmt, ap);
  va_end (ap);
  return r;
}

int
sp_error_prefix (sp_error_t *err, const char *fmt, ...)
{
  char *ctx = NULL;
  char *full = NULL;
  va_list ap;

  if (err == NULL || *err == NULL)
    return -1;
  va_start (ap, fmt);
  if (vasprintf (&ctx, fmt, ap) < 0)
    ctx = NULL;
  va_end (ap);
  if (ctx == NULL)
    return -1;
  if (asprintf (&full, "%s: %s", ctx, (*err)->msg) < 0)
    full = NULL;
  free (ctx);
  if (full == NULL)
    return -1;
  if ((*err)->msg != oom_msg)
    free ((*err)->msg);
  (*err)->msg = full;
  return -1;
}

int
sp_error_wrap_pipeline (sp_error_t *err, const char *name)
{
  if (err == NULL || *err == NULL || (*err)->named || name == NULL || *name == '\0')
    return -1;
  (*err)->named = true;
  return sp_error_prefix (err, "pipeline %s", name);
}

void
sp_error_release (sp_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  if ((*err)->msg != oom_msg)
    free ((*err)->msg);
  free (*err);
  *err = NULL;
}

int
sp_error_status (sp_error_t err)
{
  return err != NULL ? err->status : 0;
}

const char *
sp_printable (const char *s, size_t max, char *buf, size_t len)
{
  size_t n = 0;

  if (len == 0)
    return buf;
  for (; s != NULL && s[n] != '\0' && n < max && n + 1 < len; n++)
    {
      unsigned char c = (unsigned char) s[n];
      buf[n] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
    }
  buf[n] = '\0';
  return buf;
}
