/* The config keys table: every row parses its documented default into the
   built-in one, docs/config.md is the table the code prints, and
   schemas/config.schema.json describes the same keys, types and defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>

#include "config.h"
#include "error.h"
#include "fileutil.h"
#include "json.h"
#include "pipeline_options.h"

/* FILE's text (from the repository root, where `make unit` runs). */
static char *
repo_file (const char *file, size_t *len)
{
  char *buf = NULL;
  size_t n;
  sp_error_t err = NULL;

  if (sp_read_file_at (AT_FDCWD, file, 0, 1 << 20, &buf, &n, &err) < 0)
    fail_msg ("%s: %s", file, err->msg);
  if (len != NULL)
    *len = n;
  return buf;
}

static int
parse (const char *json, struct sp_config *cfg, sp_error_t *err)
{
  sp_config_defaults (cfg);
  return sp_config_parse (json, strlen (json), cfg, err);
}

static void
expect_error (const char *json, const char *want)
{
  struct sp_config cfg;
  sp_error_t err = NULL;

  if (parse (json, &cfg, &err) == 0)
    fail_msg ("config %s was accepted", json);
  if (strcmp (err->msg, want) != 0)
    fail_msg ("config %s: \"%s\", want \"%s\"", json, err->msg, want);
  sp_error_release (&err);
  sp_config_free (&cfg);
}

/* A key given twice is refused, whichever key, whatever the values: the
   last one winning let {"max_size":"1g","max_size":"3g"} pass 2g. */
static void
test_duplicate_key (void **unused)
{
  (void) unused;
  expect_error ("{\"max_size\":\"1g\",\"max_size\":\"3g\"}",
                "config: key \"max_size\" is given twice");
  expect_error ("{\"cdi\":true,\"root\":\"/r\",\"cdi\":true}",
                "config: key \"cdi\" is given twice");
  for (size_t i = 0; i < sp_config_key_count; i++)
    {
      const struct sp_config_key *k = &sp_config_keys[i];
      const char *v = k->def != NULL ? k->def : k->kind == SP_CFG_SCHEMA ? "\"s\"" : "\"1g\"";
      char json[512], want[128];

      snprintf (json, sizeof (json), "{\"%s\":%s,\"%s\":%s}", k->name, v, k->name, v);
      snprintf (want, sizeof (want), "config: key \"%s\" is given twice", k->name);
      expect_error (json, want);
    }
}

/* A mistyped key names the nearest one; far-off ones name none. */
static void
test_nearest_key (void **unused)
{
  (void) unused;
  expect_error ("{\"max_sise\":\"1g\"}",
                "config: unknown key \"max_sise\" (did you mean \"max_size\"?)");
  expect_error ("{\"container_option\":[]}",
                "config: unknown key \"container_option\" (did you mean \"container_options\"?)");
  expect_error ("{\"colour\":\"blue\"}", "config: unknown key \"colour\"");
  /* Each key with one letter dropped points back at it. */
  for (size_t i = 0; i < sp_config_key_count; i++)
    {
      const char *name = sp_config_keys[i].name;
      char json[128], want[256];
      size_t n = strlen (name);

      snprintf (json, sizeof (json), "{\"%.*s\":1}", (int) n - 1, name);
      snprintf (want, sizeof (want), "config: unknown key \"%.*s\" (did you mean \"%s\"?)",
                (int) n - 1, name, name);
      expect_error (json, want);
    }
}

/* A row's value as text, NULL paths standing for the row's default. */
static void
value_text (const struct sp_config *cfg, const struct sp_config_key *k, char *buf, size_t len)
{
  const char *field = (const char *) cfg + k->offset;
  const char *path;

  switch (k->kind)
    {
    case SP_CFG_SCHEMA:
      snprintf (buf, len, "-");
      return;
    case SP_CFG_PATH:
    case SP_CFG_SOCKET:
      path = *(char *const *) field;
      snprintf (buf, len, "\"%s\"", path != NULL ? path : "(default)");
      return;
    case SP_CFG_SIZE:
    case SP_CFG_COUNT:
      snprintf (buf, len, "%llu", (unsigned long long) *(const uint64_t *) field);
      return;
    case SP_CFG_MODE:
      snprintf (buf, len, "%o", (unsigned) *(const mode_t *) field);
      return;
    case SP_CFG_BOOL:
      snprintf (buf, len, "%d", *(const bool *) field);
      return;
    case SP_CFG_LIFETIME:
      snprintf (buf, len, "%d", (int) *(const enum sp_lifetime *) field);
      return;
    case SP_CFG_LOG_LEVEL:
      snprintf (buf, len, "%d", (int) *(const enum sp_log_level *) field);
      return;
    case SP_CFG_OPTIONS:
      snprintf (buf, len, "%#x", (unsigned) *(const sp_opt_mask *) field);
      return;
    case SP_CFG_PATHS:
      {
        const struct sp_path_list *l = (const struct sp_path_list *) field;
        size_t o = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < l->n && o < len; i++)
          o += (size_t) snprintf (buf + o, len - o, "%s%s", i ? "," : "", l->path[i]);
        return;
      }
    }
  fail_msg ("%s: unknown kind", k->name);
}

