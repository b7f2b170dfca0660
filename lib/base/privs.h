/* Giving up privileges: what the hook and the plugin do before they read
   any input. */
#ifndef SHMPIPE_PRIVS_H
#define SHMPIPE_PRIVS_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/capability.h>
#include <seccomp.h>

#include "error.h"

/* Keeps only the capabilities in KEEP (those the process has) in its
   permitted and effective sets, drops every other one from the bounding
   set, clears the inheritable and ambient sets and sets no_new_privs, so
   that nothing the process execs or becomes can gain any back. */
int sp_privs_keep_only (const cap_value_t *keep, size_t n_keep, sp_error_t *err);

/* Prints the Cap*, NoNewPrivs and Seccomp lines of /proc/self/status: what
   tests read to check that a binary holds what it claims. */
int sp_privs_print_status (FILE *out, sp_error_t *err);

/* Adds one seccomp rule (ACTION when syscall NR's arguments match ARGS);
   the error names the syscall. */
int sp_privs_seccomp_rule (scmp_filter_ctx ctx, uint32_t action, int nr, const char *name,
                           unsigned n_args, const struct scmp_arg_cmp *args, sp_error_t *err);

/* Adds ACTION for each syscall of NAMES that this architecture knows. */
int sp_privs_seccomp_rules (scmp_filter_ctx ctx, uint32_t action, const char *const *names,
                            size_t n, sp_error_t *err);

/* Loads CTX into the kernel. */
int sp_privs_seccomp_load (scmp_filter_ctx ctx, sp_error_t *err);

static inline void
sp_cleanup_seccomp (scmp_filter_ctx *ctx)
{
  if (*ctx != NULL)
    seccomp_release (*ctx);
}
#define cleanup_seccomp __attribute__ ((cleanup (sp_cleanup_seccomp)))

#endif
