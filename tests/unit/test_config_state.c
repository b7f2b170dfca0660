/* The config file, the state file (round trip, torn, damaged), JSON and /proc parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <errno.h>

#include "config.h"
#include "json.h"
#include "proc.h"
#include "state.h"

static int
parse_cfg (const char *json, struct sp_config *cfg, sp_error_t *err)
{
  sp_config_defaults (cfg);
  return sp_config_parse (json, strlen (json), cfg, err);
}

static void
cfg_bad (const char *json, const char *msg)
{
  struct sp_config cfg;
  sp_error_t err = NULL;
  assert_int_equal (parse_cfg (json, &cfg, &err), -1);
  assert_non_null (err);
  if (strstr (err->msg, msg) == NULL)
    fail_msg ("config %s: message \"%s\" lacks \"%s\"", json, err->msg, msg);
  sp_error_release (&err);
  sp_config_free (&cfg);
}

static void
test_config_defaults (void **state)
{
  struct sp_config cfg;
  sp_error_t err = NULL;
  (void) state;
  assert_int_equal (parse_cfg ("{}", &cfg, &err), 0);
  assert_int_equal (cfg.default_size, 64ULL << 20);
  assert_true (cfg.max_size >= cfg.default_size);
  assert_int_equal (cfg.default_mode, 01777);
  assert_true (cfg.auto_create);
  assert_int_equal (cfg.auto_lifetime, SP_LIFETIME_EPHEMERAL);
  assert_null (cfg.root);
  sp_config_free (&cfg);
}

static void
test_config_valid (void **state)
{
  struct sp_config cfg;
  sp_error_t err = NULL;
  (void) state;
  assert_int_equal (
      parse_cfg ("{\"$schema\":\"x\",\"root\":\"/srv/shm\",\"default_size\":\"128m\","
                 "\"max_size\":\"2g\",\"default_mode\":\"0770\",\"max_inodes\":1000,"
                 "\"auto_create\":false,\"auto_lifetime\":\"persistent\",\"log_level\":\"debug\"}",
                 &cfg, &err),
      0);
  assert_string_equal (cfg.root, "/srv/shm");
  assert_int_equal (cfg.default_size, 128ULL << 20);
  assert_int_equal (cfg.max_size, 2ULL << 30);
  assert_int_equal (cfg.default_mode, 0770);
  assert_int_equal (cfg.max_inodes, 1000);
  assert_false (cfg.auto_create);
  assert_int_equal (cfg.auto_lifetime, SP_LIFETIME_PERSISTENT);
  assert_int_equal (cfg.log_level, SP_LOG_DEBUG);
  sp_config_free (&cfg);
  /* CDI: off unless asked for; directory and hook when given. */
  assert_int_equal (parse_cfg ("{}", &cfg, &err), 0);
  assert_false (cfg.cdi);
  assert_null (cfg.cdi_spec_dir);
  assert_null (cfg.cdi_hook);
  sp_config_free (&cfg);
  assert_int_equal (parse_cfg ("{\"cdi\":true,\"cdi_spec_dir\":\"/var/run/cdi\","
                               "\"cdi_hook\":\"/usr/libexec/shmpipe/shmpipe-hook\"}",
                               &cfg, &err),
                    0);
  assert_true (cfg.cdi);
  assert_string_equal (cfg.cdi_spec_dir, "/var/run/cdi");
  assert_string_equal (cfg.cdi_hook, "/usr/libexec/shmpipe/shmpipe-hook");
  sp_config_free (&cfg);
  /* Sizes as plain byte counts. */
  assert_int_equal (parse_cfg ("{\"default_size\":1048576,\"max_size\":2097152}", &cfg, &err), 0);
  assert_int_equal (cfg.default_size, 1048576);
  sp_config_free (&cfg);
}

