/* Kubernetes: qualified names, the CRI's annotations, allow-namespaces, and
   pod members in records (old records still load). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cri.h"
#include "json.h"
#include "names.h"
#include "pipeline_options.h"
#include "state.h"

static bool
qvalid (const char *s)
{
  return sp_qname_valid (s, strlen (s));
}

static void
test_qualified_names (void **unused)
{
  sp_error_t err = NULL;
  (void) unused;
  assert_true (qvalid ("frames"));
  assert_true (qvalid ("team-a/frames"));
  assert_true (qvalid ("a/F_r.a-mes"));
  assert_false (qvalid ("Team/frames")); /* namespaces are lower case */
  assert_false (qvalid ("-a/frames"));   /* and start with a letter or digit */
  assert_false (qvalid ("a-/frames"));
  assert_false (qvalid ("a/b/c"));
  assert_false (qvalid ("/frames"));
  assert_false (qvalid ("a/"));
  assert_false (qvalid ("a/../x"));
  assert_false (qvalid ("a+b")); /* '+' is the store's separator */
  assert_false (sp_qname_valid ("a/b\0c", 5));
  assert_true (sp_namespace_valid ("kube-system"));
  assert_false (sp_namespace_valid ("a_b"));
  assert_int_equal (sp_qname_check ("Team/x", &err), -1);
  assert_non_null (strstr (err->msg, "NAMESPACE/NAME"));
  sp_error_release (&err);
  /* Plain names keep their rule (and message). */
  assert_int_equal (sp_name_check ("team-a/frames", &err), -1);
  sp_error_release (&err);
}

static int
identify (const char *json, struct sp_cri_container *c, yajl_val *tree, sp_error_t *err)
{
  sp_error_t perr = NULL;
  assert_int_equal (sp_json_parse (json, strlen (json), tree, &perr), 0);
  return sp_cri_identify (*tree, c, err);
}

static void
identify_bad (const char *json, const char *msg)
{
  struct sp_cri_container c;
  yajl_val t = NULL;
  sp_error_t err = NULL;

  assert_int_equal (identify (json, &c, &t, &err), -1);
  if (strstr (err->msg, msg) == NULL)
    fail_msg ("%s: \"%s\" lacks \"%s\"", json, err->msg, msg);
  sp_error_release (&err);
  yajl_tree_free (t);
}

static void
test_cri_identify (void **unused)
{
  struct sp_cri_container c;
  yajl_val t = NULL;
  sp_error_t err = NULL;
  (void) unused;

  /* containerd's app container */
  assert_int_equal (identify ("{\"io.kubernetes.cri.container-type\":\"container\","
                              "\"io.kubernetes.cri.sandbox-namespace\":\"team-a\","
                              "\"io.kubernetes.cri.sandbox-name\":\"reader\","
                              "\"io.kubernetes.cri.container-name\":\"app\"}",
                              &c, &t, &err),
                    0);
  assert_true (c.is_pod);
  assert_false (c.is_sandbox);
  assert_string_equal (c.ns, "team-a");
  assert_string_equal (c.pod, "reader");
  assert_string_equal (c.container, "app");
  yajl_tree_free (t);
  /* CRI-O's sandbox */
  assert_int_equal (identify ("{\"io.kubernetes.cri-o.ContainerType\":\"sandbox\","
                              "\"io.kubernetes.pod.namespace\":\"team-a\"}",
                              &c, &t, &err),
                    0);
  assert_true (c.is_sandbox);
  yajl_tree_free (t);
  /* Podman's io.kubernetes.cri-o.* keys and none: no pod */
  assert_int_equal (identify ("{\"io.kubernetes.cri-o.TTY\":\"false\"}", &c, &t, &err), 0);
  assert_false (c.is_pod);
  yajl_tree_free (t);
  assert_int_equal (sp_cri_identify (NULL, &c, &err), 0);
  assert_false (c.is_pod);

  identify_bad ("{\"io.kubernetes.cri.sandbox-namespace\":\"team-b\","
                "\"io.kubernetes.pod.namespace\":\"team-a\"}",
                "disagree");
  identify_bad ("{\"io.kubernetes.cri.container-type\":\"container\","
                "\"io.kubernetes.cri-o.ContainerType\":\"sandbox\"}",
                "disagree");
  identify_bad ("{\"io.kubernetes.cri.sandbox-namespace\":\"a\","
                "\"io.kubernetes.cri.sandbox-namespace\":\"b\"}",
                "given twice");
  identify_bad ("{\"io.kubernetes.cri.sandbox-namespace\":\"Team_A\"}", "invalid pod namespace");
  identify_bad ("{\"io.kubernetes.cri.container-type\":\"container\"}", "without its namespace");
  identify_bad ("{\"io.kubernetes.cri.container-type\":\"vm\"}", "unknown container type");
  identify_bad ("{\"io.kubernetes.cri.sandbox-namespace\":7}", "must be a string");
}

