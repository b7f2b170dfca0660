/* The Docker volume plugin's handlers, driven without a socket: request in,
   reply out, against a store in a temp root.  Cases that mount a tmpfs need
   root (and CAP_SYS_ADMIN); elsewhere they are skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "admission.h"
#include "handlers.h"
#include "json.h"
#include "log.h"
#include "store.h"

static struct sp_config cfg;
static struct sp_store store;
static char root[64];
static bool can_mount;

/* ---- helpers ---------------------------------------------------------- */

struct reply
{
  struct sp_plugin_reply raw;
  yajl_val json;
};

static void
reply_free (struct reply *r)
{
  if (r->json != NULL)
    yajl_tree_free (r->json);
  sp_plugin_reply_free (&r->raw);
}

#define cleanup_reply __attribute__ ((cleanup (reply_free)))

/* Calls ENDPOINT with BODY; the reply must always be a JSON object. */
static void
call (const char *endpoint, const char *body, struct reply *r)
{
  sp_error_t err = NULL;

  memset (r, 0, sizeof (*r));
  sp_plugin_handle (&store, endpoint, body, body != NULL ? strlen (body) : 0, &r->raw);
  assert_non_null (r->raw.body);
  assert_int_equal (strlen (r->raw.body), r->raw.len);
  if (sp_json_parse (r->raw.body, r->raw.len, &r->json, &err) < 0)
    fail_msg ("%s: reply is not JSON: %s (%s)", endpoint, r->raw.body, err->msg);
  assert_true (YAJL_IS_OBJECT (r->json));
}

static const char *
reply_err (struct reply *r)
{
  yajl_val v = sp_json_get (r->json, "Err");
  return v != NULL && YAJL_IS_STRING (v) ? YAJL_GET_STRING (v) : NULL;
}

/* A successful call: HTTP 200 and no Err (or an empty one). */
static void
call_ok (const char *endpoint, const char *body, struct reply *r)
{
  const char *e;

  call (endpoint, body, r);
  e = reply_err (r);
  if (r->raw.status != 200 || (e != NULL && *e != '\0'))
    fail_msg ("%s %s: expected success, got %d %s", endpoint, body, r->raw.status, r->raw.body);
}

/* A refused call: STATUS and an Err containing WANT. */
static void
expect_err (const char *endpoint, const char *body, int status, const char *want)
{
  cleanup_reply struct reply r;
  const char *e;

  call (endpoint, body, &r);
  e = reply_err (&r);
  if (e == NULL || *e == '\0')
    fail_msg ("%s %s: expected an Err, got %d %s", endpoint, body, r.raw.status, r.raw.body);
  if (r.raw.status != status)
    fail_msg ("%s %s: expected HTTP %d, got %d %s", endpoint, body, status, r.raw.status,
              r.raw.body);
  if (strstr (e, want) == NULL)
    fail_msg ("%s %s: Err \"%s\" lacks \"%s\"", endpoint, body, e, want);
}

static void
ok (const char *endpoint, const char *body)
{
  cleanup_reply struct reply r;
  call_ok (endpoint, body, &r);
}

/* Member count of NAME, read from the store (not through the plugin). */
static size_t
members (const char *name)
{
  struct sp_pipeline p;
  sp_error_t err = NULL;
  size_t n;

  if (sp_store_get (&store, name, &p, &err) < 0)
    fail_msg ("get %s: %s", name, err->msg);
  n = p.n_members;
  sp_pipeline_free (&p);
  return n;
}

/* OBJ.KEY, which must be a string. */
static const char *
str_of (yajl_val obj, const char *key)
{
  yajl_val v = sp_json_get (obj, key);
  if (v == NULL || !YAJL_IS_STRING (v))
    fail_msg ("\"%s\" is not a string", key);
  return YAJL_GET_STRING (v);
}

static void
need_mount (void)
{
  if (!can_mount)
    skip ();
}

static char *
body_for (const char *fmt, ...)
{
  static char buf[4096];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (buf, sizeof (buf), fmt, ap);
  va_end (ap);
  return buf;
}

/* ---- fixtures --------------------------------------------------------- */

static int
group_setup (void **state)
{
  sp_error_t err = NULL;
  struct sp_pipeline_opts o;

  (void) state;
  sp_log_init ("test_plugin", false, SP_LOG_ERROR);
  sp_config_defaults (&cfg);
  cfg.max_size = 64ULL << 20; /* "bad size" cases: above this */
  cfg.default_size = 1ULL << 20;
  strcpy (root, "/tmp/shmpipe-test-plugin.XXXXXX");
  if (mkdtemp (root) == NULL)
    return -1;
  if (sp_store_open (&store, &cfg, root, &err) < 0)
    {
      fprintf (stderr, "store: %s\n", err->msg);
      return -1;
    }
  /* Whether this process can mount a tmpfs at all (root in a container
     without CAP_SYS_ADMIN cannot). */
  sp_admission_defaults (store.cfg, SP_REQ_HOST, &o);
  if (geteuid () == 0 && sp_store_create (&store, "probe", &o, SP_CREATE_EXCL, NULL, &err) == 0)
    {
      can_mount = true;
      sp_store_remove (&store, "probe", true, &err);
    }
  sp_error_release (&err);
  return 0;
}