static void
test_config_invalid (void **state)
{
  (void) state;
  cfg_bad ("{\"bogus\":1}", "unknown key \"bogus\"");
  cfg_bad ("{\"default_size\":true}", "\"default_size\" must be a size");
  cfg_bad ("{\"default_size\":\"lots\"}", "invalid size");
  cfg_bad ("{\"default_size\":-5}", "must be positive");
  cfg_bad ("{\"auto_create\":\"yes\"}", "\"auto_create\" must be true or false");
  cfg_bad ("{\"root\":\"relative/path\"}", "absolute path");
  cfg_bad ("{\"root\":\"/a/../etc\"}", "absolute path");
  cfg_bad ("{\"root\":5}", "\"root\" must be a string");
  cfg_bad ("{\"default_mode\":1777}", "must be a string");
  cfg_bad ("{\"default_mode\":\"999\"}", "invalid mode");
  cfg_bad ("{\"auto_lifetime\":\"forever\"}", "invalid lifetime");
  cfg_bad ("{\"log_level\":\"loud\"}", "invalid \"log_level\"");
  cfg_bad ("{\"max_inodes\":0}", "\"max_inodes\" must be an integer from 1 to");
  cfg_bad ("{\"default_size\":\"2g\",\"max_size\":\"1g\"}", "exceeds \"max_size\"");
  cfg_bad ("{\"cdi\":\"yes\"}", "\"cdi\" must be true or false");
  cfg_bad ("{\"cdi_spec_dir\":\"etc/cdi\"}", "\"cdi_spec_dir\" must be an absolute path");
  cfg_bad ("{\"cdi_hook\":\"/usr/../tmp/hook\"}", "\"cdi_hook\" must be an absolute path");
  /* containerd's and Docker's key is plural: say which one is meant. */
  cfg_bad ("{\"cdi_spec_dirs\":[\"/etc/cdi\"]}", "did you mean \"cdi_spec_dir\"");
  cfg_bad ("[]", "must be a JSON object");
  cfg_bad ("{", "invalid JSON");
}

/* Issue 15 B: quotas and what containers may ask for. */
static void
test_config_quotas (void **state)
{
  struct sp_config cfg;
  struct sp_pipeline_opts o = { .size = 64ULL << 20, .lifetime = SP_LIFETIME_EPHEMERAL };
  sp_opt_mask lifetime = sp_opt_bit (sp_opt_find ("lifetime"));
  sp_opt_mask size = sp_opt_bit (sp_opt_find ("size"));
  sp_error_t err = NULL;
  (void) state;

  /* The default is safe for a shared cluster: no persistent pipeline from a
     container, 1 GiB at most per pipeline a container makes. */
  assert_int_equal (parse_cfg ("{}", &cfg, &err), 0);
  assert_int_equal (cfg.max_pipelines, 4096);
  assert_true (cfg.max_total_size >= cfg.max_size);
  assert_false (cfg.container_persistent);
  assert_true (cfg.container_max_size <= (1ULL << 30));
  assert_int_equal (sp_config_check_container (&cfg, &o, lifetime, &err), 0);
  o.lifetime = SP_LIFETIME_PERSISTENT;
  assert_int_equal (sp_config_check_container (&cfg, &o, lifetime, &err), -1);
  assert_non_null (strstr (
      err->msg, "io.shmpipe.lifetime=persistent is not allowed for containers "
                "(container_persistent in the built-in defaults; no config file was read)"));
  sp_error_release (&err);
  /* A persistent auto_lifetime is the site's choice, not the container's. */
  assert_int_equal (sp_config_check_container (&cfg, &o, 0, &err), 0);
  o.size = 2ULL << 30;
  assert_int_equal (sp_config_check_container (&cfg, &o, size, &err), -1);
  assert_non_null (strstr (err->msg, "(container_max_size in"));
  sp_error_release (&err);
  sp_config_free (&cfg);

  assert_int_equal (parse_cfg ("{\"max_pipelines\":3,\"max_total_size\":\"1g\","
                               "\"container_options\":[\"size\"],\"container_max_size\":\"128m\","
                               "\"container_persistent\":true,\"max_size\":\"512m\"}",
                               &cfg, &err),
                    0);
  assert_int_equal (cfg.max_pipelines, 3);
  assert_int_equal (cfg.max_total_size, 1ULL << 30);
  assert_int_equal (cfg.container_options, size);
  assert_int_equal (cfg.container_max_size, 128ULL << 20);
  o.size = 64ULL << 20;
  assert_int_equal (sp_config_check_container (&cfg, &o, size, &err), 0);
  /* create=false asks for less, whatever container_options lists. */
  assert_int_equal (
      sp_config_check_container (&cfg, &o, size | sp_opt_bit (sp_opt_find ("create")), &err), 0);
  assert_int_equal (sp_config_check_container (&cfg, &o, size | lifetime, &err), -1);
  assert_non_null (strstr (err->msg, "annotation io.shmpipe.lifetime is not allowed for containers "
                                     "(container_options in"));
  sp_error_release (&err);
  sp_config_free (&cfg);

  /* A small max_size pulls the defaults of the others along. */
  assert_int_equal (parse_cfg ("{\"max_size\":\"256m\"}", &cfg, &err), 0);
  assert_int_equal (cfg.container_max_size, 256ULL << 20);
  sp_config_free (&cfg);

  cfg_bad ("{\"max_pipelines\":0}", "\"max_pipelines\" must be an integer");
  cfg_bad ("{\"max_total_size\":\"x\"}", "invalid size");
  cfg_bad ("{\"container_options\":[\"uid\"]}", "may list only size, mode, lifetime, ipc");
  cfg_bad ("{\"container_options\":\"size\"}", "must be an array");
  cfg_bad ("{\"container_max_size\":\"2g\",\"max_size\":\"1g\"}", "exceeds \"max_size\"");
  cfg_bad ("{\"container_max_size\":\"1m\"}", "\"default_size\" exceeds \"container_max_size\"");
  cfg_bad ("{\"container_persistent\":1}", "must be true or false");
  cfg_bad ("{\"max_pipeline\":1}", "did you mean \"max_pipelines\"");
}