/* Without the CRI's word (no --cri), its keys are refused by name; Podman's
   own io.kubernetes.cri-o.* keys are not the CRI's naming a pod. */
static void
test_cri_refuse_keys (void **unused)
{
  static const char *const refused[][2] = {
    { "{\"io.kubernetes.pod.namespace\":\"team-a\"}", "io.kubernetes.pod.namespace" },
    { "{\"x\":\"1\",\"io.kubernetes.cri.sandbox-namespace\":\"team-a\"}",
      "io.kubernetes.cri.sandbox-namespace" },
    { "{\"io.kubernetes.cri.container-type\":\"sandbox\"}", "io.kubernetes.cri.container-type" },
    { "{\"io.kubernetes.container.name\":\"app\"}", "io.kubernetes.container.name" },
  };
  static const char *const let_be[] = {
    "{\"io.kubernetes.cri-o.TTY\":\"false\",\"io.kubernetes.cri-o.ContainerType\":\"container\","
    "\"io.kubernetes.cri-o.SandboxID\":\"abc\",\"io.container.manager\":\"libpod\"}",
    "{\"io.kubernetes\":\"x\",\"io.shmpipe.pipeline\":\"frames\"}",
    "[]",
  };
  (void) unused;

  for (size_t i = 0; i < sizeof (refused) / sizeof (refused[0]); i++)
    {
      yajl_val t = NULL;
      sp_error_t err = NULL;
      assert_int_equal (sp_json_parse (refused[i][0], strlen (refused[i][0]), &t, &err), 0);
      assert_int_equal (sp_cri_refuse_keys (t, &err), -1);
      if (strstr (err->msg, refused[i][1]) == NULL || strstr (err->msg, "--cri") == NULL)
        fail_msg ("%s: \"%s\"", refused[i][0], err->msg);
      sp_error_release (&err);
      yajl_tree_free (t);
    }
  for (size_t i = 0; i < sizeof (let_be) / sizeof (let_be[0]); i++)
    {
      yajl_val t = NULL;
      sp_error_t err = NULL;
      assert_int_equal (sp_json_parse (let_be[i], strlen (let_be[i]), &t, &err), 0);
      assert_int_equal (sp_cri_refuse_keys (t, &err), 0);
      yajl_tree_free (t);
    }
  assert_int_equal (sp_cri_refuse_keys (NULL, NULL), 0);
}

/* Which hook entries are the CRI's: shmpipe-hook with --cri after argv[0]. */
static void
test_cri_hook_entry (void **unused)
{
  static const struct
  {
    const char *json;
    bool cri;
  } cases[] = {
    { "{\"path\":\"/usr/local/libexec/shmpipe/shmpipe-hook\",\"args\":[\"shmpipe-hook\","
      "\"--config\",\"/etc/x.json\",\"--cri\",\"createRuntime\"]}",
      true },
    { "{\"path\":\"/usr/local/libexec/shmpipe/shmpipe-hook\",\"args\":[\"shmpipe-hook\","
      "\"createRuntime\"]}",
      false },
    { "{\"path\":\"/usr/bin/other-hook\",\"args\":[\"other-hook\",\"--cri\"]}", false },
    { "{\"path\":\"/x/shmpipe-hook\",\"args\":[\"--cri\",\"poststop\"]}", false },
    { "{\"path\":\"/x/shmpipe-hook\"}", false },
  };
  (void) unused;

  for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
    {
      yajl_val t = NULL;
      sp_error_t err = NULL;
      assert_int_equal (sp_json_parse (cases[i].json, strlen (cases[i].json), &t, &err), 0);
      if (sp_cri_hook_entry (t) != cases[i].cri)
        fail_msg ("%s: want %d", cases[i].json, cases[i].cri);
      yajl_tree_free (t);
    }
}

static void
test_cri_pipeline_name (void **unused)
{
  struct sp_cri_container pod = { .is_pod = true, .ns = "team-a" }, other = { 0 };
  char out[SP_QNAME_MAX + 1];
  sp_error_t err = NULL;
  (void) unused;

  assert_int_equal (sp_cri_pipeline_name (&pod, "frames", out, sizeof (out), &err), 0);
  assert_string_equal (out, "team-a/frames");
  assert_int_equal (sp_cri_pipeline_name (&pod, "team-b/frames", out, sizeof (out), &err), 0);
  assert_string_equal (out, "team-b/frames");
  assert_int_equal (sp_cri_pipeline_name (&other, "frames", out, sizeof (out), &err), 0);
  assert_string_equal (out, "frames");
  assert_int_equal (sp_cri_pipeline_name (&other, "team-a/frames", out, sizeof (out), &err), -1);
  assert_non_null (strstr (err->msg, "for Kubernetes pods only"));
  sp_error_release (&err);
}