static int
group_teardown (void **state)
{
  char **names = NULL;
  size_t n = 0;
  sp_error_t err = NULL;
  char cmd[128];

  (void) state;
  if (sp_store_list (&store, &names, &n, &err) == 0)
    for (size_t i = 0; i < n; i++)
      {
        sp_store_remove (&store, names[i], true, &err);
        sp_error_release (&err);
      }
  sp_store_free_names (names, n);
  sp_error_release (&err);
  sp_store_close (&store);
  sp_config_free (&cfg);
  snprintf (cmd, sizeof (cmd), "rm -rf --one-file-system '%s'", root);
  return system (cmd) == 0 ? 0 : -1;
}

/* ---- protocol, no store changes --------------------------------------- */

static void
test_activate (void **state)
{
  cleanup_reply struct reply r;
  yajl_val impl;

  (void) state;
  /* Docker sends Activate without a body. */
  call ("/Plugin.Activate", NULL, &r);
  assert_int_equal (r.raw.status, 200);
  impl = sp_json_get (r.json, "Implements");
  assert_true (YAJL_IS_ARRAY (impl));
  assert_int_equal (impl->u.array.len, 1);
  assert_string_equal (YAJL_GET_STRING (impl->u.array.values[0]), "VolumeDriver");
  ok ("/Plugin.Activate", "{}");
  ok ("/Plugin.Activate", "null");
  ok ("/Plugin.Activate", " \n");
}

static void
test_capabilities (void **state)
{
  cleanup_reply struct reply r;
  yajl_val caps;

  (void) state;
  call_ok ("/VolumeDriver.Capabilities", "{}", &r);
  caps = sp_json_get (r.json, "Capabilities");
  assert_non_null (caps);
  assert_non_null (sp_json_get (caps, "Scope"));
  assert_string_equal (str_of (caps, "Scope"), "local");
}

static void
test_unknown_endpoint (void **state)
{
  (void) state;
  expect_err ("/VolumeDriver.Frobnicate", "{}", 404,
              "unknown endpoint \"/VolumeDriver.Frobnicate\"");
  expect_err ("/", "{}", 404, "unknown endpoint");
  expect_err ("/volumedriver.create", "{\"Name\":\"x\"}", 404, "unknown endpoint");
  /* A hostile endpoint comes back printable. */
  expect_err ("/\x01\xff\xfe", "{}", 404, "\"/???\"");
}

static void
test_malformed_json (void **state)
{
  (void) state;
  expect_err ("/VolumeDriver.Create", "{\"Name\":", 200,
              "VolumeDriver.Create: request body: invalid JSON");
  expect_err ("/VolumeDriver.Mount", "{Name: x}", 200, "invalid JSON");
  expect_err ("/VolumeDriver.Get", "{\"Name\":\"a\"} trailing", 200, "invalid JSON");
  expect_err ("/VolumeDriver.Get", "\"just a string\"", 200, "request body: not a JSON object");
  expect_err ("/VolumeDriver.Get", "[\"Name\",\"a\"]", 200, "not a JSON object");
  expect_err ("/VolumeDriver.Get", "{\"Name\":\"a\\u0000b\"}", 200, "\\u0000");
  /* An escaped backslash then "u0000" is text, not a NUL: the name check
     refuses it, not the parser. */
  expect_err ("/VolumeDriver.Get", "{\"Name\":\"a\\\\u0000b\"}", 200, "invalid pipeline name");
  expect_err ("/VolumeDriver.List", "{\"x\":", 200, "invalid JSON");
  /* Nesting is refused before yajl builds (and recursively frees) a tree. */
  expect_err ("/VolumeDriver.Get",
              "{\"Name\":\"a\",\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", 200,
              "nested deeper than");
  /* Brackets inside strings do not count. */
  ok ("/VolumeDriver.List", "{\"x\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[\"}");
}

static void
test_body_nul (void **state)
{
  struct sp_plugin_reply r = { 0 };
  static const char body[] = "{\"Name\":\"a\0b\"}";

  (void) state;
  assert_int_equal (sp_plugin_handle (&store, "/VolumeDriver.Get", body, sizeof (body) - 1, &r),
                    -1);
  assert_int_equal (r.status, 200);
  assert_non_null (strstr (r.body, "NUL"));
  sp_plugin_reply_free (&r);
}

