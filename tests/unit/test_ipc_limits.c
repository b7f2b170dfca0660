/* An --ipc pipeline's SysV limits keep every segment and queue of its
   namespace within its size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ipc_limits.h"

static void
check_within (uint64_t size)
{
  struct sp_ipc_limits l;
  uint64_t page = (uint64_t) sysconf (_SC_PAGESIZE);

  sp_ipc_limits_for (size, &l);
  assert_int_equal (l.shmmax, size);
  assert_true (l.shmall * page <= size || l.shmall == 1);
  assert_true (l.shmmni >= 1 && l.shmmni <= 4096);
  assert_true (l.msgmax <= l.msgmnb);
  assert_true (l.msgmni >= 1 && l.msgmni <= 32000);
  assert_true (l.msgmni * l.msgmnb <= size || l.msgmni == 1);
}

static void
test_within_size (void **unused)
{
  (void) unused;
  check_within (4096);
  check_within (1 << 20);
  check_within (64ULL << 20);
  check_within (1ULL << 40);
}

static void
test_one_mib (void **unused)
{
  struct sp_ipc_limits l;
  struct sp_ipc_limits_text t;
  (void) unused;

  sp_ipc_limits_for (1 << 20, &l);
  assert_int_equal (l.shmall, (1 << 20) / sysconf (_SC_PAGESIZE));
  assert_int_equal (l.msgmnb, 16384);
  assert_int_equal (l.msgmax, 8192);
  assert_int_equal (l.msgmni, 64);
  sp_ipc_limits_text (&l, &t);
  assert_string_equal (t.path[0], "/proc/sys/kernel/shmmax");
  assert_string_equal (t.value[0], "1048576\n");
  assert_string_equal (t.path[5], "/proc/sys/kernel/msgmni");
  assert_string_equal (t.value[5], "64\n");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_within_size),
    cmocka_unit_test (test_one_mib),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