static void
test_allow_namespaces (void **unused)
{
  const struct sp_opt_def *d = sp_opt_find ("allow-namespaces");
  struct sp_pipeline_opts o = { 0 };
  sp_error_t err = NULL;
  (void) unused;

  assert_non_null (d);
  assert_true (d->flags & SP_OPT_F_OPTIONAL);
  assert_int_equal (sp_opt_parse (d, "team-b", &o, &err), 0);
  assert_int_equal (sp_opt_parse (d, "team-c,team-b", &o, &err), 0); /* adds, once each */
  assert_string_equal (o.allow_namespaces, "team-b,team-c");
  assert_true (sp_opts_allows_namespace (&o, "team-c"));
  assert_false (sp_opts_allows_namespace (&o, "team"));
  assert_false (sp_opts_allows_namespace (&o, "team-b,team-c"));
  assert_int_equal (sp_opt_parse (d, "Team-D", &o, &err), -1);
  assert_non_null (strstr (err->msg, "invalid namespace"));
  sp_error_release (&err);
  assert_int_equal (sp_opt_parse (d, "a,,b", &o, &err), -1);
  sp_error_release (&err);
  assert_int_equal (sp_opt_parse (d, "n1,n2,n3,n4,n5,n6,n7", &o, &err), -1);
  assert_non_null (strstr (err->msg, "more than 8"));
  sp_error_release (&err);
}

/* A record as the release before namespaces wrote it. */
static const char old_record[]
    = "{\"version\":1,\"name\":\"frames\",\"size\":67108864,\"mode\":\"1777\",\"uid\":0,"
      "\"gid\":0,\"huge\":\"never\",\"lifetime\":\"ephemeral\",\"inodes\":65536,"
      "\"created\":\"2026-11-27T07:18:30Z\",\"members\":[{\"id\":\"c1\",\"pid\":42,"
      "\"start_time\":7,\"joined\":\"2026-11-27T07:18:31Z\"}]}";

static void
test_records (void **unused)
{
  struct sp_pipeline p, q;
  sp_error_t err = NULL;
  char *out = NULL;
  size_t len;
  (void) unused;

  assert_int_equal (sp_state_parse (old_record, strlen (old_record), &p, &err), 0);
  assert_string_equal (p.name, "frames");
  assert_string_equal (p.opts.allow_namespaces, "");
  assert_null (p.members[0].pod);
  sp_pipeline_free (&p);

  memset (&p, 0, sizeof (p));
  strcpy (p.name, "team-a/frames");
  p.opts.size = 1 << 20;
  p.opts.mode = 01777;
  p.opts.inodes = 10;
  strcpy (p.opts.allow_namespaces, "team-b");
  assert_int_equal (sp_pipeline_add_member (&p, "abc", 1, 2, 3, &err), 0);
  assert_int_equal (sp_member_set_pod (&p.members[0], "team-a", "reader", "app", &err), 0);
  assert_int_equal (sp_pipeline_add_member (&p, "docker:m", 0, 0, 3, &err), 0);
  assert_int_equal (sp_state_generate (&p, &out, &len, &err), 0);
  assert_non_null (strstr (out, "\"pod_namespace\""));
  assert_int_equal (sp_state_parse (out, len, &q, &err), 0);
  assert_string_equal (q.name, "team-a/frames");
  assert_string_equal (q.opts.allow_namespaces, "team-b");
  assert_string_equal (q.members[0].pod_namespace, "team-a");
  assert_string_equal (q.members[0].pod, "reader");
  assert_string_equal (q.members[0].container, "app");
  assert_null (q.members[1].pod);
  sp_pipeline_free (&q);
  free (out);

  /* A pod name that could garble ls is refused. */
  assert_int_equal (sp_member_set_pod (&p.members[1], "team-a", "a b", "x", &err), -1);
  sp_error_release (&err);
  sp_pipeline_free (&p);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_qualified_names),   cmocka_unit_test (test_cri_identify),
    cmocka_unit_test (test_cri_refuse_keys),   cmocka_unit_test (test_cri_hook_entry),
    cmocka_unit_test (test_cri_pipeline_name), cmocka_unit_test (test_allow_namespaces),
    cmocka_unit_test (test_records),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
