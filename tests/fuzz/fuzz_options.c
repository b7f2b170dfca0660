/* libFuzzer target: names and every option parser (sizes, modes, ids, huge,
   lifetime, booleans).  The first byte picks the parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "names.h"
#include "options.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  sp_error_t err = NULL;
  char *s;

  if (size < 1)
    return 0;
  s = sp_fuzz_cstr (data + 1, size - 1);
  switch (data[0] % 8)
    {
    case 0:
      if (sp_name_valid (s, size - 1)
          && (strchr (s, '/') != NULL || strcmp (s, "..") == 0 || size - 1 > SP_NAME_MAX))
        abort ();
      sp_name_check (s, &err);
      sp_error_release (&err);
      /* NS/NAME: one slash, never the store's '+' separator, never longer. */
      if (sp_qname_valid (s, size - 1)
          && (s[0] == '/' || strchr (s, '+') != NULL || size - 1 > SP_QNAME_MAX
              || (strchr (s, '/') != NULL && strchr (s, '/') != strrchr (s, '/'))))
        abort ();
      sp_qname_check (s, &err);
      break;
    case 1:
      {
        uint64_t v;
        if (sp_parse_size (s, &v, &err) == 0
            && (v < SP_SIZE_MIN || v > SP_SIZE_LIMIT || v % 4096 != 0))
          abort ();
        break;
      }
    case 2:
      {
        mode_t m;
        if (sp_parse_mode (s, &m, &err) == 0 && m > 07777)
          abort ();
        break;
      }
    case 3:
      {
        uint32_t id;
        if (sp_parse_id (s, "uid", &id, &err) == 0 && id == UINT32_MAX)
          abort ();
        break;
      }
    case 4:
      {
        enum sp_huge h;
        if (sp_parse_huge (s, &h, &err) == 0 && strcmp (sp_huge_name (h), s) != 0)
          abort ();
        break;
      }
    case 5:
      {
        enum sp_lifetime l;
        if (sp_parse_lifetime (s, &l, &err) == 0 && strcmp (sp_lifetime_name (l), s) != 0)
          abort ();
        break;
      }
    case 6:
      {
        bool b;
        sp_parse_bool (s, "flag", &b, &err);
        break;
      }
    default:
      if (sp_member_id_valid (s) && strchr (s, '/') != NULL)
        abort ();
      break;
    }
  sp_error_release (&err);
  free (s);
  return 0;
}