/* The default a row documents is the built-in one: the file that writes it
   out changes nothing.  Every other key keeps its default too. */
static void
test_documented_defaults (void **unused)
{
  struct sp_config defaults;
  (void) unused;

  assert_true (sp_config_key_count <= 32); /* sp_config_parse's key_mask */
  sp_config_defaults (&defaults);
  for (size_t i = 0; i < sp_config_key_count; i++)
    {
      const struct sp_config_key *k = &sp_config_keys[i];
      struct sp_config cfg;
      sp_error_t err = NULL;
      char json[512];

      assert_ptr_equal (sp_config_key_find (k->name), k);
      assert_non_null (k->help);
      if (k->def == NULL)
        {
          if (k->note == NULL)
            fail_msg ("%s: no default and no note saying how it is made", k->name);
          continue;
        }
      if (k->kind == SP_CFG_PATH || k->kind == SP_CFG_SOCKET)
        {
          /* NULL stands for DEF: compare the text the file gives. */
          snprintf (json, sizeof (json), "{\"%s\":%s}", k->name, k->def);
          if (parse (json, &cfg, &err) < 0)
            fail_msg ("%s: %s", json, err->msg);
          char want[300], got[300];
          snprintf (want, sizeof (want), "%s", k->def);
          value_text (&cfg, k, got, sizeof (got));
          assert_string_equal (got, want);
          sp_config_free (&cfg);
          continue;
        }
      snprintf (json, sizeof (json), "{\"%s\":%s}", k->name, k->def);
      if (parse (json, &cfg, &err) < 0)
        fail_msg ("%s: %s", json, err->msg);
      for (size_t j = 0; j < sp_config_key_count; j++)
        {
          char a[300], b[300];
          value_text (&cfg, &sp_config_keys[j], a, sizeof (a));
          value_text (&defaults, &sp_config_keys[j], b, sizeof (b));
          if (strcmp (a, b) != 0)
            fail_msg ("%s: \"%s\" is %s, the built-in default %s", json, sp_config_keys[j].name, a,
                      b);
        }
      sp_config_free (&cfg);
    }
  sp_config_free (&defaults);
}

/* docs/config.md carries the table exactly as the code prints it, and the
   README points there. */
static void
test_docs_table (void **unused)
{
  char *doc = repo_file ("docs/config.md", NULL);
  char *readme = repo_file ("README.md", NULL);
  char *table = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&table, &len);
  (void) unused;

  sp_config_print_table (f);
  fclose (f);
  if (strstr (doc, table) == NULL)
    fail_msg ("docs/config.md lacks the table the config keys make; paste this:\n%s", table);
  assert_non_null (strstr (readme, "docs/config.md"));
  free (table);
  free (doc);
  free (readme);
}

/* Whether A and B are the same JSON value (strings, integers, booleans and
   arrays of them are all a schema default holds here). */
static bool
same_json (yajl_val a, yajl_val b)
{
  if (YAJL_IS_STRING (a) && YAJL_IS_STRING (b))
    return strcmp (a->u.string, b->u.string) == 0;
  if (YAJL_IS_INTEGER (a) && YAJL_IS_INTEGER (b))
    return YAJL_GET_INTEGER (a) == YAJL_GET_INTEGER (b);
  if ((YAJL_IS_TRUE (a) && YAJL_IS_TRUE (b)) || (YAJL_IS_FALSE (a) && YAJL_IS_FALSE (b)))
    return true;
  if (YAJL_IS_ARRAY (a) && YAJL_IS_ARRAY (b) && a->u.array.len == b->u.array.len)
    {
      for (size_t i = 0; i < a->u.array.len; i++)
        if (!same_json (a->u.array.values[i], b->u.array.values[i]))
          return false;
      return true;
    }
  return false;
}

static yajl_val
parse_json (const char *text)
{
  yajl_val v = NULL;
  sp_error_t err = NULL;

  if (sp_json_parse (text, strlen (text), &v, &err) < 0)
    fail_msg ("%s: %s", text, err->msg);
  return v;
}

/* Whether enum E lists exactly N names. */
static bool
enum_is (yajl_val e, const char *const *names, size_t n)
{
  if (!YAJL_IS_ARRAY (e) || e->u.array.len != n)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!sp_json_str_eq (e->u.array.values[i], names[i]))
      return false;
  return true;
}

static long long
int_member (yajl_val obj, const char *key)
{
  yajl_val v = sp_json_get (obj, key);
  return YAJL_IS_INTEGER (v) ? YAJL_GET_INTEGER (v) : -1;
}

