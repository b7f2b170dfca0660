/* The pipeline reference (display name and store file name), the one
   admission function, and which pipelines have a CDI device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "admission.h"
#include "cdi.h"
#include "config.h"
#include "records.h"

static void
test_ref_make (void **unused)
{
  struct sp_ref ref;
  sp_error_t err = NULL;

  (void) unused;
  assert_int_equal (sp_ref_make (&ref, "frames", &err), 0);
  assert_string_equal (ref.name, "frames");
  assert_string_equal (ref.file, "frames");
  assert_int_equal (sp_ref_make (&ref, "team-a/frames", &err), 0);
  assert_string_equal (ref.name, "team-a/frames");
  assert_string_equal (ref.file, "team-a+frames");
  /* What would reach into another pipeline's entries is no name. */
  static const char *const bad[] = { "team-a/../x", "a/b/c", "../x", "a+b", "Team/x", "", "a/" };
  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    {
      assert_int_equal (sp_ref_make (&ref, bad[i], &err), -1);
      assert_non_null (strstr (err->msg, "invalid pipeline name"));
      sp_error_release (&err);
    }
}

static void
test_ref_from_file (void **unused)
{
  struct sp_ref ref;

  (void) unused;
  assert_true (sp_ref_from_file (&ref, "team-a+frames.json", strlen ("team-a+frames")));
  assert_string_equal (ref.name, "team-a/frames");
  assert_string_equal (ref.file, "team-a+frames");
  assert_true (sp_ref_from_file (&ref, "frames", 6));
  assert_string_equal (ref.name, "frames");
  /* Entries no pipeline has: two separators, a bad namespace, dot files. */
  assert_false (sp_ref_from_file (&ref, "a+b+c", 5));
  assert_false (sp_ref_from_file (&ref, "Team+x", 6));
  assert_false (sp_ref_from_file (&ref, ".cdi.lock", 4));
  assert_false (sp_ref_from_file (&ref, "", 0));
}

static void
test_admit (void **unused)
{
  struct sp_config cfg;
  struct sp_pipeline_opts req, out;
  sp_opt_mask given = 0;
  sp_error_t err = NULL;

  (void) unused;
  sp_config_defaults (&cfg);
  memset (&req, 0, sizeof (req));
  /* Defaults only: the config's, lifetime by requester. */
  assert_int_equal (sp_admit (&cfg, SP_REQ_CONTAINER, NULL, 0, &out, &err), 0);
  assert_int_equal (out.size, cfg.default_size);
  assert_int_equal (out.lifetime, cfg.auto_lifetime);
  assert_int_equal (sp_admit (&cfg, SP_REQ_VOLUME, NULL, 0, &out, &err), 0);
  assert_int_equal (out.lifetime, SP_LIFETIME_PERSISTENT);
  /* The request's rows over the defaults. */
  assert_int_equal (sp_opts_set (&req, "size", "8m", &given, &err), 0);
  assert_int_equal (sp_admit (&cfg, SP_REQ_CONTAINER, &req, given, &out, &err), 0);
  assert_int_equal (out.size, 8 << 20);
  assert_int_equal (out.mode, cfg.default_mode);
  /* The container policy: a container may not ask for persistent; a
     Docker volume is persistent by nature. */
  assert_int_equal (sp_opts_set (&req, "lifetime", "persistent", &given, &err), 0);
  assert_int_equal (sp_admit (&cfg, SP_REQ_CONTAINER, &req, given, &out, &err), -1);
  assert_non_null (strstr (err->msg, "container_persistent"));
  sp_error_release (&err);
  assert_int_equal (sp_admit (&cfg, SP_REQ_VOLUME, &req, given, &out, &err), 0);
  sp_config_free (&cfg);
}

static void
test_cdi_left_out (void **unused)
{
  (void) unused;
  assert_null (sp_cdi_left_out ("frames"));
  assert_null (sp_cdi_left_out ("a.b_c-9"));
  assert_non_null (sp_cdi_left_out ("team-a/frames"));
  assert_non_null (sp_cdi_left_out ("frames-"));
  assert_non_null (sp_cdi_left_out ("frames."));
  assert_non_null (sp_cdi_left_out ("frames_"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ref_make),
    cmocka_unit_test (test_ref_from_file),
    cmocka_unit_test (test_admit),
    cmocka_unit_test (test_cdi_left_out),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
