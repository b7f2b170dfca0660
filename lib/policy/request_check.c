#include "request_check.h"

#include <errno.h>
#include <string.h>

bool
sp_path_under (const char *path, const char *prefix)
{
  size_t n = strlen (prefix);

  while (n > 0 && prefix[n - 1] == '/')
    n--;
  return strncmp (path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int
sp_request_check_sockets (const struct sp_config *cfg, const char *path, sp_error_t *err)
{
  char allowed[SP_SOCKET_PREFIXES_MAX * (SP_OPT_PATH_MAX + 2) + 8] = "";
  size_t off = 0;

  if (path[0] == '\0')
    return 0;
  for (size_t i = 0; i < cfg->socket_prefixes.n; i++)
    {
      if (sp_path_under (path, cfg->socket_prefixes.path[i]))
        return 0;
      off += (size_t) snprintf (allowed + off, sizeof (allowed) - off, "%s%s", i ? ", " : "",
                                cfg->socket_prefixes.path[i]);
    }
  return sp_error_make (err, EPERM,
                        "annotation " SP_OPTS_ANNOTATION_PREFIX
                        "sockets=%s is not under an allowed path (%s: container_socket_prefixes "
                        "in %s)",
                        path, off ? allowed : "none", sp_config_file (cfg));
}

/* Every namespace of A is in B. */
static bool
nslist_within (const struct sp_pipeline_opts *a, const struct sp_pipeline_opts *b)
{
  for (const char *p = a->allow_namespaces; *p; p += strcspn (p, ","), p += *p == ',')
    {
      char ns[SP_NS_MAX + 1];
      size_t n = strcspn (p, ",");

      if (n > SP_NS_MAX)
        return false;
      memcpy (ns, p, n);
      ns[n] = '\0';
      if (!sp_opts_allows_namespace (b, ns))
        return false;
    }
  return true;
}

int
sp_request_check_existing (const struct sp_pipeline_opts *have, const struct sp_pipeline_opts *want,
                           sp_opt_mask given, sp_error_t *err)
{
  for (size_t i = 0; i < sp_opt_count; i++)
    {
      const struct sp_opt_def *d = &sp_opt_defs[i];
      char vh[SP_OPT_VALUE_MAX], vw[SP_OPT_VALUE_MAX];

      /* A request row (create=false) asks how to join: no pipeline has it. */
      if (!(given & sp_opt_bit (d)) || (d->flags & SP_OPT_F_REQUEST))
        continue;
      if (d->kind == SP_OPT_NSLIST)
        {
          if (nslist_within (have, want) && nslist_within (want, have))
            continue;
        }
      else
        {
          sp_opt_format (d, have, vh, sizeof (vh));
          sp_opt_format (d, want, vw, sizeof (vw));
          if (strcmp (vh, vw) == 0)
            continue;
        }
      sp_opt_format (d, have, vh, sizeof (vh));
      sp_opt_format (d, want, vw, sizeof (vw));
      return sp_error_make (err, EEXIST,
                            "annotation " SP_OPTS_ANNOTATION_PREFIX
                            "%s=%s differs from the existing pipeline's %s=%s: refusing (a member "
                            "gets a pipeline as it was made, never something else)",
                            d->name, vw, d->name, *vh ? vh : "\"\"");
    }
  return 0;
}
