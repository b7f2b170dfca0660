#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

static const char *const log_names[] = { "error", "warning", "info", "debug" };

const char *
sp_log_level_name (enum sp_log_level l)
{
  return (unsigned) l < 4 ? log_names[l] : "info";
}

static const char *log_ident = "shmpipe";
static bool log_syslog;
static enum sp_log_level log_level = SP_LOG_INFO;

void
sp_log_init (const char *ident, bool use_syslog, enum sp_log_level level)
{
  log_ident = ident;
  log_syslog = use_syslog;
  log_level = level;
  if (use_syslog)
    openlog (ident, LOG_PID, LOG_DAEMON);
}

void
sp_log_set_level (enum sp_log_level level)
{
  log_level = level;
}

void
sp_log (enum sp_log_level level, const char *fmt, ...)
{
  static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
  va_list ap;

  if (level > log_level)
    return;
  va_start (ap, fmt);
  if (log_syslog)
    vsyslog (prio[level], fmt, ap);
  else
    {
      fprintf (stderr, "%s: %s: ", log_ident, sp_log_level_name (level));
      vfprintf (stderr, fmt, ap);
      fputc ('\n', stderr);
    }
  va_end (ap);
}