static void
test_oversized_body (void **state)
{
  struct sp_plugin_reply r = { 0 };
  size_t len = SP_PLUGIN_BODY_MAX + 1;
  char *body = malloc (len + 1);

  (void) state;
  assert_non_null (body);
  memset (body, ' ', len);
  body[len] = '\0';
  assert_int_equal (sp_plugin_handle (&store, "/VolumeDriver.List", body, len, &r), -1);
  assert_int_equal (r.status, 413);
  assert_non_null (strstr (r.body, "request body larger than 65536 bytes"));
  sp_plugin_reply_free (&r);
  /* At the cap is fine. */
  body[SP_PLUGIN_BODY_MAX] = '\0';
  memcpy (body, "{}", 2);
  assert_int_equal (sp_plugin_handle (&store, "/VolumeDriver.List", body, SP_PLUGIN_BODY_MAX, &r),
                    0);
  assert_int_equal (r.status, 200);
  sp_plugin_reply_free (&r);
  free (body);
}

static void
test_wrong_types (void **state)
{
  (void) state;
  expect_err ("/VolumeDriver.Create", "{\"Name\":42}", 200, "\"Name\" must be a string");
  expect_err ("/VolumeDriver.Create", "{\"Name\":[\"a\"]}", 200, "\"Name\" must be a string");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"a\",\"Opts\":[\"size=1m\"]}", 200,
              "\"Opts\" must be an object of strings");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"a\",\"Opts\":\"size=1m\"}", 200,
              "\"Opts\" must be an object");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"a\",\"Opts\":{\"size\":1048576}}", 200,
              "option \"size\": the value must be a string");
  expect_err ("/VolumeDriver.Mount", "{\"Name\":\"a\",\"ID\":7}", 200, "\"ID\" must be a string");
  expect_err ("/VolumeDriver.Unmount", "{\"Name\":\"a\",\"ID\":true}", 200,
              "\"ID\" must be a string");
  expect_err ("/VolumeDriver.Get", "{\"Name\":{}}", 200, "\"Name\" must be a string");
}

static void
test_missing_fields (void **state)
{
  (void) state;
  expect_err ("/VolumeDriver.Create", "{}", 200,
              "VolumeDriver.Create: invalid request: missing \"Name\"");
  expect_err ("/VolumeDriver.Create", NULL, 200, "missing \"Name\"");
  expect_err ("/VolumeDriver.Remove", "{\"Name\":null}", 200, "missing \"Name\"");
  expect_err ("/VolumeDriver.Mount", "{\"Name\":\"a\"}", 200, "missing \"ID\"");
  expect_err ("/VolumeDriver.Unmount", "{\"Name\":\"a\"}", 200, "missing \"ID\"");
  expect_err ("/VolumeDriver.Path", "{}", 200, "missing \"Name\"");
  expect_err ("/VolumeDriver.Get", "{}", 200, "missing \"Name\"");
}

static void
test_bad_name (void **state)
{
  static const char *const bad[]
      = { "",         "../etc",
          "A/b",      "-lead",
          ".hidden",  "sp ace",
          "x\\u00e9", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
  static const char *const endpoints[]
      = { "/VolumeDriver.Create",  "/VolumeDriver.Remove", "/VolumeDriver.Mount",
          "/VolumeDriver.Unmount", "/VolumeDriver.Path",   "/VolumeDriver.Get" };

  (void) state;
  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    for (size_t j = 0; j < sizeof (endpoints) / sizeof (endpoints[0]); j++)
      expect_err (endpoints[j], body_for ("{\"Name\":\"%s\",\"ID\":\"abc\"}", bad[i]), 200,
                  "invalid pipeline name");
  /* A Kubernetes namespace's pipeline: one line saying why. */
  for (size_t j = 0; j < sizeof (endpoints) / sizeof (endpoints[0]); j++)
    expect_err (endpoints[j], "{\"Name\":\"team-a/frames\",\"ID\":\"abc\"}", 200,
                "belongs to Kubernetes pods; the Docker plugin serves plain names");
}

static void
test_bad_options (void **state)
{
  (void) state;
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"o1\",\"Opts\":{\"size\":\"lots\"}}", 200,
              "invalid size \"lots\"");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"o1\",\"Opts\":{\"size\":\"0\"}}", 200,
              "invalid size");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"o1\",\"Opts\":{\"size\":\"-1m\"}}", 200,
              "invalid size");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"o1\",\"Opts\":{\"size\":\"\"}}", 200,
              "invalid size");
  /* Above the configured maximum (64m here): the store's check. */
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"o1\",\"Opts\":{\"size\":\"1g\"}}", 200,
              "exceeds the configured maximum");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"o1\",\"Opts\":{\"mode\":\"999\"}}", 200, "mode");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"o1\",\"Opts\":{\"uid\":\"root\"}}", 200, "uid");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"o1\",\"Opts\":{\"gid\":\"-5\"}}", 200, "gid");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"o1\",\"Opts\":{\"huge\":\"sometimes\"}}", 200,
              "huge");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"o1\",\"Opts\":{\"lifetime\":\"forever\"}}", 200,
              "lifetime");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"o1\",\"Opts\":{\"inodes\":\"0\"}}", 200,
              "inodes");
  expect_err ("/VolumeDriver.Create",
              "{\"Name\":\"o1\",\"Opts\":{\"size\":\"1m\",\"colour\":\"red\"}}", 200,
              "unknown option \"colour\" (known: size, mode, uid, gid, huge, lifetime, inodes, "
              "ipc, allow-namespaces, sockets)");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"o1\",\"Opts\":{\"type\":\"tmpfs\"}}", 200,
              "unknown option \"type\"");
  expect_err ("/VolumeDriver.Create",
              "{\"Name\":\"o1\",\"Opts\":{\"size\":\"1m\",\"size\":\"2m\"}}", 200,
              "option \"size\" given twice");
  /* A hostile key is quoted printable, and the reply stays valid JSON. */
  expect_err ("/VolumeDriver.Create",
              "{\"Name\":\"o1\",\"Opts\":{\"\\u00e9\\n\\u001b[31m\":\"x\"}}", 200,
              "unknown option \"?");
  /* None of it left anything behind. */
  assert_false (sp_store_exists (&store, "o1"));
}

