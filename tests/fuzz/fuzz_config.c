/* libFuzzer target: /etc/shmpipe/config.json parsing.  What it accepts must
   keep the promised invariants. */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *buf = sp_fuzz_cstr (data, size);
  struct sp_config cfg;
  sp_error_t err = NULL;

  sp_config_defaults (&cfg);
  if (sp_config_parse (buf, size, &cfg, &err) == 0)
    {
      if (cfg.default_size > cfg.max_size || cfg.default_mode > 07777 || cfg.max_inodes == 0
          || (cfg.root != NULL && cfg.root[0] != '/'))
        abort ();
    }
  sp_config_free (&cfg);
  sp_error_release (&err);
  free (buf);
  return 0;
}
