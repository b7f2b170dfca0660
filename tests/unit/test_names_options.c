/* Pipeline names and the option parsers: the first gate for hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "names.h"
#include "options.h"

static bool
valid (const char *s)
{
  return sp_name_valid (s, strlen (s));
}

static void
test_names_accept (void **state)
{
  (void) state;
  assert_true (valid ("frames"));
  assert_true (valid ("p1"));
  assert_true (valid ("0"));
  assert_true (valid ("a.b_c-d"));
  assert_true (valid ("A9.-_"));
  char s64[65];
  memset (s64, 'a', 64);
  s64[64] = '\0';
  assert_true (valid (s64));
}

static void
test_names_reject (void **state)
{
  (void) state;
  assert_false (valid (""));
  assert_false (valid (".."));
  assert_false (valid ("."));
  assert_false (valid ("../x"));
  assert_false (valid ("a/b"));
  assert_false (valid ("/abs"));
  assert_false (valid ("-lead"));
  assert_false (valid ("_lead"));
  assert_false (valid (".hidden"));
  assert_false (valid ("sp ace"));
  assert_false (valid ("new\nline"));
  assert_false (valid ("caf\xc3\xa9"));  /* unicode */
  assert_false (valid ("\xef\xbc\xa1")); /* fullwidth A */
  char s65[66];
  memset (s65, 'a', 65);
  s65[65] = '\0';
  assert_false (valid (s65));
  /* A NUL inside the given length fails, it does not truncate. */
  assert_false (sp_name_valid ("ab\0cd", 5));
  assert_true (sp_name_valid ("ab\0cd", 2));
  assert_false (sp_name_valid (NULL, 0));
}

static void
test_name_check_message (void **state)
{
  sp_error_t err = NULL;
  (void) state;
  assert_int_equal (sp_name_check ("ok", &err), 0);
  assert_int_equal (sp_name_check ("bad/\x01name", &err), -1);
  assert_non_null (strstr (err->msg, "invalid pipeline name \"bad/?name\""));
  sp_error_release (&err);
  char big[10240];
  memset (big, 'x', sizeof (big) - 1);
  big[sizeof (big) - 1] = '\0';
  assert_int_equal (sp_name_check (big, &err), -1);
  assert_true (strlen (err->msg) < 200);
  sp_error_release (&err);
}

static void
test_member_ids (void **state)
{
  (void) state;
  assert_true (sp_member_id_valid ("docker:3f2a"));
  assert_true (sp_member_id_valid ("abc123def"));
  assert_false (sp_member_id_valid (""));
  assert_false (sp_member_id_valid ("a/b"));
  assert_false (sp_member_id_valid ("a b"));
  char s129[130];
  memset (s129, 'a', 129);
  s129[129] = '\0';
  assert_false (sp_member_id_valid (s129));
}

static uint64_t
size_ok (const char *s)
{
  uint64_t v = 0;
  sp_error_t err = NULL;
  assert_int_equal (sp_parse_size (s, &v, &err), 0);
  return v;
}

static void
size_bad (const char *s, const char *msg)
{
  uint64_t v = 0;
  sp_error_t err = NULL;
  assert_int_equal (sp_parse_size (s, &v, &err), -1);
  assert_non_null (err);
  if (strstr (err->msg, msg) == NULL)
    fail_msg ("size \"%s\": message \"%s\" lacks \"%s\"", s, err->msg, msg);
  sp_error_release (&err);
}

