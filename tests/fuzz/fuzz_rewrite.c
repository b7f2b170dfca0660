/* libFuzzer target: shmpipe-runtime's config.json rewrite.  Its output must
   be valid JSON that still carries the hook. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json.h"
#include "rewrite.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const struct sp_rewrite rw
      = { "/usr/libexec/shmpipe/shmpipe-hook", "/run/shmpipe", NULL, "/run/shmpipe/ipc/p" };
  char *buf = sp_fuzz_cstr (data, size);
  sp_error_t err = NULL;
  yajl_val v = NULL, w = NULL;
  char *out = NULL;
  size_t len;

  if (sp_json_parse (buf, size, &v, &err) == 0
      && sp_runtime_rewrite (v, &rw, &out, &len, &err) == 0)
    {
      if (sp_json_parse (out, len, &w, &err) != 0 || strstr (out, rw.hook_path) == NULL)
        abort ();
      yajl_tree_free (w);
      free (out);
    }
  yajl_tree_free (v);
  sp_error_release (&err);
  free (buf);
  return 0;
}
