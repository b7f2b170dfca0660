/* The store's decisions, with no container: who is a member, which lifetime
   removes what, what gc drops and keeps, and that errors name the pipeline
   once.  A real store (tmpfs mounts) in a private mount namespace, so that
   nothing is left on the host; skipped without the privilege to make one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admission.h"
#include "config.h"
#include "error.h"
#include "fileutil.h"
#include "state.h"
#include "store.h"

struct fixture
{
  struct sp_config cfg;
  struct sp_store store;
  char root[64];
};

static int
setup (void **state)
{
  static struct fixture f;
  sp_error_t err = NULL;

  if (geteuid () != 0 || unshare (CLONE_NEWNS) < 0
      || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    {
      print_message ("skipped: needs root to make a private mount namespace\n");
      return -1;
    }
  snprintf (f.root, sizeof (f.root), "/tmp/shmpipe-unit.XXXXXX");
  if (mkdtemp (f.root) == NULL)
    return -1;
  /* The store lives on a tmpfs of its own: everything goes with the namespace. */
  if (mount ("unit", f.root, "tmpfs", 0, "mode=0755") < 0)
    return -1;
  sp_config_defaults (&f.cfg);
  if (sp_store_open (&f.store, &f.cfg, f.root, &err) < 0)
    {
      print_message ("store: %s\n", err->msg);
      return -1;
    }
  *state = &f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  sp_store_close (&f->store);
  sp_config_free (&f->cfg);
  umount2 (f->root, MNT_DETACH);
  rmdir (f->root);
  return 0;
}

static struct sp_pipeline_opts
opts (struct fixture *f, enum sp_lifetime lifetime)
{
  struct sp_pipeline_opts o;
  sp_admission_defaults (&f->cfg, SP_REQ_HOST, &o);
  o.lifetime = lifetime;
  o.size = 1 << 20;
  return o;
}

static size_t
members (struct fixture *f, const char *name)
{
  struct sp_pipeline p;
  sp_error_t err = NULL;
  size_t n;

  if (sp_store_get (&f->store, name, &p, &err) < 0)
    fail_msg ("%s", err->msg);
  n = p.n_members;
  sp_pipeline_free (&p);
  return n;
}

/* A pid that was alive and is not any more. */
static pid_t
dead_pid (void)
{
  pid_t pid = fork ();
  if (pid == 0)
    _exit (0);
  waitpid (pid, NULL, 0);
  return pid;
}

static size_t
count_pipelines (struct fixture *f)
{
  char **names;
  size_t n;
  sp_error_t err = NULL;

  if (sp_store_list (&f->store, &names, &n, &err) < 0)
    fail_msg ("%s", err->msg);
  sp_store_free_names (names, n);
  return n;
}

/* Issue 15 B: quotas hold at every create; a live pipeline's size and inode
   cap change, never below what is in use, never the other options. */
