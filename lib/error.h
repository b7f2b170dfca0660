/* Errors that carry context up the call chain (after crun's libcrun_error_t). */
#ifndef SHMPIPE_ERROR_H
#define SHMPIPE_ERROR_H

struct sp_error_s
{
  int status; /* errno value, 0 when none applies */
  char *msg;
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

void sp_error_release (sp_error_t *err);

/* Status of an error, 0 when there is none.  */
int sp_error_status (sp_error_t err);

#define cleanup_error __attribute__ ((cleanup (sp_error_release)))

#endif
