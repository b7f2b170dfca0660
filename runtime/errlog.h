/* Where an OCI runtime reports an error: the `--log` file its caller gave
   (JSON lines with `--log-format json`, as runc writes them), besides stderr.
   containerd's shim, and dockerd through it, read the last "error" line of
   that file; stderr alone is lost on their path. */
#ifndef SHMPIPE_RUNTIME_ERRLOG_H
#define SHMPIPE_RUNTIME_ERRLOG_H

#include <stdbool.h>

struct sp_errlog
{
  const char *path; /* --log FILE, or NULL */
  bool json;        /* --log-format json */
};

/* Reads runc's global --log and --log-format (either "--opt VALUE" or
   "--opt=VALUE") from ARGV, up to the command.  ARGV is left as it is: the
   real runtime gets the same options. */
void sp_errlog_from_args (int argc, char **argv, struct sp_errlog *log);

/* Writes MSG as one line to stderr and, when a log file was given, appends
   it there as runc does: {"level":"error","msg":MSG,"time":RFC3339} in JSON,
   else time="..." level=error msg="...".  A log file that cannot be written
   is named on stderr; the error still stands. */
void sp_errlog_write (const struct sp_errlog *log, const char *msg);

#endif