static void
test_quotas_and_change (void **state)
{
  struct fixture *f = *state;
  struct sp_pipeline_opts o = opts (f, SP_LIFETIME_PERSISTENT), want;
  struct sp_pipeline p;
  sp_error_t err = NULL;
  uint64_t saved_max = f->cfg.max_pipelines, saved_total = f->cfg.max_total_size;
  char path[128];
  int fd;

  f->cfg.max_pipelines = count_pipelines (f) + 1;
  assert_int_equal (sp_store_create (&f->store, "q1", &o, SP_CREATE_EXCL, NULL, &err), 0);
  assert_int_equal (sp_store_join (&f->store, "q2", "c1", 0, &o, NULL, &err), -1);
  assert_int_equal (sp_error_status (err), EDQUOT);
  assert_non_null (strstr (err->msg, "pipeline q2: the store holds "));
  assert_non_null (
      strstr (err->msg, "the most allowed (max_pipelines in the built-in defaults; no config file was read)"));
  sp_error_release (&err);
  assert_false (sp_store_exists (&f->store, "q2"));
  f->cfg.max_pipelines = saved_max;

  /* Growing q1 past max_total_size is refused; shrinking always fits it. */
  f->cfg.max_total_size = 0;
  memset (&want, 0, sizeof (want));
  want.size = 2 << 20;
  assert_int_equal (
      sp_store_change (&f->store, "q1", &want, sp_opt_bit (sp_opt_find ("size")), &err), -1);
  assert_int_equal (sp_error_status (err), EDQUOT);
  assert_non_null (strstr (err->msg, "(max_total_size in "));
  sp_error_release (&err);
  f->cfg.max_total_size = saved_total;
  assert_int_equal (
      sp_store_change (&f->store, "q1", &want, sp_opt_bit (sp_opt_find ("size")), &err), 0);
  want.inodes = 100;
  assert_int_equal (
      sp_store_change (&f->store, "q1", &want, sp_opt_bit (sp_opt_find ("inodes")), &err), 0);
  assert_int_equal (sp_store_get (&f->store, "q1", &p, &err), 0);
  assert_int_equal (p.opts.size, 2 << 20);
  assert_int_equal (p.opts.inodes, 100);
  assert_int_equal (p.opts.mode, o.mode);
  sp_pipeline_free (&p);

  /* 1.5 MiB in use: 1 MiB does not fit. */
  snprintf (path, sizeof (path), "%s/mnt/q1/data", f->root);
  fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  assert_true (fd >= 0);
  assert_int_equal (posix_fallocate (fd, 0, 3 << 19), 0);
  close (fd);
  want.size = 1 << 20;
  assert_int_equal (
      sp_store_change (&f->store, "q1", &want, sp_opt_bit (sp_opt_find ("size")), &err), -1);
  assert_int_equal (sp_error_status (err), EBUSY);
  assert_string_equal (err->msg, "pipeline q1: cannot shrink to size 1M: 1.5M in use");
  sp_error_release (&err);

  want.mode = 0700;
  assert_int_equal (
      sp_store_change (&f->store, "q1", &want, sp_opt_bit (sp_opt_find ("mode")), &err), -1);
  assert_string_equal (err->msg,
                       "pipeline q1: mode cannot change on a live pipeline (only size, inodes)");
  sp_error_release (&err);
  assert_int_equal (
      sp_store_change (&f->store, "nope", &want, sp_opt_bit (sp_opt_find ("size")), &err), -1);
  assert_string_equal (err->msg, "pipeline nope: does not exist");
  sp_error_release (&err);
  assert_int_equal (sp_store_remove (&f->store, "q1", false, &err), 0);
}

static void
test_ephemeral_goes_with_last_member (void **state)
{
  struct fixture *f = *state;
  struct sp_pipeline_opts o = opts (f, SP_LIFETIME_EPHEMERAL);
  sp_error_t err = NULL;
  bool created = false, removed = false;

  assert_int_equal (sp_store_join (&f->store, "e", "c1", getpid (), &o, &created, &err), 0);
  assert_true (created);
  assert_int_equal (sp_store_join (&f->store, "e", "c2", getpid (), &o, &created, &err), 0);
  assert_false (created);
  /* Joining twice with one id is one member. */
  assert_int_equal (sp_store_join (&f->store, "e", "c2", getpid (), NULL, NULL, &err), 0);
  assert_int_equal (members (f, "e"), 2);
  assert_int_equal (sp_store_leave (&f->store, "e", "c1", &removed, &err), 0);
  assert_false (removed);
  assert_int_equal (sp_store_leave (&f->store, "e", "c2", &removed, &err), 0);
  assert_true (removed);
  assert_false (sp_store_exists (&f->store, "e"));
}