static void
test_sizes (void **state)
{
  (void) state;
  assert_int_equal (size_ok ("4096"), 4096);
  assert_int_equal (size_ok ("1"), 4096); /* at least a page */
  assert_int_equal (size_ok ("4097"), 8192);
  assert_int_equal (size_ok ("64k"), 65536);
  assert_int_equal (size_ok ("64K"), 65536);
  assert_int_equal (size_ok ("512m"), 512ULL << 20);
  assert_int_equal (size_ok ("1g"), 1ULL << 30);
  assert_int_equal (size_ok ("1G"), 1ULL << 30);
  assert_int_equal (size_ok ("2t"), 2ULL << 40);
  size_bad ("", "empty");
  size_bad ("0", "greater than zero");
  size_bad ("0g", "greater than zero");
  size_bad ("-1", "not a number");
  size_bad ("+1", "not a number");
  size_bad (" 1", "not a number");
  size_bad ("1x", "unknown suffix \"x\"; accepted: ");
  size_bad ("1gb", "invalid size \"1gb\": unknown suffix \"gb\"; accepted: a number of bytes, or a "
                   "number with a suffix k, m, g or t (powers of 1024), e.g. 512m or 1g");
  size_bad ("1.5g", "unknown suffix \".5g\"");
  size_bad ("2048t", "larger than 1 PiB");
  size_bad ("99999999999999999999999", "larger than 1 PiB");
  size_bad ("18446744073709551615k", "larger than 1 PiB");
}

static void
test_modes_ids (void **state)
{
  sp_error_t err = NULL;
  mode_t m;
  uint32_t id;
  (void) state;
  assert_int_equal (sp_parse_mode ("1777", &m, &err), 0);
  assert_int_equal (m, 01777);
  assert_int_equal (sp_parse_mode ("0770", &m, &err), 0);
  assert_int_equal (m, 0770);
  assert_int_equal (sp_parse_mode ("700", &m, &err), 0);
  assert_int_equal (m, 0700);
  assert_int_equal (sp_parse_mode ("8", &m, &err), -1);
  sp_error_release (&err);
  assert_int_equal (sp_parse_mode ("17777", &m, &err), -1);
  sp_error_release (&err);
  assert_int_equal (sp_parse_mode ("rwx", &m, &err), -1);
  sp_error_release (&err);
  assert_int_equal (sp_parse_id ("1000", "uid", &id, &err), 0);
  assert_int_equal (id, 1000);
  assert_int_equal (sp_parse_id ("4294967295", "uid", &id, &err), -1);
  sp_error_release (&err);
  assert_int_equal (sp_parse_id ("-1", "gid", &id, &err), -1);
  assert_non_null (strstr (err->msg, "invalid gid"));
  sp_error_release (&err);
}

static void
test_enums (void **state)
{
  sp_error_t err = NULL;
  enum sp_huge h;
  enum sp_lifetime l;
  bool b;
  (void) state;
  assert_int_equal (sp_parse_huge ("within_size", &h, &err), 0);
  assert_int_equal (h, SP_HUGE_WITHIN_SIZE);
  assert_string_equal (sp_huge_name (h), "within_size");
  assert_int_equal (sp_parse_huge ("sometimes", &h, &err), -1);
  sp_error_release (&err);
  assert_int_equal (sp_parse_lifetime ("ephemeral", &l, &err), 0);
  assert_int_equal (l, SP_LIFETIME_EPHEMERAL);
  assert_int_equal (sp_parse_lifetime ("forever", &l, &err), -1);
  sp_error_release (&err);
  assert_int_equal (sp_parse_bool ("true", "ipc", &b, &err), 0);
  assert_true (b);
  assert_int_equal (sp_parse_bool ("yes please", "ipc", &b, &err), -1);
  sp_error_release (&err);
}

static void
test_format_size (void **state)
{
  char buf[16];
  (void) state;
  sp_format_size (1ULL << 30, buf, sizeof (buf));
  assert_string_equal (buf, "1G");
  sp_format_size (64ULL << 20, buf, sizeof (buf));
  assert_string_equal (buf, "64M");
  sp_format_size (1536, buf, sizeof (buf));
  assert_string_equal (buf, "1.5K");
  sp_format_size (100, buf, sizeof (buf));
  assert_string_equal (buf, "100B");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_names_accept),
    cmocka_unit_test (test_names_reject),
    cmocka_unit_test (test_name_check_message),
    cmocka_unit_test (test_member_ids),
    cmocka_unit_test (test_sizes),
    cmocka_unit_test (test_modes_ids),
    cmocka_unit_test (test_enums),
    cmocka_unit_test (test_format_size),
  };
  return cmocka_run_group_tests_name ("names_options", tests, NULL, NULL);
}
