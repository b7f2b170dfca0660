/* Records between releases: what a pipeline using no newer feature is
   written as (readable by the previous release, whose reader refuses
   unknown keys), and what this release does with a record a newer release
   wrote (loads it, keeps its unknown keys, lets members leave). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline_options.h"
#include "state.h"

static void
plain_pipeline (struct sp_pipeline *p)
{
  memset (p, 0, sizeof (*p));
  strcpy (p->name, "frames");
  p->opts.size = 1 << 20;
  p->opts.mode = 01777;
  p->opts.huge = SP_HUGE_NEVER;
  p->opts.lifetime = SP_LIFETIME_PERSISTENT;
  p->opts.inodes = 100;
  p->created = 1795000000;
}

static char *
generate (const struct sp_pipeline *p)
{
  sp_error_t err = NULL;
  char *buf = NULL;

  if (sp_state_generate (p, &buf, NULL, &err) < 0)
    fail_msg ("generate: %s", err->msg);
  return buf;
}

/* The keys the release of 2026-12-01 (format 1) reads; it refuses others. */
static void
assert_only_keys_of_format_1 (const char *buf)
{
  static const char *const newer[] = { "\"allow-namespaces\"", "\"sockets\"", "\"ipc\"" };

  for (size_t i = 0; i < sizeof (newer) / sizeof (newer[0]); i++)
    if (strstr (buf, newer[i]) != NULL)
      fail_msg ("a pipeline that does not use %s writes it:\n%s", newer[i], buf);
  assert_non_null (strstr (buf, "\"version\": 1,"));
}

static void
test_defaults_are_left_out (void **state)
{
  struct sp_pipeline p;
  char *buf;
  (void) state;

  plain_pipeline (&p);
  buf = generate (&p);
  assert_only_keys_of_format_1 (buf);
  free (buf);
  /* Set, each is written (and all are format 1: the previous release reads them). */
  p.opts.ipc = true;
  strcpy (p.opts.sockets, "/tmp");
  buf = generate (&p);
  assert_non_null (strstr (buf, "\"ipc\": true"));
  assert_non_null (strstr (buf, "\"sockets\": \"/tmp\""));
  assert_null (strstr (buf, "allow-namespaces"));
  assert_non_null (strstr (buf, "\"version\": 1,"));
  free (buf);
}

static void
test_rows_carry_their_format (void **state)
{
  struct sp_pipeline_opts o;
  (void) state;

  memset (&o, 0, sizeof (o));
  /* Rows added after the first format are optional: a record without them
     must load as "not used". */
  for (size_t i = 0; i < sp_opt_count; i++)
    if (sp_opt_defs[i].format > 1)
      assert_true (sp_opt_defs[i].flags & SP_OPT_F_OPTIONAL);
  assert_int_equal (sp_opts_record_format (&o), 1);
}

/* Written by a release of format 2: a key of the pipeline and one of a
   member that this release does not know. */
static const char newer[]
    = "{\"version\":2,\"name\":\"p\",\"size\":4096,\"mode\":\"1777\",\"uid\":0,\"gid\":0,"
      "\"huge\":\"never\",\"lifetime\":\"ephemeral\",\"inodes\":10,"
      "\"created\":\"2026-11-27T07:18:30Z\",\"frobnicate\":{\"level\":[1,2.5,\"x\"]},"
      "\"members\":[{\"id\":\"a\",\"pid\":0,\"start_time\":0,\"joined\":\"2026-11-27T07:18:30Z\","
      "\"seat\":7},{\"id\":\"b\",\"pid\":0,\"start_time\":0,"
      "\"joined\":\"2026-11-27T07:18:31Z\"}]}";

static void
test_newer_record_loads_and_keeps_its_keys (void **state)
{
  struct sp_pipeline p, q;
  sp_error_t err = NULL;
  char *buf;
  (void) state;

  if (sp_state_parse (newer, strlen (newer), &p, &err) < 0)
    fail_msg ("a newer record was refused: %s", err->msg);
  assert_true (sp_pipeline_is_newer (&p));
  assert_int_equal (p.format, 2);
  assert_int_equal (p.n_members, 2);
  /* A member leaves; what this release does not know goes back as it came. */
  sp_pipeline_remove_member (&p, 1);
  buf = generate (&p);
  assert_non_null (strstr (buf, "\"version\": 2,"));
  assert_non_null (strstr (buf, "\"frobnicate\""));
  assert_non_null (strstr (buf, "2.5"));
  assert_non_null (strstr (buf, "\"seat\": 7"));
  assert_null (strstr (buf, "\"b\""));
  assert_int_equal (sp_state_parse (buf, strlen (buf), &q, &err), 0);
  assert_int_equal (q.n_members, 1);
  assert_int_equal (q.format, 2);
  sp_pipeline_free (&q);
  free (buf);
  assert_int_equal (sp_pipeline_refuse_newer (&p, &err), -1);
  assert_non_null (strstr (err->msg, "written by a newer release (format 2"));
  sp_error_release (&err);
  sp_pipeline_free (&p);
}

static void
test_unknown_key_of_this_format_is_damage (void **state)
{
  const char bad[] = "{\"version\":1,\"name\":\"p\",\"size\":4096,\"mode\":\"1777\",\"uid\":0,"
                     "\"gid\":0,\"huge\":\"never\",\"lifetime\":\"ephemeral\",\"inodes\":10,"
                     "\"created\":\"2026-11-27T07:18:30Z\",\"frobnicate\":1,\"members\":[]}";
  const char bad_newer[] = "{\"version\":3,\"name\":\"p\",\"size\":\"big\",\"members\":[]}";
  struct sp_pipeline p;
  sp_error_t err = NULL;
  (void) state;

  assert_int_equal (sp_state_parse (bad, strlen (bad), &p, &err), -1);
  assert_non_null (strstr (err->msg, "unknown key \"frobnicate\""));
  sp_error_release (&err);
  sp_pipeline_free (&p);
  /* A newer record this release cannot read still says which format it is,
     so that the store reports it as newer, not damaged. */
  assert_int_equal (sp_state_parse (bad_newer, strlen (bad_newer), &p, &err), -1);
  assert_int_equal (p.format, 3);
  sp_error_release (&err);
  sp_pipeline_free (&p);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_defaults_are_left_out),
    cmocka_unit_test (test_rows_carry_their_format),
    cmocka_unit_test (test_newer_record_loads_and_keeps_its_keys),
    cmocka_unit_test (test_unknown_key_of_this_format_is_damage),
  };
  return cmocka_run_group_tests_name ("record_format", tests, NULL, NULL);
}