static void
test_bad_mount_id (void **state)
{
  char body[512], id[200];

  (void) state;
  expect_err ("/VolumeDriver.Mount", "{\"Name\":\"m0\",\"ID\":\"\"}", 200, "invalid mount ID \"\"");
  expect_err ("/VolumeDriver.Mount", "{\"Name\":\"m0\",\"ID\":\"a/b\"}", 200,
              "invalid mount ID \"a/b\"");
  expect_err ("/VolumeDriver.Unmount", "{\"Name\":\"m0\",\"ID\":\"a b\"}", 200, "invalid mount ID");
  memset (id, 'a', sizeof (id) - 1);
  id[sizeof (id) - 1] = '\0';
  snprintf (body, sizeof (body), "{\"Name\":\"m0\",\"ID\":\"%s\"}", id);
  expect_err ("/VolumeDriver.Mount", body, 200, "invalid mount ID");
  /* 121 bytes plus "docker:" is the store's 128. */
  id[121] = '\0';
  snprintf (body, sizeof (body), "{\"Name\":\"m0\",\"ID\":\"%s\"}", id);
  expect_err ("/VolumeDriver.Mount", body, 200, "does not exist");
  id[121] = 'a';
  id[122] = '\0';
  snprintf (body, sizeof (body), "{\"Name\":\"m0\",\"ID\":\"%s\"}", id);
  expect_err ("/VolumeDriver.Mount", body, 200, "invalid mount ID");
}

static void
test_missing_volume (void **state)
{
  (void) state;
  expect_err ("/VolumeDriver.Get", "{\"Name\":\"nosuch\"}", 200, "pipeline nosuch: does not exist");
  expect_err ("/VolumeDriver.Path", "{\"Name\":\"nosuch\"}", 200, "does not exist");
  expect_err ("/VolumeDriver.Mount", "{\"Name\":\"nosuch\",\"ID\":\"abc\"}", 200, "does not exist");
  /* Leaving, or removing, what is not there is a no-op: Docker must be
     able to forget a volume that went away behind its back. */
  ok ("/VolumeDriver.Unmount", "{\"Name\":\"nosuch\",\"ID\":\"abc\"}");
  ok ("/VolumeDriver.Remove", "{\"Name\":\"nosuch\"}");
}

/* ---- with a tmpfs ------------------------------------------------------ */

/* ipc=true: the volume gets an IPC namespace of its own, shown in Status. */
static void
test_ipc_option (void **state)
{
  cleanup_reply struct reply r;
  char want[256];
  yajl_val status;

  (void) state;
  need_mount ();
  ok ("/VolumeDriver.Create", "{\"Name\":\"ipc1\",\"Opts\":{\"ipc\":\"true\"}}");
  call_ok ("/VolumeDriver.Get", "{\"Name\":\"ipc1\"}", &r);
  status = sp_json_get (sp_json_get (r.json, "Volume"), "Status");
  snprintf (want, sizeof (want), "%s/ipc/ipc1", root);
  assert_string_equal (str_of (status, "ipc_namespace"), want);
  assert_true (YAJL_IS_TRUE (sp_json_get (status, "ipc")));
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"ipc1\",\"Opts\":{\"ipc\":\"false\"}}",
              SP_HTTP_OK, "already exists with a different ipc");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"ipc2\",\"Opts\":{\"ipc\":\"maybe\"}}",
              SP_HTTP_OK, "invalid ipc \"maybe\"");
  ok ("/VolumeDriver.Remove", "{\"Name\":\"ipc1\"}");
}

/* sockets=PATH: the pipeline's socket directory is the volume NAME.sockets
   (one volume, one mount point); it takes no options, makes its container
   a member, and is refused for a pipeline without one. */