static void
test_config_escaped_nul (void **state)
{
  (void) state;
  cfg_bad ("{\"root\":\"/run/a\\u0000b\"}", "\\u0000");
  /* A raw NUL byte inside the given length. */
  struct sp_config cfg;
  sp_error_t err = NULL;
  sp_config_defaults (&cfg);
  assert_int_equal (sp_config_parse ("{\"root\":\"/x\0\"}", 13, &cfg, &err), -1);
  assert_non_null (strstr (err->msg, "NUL byte"));
  sp_error_release (&err);
}

static void
test_config_load_missing (void **state)
{
  struct sp_config cfg;
  sp_error_t err = NULL;
  (void) state;
  unsetenv ("SHMPIPE_CONFIG");
  /* An explicit path that is missing is an error... */
  assert_int_equal (sp_config_load ("/nonexistent/shmpipe.json", true, &cfg, &err), -1);
  assert_non_null (strstr (err->msg, "/nonexistent/shmpipe.json"));
  sp_error_release (&err);
  sp_config_free (&cfg);
  /* ...the default path, missing, means defaults. */
  assert_int_equal (sp_config_load ("/nonexistent/shmpipe.json", false, &cfg, &err), 0);
  assert_string_equal (cfg.root, SP_DEFAULT_ROOT);
  sp_config_free (&cfg);
}

static void
make_pipeline (struct sp_pipeline *p)
{
  sp_error_t err = NULL;
  memset (p, 0, sizeof (*p));
  strcpy (p->name, "frames");
  p->opts.size = 1ULL << 30;
  p->opts.mode = 01770;
  p->opts.uid = 1000;
  p->opts.gid = 1001;
  p->opts.huge = SP_HUGE_WITHIN_SIZE;
  p->opts.lifetime = SP_LIFETIME_EPHEMERAL;
  p->opts.inodes = 4096;
  p->created = 1795000000;
  assert_int_equal (sp_pipeline_add_member (p, "c1", 42, 777, 1795000001, &err), 0);
  assert_int_equal (sp_pipeline_add_member (p, "docker:abc", 0, 0, 1795000002, &err), 0);
}

static void
test_state_round_trip (void **state)
{
  struct sp_pipeline p, q;
  sp_error_t err = NULL;
  char *buf = NULL;
  size_t len;
  (void) state;

  make_pipeline (&p);
  assert_int_equal (sp_state_generate (&p, &buf, &len, &err), 0);
  assert_int_equal (sp_state_parse (buf, len, &q, &err), 0);
  assert_string_equal (q.name, "frames");
  assert_memory_equal (&p.opts, &q.opts, sizeof (p.opts));
  assert_int_equal (q.created, p.created);
  assert_int_equal (q.n_members, 2);
  assert_string_equal (q.members[0].id, "c1");
  assert_int_equal (q.members[0].pid, 42);
  assert_int_equal (q.members[0].start_time, 777);
  assert_int_equal (q.members[0].joined, 1795000001);
  assert_string_equal (q.members[1].id, "docker:abc");
  sp_pipeline_remove_member (&q, 0);
  assert_int_equal (q.n_members, 1);
  assert_int_equal (sp_pipeline_find_member (&q, "docker:abc"), 0);
  assert_int_equal (sp_pipeline_find_member (&q, "c1"), -1);
  free (buf);
  sp_pipeline_free (&p);
  sp_pipeline_free (&q);
}

