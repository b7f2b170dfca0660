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
sp_namespace_valid (const char *ns)
{
  size_t len = ns != NULL ? strlen (ns) : 0;

  if (len == 0 || len > SP_NS_MAX || ns[0] == '-' || ns[len - 1] == '-')
    return false;
  for (size_t i = 0; i < len; i++)
    if (!((ns[i] >= 'a' && ns[i] <= 'z') || (ns[i] >= '0' && ns[i] <= '9') || ns[i] == '-'))
      return false;
  return true;
}

bool
sp_qname_valid (const char *name, size_t len)
{
  const char *slash;
  char ns[SP_NS_MAX + 1];

  if (name == NULL || len == 0 || len > SP_QNAME_MAX)
    return false;
  slash = memchr (name, '/', len);
  if (slash == NULL)
    return sp_name_valid (name, len);
  if ((size_t) (slash - name) > SP_NS_MAX)
    return false;
  memcpy (ns, name, (size_t) (slash - name));
  ns[slash - name] = '\0';
  return memchr (name, '\0', len) == NULL && sp_namespace_valid (ns)
         && sp_name_valid (slash + 1, len - (size_t) (slash - name) - 1);
}

int
sp_qname_check (const char *name, sp_error_t *err)
{
  char shown[SP_QNAME_MAX + 1];

  if (name == NULL || strchr (name, '/') == NULL)
    return sp_name_check (name, err);
  if (sp_qname_valid (name, strlen (name)))
    return 0;
  return sp_error_make (err, EINVAL,
                        "invalid pipeline name \"%s\" (want NAME or NAMESPACE/NAME: a "
                        "Kubernetes namespace, then 1-64 of [A-Za-z0-9_.-])",
                        sp_printable (name, SP_QNAME_MAX, shown, sizeof (shown)));
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