static void
test_persistent_outlives_members (void **state)
{
  struct fixture *f = *state;
  struct sp_pipeline_opts o = opts (f, SP_LIFETIME_PERSISTENT);
  sp_error_t err = NULL;
  bool removed = true;

  assert_int_equal (sp_store_create (&f->store, "p", &o, SP_CREATE_EXCL, NULL, &err), 0);
  assert_int_equal (sp_store_join (&f->store, "p", "c1", 0, NULL, NULL, &err), 0);
  assert_int_equal (sp_store_leave (&f->store, "p", "c1", &removed, &err), 0);
  assert_false (removed);
  assert_true (sp_store_exists (&f->store, "p"));
  /* Removal is refused while a member is recorded, and names it. */
  assert_int_equal (sp_store_join (&f->store, "p", "docker:m1", 0, NULL, NULL, &err), 0);
  assert_int_equal (sp_store_remove (&f->store, "p", false, &err), -1);
  assert_string_equal (err->msg,
                       "pipeline p: in use by 1 member (docker:m1); use --force to detach it");
  sp_error_release (&err);
  assert_int_equal (sp_store_remove (&f->store, "p", true, &err), 0);
  assert_false (sp_store_exists (&f->store, "p"));
}

static void
test_create_match_and_differ (void **state)
{
  struct fixture *f = *state;
  struct sp_pipeline_opts o = opts (f, SP_LIFETIME_PERSISTENT), other;
  sp_error_t err = NULL;
  bool created = false;

  assert_int_equal (sp_store_create (&f->store, "m", &o, SP_CREATE_MATCH, &created, &err), 0);
  assert_true (created);
  assert_int_equal (sp_store_create (&f->store, "m", &o, SP_CREATE_MATCH, &created, &err), 0);
  assert_false (created);
  other = o;
  other.size *= 2;
  assert_int_equal (sp_store_create (&f->store, "m", &other, SP_CREATE_MATCH, NULL, &err), -1);
  assert_string_equal (err->msg, "pipeline m: already exists with a different size");
  sp_error_release (&err);
  assert_int_equal (sp_store_create (&f->store, "m", &o, SP_CREATE_EXCL, NULL, &err), -1);
  assert_string_equal (err->msg, "pipeline m: already exists");
  sp_error_release (&err);
  assert_int_equal (sp_store_remove (&f->store, "m", false, &err), 0);
}

/* gc drops members whose process is gone, keeps live ones and members
   without a pid (Docker's), and removes an ephemeral pipeline it emptied. */
struct reports
{
  char text[1024];
};

static void
collect (void *ctx, const char *name, const char *what, bool failed)
{
  struct reports *r = ctx;
  size_t n = strlen (r->text);
  snprintf (r->text + n, sizeof (r->text) - n, "%s%s: %s\n", failed ? "FAILED " : "", name, what);
}

static void
test_gc_decisions (void **state)
{
  struct fixture *f = *state;
  struct sp_pipeline_opts eph = opts (f, SP_LIFETIME_EPHEMERAL);
  struct sp_pipeline_opts per = opts (f, SP_LIFETIME_PERSISTENT);
  struct reports r = { "" };
  sp_error_t err = NULL;
  pid_t gone = dead_pid ();
  char want[256];

  assert_int_equal (sp_store_join (&f->store, "g1", "dead", gone, &eph, NULL, &err), 0);
  assert_int_equal (sp_store_join (&f->store, "g2", "dead", gone, &per, NULL, &err), 0);
  assert_int_equal (sp_store_join (&f->store, "g2", "alive", getpid (), NULL, NULL, &err), 0);
  assert_int_equal (sp_store_join (&f->store, "g2", "docker:m", 0, NULL, NULL, &err), 0);
  assert_int_equal (sp_store_gc (&f->store, collect, &r, &err), 3);
  snprintf (want, sizeof (want),
            "g1: dropped member dead (pid %d is gone)\n"
            "g1: removed (ephemeral, no members left)\n"
            "g2: dropped member dead (pid %d is gone)\n",
            (int) gone, (int) gone);
  assert_string_equal (r.text, want);
  assert_false (sp_store_exists (&f->store, "g1"));
  assert_int_equal (members (f, "g2"), 2);
  /* Nothing left to do. */
  r.text[0] = '\0';
  assert_int_equal (sp_store_gc (&f->store, collect, &r, &err), 0);
  assert_string_equal (r.text, "");
  assert_int_equal (sp_store_remove (&f->store, "g2", true, &err), 0);
}

