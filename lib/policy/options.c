#include "macro.h"
#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Strict unsigned decimal/octal: digits only, no sign, no spaces, no overflow. */
static int
parse_digits (const char *s, unsigned base, uint64_t *out, const char **end)
{
  uint64_t v = 0;
  const char *p = s;

  if (*p < '0' || *p >= (char) ('0' + base))
    return -1;
  for (; *p >= '0' && *p < (char) ('0' + base); p++)
    {
      unsigned d = (unsigned) (*p - '0');
      if (v > (UINT64_MAX - d) / base)
        return -1;
      v = v * base + d;
    }
  *out = v;
  *end = p;
  return 0;
}

/* What every size message lists: the forms a size may take. */
#define SIZE_FORMS                                                                                 \
  "accepted: a number of bytes, or a number with a suffix k, m, g or t (powers of 1024), e.g. "    \
  "512m or 1g"

int
sp_parse_size (const char *s, uint64_t *out, sp_error_t *err)
{
  uint64_t v, mul = 1;
  const char *end;

  if (s == NULL || *s == '\0')
    return sp_error_make (err, EINVAL, "invalid size \"\": empty; " SIZE_FORMS);
  if (parse_digits (s, 10, &v, &end) < 0 && *s >= '0' && *s <= '9')
    return sp_error_make (err, ERANGE, "invalid size \"%.32s\": larger than 1 PiB", s);
  if (parse_digits (s, 10, &v, &end) < 0)
    return sp_error_make (err, EINVAL, "invalid size \"%.32s\": not a number; " SIZE_FORMS, s);
  switch (*end)
    {
    case '\0':
      break;
    case 'k':
    case 'K':
      mul = 1ULL << 10;
      break;
    case 'm':
    case 'M':
      mul = 1ULL << 20;
      break;
    case 'g':
    case 'G':
      mul = 1ULL << 30;
      break;
    case 't':
    case 'T':
      mul = 1ULL << 40;
      break;
    default:
      mul = 0;
    }
  /* "1x", "1.5g", "1gb": the suffix is one letter or nothing. */
  if (mul == 0 || (*end != '\0' && end[1] != '\0'))
    return sp_error_make (err, EINVAL,
                          "invalid size \"%.32s\": unknown suffix \"%.16s\"; " SIZE_FORMS, s, end);
  if (v == 0)
    return sp_error_make (err, EINVAL, "invalid size \"%.32s\": must be greater than zero", s);
  if (v > SP_SIZE_LIMIT / mul)
    return sp_error_make (err, ERANGE, "invalid size \"%.32s\": larger than 1 PiB", s);
  v *= mul;
  if (v < SP_SIZE_MIN)
    v = SP_SIZE_MIN;
  v = (v + 4095) & ~4095ULL;
  *out = v;
  return 0;
}

int
sp_parse_mode (const char *s, mode_t *out, sp_error_t *err)
{
  uint64_t v;
  const char *end;

  if (s == NULL || parse_digits (s, 8, &v, &end) < 0 || *end != '\0' || strlen (s) > 5 || v > 07777)
    return sp_error_make (err, EINVAL,
                          "invalid mode \"%.32s\": want octal permission bits such as 1777 or 0770",
                          s ? s : "");
  *out = (mode_t) v;
  return 0;
}

int
sp_parse_id (const char *s, const char *what, uint32_t *out, sp_error_t *err)
{
  uint64_t v;
  const char *end;

  if (s == NULL || parse_digits (s, 10, &v, &end) < 0 || *end != '\0' || v >= UINT32_MAX)
    return sp_error_make (err, EINVAL, "invalid %s \"%.32s\": want a number from 0 to 4294967294",
                          what, s ? s : "");
  *out = (uint32_t) v;
  return 0;
}

int
sp_parse_count (const char *s, const char *what, uint64_t *out, sp_error_t *err)
{
  uint64_t v;
  const char *end;

  if (s == NULL || parse_digits (s, 10, &v, &end) < 0 || *end != '\0' || v == 0 || v > (1ULL << 40))
    return sp_error_make (err, EINVAL, "invalid %s \"%.32s\": want a positive number", what,
                          s ? s : "");
  *out = v;
  return 0;
}

static const char *const huge_names[] = {
  [SP_HUGE_NEVER] = "never",
  [SP_HUGE_ALWAYS] = "always",
  [SP_HUGE_WITHIN_SIZE] = "within_size",
  [SP_HUGE_ADVISE] = "advise",
};

