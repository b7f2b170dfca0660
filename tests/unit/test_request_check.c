/* What a container may ask for beyond the container_* limits: socket paths
   under the allowed prefixes (by components), a joined pipeline's options
   exactly as made, and the defaults of those keys the same in the code, the
   JSON Schema and the README. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>

#include "cleanup.h"
#include "config.h"
#include "error.h"
#include "fileutil.h"
#include "json.h"
#include "admission.h"
#include "request_check.h"

static char *
repo_file (const char *file, size_t *len)
{
  char *buf = NULL;
  sp_error_t err = NULL;

  if (sp_read_file_at (AT_FDCWD, file, 0, 1 << 20, &buf, len, &err) < 0)
    fail_msg ("%s: %s", file, err->msg);
  return buf;
}

/* The JSON array of a list-valued default, as the README's table writes it:
   ["a", "b"]. */
static void
list_text (yajl_val arr, char *buf, size_t len)
{
  size_t off = (size_t) snprintf (buf, len, "[");
  for (size_t i = 0; arr != NULL && i < arr->u.array.len; i++)
    off += (size_t) snprintf (buf + off, len - off, "%s\"%s\"", i ? ", " : "",
                              YAJL_GET_STRING (arr->u.array.values[i]));
  snprintf (buf + off, len - off, "]");
}

static void
test_defaults_match_schema_and_docs (void **unused)
{
  size_t len;
  cleanup_free char *schema_text = repo_file ("schemas/config.schema.json", &len);
  cleanup_free char *readme = repo_file ("docs/config.md", &len);
  cleanup_yajl_val yajl_val schema = NULL;
  sp_error_t err = NULL;
  struct sp_config cfg;
  const char *opts_path[] = { "properties", "container_options", "default", NULL };
  const char *enum_path[] = { "properties", "container_options", "items", "enum", NULL };
  const char *prefix_path[] = { "properties", "container_socket_prefixes", "default", NULL };
  char code[512], doc[512], row[640];
  yajl_val v;
  (void) unused;

  assert_int_equal (sp_json_parse (schema_text, strlen (schema_text), &schema, &err), 0);
  sp_config_defaults (&cfg);

  /* container_options: the code's default rows, in table order */
  {
    size_t off = (size_t) snprintf (code, sizeof (code), "[");
    for (size_t i = 0; i < sp_opt_count; i++)
      if (cfg.container_options & sp_opt_bit (&sp_opt_defs[i]))
        off += (size_t) snprintf (code + off, sizeof (code) - off, "%s\"%s\"", off > 1 ? ", " : "",
                                  sp_opt_defs[i].name);
    snprintf (code + off, sizeof (code) - off, "]");
  }
  v = yajl_tree_get (schema, opts_path, yajl_t_array);
  assert_non_null (v);
  list_text (v, doc, sizeof (doc));
  assert_string_equal (code, doc);
  /* the schema lets a config list every row a container may set */
  v = yajl_tree_get (schema, enum_path, yajl_t_array);
  assert_non_null (v);
  {
    char names[256];
    sp_opts_grantable_names (names, sizeof (names));
    list_text (v, doc, sizeof (doc));
    for (char *p = strtok (names, ", "); p != NULL; p = strtok (NULL, ", "))
      {
        char q[64];
        snprintf (q, sizeof (q), "\"%s\"", p);
        if (strstr (doc, q) == NULL)
          fail_msg ("the schema's container_options enum lacks %s", q);
      }
  }
  snprintf (row, sizeof (row), "| `container_options` | array of option names | `%s` |", code);
  if (strstr (readme, row) == NULL)
    fail_msg ("docs/config.md lacks the row \"%s\"", row);

  /* container_socket_prefixes */
  {
    size_t off = (size_t) snprintf (code, sizeof (code), "[");
    for (size_t i = 0; i < cfg.socket_prefixes.n; i++)
      off += (size_t) snprintf (code + off, sizeof (code) - off, "%s\"%s\"", i ? ", " : "",
                                cfg.socket_prefixes.path[i]);
    snprintf (code + off, sizeof (code) - off, "]");
  }
  v = yajl_tree_get (schema, prefix_path, yajl_t_array);
  assert_non_null (v);
  list_text (v, doc, sizeof (doc));
  assert_string_equal (code, doc);
  snprintf (row, sizeof (row), "| `container_socket_prefixes` | array of absolute paths | `%s`",
            code);
  if (strstr (readme, row) == NULL)
    fail_msg ("docs/config.md lacks the row \"%s\"", row);
}

static void
test_path_under (void **unused)
{
  (void) unused;
  assert_true (sp_path_under ("/tmp", "/tmp"));
  assert_true (sp_path_under ("/tmp/a/b", "/tmp"));
  assert_true (sp_path_under ("/run/app", "/run/"));
  assert_false (sp_path_under ("/tmpx", "/tmp"));
  assert_false (sp_path_under ("/etc", "/tmp"));
  assert_false (sp_path_under ("/var/runx/a", "/var/run"));
  assert_false (sp_path_under ("/var", "/var/run"));
}

