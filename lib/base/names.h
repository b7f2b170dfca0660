/* Pipeline names: Docker's volume-name rule capped at 64 bytes.  */
#ifndef SHMPIPE_NAMES_H
#define SHMPIPE_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define SP_NAME_MAX 64
/* A Kubernetes namespace: a DNS label (RFC 1123), at most 63 bytes. */
#define SP_NS_MAX 63
/* A pipeline's full name: plain NAME, or NS/NAME for a pipeline that
   belongs to Kubernetes namespace NS (pods of NS say just NAME). */
#define SP_QNAME_MAX (SP_NS_MAX + 1 + SP_NAME_MAX)

/* ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ over exactly LEN bytes (a NUL inside fails). */
bool sp_name_valid (const char *name, size_t len);

/* The same for a C string, with an error that quotes a printable prefix. */
int sp_name_check (const char *name, sp_error_t *err);

/* [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 bytes: a Kubernetes namespace. */
bool sp_namespace_valid (const char *ns);

/* A plain name, or NS/NAME with NS a valid namespace. */
bool sp_qname_valid (const char *name, size_t len);
int sp_qname_check (const char *name, sp_error_t *err);

/* Member ids (container ids, Docker mount ids): 1..128 bytes of [A-Za-z0-9_.:-]. */
#define SP_MEMBER_ID_MAX 128
bool sp_member_id_valid (const char *id);

#endif
