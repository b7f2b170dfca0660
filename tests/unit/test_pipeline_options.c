/* The options table: every row parses what it formats, round-trips through
   a record, reaches every surface, and the docs' table is the table's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>

#include "error.h"
#include "fileutil.h"
#include "json.h"
#include "pipeline_options.h"
#include "state.h"
#include "suggest.h"

/* A value of row D other than the zero one, as its parser reads it. */
static const char *
sample (const struct sp_opt_def *d)
{
  switch (d->kind)
    {
    case SP_OPT_SIZE:
      return "8m";
    case SP_OPT_MODE:
      return "0770";
    case SP_OPT_ID:
      return "1000";
    case SP_OPT_COUNT:
      return "77";
    case SP_OPT_HUGE:
      return "within_size";
    case SP_OPT_LIFETIME:
      return "ephemeral";
    case SP_OPT_BOOL:
      return "true";
    case SP_OPT_NEGBOOL:
      return "false";
    case SP_OPT_NSLIST:
      return "team-b,team-c";
    case SP_OPT_PATH:
      return "/run/app";
    }
  return NULL;
}

static void
test_rows_round_trip (void **unused)
{
  (void) unused;
  for (size_t i = 0; i < sp_opt_count; i++)
    {
      const struct sp_opt_def *d = &sp_opt_defs[i];
      struct sp_pipeline_opts a = { 0 }, b = { 0 };
      sp_error_t err = NULL;
      char text[SP_OPT_VALUE_MAX];

      assert_non_null (sample (d));
      assert_ptr_equal (sp_opt_find (d->name), d);
      assert_int_equal (sp_opt_parse (d, sample (d), &a, &err), 0);
      sp_opt_format (d, &a, text, sizeof (text));
      /* A request's row is never compared: two pipelines cannot differ by it. */
      if (d->flags & SP_OPT_F_REQUEST)
        assert_null (sp_opts_differ (&a, &b));
      else
        assert_string_equal (sp_opts_differ (&a, &b), d->name);
      assert_int_equal (sp_opt_parse (d, text, &b, &err), 0);
      assert_null (sp_opts_differ (&a, &b));
      assert_non_null (d->help);
    }
}

static void
test_record_round_trip (void **unused)
{
  struct sp_pipeline p = { 0 }, q = { 0 };
  sp_error_t err = NULL;
  char *buf = NULL;
  size_t len;
  (void) unused;

  strcpy (p.name, "p");
  p.opts.size = 4096;
  p.opts.inodes = 1;
  p.opts.mode = 01777;
  for (size_t i = 0; i < sp_opt_count; i++)
    assert_int_equal (sp_opt_parse (&sp_opt_defs[i], sample (&sp_opt_defs[i]), &p.opts, &err), 0);
  assert_int_equal (sp_state_generate (&p, &buf, &len, &err), 0);
  /* Every row has its key in the record, but a request's: the previous
     release refuses a record with a key it does not know. */
  for (size_t i = 0; i < sp_opt_count; i++)
    {
      char key[80];
      snprintf (key, sizeof (key), "\"%s\"", sp_opt_defs[i].name);
      if (sp_opt_defs[i].flags & SP_OPT_F_REQUEST)
        assert_null (strstr (buf, key));
      else
        assert_non_null (strstr (buf, key));
    }
  assert_int_equal (sp_state_parse (buf, len, &q, &err), 0);
  assert_null (sp_opts_differ (&p.opts, &q.opts));
  free (buf);
  sp_pipeline_free (&q);
}

/* A record of the first format (no "ipc", nor any later optional row)
   still loads: upgrades happen while pipelines live. */
static void
test_old_record_loads (void **unused)
{
  static const char old[]
      = "{\"version\":1,\"name\":\"p\",\"size\":4096,\"mode\":\"1777\",\"uid\":0,\"gid\":0,"
        "\"huge\":\"never\",\"lifetime\":\"persistent\",\"inodes\":10,"
        "\"created\":\"2026-11-27T07:18:30Z\",\"members\":[]}";
  struct sp_pipeline q = { 0 };
  sp_error_t err = NULL;
  (void) unused;

  assert_int_equal (sp_state_parse (old, strlen (old), &q, &err), 0);
  for (size_t i = 0; i < sp_opt_count; i++)
    if (sp_opt_defs[i].flags & SP_OPT_F_OPTIONAL)
      {
        /* The absent row reads as its zero value. */
        struct sp_pipeline_opts zero = { 0 };
        char got[SP_OPT_VALUE_MAX], want[SP_OPT_VALUE_MAX];
        sp_opt_format (&sp_opt_defs[i], &q.opts, got, sizeof (got));
        sp_opt_format (&sp_opt_defs[i], &zero, want, sizeof (want));
        assert_string_equal (got, want);
      }
  assert_false (q.opts.ipc);
  sp_pipeline_free (&q);
}

