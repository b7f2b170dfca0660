/* Parsing of the values a user gives for a pipeline: size, mode, ids, huge, lifetime. */
#ifndef SHMPIPE_OPTIONS_H
#define SHMPIPE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

enum sp_huge
{
  SP_HUGE_NEVER = 0,
  SP_HUGE_ALWAYS,
  SP_HUGE_WITHIN_SIZE,
  SP_HUGE_ADVISE,
};

enum sp_lifetime
{
  SP_LIFETIME_PERSISTENT = 0,
  SP_LIFETIME_EPHEMERAL,
};

#define SP_SIZE_MIN 4096ULL
/* tmpfs accepts more, but nothing sane asks for over 1 PiB. */
#define SP_SIZE_LIMIT (1ULL << 50)

/* "1g", "512m", "64k", "4096": bytes, rounded up to whole 4 KiB pages. */
int sp_parse_size (const char *s, uint64_t *out, sp_error_t *err);
/* Octal permission bits, e.g. "1777", "0770"; at most 07777. */
int sp_parse_mode (const char *s, mode_t *out, sp_error_t *err);
/* A numeric uid or gid (0 .. 4294967294). */
int sp_parse_id (const char *s, const char *what, uint32_t *out, sp_error_t *err);
/* A positive count, e.g. an inode cap. */
int sp_parse_count (const char *s, const char *what, uint64_t *out, sp_error_t *err);
int sp_parse_huge (const char *s, enum sp_huge *out, sp_error_t *err);
int sp_parse_lifetime (const char *s, enum sp_lifetime *out, sp_error_t *err);
int sp_parse_bool (const char *s, const char *what, bool *out, sp_error_t *err);
/* An absolute, normalized path inside a container ("/tmp", "/run/app"): no
   "." or ".." component, no "//", no trailing "/", printable ASCII, shorter
   than LEN; not "/" nor under /proc, /sys or /dev, which the runtime owns.
   "" means none. */
int sp_parse_container_path (const char *s, const char *what, char *out, size_t len,
                             sp_error_t *err);

const char *sp_huge_name (enum sp_huge h);
const char *sp_lifetime_name (enum sp_lifetime l);

/* Human size for tables: "1.0G", "64M", "512K", "100B". */
void sp_format_size (uint64_t bytes, char *buf, size_t len);

#endif
