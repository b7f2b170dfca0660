/* Errors that carry context up the call chain (after crun's libcrun_error_t). */
#ifndef SHMPIPE_ERROR_H
#define SHMPIPE_ERROR_H

#include <stdbool.h>
#include <stddef.h>

struct sp_error_s
{
  int status; /* errno value, 0 when none applies */
  char *msg;
  bool named; /* the message already names its pipeline */
};
typedef struct sp_error_s *sp_error_t;

/* Sets *err (if not already set) and returns -1.  STATUS is an errno value
   that callers may test (ENOENT, EEXIST, ...); the message is FMT alone.  */
int sp_error_make (sp_error_t *err, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* The same for a failed system call: ": strerror(ERRNUM)" is appended. */
int sp_error_sys (sp_error_t *err, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Prepends "CONTEXT: " to an existing error's message; returns -1.  */
int sp_error_prefix (sp_error_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Prepends "pipeline NAME: " once, however many callers on the way up know
   the pipeline (after crun's crun_error_wrap): the entry points of the store
   and the binaries' own steps all wrap, and the message says it once.
   Returns -1. */
int sp_error_wrap_pipeline (sp_error_t *err, const char *name);

void sp_error_release (sp_error_t *err);

/* Status of an error, 0 when there is none.  */
int sp_error_status (sp_error_t err);

/* Copies S into BUF (LEN bytes) for a log line or an error: at most MAX
   bytes, each byte outside printable ASCII shown as '?'.  Returns BUF. */
const char *sp_printable (const char *s, size_t max, char *buf, size_t len);

#define cleanup_error __attribute__ ((cleanup (sp_error_release)))

#endif