static void
expect_set_error (const char *name, const char *value, const char *msg)
{
  struct sp_pipeline_opts o = { 0 };
  sp_error_t err = NULL;

  assert_int_equal (sp_opts_set (&o, name, value, NULL, &err), -1);
  if (strstr (err->msg, msg) == NULL)
    fail_msg ("%s=%s: \"%s\" lacks \"%s\"", name, value, err->msg, msg);
  sp_error_release (&err);
}

/* sockets: an absolute, normalized container path, not where the runtime
   mounts its own; "" is none. */
static void
test_container_paths (void **unused)
{
  static const char *const bad[][2] = {
    { "tmp", "want an absolute path" },
    { "/", "want an absolute path" },
    { "/tmp/", "normalized" },
    { "/a//b", "normalized" },
    { "/a/./b", "normalized" },
    { "/a/../b", "normalized" },
    { "/a/..", "normalized" },
    { "/a/.", "normalized" },
    { "/proc", "belongs to the container runtime" },
    { "/dev/shm", "belongs to the container runtime" },
    { "/sys/x", "belongs to the container runtime" },
    { "/a b", "printable characters" },
  };
  struct sp_pipeline_opts o = { 0 };
  char longpath[SP_OPT_PATH_MAX + 2];
  sp_error_t err = NULL;
  (void) unused;

  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    expect_set_error ("sockets", bad[i][0], bad[i][1]);
  memset (longpath, 'a', sizeof (longpath) - 1);
  longpath[0] = '/';
  longpath[sizeof (longpath) - 1] = '\0';
  expect_set_error ("sockets", longpath, "longer than");
  assert_int_equal (sp_opts_set (&o, "sockets", "/run/app.d/sock-1", NULL, &err), 0);
  assert_string_equal (o.sockets, "/run/app.d/sock-1");
  assert_int_equal (sp_opts_set (&o, "sockets", "/devices", NULL, &err), 0);
  assert_int_equal (sp_opts_set (&o, "sockets", "", NULL, &err), 0);
  assert_string_equal (o.sockets, "");
}

static void
test_unknown_names (void **unused)
{
  struct sp_pipeline_opts o = { 0 };
  sp_opt_mask given = 0;
  sp_error_t err = NULL;
  (void) unused;

  expect_set_error ("sizee", "1m", "unknown option \"sizee\" (did you mean \"size\"?)");
  expect_set_error ("lifetme", "x", "(did you mean \"lifetime\"?)");
  expect_set_error ("Mode", "1", "(did you mean \"mode\"?)");
  expect_set_error ("colour", "red", "unknown option \"colour\" (known: size, mode, uid, gid,");
  expect_set_error ("size", "1gb", "invalid size");
  assert_int_equal (sp_opts_set (&o, "huge", "advise", &given, &err), 0);
  assert_int_equal (given, sp_opt_bit (sp_opt_find ("huge")));
  assert_int_equal (o.huge, SP_HUGE_ADVISE);
}

static void
test_overlay (void **unused)
{
  struct sp_pipeline_opts defaults = { .size = 1 << 20, .mode = 01777, .inodes = 9 };
  struct sp_pipeline_opts req = { .size = 2 << 20, .mode = 0700 }, out = defaults;
  (void) unused;

  sp_opts_overlay (&out, &req, sp_opt_bit (sp_opt_find ("size")));
  assert_int_equal (out.size, 2 << 20);
  assert_int_equal (out.mode, 01777);
  assert_int_equal (out.inodes, 9);
}

static int
collect (void *ctx, const char *key, const char *value)
{
  char *buf = ctx;
  size_t n = strlen (buf);
  snprintf (buf + n, 256 - n, "%s%s=%s", n ? "," : "", key, value);
  return 0;
}

