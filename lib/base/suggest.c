#include "suggest.h"

#include <string.h>

#define WORD_MAX 64

/* Edit distance with adjacent transpositions (optimal string alignment),
   capped: inputs longer than WORD_MAX are never "near". */
static size_t
distance (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b);
  size_t d[WORD_MAX + 1][WORD_MAX + 1];

  if (la > WORD_MAX || lb > WORD_MAX)
    return (size_t) -1;
  for (size_t i = 0; i <= la; i++)
    d[i][0] = i;
  for (size_t j = 0; j <= lb; j++)
    d[0][j] = j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++)
      {
        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
        size_t v = d[i - 1][j - 1] + cost;
        if (d[i - 1][j] + 1 < v)
          v = d[i - 1][j] + 1;
        if (d[i][j - 1] + 1 < v)
          v = d[i][j - 1] + 1;
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
            && d[i - 2][j - 2] + 1 < v)
          v = d[i - 2][j - 2] + 1;
        d[i][j] = v;
      }
  return d[la][lb];
}

const char *
sp_nearest (const char *word, const void *base, size_t n, size_t stride)
{
  const char *best = NULL;
  size_t best_d = 3;

  if (word == NULL || *word == '\0')
    return NULL;
  for (size_t i = 0; i < n; i++)
    {
      const char *name = *(const char *const *) ((const char *) base + i * stride);
      size_t d = distance (word, name);
      if (d < best_d)
        {
          best = name;
          best_d = d;
        }
      else if (best == NULL && strncmp (name, word, strlen (word)) == 0)
        best = name;
    }
  return best;
}