static const char *const lifetime_names[] = {
  [SP_LIFETIME_PERSISTENT] = "persistent",
  [SP_LIFETIME_EPHEMERAL] = "ephemeral",
};

int
sp_parse_huge (const char *s, enum sp_huge *out, sp_error_t *err)
{
  for (size_t i = 0; s != NULL && i < ARRAY_SIZE (huge_names); i++)
    if (strcmp (s, huge_names[i]) == 0)
      {
        *out = (enum sp_huge) i;
        return 0;
      }
  return sp_error_make (
      err, EINVAL, "invalid huge \"%.32s\": want never, always, within_size or advise", s ? s : "");
}

int
sp_parse_lifetime (const char *s, enum sp_lifetime *out, sp_error_t *err)
{
  for (size_t i = 0; s != NULL && i < ARRAY_SIZE (lifetime_names); i++)
    if (strcmp (s, lifetime_names[i]) == 0)
      {
        *out = (enum sp_lifetime) i;
        return 0;
      }
  return sp_error_make (err, EINVAL, "invalid lifetime \"%.32s\": want persistent or ephemeral",
                        s ? s : "");
}

int
sp_parse_bool (const char *s, const char *what, bool *out, sp_error_t *err)
{
  if (s != NULL && (strcmp (s, "true") == 0 || strcmp (s, "on") == 0 || strcmp (s, "1") == 0))
    *out = true;
  else if (s != NULL
           && (strcmp (s, "false") == 0 || strcmp (s, "off") == 0 || strcmp (s, "0") == 0))
    *out = false;
  else
    return sp_error_make (err, EINVAL, "invalid %s \"%.32s\": want true or false", what,
                          s ? s : "");
  return 0;
}

int
sp_parse_container_path (const char *s, const char *what, char *out, size_t len, sp_error_t *err)
{
  static const char *const owned[] = { "/proc", "/sys", "/dev" };
  size_t n = s != NULL ? strlen (s) : 0;

  if (n == 0)
    {
      out[0] = '\0';
      return 0;
    }
  if (n >= len)
    return sp_error_make (err, ENAMETOOLONG, "invalid %s: longer than %zu characters", what,
                          len - 1);
  for (size_t i = 0; i < n; i++)
    if (s[i] <= ' ' || s[i] > '~')
      return sp_error_make (err, EINVAL, "invalid %s: only printable characters without blanks",
                            what);
  if (s[0] != '/' || n == 1)
    return sp_error_make (err, EINVAL, "invalid %s \"%s\": want an absolute path below /", what, s);
  if (s[n - 1] == '/' || strstr (s, "//") != NULL || strstr (s, "/./") != NULL
      || strstr (s, "/../") != NULL || strcmp (s + n - 2, "/.") == 0
      || (n >= 3 && strcmp (s + n - 3, "/..") == 0))
    return sp_error_make (err, EINVAL,
                          "invalid %s \"%s\": want a normalized path (no \"//\", \".\", \"..\" "
                          "or trailing \"/\")",
                          what, s);
  for (size_t i = 0; i < ARRAY_SIZE (owned); i++)
    {
      size_t k = strlen (owned[i]);
      if (strncmp (s, owned[i], k) == 0 && (s[k] == '\0' || s[k] == '/'))
        return sp_error_make (err, EINVAL, "invalid %s \"%s\": %s belongs to the container runtime",
                              what, s, owned[i]);
    }
  memcpy (out, s, n + 1);
  return 0;
}

const char *
sp_huge_name (enum sp_huge h)
{
  return (unsigned) h < ARRAY_SIZE (huge_names) ? huge_names[h] : "never";
}

const char *
sp_lifetime_name (enum sp_lifetime l)
{
  return (unsigned) l < ARRAY_SIZE (lifetime_names) ? lifetime_names[l] : "persistent";
}

void
sp_format_size (uint64_t bytes, char *buf, size_t len)
{
  static const char units[] = "BKMGTP";
  double v = (double) bytes;
  unsigned u = 0;

  while (v >= 1024.0 && u < sizeof (units) - 2)
    {
      v /= 1024.0;
      u++;
    }
  if (u == 0)
    snprintf (buf, len, "%lluB", (unsigned long long) bytes);
  else if (v < 10.0 && v != (double) (uint64_t) v)
    snprintf (buf, len, "%.1f%c", v, units[u]);
  else
    snprintf (buf, len, "%.0f%c", v, units[u]);
}