static void
test_mount_options (void **unused)
{
  struct sp_pipeline_opts o = { .size = 8192, .mode = 01770, .uid = 5, .gid = 6, .inodes = 3 };
  char buf[256] = "";
  (void) unused;

  assert_int_equal (sp_opts_mount_each (&o, collect, buf), 0);
  assert_string_equal (buf, "size=8192,mode=1770,uid=5,gid=6,nr_inodes=3");
  o.huge = SP_HUGE_WITHIN_SIZE;
  buf[0] = '\0';
  assert_int_equal (sp_opts_mount_each (&o, collect, buf), 0);
  assert_string_equal (buf, "size=8192,mode=1770,uid=5,gid=6,huge=within_size,nr_inodes=3");
}

static void
test_nearest (void **unused)
{
  static const char *const words[] = { "default_size", "max_size", "max_inodes", "log_level" };
  (void) unused;
  assert_string_equal (sp_nearest ("max_szie", words, 4, sizeof (char *)), "max_size");
  assert_string_equal (sp_nearest ("loglevel", words, 4, sizeof (char *)), "log_level");
  assert_string_equal (sp_nearest ("default", words, 4, sizeof (char *)), "default_size");
  assert_null (sp_nearest ("colour", words, 4, sizeof (char *)));
  assert_null (sp_nearest ("", words, 4, sizeof (char *)));
}

static void
test_error_names_pipeline_once (void **unused)
{
  sp_error_t err = NULL;
  (void) unused;

  sp_error_make (&err, EINVAL, "invalid member id");
  sp_error_wrap_pipeline (&err, "p");
  sp_error_prefix (&err, "while joining");
  sp_error_wrap_pipeline (&err, "p");
  assert_string_equal (err->msg, "while joining: pipeline p: invalid member id");
  sp_error_release (&err);
}

/* FILE's text (from the repository root, where `make unit` runs). */
static char *
repo_file (const char *file)
{
  char *buf = NULL;
  size_t len;
  sp_error_t err = NULL;

  if (sp_read_file_at (AT_FDCWD, file, 0, 1 << 20, &buf, &len, &err) < 0)
    fail_msg ("%s: %s", file, err->msg);
  return buf;
}

/* docs/pipeline-options.md carries the table exactly as the code prints
   it; the plugin's and the hook's guides name every row they serve. */
static void
test_docs_match_table (void **unused)
{
  char *doc = repo_file ("docs/pipeline-options.md");
  char *plugin = repo_file ("docs/docker-plugin.md");
  char *hook = repo_file ("docs/hook.md");
  char *readme = repo_file ("README.md");
  char *table = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&table, &len);
  (void) unused;

  sp_opts_print_table (f, SP_OPTS_MARKDOWN);
  fclose (f);
  if (strstr (doc, table) == NULL)
    fail_msg (
        "docs/pipeline-options.md lacks the table `shmpipectl options --markdown` prints:\n%s",
        table);
  for (size_t i = 0; i < sp_opt_count; i++)
    {
      const struct sp_opt_def *d = &sp_opt_defs[i];
      char want[96];

      snprintf (want, sizeof (want), "| `%s`", d->name);
      if (strstr (plugin, want) == NULL)
        fail_msg ("docs/docker-plugin.md's options table lacks a row \"%s\"", want);
      snprintf (want, sizeof (want), "io.shmpipe.%s", d->name);
      if ((d->flags & SP_OPT_F_CONTAINER) && strstr (hook, want) == NULL)
        fail_msg ("docs/hook.md does not name the annotation %s", want);
    }
  assert_non_null (strstr (readme, "docs/pipeline-options.md"));
  free (table);
  free (doc);
  free (plugin);
  free (hook);
  free (readme);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_rows_round_trip),
    cmocka_unit_test (test_record_round_trip),
    cmocka_unit_test (test_old_record_loads),
    cmocka_unit_test (test_container_paths),
    cmocka_unit_test (test_unknown_names),
    cmocka_unit_test (test_overlay),
    cmocka_unit_test (test_mount_options),
    cmocka_unit_test (test_nearest),
    cmocka_unit_test (test_error_names_pipeline_once),
    cmocka_unit_test (test_docs_match_table),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