static void
state_bad (const char *buf, size_t len, const char *msg)
{
  struct sp_pipeline q;
  sp_error_t err = NULL;
  assert_int_equal (sp_state_parse (buf, len, &q, &err), -1);
  if (strstr (err->msg, msg) == NULL)
    fail_msg ("message \"%s\" lacks \"%s\"", err->msg, msg);
  sp_error_release (&err);
  sp_pipeline_free (&q);
}

static void
test_state_torn (void **state)
{
  struct sp_pipeline p;
  sp_error_t err = NULL;
  char *buf = NULL;
  size_t len;
  (void) state;

  make_pipeline (&p);
  assert_int_equal (sp_state_generate (&p, &buf, &len, &err), 0);
  /* Every truncation of a valid record is reported, never half-trusted. */
  for (size_t cut = 0; cut < len - 1; cut++)
    {
      char save = buf[cut];
      struct sp_pipeline q;
      buf[cut] = '\0';
      if (sp_state_parse (buf, cut, &q, &err) == 0)
        fail_msg ("a record cut at %zu bytes was accepted", cut);
      sp_error_release (&err);
      sp_pipeline_free (&q);
      buf[cut] = save;
    }
  free (buf);
  sp_pipeline_free (&p);
}

#define BASE                                                                                       \
  "\"version\":1,\"name\":\"p\",\"size\":4096,\"mode\":\"1777\",\"uid\":0,\"gid\":0,\"huge\":"     \
  "\"never\","                                                                                     \
  "\"lifetime\":\"persistent\",\"inodes\":10,\"created\":\"2026-11-27T07:18:30Z\""

static void
test_state_damaged (void **state)
{
  (void) state;
  const char ok[] = "{" BASE ",\"members\":[]}";
  struct sp_pipeline q;
  sp_error_t err = NULL;
  assert_int_equal (sp_state_parse (ok, strlen (ok), &q, &err), 0);
  sp_pipeline_free (&q);

#define BAD(s, m) state_bad (s, strlen (s), m)
  BAD ("{" BASE "}", "\"members\" must be an array");
  BAD ("{" BASE ",\"members\":[],\"extra\":1}", "unknown key \"extra\"");
  BAD ("{" BASE ",\"members\":[{\"id\":\"a\",\"pid\":1,\"start_time\":1}]}", "missing \"joined\"");
  BAD ("{" BASE ",\"members\":[{\"id\":\"a\",\"pid\":\"1\",\"start_time\":1,\"joined\":\"2026-11-"
       "27T07:18:30Z\"}]}",
       "\"pid\" must be an integer");
  BAD ("{" BASE
       ",\"members\":[{\"id\":\"a\",\"pid\":1,\"start_time\":1,\"joined\":\"yesterday\"}]}",
       "bad pid, start_time or joined");
  BAD ("{" BASE ",\"members\":[{\"id\":\"a/"
       "b\",\"pid\":1,\"start_time\":1,\"joined\":\"2026-11-27T07:18:30Z\"}]}",
       "invalid member id");
  BAD (
      "{" BASE
      ",\"members\":[{\"id\":\"a\",\"pid\":1,\"start_time\":1,\"joined\":\"2026-11-27T07:18:30Z\"},"
      "{\"id\":\"a\",\"pid\":1,\"start_time\":1,\"joined\":\"2026-11-27T07:18:30Z\"}]}",
      "listed twice");
  BAD ("{\"version\":0,\"name\":\"p\",\"size\":4096,\"mode\":\"1777\",\"uid\":0,\"gid\":0,\"huge\":"
       "\"never\","
       "\"lifetime\":\"persistent\",\"inodes\":10,\"created\":\"2026-11-27T07:18:30Z\",\"members\":"
       "[]}",
       "unsupported version");
  BAD ("{\"version\":1,\"name\":\"../"
       "p\",\"size\":4096,\"mode\":\"1777\",\"uid\":0,\"gid\":0,\"huge\":\"never\","
       "\"lifetime\":\"persistent\",\"inodes\":10,\"created\":\"2026-11-27T07:18:30Z\",\"members\":"
       "[]}",
       "invalid name");
  BAD ("{\"version\":1,\"name\":\"p\",\"size\":1,\"mode\":\"1777\",\"uid\":0,\"gid\":0,\"huge\":"
       "\"never\","
       "\"lifetime\":\"persistent\",\"inodes\":10,\"created\":\"2026-11-27T07:18:30Z\",\"members\":"
       "[]}",
       "size out of range");
  BAD ("{\"version\":1,\"name\":\"p\",\"size\":4096,\"mode\":\"1777\",\"uid\":-1,\"gid\":0,"
       "\"huge\":\"never\","
       "\"lifetime\":\"persistent\",\"inodes\":10,\"created\":\"2026-11-27T07:18:30Z\",\"members\":"
       "[]}",
       "uid or gid out of range");
  BAD ("{\"version\":1,\"name\":\"p\",\"size\":4096,\"mode\":\"1777\",\"uid\":0,\"gid\":0,\"huge\":"
       "\"big\","
       "\"lifetime\":\"persistent\",\"inodes\":10,\"created\":\"2026-11-27T07:18:30Z\",\"members\":"
       "[]}",
       "invalid huge");
  BAD ("[1,2]", "not a JSON object");
  BAD ("", "invalid JSON");
  state_bad ("{\"version\":1\0}", 14, "NUL byte");
#undef BAD
}