static void
test_sockets_volume (void **state)
{
  cleanup_reply struct reply r;
  cleanup_reply struct reply r2;
  cleanup_reply struct reply r3;
  char want[256];

  (void) state;
  need_mount ();
  ok ("/VolumeDriver.Create", "{\"Name\":\"sk1\",\"Opts\":{\"sockets\":\"/tmp\"}}");
  snprintf (want, sizeof (want), "%s/sockets/sk1", root);
  ok ("/VolumeDriver.Create", "{\"Name\":\"sk1.sockets\"}");
  call_ok ("/VolumeDriver.Mount", "{\"Name\":\"sk1.sockets\",\"ID\":\"s1\"}", &r);
  assert_string_equal (str_of (r.json, "Mountpoint"), want);
  assert_int_equal (members ("sk1"), 1);
  call_ok ("/VolumeDriver.Path", "{\"Name\":\"sk1.sockets\"}", &r2);
  assert_string_equal (str_of (r2.json, "Mountpoint"), want);
  call_ok ("/VolumeDriver.List", "{}", &r3);
  assert_non_null (strstr (r3.raw.body, "\"Name\":\"sk1.sockets\""));
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"sk1.sockets\",\"Opts\":{\"size\":\"1m\"}}",
              SP_HTTP_OK, "takes no options");
  ok ("/VolumeDriver.Unmount", "{\"Name\":\"sk1.sockets\",\"ID\":\"s1\"}");
  assert_int_equal (members ("sk1"), 0);
  /* Forgetting the socket volume leaves the pipeline; removing it takes both. */
  ok ("/VolumeDriver.Remove", "{\"Name\":\"sk1.sockets\"}");
  assert_true (sp_store_exists (&store, "sk1"));
  ok ("/VolumeDriver.Remove", "{\"Name\":\"sk1\"}");
  assert_int_equal (access (want, F_OK), -1);

  ok ("/VolumeDriver.Create", "{\"Name\":\"sk2\"}");
  expect_err ("/VolumeDriver.Mount", "{\"Name\":\"sk2.sockets\",\"ID\":\"s2\"}", SP_HTTP_OK,
              "pipeline sk2 has no socket directory");
  assert_int_equal (members ("sk2"), 0);
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"sk3\",\"Opts\":{\"sockets\":\"/dev/x\"}}",
              SP_HTTP_OK, "invalid sockets \"/dev/x\"");
  ok ("/VolumeDriver.Remove", "{\"Name\":\"sk2\"}");
}

static void
test_create_get_path (void **state)
{
  cleanup_reply struct reply r;
  cleanup_reply struct reply r2;
  yajl_val vol, status;
  char mp[256];

  (void) state;
  need_mount ();
  ok ("/VolumeDriver.Create",
      "{\"Name\":\"cg1\",\"Opts\":{\"size\":\"2m\",\"mode\":\"0770\",\"inodes\":\"100\"}}");
  snprintf (mp, sizeof (mp), "%s/mnt/cg1", root);
  call_ok ("/VolumeDriver.Get", "{\"Name\":\"cg1\"}", &r);
  vol = sp_json_get (r.json, "Volume");
  assert_non_null (vol);
  assert_string_equal (str_of (vol, "Name"), "cg1");
  assert_string_equal (str_of (vol, "Mountpoint"), mp);
  assert_true (YAJL_IS_STRING (sp_json_get (vol, "CreatedAt")));
  assert_int_equal (strlen (str_of (vol, "CreatedAt")), 20);
  status = sp_json_get (vol, "Status");
  assert_true (YAJL_IS_OBJECT (status));
  assert_int_equal (YAJL_GET_INTEGER (sp_json_get (status, "size")), 2 << 20);
  assert_string_equal (str_of (status, "mode"), "0770");
  assert_int_equal (YAJL_GET_INTEGER (sp_json_get (status, "inodes")), 100);
  assert_string_equal (str_of (status, "lifetime"), "persistent");
  assert_string_equal (str_of (status, "huge"), "never");
  assert_true (YAJL_IS_ARRAY (sp_json_get (status, "members")));
  assert_int_equal (sp_json_get (status, "members")->u.array.len, 0);
  assert_true (YAJL_IS_INTEGER (sp_json_get (status, "used")));

  call_ok ("/VolumeDriver.Path", "{\"Name\":\"cg1\"}", &r2);
  assert_string_equal (str_of (r2.json, "Mountpoint"), mp);
  ok ("/VolumeDriver.Remove", "{\"Name\":\"cg1\"}");
  assert_false (sp_store_exists (&store, "cg1"));
}

static void
test_get_used (void **state)
{
  cleanup_reply struct reply r;
  char path[256], buf[4096];
  FILE *f;
  long long used;

  (void) state;
  need_mount ();
  ok ("/VolumeDriver.Create", "{\"Name\":\"used1\"}");
  snprintf (path, sizeof (path), "%s/mnt/used1/data", root);
  f = fopen (path, "w");
  assert_non_null (f);
  memset (buf, 'x', sizeof (buf));
  for (int i = 0; i < 64; i++)
    assert_int_equal (fwrite (buf, 1, sizeof (buf), f), sizeof (buf));
  fclose (f);
  call_ok ("/VolumeDriver.Get", "{\"Name\":\"used1\"}", &r);
  used = YAJL_GET_INTEGER (
      sp_json_get (sp_json_get (sp_json_get (r.json, "Volume"), "Status"), "used"));
  assert_true (used >= 64 * 4096);
  ok ("/VolumeDriver.Remove", "{\"Name\":\"used1\"}");
}

