/* Giving up privileges: what the hook and the plugin do before they read
   any input. */
#ifndef SHMPIPE_PRIVS_H
#define SHMPIPE_PRIVS_H

#include <stddef.h>
#include <stdio.h>
#include <sys/capability.h>

#include "error.h"

/* Keeps only the capabilities in KEEP (those the process has) in its
   permitted and effective sets, drops every other one from the bounding
   set, clears the inheritable and ambient sets and sets no_new_privs, so
   that nothing the process execs or becomes can gain any back. */
int sp_privs_keep_only (const cap_value_t *keep, size_t n_keep, sp_error_t *err);

/* Prints the Cap*, NoNewPrivs and Seccomp lines of /proc/self/status: what
   tests read to check that a binary holds what it claims. */
int sp_privs_print_status (FILE *out, sp_error_t *err);

#endif