static void
test_time_format (void **state)
{
  char buf[32];
  int64_t t;
  (void) state;
  sp_format_time (0, buf, sizeof (buf));
  assert_string_equal (buf, "1970-01-01T00:00:00Z");
  assert_int_equal (sp_parse_time ("2026-11-27T07:18:30Z", &t), 0);
  sp_format_time (t, buf, sizeof (buf));
  assert_string_equal (buf, "2026-11-27T07:18:30Z");
  assert_int_equal (sp_parse_time ("2026-11-27 07:18:30", &t), -1);
  assert_int_equal (sp_parse_time ("2026-11-27T07:18:30Zjunk", &t), -1);
}

static void
test_proc_stat (void **state)
{
  uint64_t st = 0, st2 = 0;
  (void) state;
  /* comm with spaces and a ')' inside: fields resume after the last ')'. */
  const char line[]
      = "1234 (we ird) )) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10 "
        "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
  assert_int_equal (sp_proc_parse_stat (line, &st), 0);
  assert_int_equal (st, 98765);
  assert_int_equal (sp_proc_parse_stat ("1 (x) S 1 2", &st), -1);
  assert_int_equal (sp_proc_parse_stat ("garbage", &st), -1);
  assert_int_equal (sp_proc_start_time (getpid (), &st), 0);
  assert_true (sp_proc_alive (getpid (), st));
  assert_false (sp_proc_alive (getpid (), st + 1)); /* a reused pid */
  assert_int_equal (sp_proc_start_time (1, &st2), 0);
  assert_false (sp_proc_alive (0, 0));
  assert_false (sp_proc_alive (4194304 + 1, 0));
}

static void
test_json_helpers (void **state)
{
  yajl_val v = NULL;
  sp_error_t err = NULL;
  const char *s;
  long long n;
  bool b;
  (void) state;
  const char doc[] = "{\"s\":\"x\",\"n\":5,\"b\":true,\"z\":null}";
  assert_int_equal (sp_json_parse (doc, strlen (doc), &v, &err), 0);
  assert_int_equal (sp_json_get_string (v, "t", "s", &s, &err), 0);
  assert_string_equal (s, "x");
  assert_int_equal (sp_json_get_int (v, "t", "n", &n, &err), 0);
  assert_int_equal (n, 5);
  assert_int_equal (sp_json_get_bool (v, "t", "b", &b, &err), 0);
  assert_true (b);
  assert_int_equal (sp_json_get_string (v, "t", "z", &s, &err), 1);
  assert_int_equal (sp_json_get_string (v, "t", "missing", &s, &err), 1);
  assert_int_equal (sp_json_get_string (v, "t", "n", &s, &err), -1);
  assert_non_null (strstr (err->msg, "t: \"n\" must be a string"));
  sp_error_release (&err);
  yajl_tree_free (v);
  assert_int_equal (sp_json_parse ("{\"a\":", 5, &v, &err), -1);
  assert_non_null (strstr (err->msg, "invalid JSON"));
  assert_null (strchr (err->msg, '\n'));
  sp_error_release (&err);
}