static void
test_create_twice (void **state)
{
  struct sp_pipeline p;
  sp_error_t err = NULL;

  (void) state;
  need_mount ();
  ok ("/VolumeDriver.Create", "{\"Name\":\"tw1\",\"Opts\":{\"size\":\"4m\",\"huge\":\"never\"}}");
  /* Same options: fine (docker volume create twice). */
  ok ("/VolumeDriver.Create", "{\"Name\":\"tw1\",\"Opts\":{\"size\":\"4m\",\"huge\":\"never\"}}");
  ok ("/VolumeDriver.Create",
      "{\"Name\":\"tw1\",\"Opts\":{\"huge\":\"never\",\"size\":\"4096k\"}}");
  /* Different options: refused, naming the option. */
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"tw1\",\"Opts\":{\"size\":\"8m\"}}", 200,
              "already exists with a different size");
  expect_err ("/VolumeDriver.Create",
              "{\"Name\":\"tw1\",\"Opts\":{\"size\":\"4m\",\"mode\":\"0700\"}}", 200,
              "different mode");
  /* No options (docker run -v tw1:/dev/shm): any existing pipeline will do. */
  ok ("/VolumeDriver.Create", "{\"Name\":\"tw1\"}");
  ok ("/VolumeDriver.Create", "{\"Name\":\"tw1\",\"Opts\":null}");
  ok ("/VolumeDriver.Create", "{\"Name\":\"tw1\",\"Opts\":{}}");
  /* ... and none of that changed it. */
  assert_int_equal (sp_store_get (&store, "tw1", &p, &err), 0);
  assert_int_equal (p.opts.size, 4 << 20);
  sp_pipeline_free (&p);
  ok ("/VolumeDriver.Remove", "{\"Name\":\"tw1\"}");
}

static void
test_create_defaults (void **state)
{
  struct sp_pipeline p;
  sp_error_t err = NULL;

  (void) state;
  need_mount ();
  /* Docker's implicit create: the config's defaults, persistent. */
  ok ("/VolumeDriver.Create", "{\"Name\":\"def1\",\"Opts\":null}");
  assert_int_equal (sp_store_get (&store, "def1", &p, &err), 0);
  assert_int_equal (p.opts.size, cfg.default_size);
  assert_int_equal (p.opts.mode, cfg.default_mode);
  assert_int_equal (p.opts.lifetime, SP_LIFETIME_PERSISTENT);
  sp_pipeline_free (&p);
  ok ("/VolumeDriver.Remove", "{\"Name\":\"def1\"}");
}

static void
test_mount_unmount_counting (void **state)
{
  cleanup_reply struct reply r;
  char mp[256];

  (void) state;
  need_mount ();
  ok ("/VolumeDriver.Create", "{\"Name\":\"cnt1\",\"Opts\":{\"size\":\"1m\"}}");
  call_ok ("/VolumeDriver.Mount", "{\"Name\":\"cnt1\",\"ID\":\"aaaa\"}", &r);
  snprintf (mp, sizeof (mp), "%s/mnt/cnt1", root);
  assert_string_equal (str_of (r.json, "Mountpoint"), mp);
  assert_int_equal (members ("cnt1"), 1);
  ok ("/VolumeDriver.Mount", "{\"Name\":\"cnt1\",\"ID\":\"bbbb\"}");
  assert_int_equal (members ("cnt1"), 2);
  /* The same mount ID again counts once. */
  ok ("/VolumeDriver.Mount", "{\"Name\":\"cnt1\",\"ID\":\"aaaa\"}");
  assert_int_equal (members ("cnt1"), 2);
  ok ("/VolumeDriver.Unmount", "{\"Name\":\"cnt1\",\"ID\":\"aaaa\"}");
  assert_int_equal (members ("cnt1"), 1);
  /* Unmount below zero: a no-op, never a negative count. */
  ok ("/VolumeDriver.Unmount", "{\"Name\":\"cnt1\",\"ID\":\"aaaa\"}");
  ok ("/VolumeDriver.Unmount", "{\"Name\":\"cnt1\",\"ID\":\"never-mounted\"}");
  assert_int_equal (members ("cnt1"), 1);
  ok ("/VolumeDriver.Unmount", "{\"Name\":\"cnt1\",\"ID\":\"bbbb\"}");
  assert_int_equal (members ("cnt1"), 0);
  ok ("/VolumeDriver.Unmount", "{\"Name\":\"cnt1\",\"ID\":\"bbbb\"}");
  assert_int_equal (members ("cnt1"), 0);
  /* Persistent: still there with no member. */
  assert_true (sp_store_exists (&store, "cnt1"));
  ok ("/VolumeDriver.Remove", "{\"Name\":\"cnt1\"}");
}

