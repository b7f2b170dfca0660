#include "names.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

static bool
is_alnum_ascii (unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool
sp_name_valid (const char *name, size_t len)
{
  if (name == NULL || len == 0 || len > SP_NAME_MAX)
    return false;
  if (!is_alnum_ascii ((unsigned char) name[0]))
    return false;
  for (size_t i = 1; i < len; i++)
    {
      unsigned char c = (unsigned char) name[i];
      if (!is_alnum_ascii (c) && c != '_' && c != '.' && c != '-')
        return false;
    }
  return true;
}

int
sp_name_check (const char *name, sp_error_t *err)
{
  char shown[SP_NAME_MAX + 4];
  size_t n = 0;

  if (name == NULL)
    return sp_error_make (err, EINVAL, "missing pipeline name");
  if (sp_name_valid (name, strlen (name)))
    return 0;
  /* Quote at most a short, printable prefix: the name may be hostile. */
  for (const char *p = name; *p && n < SP_NAME_MAX; p++)
    shown[n++] = isprint ((unsigned char) *p) ? *p : '?';
  if (strlen (name) > SP_NAME_MAX)
    {
      memcpy (shown + n, "...", 3);
      n += 3;
    }
  shown[n] = '\0';
  return sp_error_make (err, EINVAL,
                        "invalid pipeline name \"%s\" (want 1-64 of [A-Za-z0-9_.-], "
                        "starting with a letter or digit)",
                        shown);
}

bool
sp_member_id_valid (const char *id)
{
  size_t len;

  if (id == NULL)
    return false;
  len = strlen (id);
  if (len == 0 || len > SP_MEMBER_ID_MAX)
    return false;
  for (size_t i = 0; i < len; i++)
    {
      unsigned char c = (unsigned char) id[i];
      if (!is_alnum_ascii (c) && c != '_' && c != '.' && c != '-' && c != ':')
        return false;
    }
  return true;
}
