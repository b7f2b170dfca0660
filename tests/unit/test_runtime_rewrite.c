/* shmpipe-runtime's config.json edit: hooks added once, ipc pointed at the
   pipeline, everything else kept as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"
#include "rewrite.h"

static const struct sp_rewrite rw
    = { "/usr/libexec/shmpipe/shmpipe-hook", "/run/shmpipe", NULL, NULL };

static char *
rewrite (const char *in, const struct sp_rewrite *r)
{
  yajl_val v = NULL;
  sp_error_t err = NULL;
  char *out = NULL;
  size_t len;

  assert_int_equal (sp_json_parse (in, strlen (in), &v, &err), 0);
  if (sp_runtime_rewrite (v, r, &out, &len, &err) < 0)
    fail_msg ("rewrite failed: %s", err->msg);
  yajl_tree_free (v);
  return out;
}

static void
test_adds_hooks (void **state)
{
  char *out;
  (void) state;
  out = rewrite ("{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"]},\"n\":1.50e3}", &rw);
  assert_string_equal (
      out, "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"]},\"n\":1.50e3,\"hooks\":{"
           "\"createRuntime\":[{\"path\":\"/usr/libexec/shmpipe/shmpipe-hook\",\"args\":["
           "\"shmpipe-hook\",\"createRuntime\"],\"env\":[\"SHMPIPE_ROOT=/run/shmpipe\"]}],"
           "\"poststop\":[{\"path\":\"/usr/libexec/shmpipe/shmpipe-hook\",\"args\":["
           "\"shmpipe-hook\",\"poststop\"],\"env\":[\"SHMPIPE_ROOT=/run/shmpipe\"]}]}}");
  free (out);
}

static void
test_keeps_other_hooks_and_is_idempotent (void **state)
{
  char *once, *twice;
  (void) state;
  once = rewrite ("{\"hooks\":{\"prestart\":[{\"path\":\"/a\"}],\"poststop\":[{\"path\":\"/b\"}]}}",
                  &rw);
  assert_non_null (strstr (once, "\"prestart\":[{\"path\":\"/a\"}]"));
  assert_non_null (strstr (
      once, "\"poststop\":[{\"path\":\"/b\"},{\"path\":\"/usr/libexec/shmpipe/shmpipe-hook\""));
  twice = rewrite (once, &rw);
  assert_string_equal (once, twice);
  free (once);
  free (twice);
}

static void
test_ipc_namespace (void **state)
{
  struct sp_rewrite r = rw;
  char *out;
  (void) state;
  r.ipc_ns = "/run/shmpipe/ipc/p1";
  r.config_path = "/etc/shmpipe/config.json";
  out = rewrite (
      "{\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"mount\"}],"
      "\"maskedPaths\":[\"/proc/kcore\"]}}",
      &r);
  assert_non_null (strstr (
      out, "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\",\"path\":\"/run/shmpipe/ipc/"
           "p1\"},{\"type\":\"mount\"}],\"maskedPaths\":[\"/proc/kcore\"]"));
  assert_non_null (strstr (out, "\"SHMPIPE_CONFIG=/etc/shmpipe/config.json\""));
  free (out);
  /* A container that shared the host's IPC namespace now gets the pipeline's. */
  out = rewrite ("{\"linux\":{\"namespaces\":[{\"type\":\"pid\"}]}}", &r);
  assert_non_null (
      strstr (out, "[{\"type\":\"pid\"},{\"type\":\"ipc\",\"path\":\"/run/shmpipe/ipc/p1\"}]"));
  free (out);
  out = rewrite ("{}", &r);
  assert_non_null (strstr (
      out, "\"linux\":{\"namespaces\":[{\"type\":\"ipc\",\"path\":\"/run/shmpipe/ipc/p1\"}]}"));
  free (out);
  /* Without an IPC namespace, ipc stays as it was. */
  out = rewrite ("{\"linux\":{\"namespaces\":[{\"type\":\"ipc\",\"path\":\"/proc/1/ns/ipc\"}]}}",
                 &rw);
  assert_non_null (strstr (out, "{\"type\":\"ipc\",\"path\":\"/proc/1/ns/ipc\"}"));
  free (out);
}

static void
test_bad_shapes (void **state)
{
  const char *bad[] = { "[]", "{\"hooks\":[]}", "{\"hooks\":{\"poststop\":{}}}" };
  struct sp_rewrite r = rw;
  (void) state;
  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    {
      yajl_val v = NULL;
      sp_error_t err = NULL;
      char *out = NULL;
      size_t len;
      assert_int_equal (sp_json_parse (bad[i], strlen (bad[i]), &v, &err), 0);
      assert_int_equal (sp_runtime_rewrite (v, &r, &out, &len, &err), -1);
      assert_non_null (strstr (err->msg, "config.json"));
      sp_error_release (&err);
      yajl_tree_free (v);
    }
  r.ipc_ns = "/x";
  {
    yajl_val v = NULL;
    sp_error_t err = NULL;
    char *out = NULL;
    size_t len;
    assert_int_equal (sp_json_parse ("{\"linux\":{\"namespaces\":{}}}", 27, &v, &err), 0);
    assert_int_equal (sp_runtime_rewrite (v, &r, &out, &len, &err), -1);
    assert_non_null (strstr (err->msg, "linux.namespaces"));
    sp_error_release (&err);
    yajl_tree_free (v);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_adds_hooks),
    cmocka_unit_test (test_keeps_other_hooks_and_is_idempotent),
    cmocka_unit_test (test_ipc_namespace),
    cmocka_unit_test (test_bad_shapes),
  };
  return cmocka_run_group_tests_name ("runtime_rewrite", tests, NULL, NULL);
}