/* The schema's property P has the type of row K. */
static void
check_schema_type (const struct sp_config_key *k, yajl_val p)
{
  static const char *const lifetimes[] = { "persistent", "ephemeral" };
  static const char *const levels[] = { "error", "warning", "info", "debug" };
  const char *type = YAJL_GET_STRING (sp_json_get (p, "type"));
  const char *name = k->name;
  const char *container[16];
  size_t n = 0;

  switch (k->kind)
    {
    case SP_CFG_SCHEMA:
    case SP_CFG_MODE:
      if (type == NULL || strcmp (type, "string") != 0)
        fail_msg ("schema: \"%s\" is not a string", name);
      return;
    case SP_CFG_PATH:
      if (type == NULL || strcmp (type, "string") != 0
          || !sp_json_str_eq (sp_json_get (p, "pattern"), "^/")
          || int_member (p, "maxLength") != (long long) k->max)
        fail_msg ("schema: \"%s\" is not an absolute path of at most %llu bytes", name,
                  (unsigned long long) k->max);
      return;
    case SP_CFG_SOCKET:
      if (type == NULL || strcmp (type, "string") != 0
          || int_member (p, "maxLength") != (long long) k->max)
        fail_msg ("schema: \"%s\" is not a string of at most %llu bytes", name,
                  (unsigned long long) k->max);
      return;
    case SP_CFG_SIZE:
      if (!sp_json_str_eq (sp_json_get (p, "$ref"), "#/$defs/size"))
        fail_msg ("schema: \"%s\" is not a #/$defs/size", name);
      return;
    case SP_CFG_COUNT:
      if (type == NULL || strcmp (type, "integer") != 0 || int_member (p, "minimum") != 1
          || int_member (p, "maximum") != (long long) k->max)
        fail_msg ("schema: \"%s\" is not an integer from 1 to %llu", name,
                  (unsigned long long) k->max);
      return;
    case SP_CFG_BOOL:
      if (type == NULL || strcmp (type, "boolean") != 0)
        fail_msg ("schema: \"%s\" is not a boolean", name);
      return;
    case SP_CFG_LIFETIME:
      if (!enum_is (sp_json_get (p, "enum"), lifetimes, 2))
        fail_msg ("schema: \"%s\" is not the enum of lifetimes", name);
      return;
    case SP_CFG_LOG_LEVEL:
      if (!enum_is (sp_json_get (p, "enum"), levels, 4))
        fail_msg ("schema: \"%s\" is not the enum of log levels", name);
      return;
    case SP_CFG_PATHS:
      if (type == NULL || strcmp (type, "array") != 0
          || int_member (p, "maxItems") != (long long) k->max)
        fail_msg ("schema: \"%s\" is not an array of at most %llu paths", name,
                  (unsigned long long) k->max);
      return;
    case SP_CFG_OPTIONS:
      for (size_t i = 0; i < sp_opt_count; i++)
        if (sp_opt_grantable (&sp_opt_defs[i]))
          container[n++] = sp_opt_defs[i].name;
      if (type == NULL || strcmp (type, "array") != 0
          || !enum_is (sp_json_get (sp_json_get (p, "items"), "enum"), container, n))
        fail_msg ("schema: \"%s\" is not an array of the options a container may set", name);
      return;
    }
  fail_msg ("%s: unknown kind", name);
}

/* The schema knows the table's keys and no other, each with the row's
   type, and a default exactly when the row has a constant one. */
static void
test_schema_matches (void **unused)
{
  size_t len;
  char *text = repo_file ("schemas/config.schema.json", &len);
  yajl_val schema = NULL, props;
  sp_error_t err = NULL;
  (void) unused;

  if (sp_json_parse (text, len, &schema, &err) < 0)
    fail_msg ("schemas/config.schema.json: %s", err->msg);
  props = sp_json_get (schema, "properties");
  assert_true (YAJL_IS_OBJECT (props));
  assert_true (YAJL_IS_FALSE (sp_json_get (schema, "additionalProperties")));
  for (size_t i = 0; i < props->u.object.len; i++)
    if (sp_config_key_find (props->u.object.keys[i]) == NULL)
      fail_msg ("schema: \"%s\" is no key of the config table", props->u.object.keys[i]);
  for (size_t i = 0; i < sp_config_key_count; i++)
    {
      const struct sp_config_key *k = &sp_config_keys[i];
      yajl_val p = sp_json_get (props, k->name), def;

      if (p == NULL)
        fail_msg ("schema: no property \"%s\"", k->name);
      check_schema_type (k, p);
      def = sp_json_get (p, "default");
      if (k->def == NULL && def != NULL)
        fail_msg ("schema: \"%s\" has a default, the code computes it (%s)", k->name, k->note);
      if (k->def != NULL)
        {
          yajl_val want = parse_json (k->def);
          if (def == NULL || !same_json (def, want))
            fail_msg ("schema: \"%s\": default is not %s", k->name, k->def);
          yajl_tree_free (want);
        }
    }
  yajl_tree_free (schema);
  free (text);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_duplicate_key),       cmocka_unit_test (test_nearest_key),
    cmocka_unit_test (test_documented_defaults), cmocka_unit_test (test_docs_table),
    cmocka_unit_test (test_schema_matches),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