/* The widest pipeline a record can hold: every option at its widest value,
   SP_MEMBERS_MAX members with ids of SP_MEMBER_ID_MAX bytes and the widest
   pid, start time and join date. */
static void
make_widest (struct sp_pipeline *p, size_t members)
{
  memset (p, 0, sizeof (*p));
  memset (p->name, 'n', SP_NAME_MAX);
  p->opts.size = SP_SIZE_LIMIT;
  p->opts.mode = 07777;
  p->opts.uid = UINT32_MAX - 1;
  p->opts.gid = UINT32_MAX - 1;
  p->opts.huge = SP_HUGE_WITHIN_SIZE;
  p->opts.lifetime = SP_LIFETIME_PERSISTENT;
  p->opts.inodes = 1ULL << 40;
  p->opts.ipc = true;
  /* The longest allow list: SP_ALLOW_NS_COUNT namespaces of SP_NS_MAX. */
  for (size_t n = 0; n < SP_ALLOW_NS_COUNT; n++)
    {
      char ns[SP_NS_MAX + 1];
      memset (ns, 'a', SP_NS_MAX);
      ns[SP_NS_MAX] = '\0';
      ns[0] = (char) ('a' + n);
      strcat (p->opts.allow_namespaces, n ? "," : "");
      strcat (p->opts.allow_namespaces, ns);
    }
  p->created = 253402300799; /* 9999-12-31T23:59:59Z */
  p->members = calloc (members, sizeof (*p->members));
  assert_non_null (p->members);
  for (size_t i = 0; i < members; i++)
    {
      char id[SP_MEMBER_ID_MAX + 1];
      memset (id, 'a', SP_MEMBER_ID_MAX);
      snprintf (id, sizeof (id), "%zu", i); /* unique prefix */
      id[strlen (id)] = 'x';
      id[SP_MEMBER_ID_MAX] = '\0';
      p->members[i].id = strdup (id);
      p->members[i].pid = 4194304;
      p->members[i].start_time = (uint64_t) INT64_MAX;
      p->members[i].joined = 253402300799;
      /* A Kubernetes pod's container: the longest names the CRI may give. */
      p->members[i].pod_namespace = malloc (SP_NS_MAX + 1);
      p->members[i].pod = malloc (SP_POD_NAME_MAX + 1);
      p->members[i].container = malloc (SP_POD_NAME_MAX + 1);
      assert_non_null (p->members[i].container);
      memset (p->members[i].pod_namespace, 'n', SP_NS_MAX);
      p->members[i].pod_namespace[SP_NS_MAX] = '\0';
      memset (p->members[i].pod, 'p', SP_POD_NAME_MAX);
      p->members[i].pod[SP_POD_NAME_MAX] = '\0';
      memset (p->members[i].container, 'c', SP_POD_NAME_MAX);
      p->members[i].container[SP_POD_NAME_MAX] = '\0';
    }
  p->n_members = members;
}

