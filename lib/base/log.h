/* One log for every binary: stderr for the CLI and plugin, syslog for the hook. */
#ifndef SHMPIPE_LOG_H
#define SHMPIPE_LOG_H

#include <stdbool.h>

enum sp_log_level
{
  SP_LOG_ERROR = 0,
  SP_LOG_WARNING,
  SP_LOG_INFO,
  SP_LOG_DEBUG,
};

const char *sp_log_level_name (enum sp_log_level l);
void sp_log_init (const char *ident, bool use_syslog, enum sp_log_level level);
void sp_log_set_level (enum sp_log_level level);
void sp_log (enum sp_log_level level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

#define sp_log_error(...) sp_log (SP_LOG_ERROR, __VA_ARGS__)
#define sp_log_warning(...) sp_log (SP_LOG_WARNING, __VA_ARGS__)
#define sp_log_info(...) sp_log (SP_LOG_INFO, __VA_ARGS__)
#define sp_log_debug(...) sp_log (SP_LOG_DEBUG, __VA_ARGS__)

#endif
