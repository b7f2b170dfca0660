/* JSON through yajl: a size-capped, NUL-safe tree parse and generator helpers. */
#ifndef SHMPIPE_JSON_H
#define SHMPIPE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "error.h"

/* No document shmpipe reads nests deeper than 10 (an OCI config.json's
   deepest, linux.seccomp.syscalls[].args[], is 5); yajl builds and frees its
   tree recursively, so a deeper one would be a way to overflow the stack. */
#define SP_JSON_DEPTH_MAX 64

/* Parses LEN bytes of BUF (BUF[LEN] must be '\0').  Input with a NUL byte or a
   \u0000 escape is refused: yajl's tree would silently cut such strings.
   Input nested deeper than SP_JSON_DEPTH_MAX is refused before any tree is
   built.  */
int sp_json_parse (const char *buf, size_t len, yajl_val *out, sp_error_t *err);

/* Whether the JSON text nests at most MAX levels of arrays and objects
   (counted without parsing; strings are skipped). */
bool sp_json_depth_ok (const char *buf, size_t len, int max);

/* Direct member of an object, or NULL when OBJ is not an object or lacks KEY. */
yajl_val sp_json_get (yajl_val obj, const char *key);

/* Whether V is the JSON string S. */
static inline bool
sp_json_str_eq (yajl_val v, const char *s)
{
  return YAJL_IS_STRING (v) && v->u.string != NULL && strcmp (v->u.string, s) == 0;
}

/* Typed member access: return 0 and set *OUT, 1 when absent (or JSON null),
   or -1 with an error naming WHAT.KEY when the type is wrong.  */
int sp_json_get_string (yajl_val obj, const char *what, const char *key, const char **out,
                        sp_error_t *err);
int sp_json_get_int (yajl_val obj, const char *what, const char *key, long long *out,
                     sp_error_t *err);
int sp_json_get_bool (yajl_val obj, const char *what, const char *key, bool *out, sp_error_t *err);

static inline void
sp_cleanup_yajl_val (yajl_val *v)
{
  if (*v != NULL)
    yajl_tree_free (*v);
}

static inline void
sp_cleanup_yajl_gen (yajl_gen *g)
{
  if (*g != NULL)
    yajl_gen_free (*g);
}

#define cleanup_yajl_val __attribute__ ((cleanup (sp_cleanup_yajl_val)))
#define cleanup_yajl_gen __attribute__ ((cleanup (sp_cleanup_yajl_gen)))

/* A generator (pretty when BEAUTIFY) that aborts on allocation failure. */
yajl_gen sp_gen_new (bool beautify);
void sp_gen_str (yajl_gen g, const char *s);
void sp_gen_kv_str (yajl_gen g, const char *key, const char *value);
void sp_gen_kv_int (yajl_gen g, const char *key, long long value);
void sp_gen_kv_bool (yajl_gen g, const char *key, bool value);
/* Emits V as it was parsed (numbers keep their original text). */
void sp_gen_value (yajl_gen g, yajl_val v);
/* Copies the generated text out (NUL-terminated). */
int sp_gen_finish (yajl_gen g, char **out, size_t *len, sp_error_t *err);

#endif