static void
test_member_ids_prefixed (void **state)
{
  struct sp_pipeline p;
  sp_error_t err = NULL;

  (void) state;
  need_mount ();
  ok ("/VolumeDriver.Create", "{\"Name\":\"pfx1\"}");
  ok ("/VolumeDriver.Mount",
      "{\"Name\":\"pfx1\",\"ID\":"
      "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}");
  assert_int_equal (sp_store_get (&store, "pfx1", &p, &err), 0);
  assert_int_equal (p.n_members, 1);
  assert_string_equal (p.members[0].id,
                       "docker:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  assert_int_equal (p.members[0].pid, 0);
  sp_pipeline_free (&p);
  /* A hook member ("ctr1") and a Docker mount are counted apart. */
  assert_int_equal (sp_store_join (&store, "pfx1", "ctr1", 0, NULL, NULL, &err), 0);
  ok ("/VolumeDriver.Unmount",
      "{\"Name\":\"pfx1\",\"ID\":"
      "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}");
  assert_int_equal (members ("pfx1"), 1);
  ok ("/VolumeDriver.Unmount",
      "{\"Name\":\"pfx1\",\"ID\":\"ctr1\"}"); /* "docker:ctr1": not the hook's */
  assert_int_equal (members ("pfx1"), 1);
  assert_int_equal (sp_store_leave (&store, "pfx1", "ctr1", NULL, &err), 0);
  ok ("/VolumeDriver.Remove", "{\"Name\":\"pfx1\"}");
}

static void
test_remove_while_mounted (void **state)
{
  (void) state;
  need_mount ();
  ok ("/VolumeDriver.Create", "{\"Name\":\"busy1\"}");
  ok ("/VolumeDriver.Mount", "{\"Name\":\"busy1\",\"ID\":\"m1\"}");
  ok ("/VolumeDriver.Mount", "{\"Name\":\"busy1\",\"ID\":\"m2\"}");
  expect_err ("/VolumeDriver.Remove", "{\"Name\":\"busy1\"}", 200,
              "volume busy1 is in use by 2 members (docker:m1, docker:m2)");
  assert_true (sp_store_exists (&store, "busy1"));
  ok ("/VolumeDriver.Unmount", "{\"Name\":\"busy1\",\"ID\":\"m1\"}");
  expect_err ("/VolumeDriver.Remove", "{\"Name\":\"busy1\"}", 200,
              "in use by 1 member (docker:m2)");
  ok ("/VolumeDriver.Unmount", "{\"Name\":\"busy1\",\"ID\":\"m2\"}");
  ok ("/VolumeDriver.Remove", "{\"Name\":\"busy1\"}");
  assert_false (sp_store_exists (&store, "busy1"));
  /* Twice: Docker may retry. */
  ok ("/VolumeDriver.Remove", "{\"Name\":\"busy1\"}");
}

static void
test_remove_lists_many (void **state)
{
  char id[16];

  (void) state;
  need_mount ();
  ok ("/VolumeDriver.Create", "{\"Name\":\"busy2\"}");
  for (int i = 0; i < 6; i++)
    {
      snprintf (id, sizeof (id), "m%d", i);
      ok ("/VolumeDriver.Mount", body_for ("{\"Name\":\"busy2\",\"ID\":\"%s\"}", id));
    }
  expect_err ("/VolumeDriver.Remove", "{\"Name\":\"busy2\"}", 200,
              "in use by 6 members (docker:m0, docker:m1, "
              "docker:m2, docker:m3 and 2 more)");
  for (int i = 0; i < 6; i++)
    {
      snprintf (id, sizeof (id), "m%d", i);
      ok ("/VolumeDriver.Unmount", body_for ("{\"Name\":\"busy2\",\"ID\":\"%s\"}", id));
    }
  ok ("/VolumeDriver.Remove", "{\"Name\":\"busy2\"}");
}

static void
test_ephemeral (void **state)
{
  (void) state;
  need_mount ();
  ok ("/VolumeDriver.Create", "{\"Name\":\"eph1\",\"Opts\":{\"lifetime\":\"ephemeral\"}}");
  ok ("/VolumeDriver.Mount", "{\"Name\":\"eph1\",\"ID\":\"m1\"}");
  ok ("/VolumeDriver.Unmount", "{\"Name\":\"eph1\",\"ID\":\"m1\"}");
  /* The last member left: gone. */
  assert_false (sp_store_exists (&store, "eph1"));
}

static void
test_list (void **state)
{
  cleanup_reply struct reply r;
  struct sp_pipeline_opts o;
  sp_error_t err = NULL;
  yajl_val vols;
  bool seen_a = false, seen_b = false;

  (void) state;
  need_mount ();
  ok ("/VolumeDriver.Create", "{\"Name\":\"lst-a\"}");
  /* Made by shmpipectl or the hook: listed all the same. */
  sp_admission_defaults (store.cfg, SP_REQ_HOST, &o);
  o.lifetime = SP_LIFETIME_EPHEMERAL;
  assert_int_equal (sp_store_create (&store, "lst-b", &o, SP_CREATE_EXCL, NULL, &err), 0);
  call_ok ("/VolumeDriver.List", "{}", &r);
  vols = sp_json_get (r.json, "Volumes");
  assert_true (YAJL_IS_ARRAY (vols));
  for (size_t i = 0; i < vols->u.array.len; i++)
    {
      yajl_val v = vols->u.array.values[i];
      const char *name = str_of (v, "Name");
      assert_non_null (name);
      assert_non_null (strstr (str_of (v, "Mountpoint"), "/mnt/"));
      seen_a |= strcmp (name, "lst-a") == 0;
      seen_b |= strcmp (name, "lst-b") == 0;
    }
  assert_true (seen_a);
  assert_true (seen_b);
  ok ("/VolumeDriver.Remove", "{\"Name\":\"lst-a\"}");
  ok ("/VolumeDriver.Remove", "{\"Name\":\"lst-b\"}");
}

static void
test_owner_mode (void **state)
{
  struct stat st;
  char mp[256];

  (void) state;
  need_mount ();
  ok ("/VolumeDriver.Create",
      "{\"Name\":\"own1\",\"Opts\":{\"uid\":\"1000\",\"gid\":\"1001\",\"mode\":\"0700\"}}");
  snprintf (mp, sizeof (mp), "%s/mnt/own1", root);
  assert_int_equal (stat (mp, &st), 0);
  assert_int_equal (st.st_uid, 1000);
  assert_int_equal (st.st_gid, 1001);
  assert_int_equal (st.st_mode & 07777, 0700);
  ok ("/VolumeDriver.Mount", "{\"Name\":\"own1\",\"ID\":\"m1\"}");
  ok ("/VolumeDriver.Unmount", "{\"Name\":\"own1\",\"ID\":\"m1\"}");
  ok ("/VolumeDriver.Remove", "{\"Name\":\"own1\"}");
}

/* What Docker's copy of an image's /dev/shm does to an empty volume's root
   (chown 0:0, chmod 0755 between a Mount and its Unmount) is undone: on the
   Unmount that ends the copy, and on the container's Mount. */
static void
test_root_restored (void **state)
{
  struct stat st;
  char mp[256];

  (void) state;
  need_mount ();
  ok ("/VolumeDriver.Create", "{\"Name\":\"cp1\",\"Opts\":{\"gid\":\"1000\",\"mode\":\"0770\"}}");
  snprintf (mp, sizeof (mp), "%s/mnt/cp1", root);
  ok ("/VolumeDriver.Mount", "{\"Name\":\"cp1\",\"ID\":\"copy\"}");
  assert_int_equal (chown (mp, 0, 0), 0);
  assert_int_equal (chmod (mp, 0755), 0);
  ok ("/VolumeDriver.Unmount", "{\"Name\":\"cp1\",\"ID\":\"copy\"}");
  assert_int_equal (stat (mp, &st), 0);
  assert_int_equal (st.st_gid, 1000);
  assert_int_equal (st.st_mode & 07777, 0770);
  assert_int_equal (chmod (mp, 01755), 0);
  assert_int_equal (chown (mp, 5, 5), 0);
  ok ("/VolumeDriver.Mount", "{\"Name\":\"cp1\",\"ID\":\"ctr\"}");
  assert_int_equal (stat (mp, &st), 0);
  assert_int_equal (st.st_uid, 0);
  assert_int_equal (st.st_gid, 1000);
  assert_int_equal (st.st_mode & 07777, 0770);
  ok ("/VolumeDriver.Unmount", "{\"Name\":\"cp1\",\"ID\":\"ctr\"}");
  ok ("/VolumeDriver.Remove", "{\"Name\":\"cp1\"}");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_activate),
    cmocka_unit_test (test_capabilities),
    cmocka_unit_test (test_unknown_endpoint),
    cmocka_unit_test (test_malformed_json),
    cmocka_unit_test (test_body_nul),
    cmocka_unit_test (test_oversized_body),
    cmocka_unit_test (test_wrong_types),
    cmocka_unit_test (test_missing_fields),
    cmocka_unit_test (test_bad_name),
    cmocka_unit_test (test_bad_options),
    cmocka_unit_test (test_bad_mount_id),
    cmocka_unit_test (test_missing_volume),
    cmocka_unit_test (test_sockets_volume),
    cmocka_unit_test (test_create_get_path),
    cmocka_unit_test (test_ipc_option),
    cmocka_unit_test (test_get_used),
    cmocka_unit_test (test_create_twice),
    cmocka_unit_test (test_create_defaults),
    cmocka_unit_test (test_mount_unmount_counting),
    cmocka_unit_test (test_member_ids_prefixed),
    cmocka_unit_test (test_remove_while_mounted),
    cmocka_unit_test (test_remove_lists_many),
    cmocka_unit_test (test_ephemeral),
    cmocka_unit_test (test_list),
    cmocka_unit_test (test_owner_mode),
    cmocka_unit_test (test_root_restored),
  };
  return cmocka_run_group_tests_name ("plugin", tests, group_setup, group_teardown);
}
