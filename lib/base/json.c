#include "json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

/* Whether the JSON text holds a \u0000 escape; an escaped backslash
   followed by "u0000" ("\\u0000") is plain text and does not count. */
static bool
has_nul_escape (const char *buf, size_t len)
{
  size_t i = 0;
  const char *p;

  while (i < len && (p = memchr (buf + i, '\\', len - i)) != NULL)
    {
      i = (size_t) (p - buf);
      if (i + 6 <= len && memcmp (p + 1, "u0000", 5) == 0)
        return true;
      i += 2; /* the backslash and the character it escapes */
    }
  return false;
}

bool
sp_json_depth_ok (const char *buf, size_t len, int max)
{
  bool in_str = false;
  int depth = 0;

  for (size_t i = 0; i < len; i++)
    {
      char c = buf[i];
      if (in_str)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_str = false;
        }
      else if (c == '"')
        in_str = true;
      else if ((c == '[' || c == '{') && ++depth > max)
        return false;
      else if (c == ']' || c == '}')
        depth--;
    }
  return true;
}

int
sp_json_parse (const char *buf, size_t len, yajl_val *out, sp_error_t *err)
{
  char errbuf[256];
  yajl_val v;

  *out = NULL;
  if (buf == NULL || strlen (buf) != len)
    return sp_error_make (err, EINVAL, "invalid JSON: contains a NUL byte");
  if (has_nul_escape (buf, len))
    return sp_error_make (err, EINVAL, "invalid JSON: contains a \\u0000 escape");
  if (!sp_json_depth_ok (buf, len, SP_JSON_DEPTH_MAX))
    return sp_error_make (err, EINVAL, "invalid JSON: nested deeper than %d levels",
                          SP_JSON_DEPTH_MAX);
  errbuf[0] = '\0';
  v = yajl_tree_parse (buf, errbuf, sizeof (errbuf));
  if (v == NULL)
    {
      /* yajl's message spans lines (it quotes the input); keep the first. */
      char *nl = strchr (errbuf, '\n');
      if (nl != NULL)
        *nl = '\0';
      return sp_error_make (err, EINVAL, "invalid JSON: %s", errbuf[0] ? errbuf : "parse error");
    }
  *out = v;
  return 0;
}

yajl_val
sp_json_get (yajl_val obj, const char *key)
{
  if (!YAJL_IS_OBJECT (obj))
    return NULL;
  for (size_t i = 0; i < obj->u.object.len; i++)
    if (strcmp (obj->u.object.keys[i], key) == 0)
      return obj->u.object.values[i];
  return NULL;
}

int
sp_json_get_string (yajl_val obj, const char *what, const char *key, const char **out,
                    sp_error_t *err)
{
  yajl_val v = sp_json_get (obj, key);
  if (v == NULL || YAJL_IS_NULL (v))
    return 1;
  if (!YAJL_IS_STRING (v))
    return sp_error_make (err, EINVAL, "%s: \"%s\" must be a string", what, key);
  *out = YAJL_GET_STRING (v);
  return 0;
}

int
sp_json_get_int (yajl_val obj, const char *what, const char *key, long long *out, sp_error_t *err)
{
  yajl_val v = sp_json_get (obj, key);
  if (v == NULL || YAJL_IS_NULL (v))
    return 1;
  if (!YAJL_IS_INTEGER (v))
    return sp_error_make (err, EINVAL, "%s: \"%s\" must be an integer", what, key);
  *out = YAJL_GET_INTEGER (v);
  return 0;
}

int
sp_json_get_bool (yajl_val obj, const char *what, const char *key, bool *out, sp_error_t *err)
{
  yajl_val v = sp_json_get (obj, key);
  if (v == NULL || YAJL_IS_NULL (v))
    return 1;
  if (!YAJL_IS_TRUE (v) && !YAJL_IS_FALSE (v))
    return sp_error_make (err, EINVAL, "%s: \"%s\" must be true or false", what, key);
  *out = YAJL_IS_TRUE (v);
  return 0;
}

yajl_gen
sp_gen_new (bool beautify)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  if (g == NULL)
    abort ();
  yajl_gen_config (g, yajl_gen_beautify, beautify ? 1 : 0);
  yajl_gen_config (g, yajl_gen_validate_utf8, 1);
  return g;
}

void
sp_gen_str (yajl_gen g, const char *s)
{
  yajl_gen_string (g, (const unsigned char *) s, strlen (s));
}

void
sp_gen_kv_str (yajl_gen g, const char *key, const char *value)
{
  sp_gen_str (g, key);
  sp_gen_str (g, value);
}

void
sp_gen_kv_int (yajl_gen g, const char *key, long long value)
{
  sp_gen_str (g, key);
  yajl_gen_integer (g, value);
}

void
sp_gen_kv_bool (yajl_gen g, const char *key, bool value)
{
  sp_gen_str (g, key);
  yajl_gen_bool (g, value);
}

void
sp_gen_value (yajl_gen g, yajl_val v)
{
  if (v == NULL || YAJL_IS_NULL (v))
    yajl_gen_null (g);
  else if (YAJL_IS_STRING (v))
    sp_gen_str (g, YAJL_GET_STRING (v));
  else if (YAJL_IS_NUMBER (v))
    yajl_gen_number (g, YAJL_GET_NUMBER (v), strlen (YAJL_GET_NUMBER (v)));
  else if (YAJL_IS_TRUE (v) || YAJL_IS_FALSE (v))
    yajl_gen_bool (g, YAJL_IS_TRUE (v));
  else if (YAJL_IS_OBJECT (v))
    {
      yajl_gen_map_open (g);
      for (size_t i = 0; i < v->u.object.len; i++)
        {
          sp_gen_str (g, v->u.object.keys[i]);
          sp_gen_value (g, v->u.object.values[i]);
        }
      yajl_gen_map_close (g);
    }
  else if (YAJL_IS_ARRAY (v))
    {
      yajl_gen_array_open (g);
      for (size_t i = 0; i < v->u.array.len; i++)
        sp_gen_value (g, v->u.array.values[i]);
      yajl_gen_array_close (g);
    }
}

int
sp_gen_finish (yajl_gen g, char **out, size_t *len, sp_error_t *err)
{
  const unsigned char *buf;
  size_t n;
  char *copy;

  if (yajl_gen_get_buf (g, &buf, &n) != yajl_gen_status_ok)
    return sp_error_make (err, EINVAL, "cannot generate JSON");
  copy = malloc (n + 1);
  if (copy == NULL)
    return sp_error_sys (err, ENOMEM, "cannot generate JSON");
  memcpy (copy, buf, n);
  copy[n] = '\0';
  *out = copy;
  if (len != NULL)
    *len = n;
  return 0;
}
