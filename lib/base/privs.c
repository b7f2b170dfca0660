#include "privs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>

#include "cleanup.h"
#include "fileutil.h"
#include "macro.h"

static void
cleanup_cap (cap_t *c)
{
  if (*c != NULL)
    cap_free (*c);
}

static bool
is_kept (cap_value_t c, const cap_value_t *keep, size_t n_keep)
{
  for (size_t i = 0; i < n_keep; i++)
    if (keep[i] == c)
      return true;
  return false;
}

int
sp_privs_keep_only (const cap_value_t *keep, size_t n_keep, sp_error_t *err)
{
  __attribute__ ((cleanup (cleanup_cap))) cap_t cur = cap_get_proc ();
  __attribute__ ((cleanup (cleanup_cap))) cap_t want = cap_init ();
  cap_flag_value_t setpcap = CAP_CLEAR;

  if (cur == NULL || want == NULL)
    return sp_error_sys (err, errno, "capabilities");
  cap_get_flag (cur, CAP_SETPCAP, CAP_EFFECTIVE, &setpcap);

  /* The bounding set first: dropping from it needs CAP_SETPCAP, which goes
     next.  Without CAP_SETPCAP (an unprivileged caller) there is nothing to
     gain back anyway: no_new_privs below blocks file capabilities.  EINVAL:
     a capability this kernel does not know. */
  for (cap_value_t c = 0, max = cap_max_bits (); c < max && setpcap == CAP_SET; c++)
    if (!is_kept (c, keep, n_keep) && cap_drop_bound (c) < 0 && errno != EINVAL)
      return sp_error_sys (err, errno, "capabilities: drop %d from the bounding set", (int) c);
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return sp_error_sys (err, errno, "capabilities: clear the ambient set");
  /* Inheritable stays empty: cap_init clears all three sets. */
  for (size_t i = 0; i < n_keep; i++)
    {
      cap_flag_value_t have = CAP_CLEAR;
      if (cap_get_flag (cur, keep[i], CAP_PERMITTED, &have) < 0 || have != CAP_SET)
        continue;
      if (cap_set_flag (want, CAP_PERMITTED, 1, &keep[i], CAP_SET) < 0
          || cap_set_flag (want, CAP_EFFECTIVE, 1, &keep[i], CAP_SET) < 0)
        return sp_error_sys (err, errno, "capabilities");
    }
  if (cap_set_proc (want) < 0)
    return sp_error_sys (err, errno, "capabilities: set");
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return sp_error_sys (err, errno, "set no_new_privs");
  return 0;
}

int
sp_privs_print_status (FILE *out, sp_error_t *err)
{
  static const char *const keys[]
      = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:" };
  cleanup_free char *buf = NULL;
  char *line, *save = NULL;

  if (sp_read_file_at (AT_FDCWD, "/proc/self/status", 0, 64 * 1024, &buf, NULL, err) < 0)
    return -1;
  for (line = strtok_r (buf, "\n", &save); line != NULL; line = strtok_r (NULL, "\n", &save))
    for (size_t i = 0; i < ARRAY_SIZE (keys); i++)
      if (strncmp (line, keys[i], strlen (keys[i])) == 0)
        fprintf (out, "%s\n", line);
  return 0;
}
