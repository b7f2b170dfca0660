/* "Did you mean": the nearest known name to a mistyped one. */
#ifndef SHMPIPE_SUGGEST_H
#define SHMPIPE_SUGGEST_H

#include <stddef.h>

/* The nearest of N names to WORD, or NULL when none is close (at most two
   edits, or WORD a prefix of it).  The names are the first member (a const
   char *) of N elements STRIDE bytes apart from BASE: an array of strings, or
   of structs that start with their name. */
const char *sp_nearest (const char *word, const void *base, size_t n, size_t stride);

#endif