static void
test_socket_prefixes (void **unused)
{
  struct sp_config cfg;
  sp_error_t err = NULL;
  const struct sp_opt_def *sockets = sp_opt_find ("sockets");
  struct sp_pipeline_opts o = { .size = 1 << 20 }, out;
  (void) unused;

  sp_config_defaults (&cfg);
  strcpy (o.sockets, "/etc");
  assert_int_equal (sp_admit (&cfg, SP_REQ_CONTAINER, &o, sp_opt_bit (sockets), &out, &err), -1);
  assert_non_null (strstr (err->msg, "io.shmpipe.sockets=/etc is not under an allowed path "
                                     "(/tmp, /run, /var/run: container_socket_prefixes in"));
  sp_error_release (&err);
  strcpy (o.sockets, "/run/app/sock");
  assert_int_equal (sp_admit (&cfg, SP_REQ_CONTAINER, &o, sp_opt_bit (sockets), &out, &err), 0);
  strcpy (o.sockets, "/tmpfoo");
  assert_int_equal (sp_admit (&cfg, SP_REQ_CONTAINER, &o, sp_opt_bit (sockets), &out, &err), -1);
  sp_error_release (&err);

  const char *conf = "{\"container_socket_prefixes\":[\"/srv/sock\"]}";
  sp_config_defaults (&cfg);
  assert_int_equal (sp_config_parse (conf, strlen (conf), &cfg, &err), 0);
  assert_int_equal (cfg.socket_prefixes.n, 1);
  strcpy (o.sockets, "/srv/sock/a");
  assert_int_equal (sp_admit (&cfg, SP_REQ_CONTAINER, &o, sp_opt_bit (sockets), &out, &err), 0);
  strcpy (o.sockets, "/tmp");
  assert_int_equal (sp_admit (&cfg, SP_REQ_CONTAINER, &o, sp_opt_bit (sockets), &out, &err), -1);
  sp_error_release (&err);

  conf = "{\"container_socket_prefixes\":[]}";
  assert_int_equal (sp_config_parse (conf, strlen (conf), &cfg, &err), 0);
  assert_int_equal (sp_admit (&cfg, SP_REQ_CONTAINER, &o, sp_opt_bit (sockets), &out, &err), -1);
  assert_non_null (strstr (err->msg, "(none: container_socket_prefixes"));
  sp_error_release (&err);

  static const char *const bad[] = {
    "{\"container_socket_prefixes\":[\"tmp\"]}",     "{\"container_socket_prefixes\":[\"/proc\"]}",
    "{\"container_socket_prefixes\":[\"/a/../b\"]}", "{\"container_socket_prefixes\":[\"/\"]}",
    "{\"container_socket_prefixes\":\"/tmp\"}",      "{\"container_socket_prefixes\":[1]}"
  };
  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    {
      sp_config_defaults (&cfg);
      assert_int_equal (sp_config_parse (bad[i], strlen (bad[i]), &cfg, &err), -1);
      assert_non_null (strstr (err->msg, "container_socket_prefixes"));
      sp_error_release (&err);
    }
}

static void
test_existing (void **unused)
{
  struct sp_pipeline_opts have = { .size = 8 << 20, .mode = 01777 }, want;
  sp_opt_mask given = 0;
  sp_error_t err = NULL;
  (void) unused;

  strcpy (have.sockets, "/run/app");
  strcpy (have.allow_namespaces, "team-b,team-c");
  want = have;
  assert_int_equal (sp_opts_set (&want, "sockets", "/tmp", &given, &err), 0);
  assert_int_equal (sp_request_check_existing (&have, &want, given, &err), -1);
  assert_string_equal (err->msg, "annotation io.shmpipe.sockets=/tmp differs from the existing "
                                 "pipeline's sockets=/run/app: refusing (a member gets a pipeline "
                                 "as it was made, never something else)");
  sp_error_release (&err);

  /* not given: not compared; the same value: fine */
  want = have;
  given = 0;
  strcpy (want.sockets, "/tmp");
  assert_int_equal (sp_request_check_existing (&have, &want, 0, &err), 0);
  want = have;
  assert_int_equal (sp_opts_set (&want, "size", "8m", &given, &err), 0);
  assert_int_equal (sp_request_check_existing (&have, &want, given, &err), 0);
  assert_int_equal (sp_opts_set (&want, "size", "16m", &given, &err), 0);
  assert_int_equal (sp_request_check_existing (&have, &want, given, &err), -1);
  assert_non_null (strstr (err->msg, "io.shmpipe.size=16777216 differs"));
  sp_error_release (&err);

  /* create=false asks how to join, it is none of the pipeline's options */
  want = have;
  given = 0;
  assert_int_equal (sp_opts_set (&want, "create", "false", &given, &err), 0);
  assert_int_equal (sp_request_check_existing (&have, &want, given, &err), 0);

  /* allow lists compare as sets */
  want = have;
  given = 0;
  want.allow_namespaces[0] = '\0';
  assert_int_equal (sp_opts_set (&want, "allow-namespaces", "team-c,team-b", &given, &err), 0);
  assert_int_equal (sp_request_check_existing (&have, &want, given, &err), 0);
  want.allow_namespaces[0] = '\0';
  assert_int_equal (sp_opts_set (&want, "allow-namespaces", "team-c", &given, &err), 0);
  assert_int_equal (sp_request_check_existing (&have, &want, given, &err), -1);
  assert_non_null (strstr (err->msg, "allow-namespaces=team-c differs"));
  sp_error_release (&err);

  /* no sockets on the pipeline: said as "" */
  have.sockets[0] = '\0';
  want = have;
  given = 0;
  assert_int_equal (sp_opts_set (&want, "sockets", "/tmp", &given, &err), 0);
  assert_int_equal (sp_request_check_existing (&have, &want, given, &err), -1);
  assert_non_null (strstr (err->msg, "pipeline's sockets=\"\""));
  sp_error_release (&err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_defaults_match_schema_and_docs),
    cmocka_unit_test (test_path_under),
    cmocka_unit_test (test_socket_prefixes),
    cmocka_unit_test (test_existing),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
