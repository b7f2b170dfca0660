/* libFuzzer target: what a runtime hands the hook (state on stdin, then the
   bundle's config.json) and what a container asks for through them.  The
   first byte picks the input kind. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "names.h"
#include "oci.h"

static void
check_request (yajl_val annotations, yajl_val env)
{
  struct sp_oci_request req;
  sp_error_t err = NULL;

  if (sp_oci_get_request (annotations, env, &req, &err) == 1)
    {
      /* Whatever is accepted is a valid name (plain, or a pod's NS/NAME): the
         store builds file names from it. */
      if (!sp_qname_valid (req.pipeline, strlen (req.pipeline)))
        abort ();
      if (req.opts.mode > 07777)
        abort ();
    }
  sp_error_release (&err);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  sp_error_t err = NULL;
  char *buf;

  if (size < 1)
    return 0;
  buf = sp_fuzz_cstr (data + 1, size - 1);
  if (data[0] & 1)
    {
      struct sp_oci_state st;
      memset (&st, 0, sizeof (st));
      if (sp_oci_state_parse (buf, size - 1, &st, &err) == 0)
        {
          enum sp_hook_action action;
          char path[PATH_MAX];
          if (st.id == NULL || st.bundle == NULL || st.bundle[0] != '/' || st.pid < 0)
            abort ();
          sp_oci_select_action (SP_OCI_STAGE_NONE, st.status, &action, &err);
          sp_error_release (&err);
          check_request (st.annotations, NULL);
          /* A relative root.path lands inside the bundle the runtime named. */
          if (sp_oci_rootfs_path (st.bundle, "rootfs", path, sizeof (path), &err) == 0
              && (strncmp (path, st.bundle, strlen (st.bundle)) != 0
                  || strcmp (path + strlen (st.bundle), "/rootfs") != 0))
            abort ();
          sp_error_release (&err);
        }
      sp_oci_state_free (&st); /* parse keeps what it built, even on error */
    }
  else
    {
      struct sp_oci_config cfg;
      memset (&cfg, 0, sizeof (cfg));
      if (sp_oci_config_parse (buf, size - 1, &cfg, &err) == 0)
        {
          char path[PATH_MAX];
          check_request (cfg.annotations, cfg.env);
          if (cfg.root_path != NULL
              && sp_oci_rootfs_path ("/run/bundle", cfg.root_path, path, sizeof (path), &err) == 0
              && (path[0] != '/' || strstr (path, "/../") != NULL))
            abort ();
        }
      sp_oci_config_free (&cfg);
    }
  sp_error_release (&err);
  free (buf);
  return 0;
}