static void
test_state_member_cap (void **state)
{
  struct sp_pipeline p, q;
  sp_error_t err = NULL;
  char *buf = NULL;
  size_t len;
  (void) state;

  /* The largest record a join can make fits what every reader takes. */
  make_widest (&p, SP_MEMBERS_MAX);
  assert_int_equal (sp_state_generate (&p, &buf, &len, &err), 0);
  print_message ("largest record: %zu members, %zu bytes (read cap %d)\n", p.n_members, len,
                 SP_STATE_MAX_BYTES);
  assert_true (len <= SP_STATE_MAX_BYTES);
  assert_int_equal (sp_state_parse (buf, len, &q, &err), 0);
  assert_int_equal (q.n_members, SP_MEMBERS_MAX);
  assert_string_equal (q.members[SP_MEMBERS_MAX - 1].id, p.members[SP_MEMBERS_MAX - 1].id);
  /* One more member is refused, and the record is as it was. */
  assert_int_equal (sp_pipeline_add_member (&q, "one-more", 1, 1, 1, &err), -1);
  assert_int_equal (sp_error_status (err), EUSERS);
  assert_non_null (strstr (err->msg, "members"));
  sp_error_release (&err);
  assert_int_equal (q.n_members, SP_MEMBERS_MAX);
  free (buf);
  sp_pipeline_free (&p);
  sp_pipeline_free (&q);

  /* A record an earlier release could write (more members than a join may
     add now, short ids) still loads. */
  make_widest (&p, SP_MEMBERS_LOAD_MAX);
  p.opts.allow_namespaces[0] = '\0'; /* no pods nor allow lists then */
  for (size_t i = 0; i < p.n_members; i++)
    {
      p.members[i].id[12] = '\0';
      free (p.members[i].pod_namespace);
      free (p.members[i].pod);
      free (p.members[i].container);
      p.members[i].pod_namespace = p.members[i].pod = p.members[i].container = NULL;
    }
  assert_int_equal (sp_state_generate (&p, &buf, &len, &err), 0);
  assert_int_equal (sp_state_parse (buf, len, &q, &err), 0);
  assert_int_equal (q.n_members, SP_MEMBERS_LOAD_MAX);
  free (buf);
  sp_pipeline_free (&q);
  sp_pipeline_free (&p);

  /* What no reader would take is never written: the error says why. */
  make_widest (&p, SP_MEMBERS_LOAD_MAX);
  buf = NULL;
  assert_int_equal (sp_state_generate (&p, &buf, &len, &err), -1);
  assert_null (buf);
  assert_int_equal (sp_error_status (err), EFBIG);
  sp_error_release (&err);
  sp_pipeline_free (&p);
}

static void
test_json_depth (void **state)
{
  const size_t deep = 300000;
  char *doc = malloc (2 * deep + 1);
  yajl_val v = NULL;
  sp_error_t err = NULL;
  (void) state;

  /* 300,000 levels (600 KB): refused before a tree exists, in one line. */
  assert_non_null (doc);
  memset (doc, '[', deep);
  memset (doc + deep, ']', deep);
  doc[2 * deep] = '\0';
  assert_int_equal (sp_json_parse (doc, 2 * deep, &v, &err), -1);
  assert_null (v);
  assert_non_null (strstr (err->msg, "nested deeper than 64 levels"));
  assert_null (strchr (err->msg, '\n'));
  sp_error_release (&err);
  /* At the limit it parses; brackets inside strings do not count. */
  doc[SP_JSON_DEPTH_MAX] = '\0';
  memcpy (doc + SP_JSON_DEPTH_MAX, "\"[[[{{{\"", 8);
  memset (doc + SP_JSON_DEPTH_MAX + 8, ']', SP_JSON_DEPTH_MAX);
  doc[2 * SP_JSON_DEPTH_MAX + 8] = '\0';
  assert_int_equal (sp_json_parse (doc, strlen (doc), &v, &err), 0);
  yajl_tree_free (v);
  /* One more level is refused. */
  memmove (doc + 1, doc, strlen (doc) + 1);
  doc[0] = '[';
  strcat (doc, "]");
  assert_int_equal (sp_json_parse (doc, strlen (doc), &v, &err), -1);
  sp_error_release (&err);
  free (doc);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_config_defaults),  cmocka_unit_test (test_config_valid),
    cmocka_unit_test (test_config_invalid),   cmocka_unit_test (test_config_escaped_nul),
    cmocka_unit_test (test_config_quotas),    cmocka_unit_test (test_config_load_missing),
    cmocka_unit_test (test_state_round_trip), cmocka_unit_test (test_state_torn),
    cmocka_unit_test (test_state_damaged),    cmocka_unit_test (test_time_format),
    cmocka_unit_test (test_proc_stat),        cmocka_unit_test (test_json_helpers),
    cmocka_unit_test (test_state_member_cap), cmocka_unit_test (test_json_depth),
  };
  return cmocka_run_group_tests_name ("config_state", tests, NULL, NULL);
}
