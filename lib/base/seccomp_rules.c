#include "seccomp_rules.h"

int
sp_seccomp_rule (scmp_filter_ctx ctx, uint32_t action, int nr, const char *name, unsigned n_args,
                 const struct scmp_arg_cmp *args, sp_error_t *err)
{
  int r = seccomp_rule_add_array (ctx, action, nr, n_args, args);
  if (r < 0)
    return sp_error_sys (err, -r, "seccomp: rule for %s", name);
  return 0;
}

int
sp_seccomp_rules (scmp_filter_ctx ctx, uint32_t action, const char *const *names, size_t n,
                  sp_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    {
      int nr = seccomp_syscall_resolve_name (names[i]);
      if (nr == __NR_SCMP_ERROR)
        continue; /* not on this architecture */
      if (sp_seccomp_rule (ctx, action, nr, names[i], 0, NULL, err) < 0)
        return -1;
    }
  return 0;
}

int
sp_seccomp_load (scmp_filter_ctx ctx, sp_error_t *err)
{
  int r = seccomp_load (ctx);
  if (r < 0)
    return sp_error_sys (err, -r, "seccomp: load the filter");
  return 0;
}