static void
test_pure_decisions (void **state)
{
  struct sp_member alive = { .id = "a", .pid = getpid () };
  struct sp_member nopid = { .id = "docker:x", .pid = 0 };
  struct sp_member gone = { .id = "g", .pid = dead_pid () };
  struct sp_pipeline p = { .name = "x" };
  (void) state;

  assert_false (sp_member_is_gone (&alive));
  assert_false (sp_member_is_gone (&nopid));
  assert_true (sp_member_is_gone (&gone));
  p.opts.lifetime = SP_LIFETIME_EPHEMERAL;
  assert_true (sp_pipeline_is_spent (&p));
  p.opts.lifetime = SP_LIFETIME_PERSISTENT;
  assert_false (sp_pipeline_is_spent (&p));
  p.opts.lifetime = SP_LIFETIME_EPHEMERAL;
  p.n_members = 1;
  assert_false (sp_pipeline_is_spent (&p));
}

/* Every entry point's error names its pipeline exactly once. */
static void
test_errors_name_pipeline_once (void **state)
{
  struct fixture *f = *state;
  struct sp_pipeline_opts o = opts (f, SP_LIFETIME_EPHEMERAL);
  struct sp_pipeline p;
  sp_error_t err = NULL;

  assert_int_equal (sp_store_join (&f->store, "n", "bad/id", 1, &o, NULL, &err), -1);
  assert_string_equal (err->msg, "pipeline n: invalid member id (want 1-128 of [A-Za-z0-9_.:-])");
  sp_error_release (&err);
  assert_int_equal (sp_store_get (&f->store, "n", &p, &err), -1);
  assert_string_equal (err->msg, "pipeline n: does not exist");
  sp_error_release (&err);
  o.size = 1ULL << 49;
  assert_int_equal (sp_store_join (&f->store, "n", "c", 1, &o, NULL, &err), -1);
  assert_non_null (strstr (err->msg, "pipeline n: size 512T exceeds the configured maximum "));
  assert_non_null (strstr (err->msg, "(max_size in the built-in defaults; no config file was read)"));
  assert_null (strstr (err->msg + 1, "pipeline n:"));
  sp_error_release (&err);
  /* An invalid name is said as such, not as a pipeline. */
  assert_int_equal (sp_store_get (&f->store, "../x", &p, &err), -1);
  assert_non_null (strstr (err->msg, "invalid pipeline name"));
  assert_null (strstr (err->msg, "pipeline ../x:"));
  sp_error_release (&err);
}

/* A damaged record is an error, not "absent", and says which file. */
static void
test_damaged_record (void **state)
{
  struct fixture *f = *state;
  struct sp_pipeline p;
  sp_error_t err = NULL;
  char path[128];

  snprintf (path, sizeof (path), "%s/state/d.json", f->root);
  FILE *out = fopen (path, "w");
  assert_non_null (out);
  fputs ("{", out);
  fclose (out);
  assert_int_equal (sp_store_get (&f->store, "d", &p, &err), -1);
  if (strstr (err->msg, "pipeline d: damaged record ") != err->msg)
    fail_msg ("%s", err->msg);
  sp_error_release (&err);
  unlink (path);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ephemeral_goes_with_last_member),
    cmocka_unit_test (test_persistent_outlives_members),
    cmocka_unit_test (test_create_match_and_differ),
    cmocka_unit_test (test_gc_decisions),
    cmocka_unit_test (test_pure_decisions),
    cmocka_unit_test (test_errors_name_pipeline_once),
    cmocka_unit_test (test_damaged_record),
    cmocka_unit_test (test_quotas_and_change),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
