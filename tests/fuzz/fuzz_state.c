/* libFuzzer target: the store's state-file reader.  Whatever it accepts must
   survive a generate/parse round trip unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "state.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *buf = sp_fuzz_cstr (data, size);
  struct sp_pipeline p, q;
  sp_error_t err = NULL;
  char *out = NULL;
  size_t len;

  if (sp_state_parse (buf, size, &p, &err) == 0)
    {
      if (sp_state_generate (&p, &out, &len, &err) != 0 || sp_state_parse (out, len, &q, &err) != 0)
        abort ();
      if (strcmp (p.name, q.name) != 0 || memcmp (&p.opts, &q.opts, sizeof (p.opts)) != 0
          || p.created != q.created || p.n_members != q.n_members)
        abort ();
      for (size_t i = 0; i < p.n_members; i++)
        if (strcmp (p.members[i].id, q.members[i].id) != 0 || p.members[i].pid != q.members[i].pid)
          abort ();
      sp_pipeline_free (&q);
      free (out);
    }
  sp_pipeline_free (&p);
  sp_error_release (&err);
  free (buf);
  return 0;
}
