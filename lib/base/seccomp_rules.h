/* Building a seccomp filter with libseccomp: the plugin's at start, the
   hook's at build time (hook/gen/seccomp_filter.c). */
#ifndef SHMPIPE_SECCOMP_RULES_H
#define SHMPIPE_SECCOMP_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <seccomp.h>

#include "error.h"

/* Adds one seccomp rule (ACTION when syscall NR's arguments match ARGS);
   the error names the syscall. */
int sp_seccomp_rule (scmp_filter_ctx ctx, uint32_t action, int nr, const char *name,
                     unsigned n_args, const struct scmp_arg_cmp *args, sp_error_t *err);

/* Adds ACTION for each syscall of NAMES that this architecture knows. */
int sp_seccomp_rules (scmp_filter_ctx ctx, uint32_t action, const char *const *names, size_t n,
                      sp_error_t *err);

/* Loads CTX into the kernel. */
int sp_seccomp_load (scmp_filter_ctx ctx, sp_error_t *err);

static inline void
sp_cleanup_seccomp (scmp_filter_ctx *ctx)
{
  if (*ctx != NULL)
    seccomp_release (*ctx);
}
#define cleanup_seccomp __attribute__ ((cleanup (sp_cleanup_seccomp)))

#endif
