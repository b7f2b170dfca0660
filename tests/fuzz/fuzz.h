/* Shared by the libFuzzer targets. */
#ifndef SHMPIPE_FUZZ_H
#define SHMPIPE_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The parsers take NUL-terminated buffers of a given length (a NUL inside
   must be refused, so it is kept). */
static inline char *
sp_fuzz_cstr (const uint8_t *data, size_t size)
{
  char *buf = malloc (size + 1);
  if (buf == NULL)
    abort ();
  memcpy (buf, data, size);
  buf[size] = '\0';
  return buf;
}

#endif
